/**
 * Hand-built ResolvedTopology objects for lab tests (independent of the YAML parser), and the check
 * that decides whether root-only lab tests can run here.
 */
import { execFileSync } from 'node:child_process';
import type { NatPresetName, ResolvedLink, ResolvedNode, ResolvedRouter, ResolvedTopology } from '../../cli/topology/model.js';
import { presetBehaviour } from '../../cli/nat/behaviour.js';
import { findTool, isRoot } from '../../cli/runtime/exec.js';

export function isRootWithTools(tools: string[] = ['ip', 'nft', 'iptables', 'tc']): boolean {
  if (!isRoot() || !tools.every((t) => findTool(t) !== null)) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function router(
  name: string,
  preset: NatPresetName,
  wan: [string, string],
  lan: [string, string],
  extra: Partial<ResolvedRouter> = {},
): ResolvedRouter {
  return {
    name,
    preset,
    nat: presetBehaviour(preset),
    wan: { network: wan[0], address: wan[1] },
    lan: { network: lan[0], address: lan[1] },
    hairpin: false,
    mappingTimeoutS: 30,
    upstreamRouter: null,
    ...extra,
  };
}

export function host(name: string, network: string, address: string, gateway: string | null, port = 4433): ResolvedNode {
  return { name, group: name.replace(/-\d+$/, ''), network, address, gateway, role: 'plain', port, args: [] };
}

/** One public segment, three NAT routers, two hosts behind each (the LAB-FACTS timing topology). */
export function threeRouterLab(name: string, links: ResolvedLink[] = []): ResolvedTopology {
  const presets: NatPresetName[] = ['port-restricted-cone', 'symmetric', 'full-cone'];
  const routers = presets.map((p, i) => router(`r${i + 1}`, p, ['pub', `203.0.113.${i + 2}`], [`lan${i + 1}`, `10.0.${i + 1}.1`]));
  const nodes = presets.flatMap((_, i) => [
    host(`h${i + 1}a`, `lan${i + 1}`, `10.0.${i + 1}.10`, `10.0.${i + 1}.1`),
    host(`h${i + 1}b`, `lan${i + 1}`, `10.0.${i + 1}.11`, `10.0.${i + 1}.1`),
  ]);
  return {
    name,
    sourceFile: '(test)',
    networks: [
      { name: 'pub', kind: 'public', subnet: '203.0.113.0/24' },
      ...presets.map((_, i) => ({ name: `lan${i + 1}`, kind: 'lan' as const, subnet: `10.0.${i + 1}.0/24` })),
    ],
    routers,
    nodes,
    links,
    expectations: [],
  };
}
