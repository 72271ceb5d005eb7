/**
 * Hand-built ResolvedTopology objects for lab tests (independent of the YAML parser), and the check
 * that decides whether root-only lab tests can run here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type {
  NatPresetName,
  ResolvedLink,
  ResolvedNode,
  ResolvedRouter,
  ResolvedTopology,
} from '../../cli/topology/model.js';
import { presetBehaviour } from '../../cli/nat/behaviour.js';
import { existsSync } from 'node:fs';
import { findTool, isRoot } from '../../cli/runtime/exec.js';
import { rootIfPrefix } from '../../cli/runtime/names.js';
import { labDir } from '../../cli/runtime/state.js';
import { listNamespaces, listRootLinks } from '../../cli/runtime/wiring/teardown.js';
import { docker, LABEL } from '../../cli/runtime/docker/engine.js';

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

export function host(
  name: string,
  network: string,
  address: string,
  gateway: string | null,
  port = 4433,
): ResolvedNode {
  return { name, group: name.replace(/-\d+$/, ''), network, address, gateway, role: 'plain', port, args: [] };
}

/** One public segment, three NAT routers, two hosts behind each (the LAB-FACTS timing topology). */
export function threeRouterLab(name: string, links: ResolvedLink[] = []): ResolvedTopology {
  const presets: NatPresetName[] = ['port-restricted-cone', 'symmetric', 'full-cone'];
  const routers = presets.map((p, i) =>
    router(`r${i + 1}`, p, ['pub', `203.0.113.${i + 2}`], [`lan${i + 1}`, `10.0.${i + 1}.1`]),
  );
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

/**
 * The backends every lab test runs against: netns as root, docker when a local engine answers too. In CI
 * (CI set) docker is required: its absence fails the run instead of quietly testing one backend.
 * QUICMESH_LAB_BACKENDS=netns (or docker) narrows the list while developing.
 */
export function labBackends(): string[] {
  const wanted = (process.env.QUICMESH_LAB_BACKENDS ?? 'netns,docker').split(',').map((s) => s.trim());
  const out: string[] = [];
  if (wanted.includes('netns')) out.push('netns');
  if (wanted.includes('docker') && (dockerAnswers() || process.env.CI)) out.push('docker');
  return out;
}

let dockerAnswered: boolean | null = null;

/** Does a local Docker engine answer (the docker CLI's `version`, at most 5 s)? Cached for the run. */
export function dockerAnswers(): boolean {
  if (dockerAnswered !== null) return dockerAnswered;
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', dockerPing], {
      stdio: 'ignore',
      timeout: 5000,
    });
    dockerAnswered = true;
  } catch {
    dockerAnswered = false;
  }
  return dockerAnswered;
}

// dockerode's ping, in a child so the test collection stays synchronous
const dockerPing = `const D = (await import(${JSON.stringify(new URL('../../node_modules/dockerode/lib/docker.js', import.meta.url).href)})).default; await new D({ timeout: 3000 }).ping();`;

/** A lab name per backend, so two backends' labs never share names (and a crash of one never blocks the other). */
export function labName(base: string, backend: string): string {
  return backend === 'netns' ? base : `${base}-${backend[0]}`;
}

/**
 * Everything of a lab still on this machine, whatever built it: namespaces with its prefix, root-namespace
 * links with its tag, its state directory, containers and networks with its label.
 */
export async function labLeftovers(lab: string): Promise<string[]> {
  const ns = (await listNamespaces()).filter((n) => n.startsWith(`qm-${lab}_`));
  const links = (await listRootLinks()).filter((l) => l.startsWith(rootIfPrefix(lab)));
  const out = [...ns, ...links, ...(existsSync(labDir(lab)) ? [labDir(lab)] : [])];
  if (dockerAnswers()) {
    const filters = { label: [`${LABEL.lab}=${lab}`] };
    const [containers, networks] = await Promise.all([
      docker().listContainers({ all: true, filters }),
      docker().listNetworks({ filters }),
    ]);
    out.push(
      ...containers.map((c) => `container ${c.Names[0] ?? c.Id}`),
      ...networks.map((n) => `network ${n.Name}`),
    );
  }
  return out;
}

const LAB_BIN = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'quicmesh-lab.js');

/** Run `quicmesh-lab ARGS` as a user does (the bin launcher, from the repository root); its exit code and output. */
export function runLab(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [LAB_BIN, ...args], {
      cwd: resolve(import.meta.dirname, '..', '..'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}
