/**
 * The lab's view of stacked NATs (issue 17 item 4) against an independent classifier: hosts behind
 * stacks of two and three NAT routers are classified by coturn's turnutils_natdiscovery (RFC 5780)
 * against a turnserver with two public addresses, and the verdict must be the behaviour the lab
 * state says the stack adds up to (natStack.effective, what `status`, the TUI and the Prometheus
 * labels show; composeNatStack). Without quicmesh node processes. Root only; every backend.
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
import { readState } from '../../cli/runtime/state.js';
import type { MappingBehaviour, NatPresetName, ResolvedRouter, ResolvedTopology } from '../../cli/topology/model.js';
import { natPresetBehaviour } from '../../src/nat/nat-presets.js';
import { pollUntil } from '../support/poll.js';
import { host, isRootWithTools, labBackends, labLeftovers, labName, router } from './lab-fixtures.js';

let LAB = 'qmt-natstk';
const STUN_A = '198.51.100.2';
const STUN_B = '198.51.100.3';

/** Each stack, outermost router first; a carrier may be told to behave as another preset. */
const STACKS: Array<{ client: string; routers: Array<{ preset: NatPresetName; as?: NatPresetName }>; expect: NatPresetName }> = [
  { client: 'c-fc-sym', routers: [{ preset: 'cgnat', as: 'symmetric' }, { preset: 'full-cone' }], expect: 'symmetric' },
  { client: 'c-rc-fc', routers: [{ preset: 'full-cone' }, { preset: 'restricted-cone' }], expect: 'restricted-cone' },
  { client: 'c-3deep', routers: [{ preset: 'cgnat' }, { preset: 'restricted-cone' }, { preset: 'full-cone' }], expect: 'port-restricted-cone' },
  { client: 'c-apdm-adf', routers: [{ preset: 'eim-adf' }, { preset: 'apdm-eif' }], expect: 'apdm-adf' },
  { client: 'c-fc-adm', routers: [{ preset: 'adm-eif' }, { preset: 'full-cone' }], expect: 'adm-eif' },
];

function topology(): ResolvedTopology {
  const t: ResolvedTopology = {
    name: LAB,
    sourceFile: '(nat-stack test)',
    networks: [{ name: 'pub', kind: 'public', subnet: '198.51.100.0/24' }],
    routers: [],
    nodes: [host('stun', 'pub', STUN_A, null)],
    links: [],
    expectations: [],
  };
  STACKS.forEach((s, i) => {
    let wan: [string, string] = ['pub', `198.51.100.${20 + i}`];
    let upstream: string | null = null;
    s.routers.forEach((r, depth) => {
      const lan = `s${i}d${depth}`;
      const name = `r${i}-${depth}`;
      t.networks.push({ name: lan, kind: 'lan', subnet: `10.${80 + i}.${depth}.0/24` });
      const extra: Partial<ResolvedRouter> = { upstreamRouter: upstream, ...(r.as ? { nat: presetBehaviour(r.as) } : {}) };
      t.routers.push(router(name, r.preset, wan, [lan, `10.${80 + i}.${depth}.1`], extra));
      wan = [lan, `10.${80 + i}.${depth}.2`];
      upstream = name;
    });
    const inner = `s${i}d${s.routers.length - 1}`;
    t.nodes.push(host(s.client, inner, `10.${80 + i}.${s.routers.length - 1}.10`, `10.${80 + i}.${s.routers.length - 1}.1`));
  });
  return t;
}

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

describe.runIf(isRootWithTools(['ip', 'nft', 'ss', 'turnserver', 'turnutils_natdiscovery'])).each(labBackends())(
  'stacked NATs: the lab state agrees with turnutils_natdiscovery (%s)',
  (backend) => {
    const rt = getRuntime(backend);
    let turn: ChildProcess | undefined;
    let tmp = '';
    const results = new Map<string, string>();

    beforeAll(async () => {
      LAB = labName('qmt-natstk', backend);
      tmp = mkdtempSync(join(tmpdir(), 'qm-natstk-'));
      await rt.down(LAB).catch(() => {}); // leftovers of an aborted earlier run
      await rt.up(topology(), { startNodes: false });
      const stunNs = nsName(LAB, 'h', 'stun');
      await inNs(stunNs, ['ip', 'addr', 'add', `${STUN_B}/24`, 'dev', 'eth0']);
      turn = spawn(
        'ip',
        ['netns', 'exec', stunNs, 'turnserver', '-n', '-S', '-z', '-L', STUN_A, '-L', STUN_B, '--no-tcp', '--no-tls', '--no-dtls', '--no-cli',
          '--log-file', join(tmp, 'turn.log'), '--simple-log', '--pidfile', join(tmp, 'turn.pid'), '--db', join(tmp, 'turndb')],
        { stdio: 'ignore' },
      );
      const want = [`${STUN_A}:3478`, `${STUN_A}:3479`, `${STUN_B}:3478`, `${STUN_B}:3479`];
      const server = turn;
      await pollUntil(
        `turnserver listening on ${want.join(', ')} (log ${tmp}/turn.log)`,
        async () => {
          const ss = await inNs(stunNs, ['ss', '-ulnH']);
          return server.exitCode === null && want.every((w) => ss.includes(w));
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      await Promise.all(
        STACKS.map(async (s) => {
          results.set(s.client, await inNs(nsName(LAB, 'h', s.client), ['turnutils_natdiscovery', '-m', '-f', STUN_A]));
        }),
      );
    }, 180_000);

    afterAll(async () => {
      if (turn?.pid && turn.exitCode === null) turn.kill('SIGTERM');
      await rt.down(LAB);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      expect(await labLeftovers(LAB)).toEqual([]);
    }, 90_000);

    for (const s of STACKS) {
      const path = s.routers.map((r) => (r.as ? `${r.preset} as ${r.as}` : r.preset)).reverse().join(' behind ');
      it(`${path} adds up to ${s.expect}, as the classifier finds`, () => {
        const state = readState(LAB)!;
        const record = state.nodes.find((n) => n.name === s.client)!;
        expect(record.natStack?.path.map((h) => h.preset)).toEqual(s.routers.map((r) => r.preset).reverse());
        expect(record.natStack?.effective).toBe(s.expect);
        const b = natPresetBehaviour(record.natStack!.effective)!;
        const out = results.get(s.client)!;
        expect(verdict(out, 'Mapping'), out).toBe(b.mapping);
        expect(verdict(out, 'Filtering'), out).toBe(b.filtering);
      });
    }
  },
);
