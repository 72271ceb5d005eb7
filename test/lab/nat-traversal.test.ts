/**
 * NAT traversal end to end (root only): real `quicmesh node` processes in a netns lab with real NAT
 * routers. Two hosts behind port-restricted cone NATs connect by a hole punch coordinated by the
 * relay; a host behind a symmetric NAT and one behind a port-restricted NAT cannot punch (LAB-FACTS)
 * and talk through a relay session; a public node reaches a NATed one by punching. Each host
 * reports its reflexive address (its router's WAN address) in /status, the relay exports its
 * relay and rendezvous counters, and hosts their quicmesh_path_* state.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readState, type NodeRecord } from '../../cli/runtime/state.js';
import { disconnectPair } from '../../cli/lab/run-expectations.js';
import { getRuntime, logTail } from '../../cli/runtime/index.js';
import { isRootWithTools, labBackends, labName } from './lab-fixtures.js';
import { pollUntil } from '../support/poll.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LAB_BIN = join(ROOT, 'bin', 'quicmesh-lab.js');
/** This run's lab: set per backend in the suite's first hook (the helpers read it when they run). */
let LAB = 'nat-traversal-test';

const topologyText = () => `
name: ${LAB}
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
  lan-a: { kind: lan, subnet: 10.7.1.0/24 }
  lan-b: { kind: lan, subnet: 10.7.2.0/24 }
  lan-s: { kind: lan, subnet: 10.7.3.0/24 }
routers:
  nat-a: { nat: port-restricted-cone, wan: internet, lan: lan-a }
  nat-b: { nat: port-restricted-cone, wan: internet, lan: lan-b }
  nat-s: { nat: symmetric, wan: internet, lan: lan-s }
nodes:
  boot: { network: internet, role: bootstrap }
  relay: { network: internet, role: relay }
  a: { network: lan-a }
  b: { network: lan-b }
  s: { network: lan-s }
`;

function runLab(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [LAB_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => done({ code, out }));
  });
}

interface Status {
  nodeId: string;
  identity: string;
  extra: { nat?: { reflexiveAddr: string | null; relays: { reachable: boolean }[] }; relay?: { bytesRelayed: number } };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as T;
}

/** Poll `fn` until it returns a value (not undefined), at most `ms`. */
const until = <T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> =>
  pollUntil(what, fn, { timeoutMs: ms, intervalMs: 200 });

describe.runIf(isRootWithTools(['ip', 'nft', 'tc', 'conntrack'])).each(labBackends())('NAT traversal in the lab (%s)', (backend) => {
  let dir: string;
  let nodes: NodeRecord[] = [];
  const host = (name: string) => nodes.find((n) => n.name === name && n.kind === 'host')!;
  const base = (name: string) => host(name).statusUrl!.replace(/\/status$/, '');
  const addrOf = (name: string) => `${host(name).addresses[0]!.split('/')[0]}:4433`;

  beforeAll(async () => {
    LAB = labName('nat-traversal-test', backend);
    dir = await mkdtemp(join(tmpdir(), 'qm-nat-traversal-'));
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topologyText());
    const up = await runLab(['up', file, '--backend', backend]);
    expect(up.code, up.out).toBe(0);
    nodes = readState(LAB)!.nodes;
    // every NATed host has learnt its reflexive address and reached the relay
    for (const n of ['a', 'b', 's']) {
      await until(`${n}'s nat status`, 20_000, async () => {
        const nat = (await getJson<Status>(`${base(n)}/status`)).extra.nat;
        return nat?.reflexiveAddr && nat.relays.every((r) => r.reachable) ? true : undefined;
      });
    }
  }, 60_000);

  // a failure here is most often a node that stopped answering: show how each node's log ends
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || !readState(LAB)) return;
    for (const n of nodes.filter((x) => x.kind === 'host')) {
      console.log(`--- end of ${n.name}'s log (${backend}) ---\n${await logTail(getRuntime(backend).backend, readState(LAB)!, n, 12)}`);
    }
  });

  afterAll(async () => {
    if (readState(LAB)) await runLab(['down', LAB]);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** A fresh connect from cold NAT state: both drop their connections to each other, the routers forget the pair. */
  async function connect(from: string, to: string): Promise<{ connected: boolean; path: string | null; error?: string }> {
    const { nodeId, identity } = await getJson<Status>(`${base(to)}/status`);
    const { nodeId: fromId } = await getJson<Status>(`${base(from)}/status`);
    await disconnectPair({ connectUrl: `${base(from)}/connect`, nodeId: fromId }, { connectUrl: `${base(to)}/connect`, nodeId });
    await getRuntime(backend).forgetNatState(LAB, from, to);
    const res = await fetch(`${base(from)}/connect`, {
      method: 'POST',
      body: JSON.stringify({ addr: addrOf(to), nodeId, identity, fresh: true, timeoutMs: 4_000 }),
      signal: AbortSignal.timeout(30_000),
    });
    return (await res.json()) as { connected: boolean; path: string | null; error?: string };
  }

  it('reports each host reflexive address: its NAT router WAN address', async () => {
    for (const [n, router] of [['a', 'nat-a'], ['s', 'nat-s']] as const) {
      const nat = (await getJson<Status>(`${base(n)}/status`)).extra.nat!;
      const wan = nodes.find((r) => r.name === router)!.addresses.map((a) => a.split('/')[0]);
      expect(wan, n).toContain(nat.reflexiveAddr!.split(':')[0]);
    }
  });

  it('port-restricted x port-restricted: hole-punched, both ways', async () => {
    expect(await connect('a', 'b')).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(await connect('b', 'a')).toMatchObject({ connected: true, path: 'hole-punched' });
  }, 60_000);

  it('public -> NATed host: not relayed (punched, or plain when a\'s own traffic to boot reopened its NAT)', async () => {
    const r = await connect('boot', 'a');
    expect(r).toMatchObject({ connected: true });
    expect(['hole-punched', 'direct']).toContain(r.path);
  }, 60_000);

  it('port-restricted x symmetric: relayed, both ways, and the relay counts the bytes', async () => {
    expect(await connect('a', 's')).toMatchObject({ connected: true, path: 'relayed' });
    expect(await connect('s', 'b')).toMatchObject({ connected: true, path: 'relayed' });
    const relay = await getJson<Status>(`${base('relay')}/status`);
    expect(relay.extra.relay!.bytesRelayed).toBeGreaterThan(0);
    const metrics = await (await fetch(`${base('relay')}/metrics`)).text();
    expect(metrics).toMatch(/^quicmesh_relay_bytes_total [1-9]/m);
    expect(metrics).toMatch(/^quicmesh_holepunch_rendezvous_total\{outcome="started"\} [1-9]/m);
    // path state: b still holds its hole-punched connection to a; a holds its relayed one to s
    const bMetrics = await (await fetch(`${base('b')}/metrics`)).text();
    expect(bMetrics).toMatch(/^quicmesh_path_state\{kind="HolePunched"\} [1-9]/m);
    const aMetrics = await (await fetch(`${base('a')}/metrics`)).text();
    expect(aMetrics).toMatch(/^quicmesh_path_state\{kind="Relayed"\} [1-9]/m);
    expect(aMetrics).toMatch(/^quicmesh_path_rtt_seconds_count [1-9]/m);
    expect(aMetrics).toMatch(/^quicmesh_relay_client_sessions [1-9]/m);
  }, 60_000);
});
