/**
 * NAT type detection over real sockets, against the lab's NAT routers (root only): a public
 * segment with two NAT test servers (`quicmesh node --nat-server`, partners of each other, on
 * different addresses) and one router per preset (the classic ones, `none`, `cgnat` and the nine
 * RFC 4787 combinations; hairpinning on for some), each with one LAN node running
 * `quicmesh node --nat-detect`, plus a port-restricted home NAT stacked behind a CGNAT. Every
 * node's report in /status (extra.nat) must match its router's preset: RFC 4787 mapping and
 * filtering, the classic type, hairpinning, and the quicmesh_nat_type gauge. Real bin/quicmesh.js
 * processes, started by the netns lab runtime with the flags in each node's topology `args`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { NAT_PRESETS, presetBehaviour } from '../../cli/nat/behaviour.js';
import type { LabHandle } from '../../cli/runtime/runtime.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import type { NatBehaviour, NatPresetName, ResolvedTopology } from '../../cli/topology/model.js';
import { host, isRootWithTools, labBackends, labName, router } from './lab-fixtures.js';

/** This run's lab: set per backend in the suite's first hook (the helpers read it when they run). */
let LAB = 'qmt-natdet';
const SERVER = '203.0.113.2:4433';
const PARTNER = '203.0.113.3:4433';
const PRESETS: readonly NatPresetName[] = NAT_PRESETS;
const HAIRPIN_ON = new Set<NatPresetName>(['full-cone', 'port-restricted-cone', 'symmetric', 'adm-adf']);
const DETECT = ['--nat-detect', `${SERVER},${PARTNER}`];

/** The classic name of a behaviour (what NatReport.natType must say). */
function classic(b: NatBehaviour | null): string {
  if (b === null) return 'None';
  if (b.mapping !== 'endpoint-independent') return 'Symmetric';
  return { 'endpoint-independent': 'FullCone', 'address-dependent': 'RestrictedCone', 'address-and-port-dependent': 'PortRestrictedCone' }[b.filtering];
}

/** Distinct reflexive addresses detection sees: one per mapping (3 probes: primary, other port, other address). */
function mappings(b: NatBehaviour | null): number {
  if (b === null || b.mapping === 'endpoint-independent') return 1;
  return b.mapping === 'address-dependent' ? 2 : 3;
}

function topology(): ResolvedTopology {
  const t: ResolvedTopology = {
    name: LAB,
    sourceFile: '(nat-detect test)',
    networks: [{ name: 'pub', kind: 'public', subnet: '203.0.113.0/24' }],
    routers: [],
    nodes: [
      { ...host('srv', 'pub', '203.0.113.2', null), args: ['--nat-server', '--nat-partner', PARTNER] },
      { ...host('partner', 'pub', '203.0.113.3', null), args: ['--nat-server', '--nat-partner', SERVER] },
    ],
    links: [],
    expectations: [],
  };
  PRESETS.forEach((p, i) => {
    t.networks.push({ name: `l${i}`, kind: 'lan', subnet: `10.88.${i}.0/24` });
    t.routers.push(router(`r-${p}`, p, ['pub', `203.0.113.${20 + i}`], [`l${i}`, `10.88.${i}.1`], { hairpin: HAIRPIN_ON.has(p) }));
    t.nodes.push({ ...host(`c-${p}`, `l${i}`, `10.88.${i}.10`, `10.88.${i}.1`), args: DETECT });
  });
  t.networks.push({ name: 'carrier', kind: 'lan', subnet: '100.64.0.0/24' }, { name: 'home', kind: 'lan', subnet: '192.168.50.0/24' });
  t.routers.push(
    router('cg', 'cgnat', ['pub', '203.0.113.99'], ['carrier', '100.64.0.1']),
    router('home', 'port-restricted-cone', ['carrier', '100.64.0.2'], ['home', '192.168.50.1'], { upstreamRouter: 'cg' }),
  );
  t.nodes.push({ ...host('c-stacked', 'home', '192.168.50.10', '192.168.50.1'), args: DETECT });
  return t;
}

interface NatSection {
  natType: string;
  mapping: string;
  filtering: string;
  publicAddrs: string[];
  hairpin: boolean | null;
  detection: string;
}

async function getJson(url: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Poll a node's /status until its detection has finished (or the deadline passes). */
async function natReport(statusUrl: string, deadline: number): Promise<NatSection | null> {
  for (;;) {
    const body = await getJson(statusUrl);
    const nat = (body?.extra as Record<string, unknown> | undefined)?.nat as NatSection | undefined;
    if (nat !== undefined && nat.detection !== 'pending') return nat;
    if (Date.now() > deadline) return nat ?? null;
    await new Promise((r) => setTimeout(r, 250)); // poll interval, bounded by the deadline
  }
}

describe.runIf(isRootWithTools(['ip', 'nft'])).each(labBackends())('detectNatType against the lab NAT presets, live nodes (%s)', (backend) => {
  beforeAll(() => {
    LAB = labName('qmt-natdet', backend);
  });
  const rt = getRuntime(backend);
  let handle: LabHandle | undefined;
  const reports = new Map<string, NatSection | null>();
  const metrics = new Map<string, string>();

  beforeAll(async () => {
    await rt.down(LAB).catch(() => {}); // leftovers of an aborted earlier run
    handle = await rt.up(topology(), { readyTimeoutMs: 60_000 });
    const deadline = Date.now() + 60_000;
    const clients = [...PRESETS, 'stacked'];
    await Promise.all(
      clients.map(async (p) => {
        const node = handle!.nodes.find((n) => n.name === `c-${p}`)!;
        reports.set(p, await natReport(node.statusUrl!, deadline));
        const res = await fetch(node.statusUrl!.replace(/\/status$/, '/metrics')).catch(() => null);
        metrics.set(p, res?.ok ? await res.text() : '');
      }),
    );
    const line = (p: string): string => {
      const r = reports.get(p);
      return `  ${p.padEnd(22)} ${r ? `${r.natType} ${r.mapping} / ${r.filtering}, hairpin ${r.hairpin}, ${r.publicAddrs.join(' ')}` : 'no report'}`;
    };
    console.log(['NAT detection per preset (quicmesh node --nat-detect):', ...clients.map(line)].join('\n'));
  }, 180_000);

  afterAll(async () => {
    await rt.down(LAB);
  }, 60_000);

  function check(client: string, b: NatBehaviour | null, publicHost: string, hairpin: boolean | null): void {
    const r = reports.get(client);
    const log = handle?.nodes.find((n) => n.name === `c-${client}`)?.logFile;
    const why = `${JSON.stringify(r)}\n${log ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : ''}`;
    expect(r?.detection, why).toBe('done');
    const mapping = b?.mapping ?? 'endpoint-independent';
    const filtering = b?.filtering ?? 'endpoint-independent';
    expect({ natType: r!.natType, mapping: r!.mapping, filtering: r!.filtering }, why).toEqual({ natType: classic(b), mapping, filtering });
    // the reflexive addresses are the outermost router's WAN address (our own without NAT), one per mapping
    expect(r!.publicAddrs.every((a) => a.startsWith(`${publicHost}:`)), why).toBe(true);
    expect(r!.publicAddrs, why).toHaveLength(mappings(b));
    if (hairpin !== null) expect(r!.hairpin, why).toBe(hairpin);
    expect(metrics.get(client)).toContain(`quicmesh_nat_type{type="${classic(b)}"} 1`);
  }

  PRESETS.forEach((p, i) => {
    const b = presetBehaviour(p);
    it(`${p}: ${classic(b)}, mapping ${b?.mapping ?? 'none'}, filtering ${b?.filtering ?? 'none'}${HAIRPIN_ON.has(p) ? ', hairpinning' : ''}`, () => {
      // without NAT a packet to our own address is plain loopback: hairpinning says nothing there
      check(p, b, p === 'none' ? `10.88.${i}.10` : `203.0.113.${20 + i}`, p === 'none' ? null : HAIRPIN_ON.has(p));
    });
  });

  it('a port-restricted home NAT behind a CGNAT: PortRestrictedCone end to end, at the CGNAT\'s address', () => {
    check('stacked', presetBehaviour('port-restricted-cone'), '203.0.113.99', false);
  });
});
