/**
 * Independent NAT check: every preset is classified by coturn's turnutils_natdiscovery (RFC 5780)
 * against a turnserver with two public addresses, and the verdict must match the preset's RFC 4787
 * mapping and filtering behaviour (and hairpinning where the option is on). Uses the netns backend
 * without quicmesh node processes. Root only (CI runs lab tests as root).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { presetBehaviour } from '../../cli/nat/behaviour.js';
import { nsName } from '../../cli/runtime/names.js';
import type { MappingBehaviour, NatPresetName, ResolvedTopology } from '../../cli/topology/model.js';
import { host, isRootWithTools, labBackends, labName, router } from './lab-fixtures.js';

/** This run's lab: set per backend in the suite's first hook (the helpers read it when they run). */
let LAB = 'qmt-natcls';
const STUN_A = '198.51.100.2';
const STUN_B = '198.51.100.3';
const HAIRPIN_ON = new Set<NatPresetName>(['full-cone', 'port-restricted-cone', 'symmetric', 'adm-adf']);
const PRESETS: NatPresetName[] = [
  'full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric', 'cgnat',
  'eim-eif', 'eim-adf', 'eim-apdf', 'adm-eif', 'adm-adf', 'adm-apdf', 'apdm-eif', 'apdm-adf', 'apdm-apdf',
];

/** One router + one client per preset on the public segment; plus a home NAT stacked behind a CGNAT. */
function topology(): ResolvedTopology {
  const t: ResolvedTopology = {
    name: LAB,
    sourceFile: '(nat-classify test)',
    networks: [{ name: 'pub', kind: 'public', subnet: '198.51.100.0/24' }],
    routers: [],
    nodes: [host('stun', 'pub', STUN_A, null)],
    links: [],
    expectations: [],
  };
  PRESETS.forEach((p, i) => {
    t.networks.push({ name: `l${i}`, kind: 'lan', subnet: `10.77.${i}.0/24` });
    t.routers.push(router(`r-${p}`, p, ['pub', `198.51.100.${20 + i}`], [`l${i}`, `10.77.${i}.1`], { hairpin: HAIRPIN_ON.has(p) }));
    t.nodes.push(host(`c-${p}`, `l${i}`, `10.77.${i}.10`, `10.77.${i}.1`));
  });
  t.networks.push({ name: 'carrier', kind: 'lan', subnet: '100.64.0.0/24' }, { name: 'home', kind: 'lan', subnet: '192.168.50.0/24' });
  t.routers.push(
    router('cg', 'cgnat', ['pub', '198.51.100.99'], ['carrier', '100.64.0.1']),
    router('home', 'port-restricted-cone', ['carrier', '100.64.0.2'], ['home', '192.168.50.1'], { upstreamRouter: 'cg' }),
  );
  t.nodes.push(host('c-stacked', 'home', '192.168.50.10', '192.168.50.1'));
  return t;
}

/** Run in a namespace; resolve with stdout+stderr whatever the exit code (natdiscovery exits 1 on timeouts). */
function inNs(ns: string, argv: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs }, (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
  });
}

const LABEL: Record<string, MappingBehaviour> = {
  'Endpoint Independent': 'endpoint-independent',
  'Address Dependent': 'address-dependent',
  'Address and Port Dependent': 'address-and-port-dependent',
};

function verdict(out: string, what: 'Mapping' | 'Filtering'): MappingBehaviour | null {
  const m = new RegExp(`NAT with (Endpoint Independent|Address Dependent|Address and Port Dependent) ${what}`).exec(out);
  return m ? LABEL[m[1]!]! : null;
}

describe.runIf(isRootWithTools(['ip', 'nft', 'ss', 'turnserver', 'turnutils_natdiscovery'])).each(labBackends())('NAT presets classified by turnutils_natdiscovery (%s)', (backend) => {
  beforeAll(() => {
    LAB = labName('qmt-natcls', backend);
  });
  const rt = getRuntime(backend);
  const stunNs = nsName(labName('qmt-natcls', backend), 'h', 'stun');
  let turn: ChildProcess | undefined;
  let tmp = '';
  const results = new Map<string, { mf: string; hairpin: string }>();

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'qm-natcls-'));
    await rt.down(LAB).catch(() => {}); // leftovers of an aborted earlier run
    await rt.up(topology(), { startNodes: false });
    await inNs(stunNs, ['ip', 'addr', 'add', `${STUN_B}/24`, 'dev', 'eth0']);
    turn = spawn(
      'ip',
      ['netns', 'exec', stunNs, 'turnserver', '-n', '-S', '-z', '-L', STUN_A, '-L', STUN_B, '--no-tcp', '--no-tls', '--no-dtls', '--no-cli',
        '--log-file', join(tmp, 'turn.log'), '--simple-log', '--pidfile', join(tmp, 'turn.pid'), '--db', join(tmp, 'turndb')],
      { stdio: 'ignore' },
    );
    // ready when both addresses listen on the primary and the alternative port (RFC 5780 needs all four)
    const want = [`${STUN_A}:3478`, `${STUN_A}:3479`, `${STUN_B}:3478`, `${STUN_B}:3479`];
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ss = await inNs(stunNs, ['ss', '-ulnH']);
      if (want.every((w) => ss.includes(w))) break;
      if (turn.exitCode !== null || Date.now() > deadline) throw new Error(`turnserver did not start (log ${tmp}/turn.log)`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const clients = [...PRESETS.map((p) => `c-${p}`), 'c-stacked'];
    await Promise.all(
      clients.map(async (c) => {
        const ns = nsName(LAB, 'h', c);
        const mf = await inNs(ns, ['turnutils_natdiscovery', '-m', '-f', STUN_A]);
        const hairpin = await inNs(ns, ['turnutils_natdiscovery', '-H', STUN_A], 15_000);
        results.set(c, { mf, hairpin });
      }),
    );
  }, 120_000);

  afterAll(async () => {
    if (turn?.pid && turn.exitCode === null) turn.kill('SIGTERM');
    await rt.down(LAB);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  for (const p of PRESETS) {
    const b = presetBehaviour(p)!;
    it(`${p}: mapping ${b.mapping}, filtering ${b.filtering}${HAIRPIN_ON.has(p) ? ', hairpinning' : ', no hairpinning'}`, () => {
      const r = results.get(`c-${p}`)!;
      expect(verdict(r.mf, 'Mapping'), r.mf).toBe(b.mapping);
      expect(verdict(r.mf, 'Filtering'), r.mf).toBe(b.filtering);
      expect(/successful hairpinning/.test(r.hairpin), r.hairpin).toBe(HAIRPIN_ON.has(p));
    });
  }

  it('a port-restricted home NAT behind a CGNAT classifies as EIM/APDF end to end', () => {
    const r = results.get('c-stacked')!;
    expect(verdict(r.mf, 'Mapping'), r.mf).toBe('endpoint-independent');
    expect(verdict(r.mf, 'Filtering'), r.mf).toBe('address-and-port-dependent');
  });
});
