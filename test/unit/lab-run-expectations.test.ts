/**
 * The pieces of `quicmesh-lab test` that need no lab: the probe scheduler (repeats, pairs shared by
 * expectations, bounded parallelism, never two probes between the same two nodes at once), reading
 * /connect answers, waiting for the mesh with a scripted /status, and the verb's input errors (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { captureIO } from '../../cli/lab/io.js';
import { expectsPeers, peerCount, recordPublished, waitForMesh, type MeshMember } from '../../cli/lab/mesh-ready.js';
import {
  httpConnect,
  observationOf,
  runExpectations,
  type ConnectFn,
} from '../../cli/lab/run-expectations.js';
import type { Observation } from '../../cli/lab/verdicts/index.js';
import type { LabHandle } from '../../cli/runtime/index.js';
import { main } from '../../cli/quicmesh-lab.js';
import { parseTopology } from '../../cli/topology/parse.js';
import { TimeoutError } from '../../src/errors.js';

const TOPOLOGY = parseTopology(
  `name: unit
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
  home: { kind: lan, subnet: 192.168.9.0/24 }
routers:
  nat: { nat: symmetric, wan: internet, lan: home }
nodes:
  boot: { network: internet, role: bootstrap }
  a: { network: home, count: 3 }
expect:
  - a -> boot: direct
  - a-3 -> a-1
  - boot -> a-1
  - a-1 -> a-2: direct within 50ms
`,
  'unit.yaml',
);

function member(name: string): MeshMember {
  const node = TOPOLOGY.nodes.find((n) => n.name === name)!;
  return {
    name,
    statusUrl: `http://mgmt/${name}/status`,
    connectUrl: `http://mgmt/${name}/connect`,
    nodeId: name.padEnd(64, '0').replace(/[^0-9a-f]/g, 'f'),
    dataAddr: `${node.address}:${node.port}`,
    peers: 1,
    joined: true,
  };
}

const MEMBERS = new Map(TOPOLOGY.nodes.map((n) => [n.name, member(n.name)]));

/** A ConnectFn whose probes finish when the test says so, recording what overlapped. */
function controlledConnect() {
  const pending: Array<{ from: string; to: string; finish: (o: Observation) => void }> = [];
  const calls: Array<{ from: string; to: string; fresh: boolean; timeoutMs: number; addr: string }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const overlaps: string[] = [];
  const waiters: Array<() => void> = [];
  const connect: ConnectFn = (from, to, opts) => {
    calls.push({
      from: from.name,
      to: to.name,
      fresh: opts.fresh,
      timeoutMs: opts.timeoutMs,
      addr: to.dataAddr,
    });
    for (const p of pending) {
      if ((p.from === from.name && p.to === to.name) || (p.from === to.name && p.to === from.name))
        overlaps.push(`${from.name}<->${to.name}`);
    }
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    return new Promise((resolve) => {
      pending.push({
        from: from.name,
        to: to.name,
        finish: (o) => {
          inFlight--;
          resolve(o);
        },
      });
      waiters.splice(0).forEach((w) => w());
    });
  };
  const whenPending = async (): Promise<void> => {
    while (pending.length === 0) await new Promise<void>((r) => waiters.push(r));
  };
  /** Wait until at least one probe is pending, then finish the oldest with `o`. */
  const finishNext = async (o: Observation): Promise<void> => {
    await whenPending();
    pending.shift()!.finish(o);
  };
  return {
    connect,
    calls,
    pending,
    whenPending,
    finishNext,
    overlaps,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const OK: Observation = { connected: true, path: 'direct', timeToConnectMs: 12 };

describe('runExpectations', () => {
  it('probes each pair once per repeat, fresh, in parallel but never both ways between two nodes at once', async () => {
    const c = controlledConnect();
    const run = runExpectations(TOPOLOGY.expectations, MEMBERS, {
      repeat: 2,
      parallel: 3,
      connectTimeoutMs: 700,
      connect: c.connect,
    });
    // pairs: a-1->boot, a-2->boot, a-3->boot, a-3->a-1, boot->a-1, a-1->a-2 → 6 pairs × 2 repeats
    for (let i = 0; i < 12; i++) await c.finishNext(OK);
    const results = await run;
    expect(c.calls).toHaveLength(12);
    expect(c.calls.every((k) => k.fresh && k.timeoutMs === 700)).toBe(true);
    expect(c.maxInFlight).toBe(3);
    expect(c.overlaps).toEqual([]);
    expect(c.calls.find((k) => k.from === 'a-1' && k.to === 'a-2')!.addr).toBe(MEMBERS.get('a-2')!.dataAddr);
    // "a -> boot" expands to three expectations, one per replica
    expect(results.map((r) => r.expectation.text)).toEqual(TOPOLOGY.expectations.map((e) => e.text));
    for (const r of results) expect(r.repeats).toEqual([OK, OK]);
  });

  it('records failures as observations and reports nodes that are not running', async () => {
    const members = new Map(MEMBERS);
    members.delete('a-2');
    const failing: ConnectFn = async (from, to) =>
      to.name === 'a-1'
        ? { connected: false, path: null, timeToConnectMs: null, error: 'TimeoutError: x' }
        : OK;
    const results = await runExpectations(TOPOLOGY.expectations, members, {
      repeat: 1,
      parallel: 2,
      connectTimeoutMs: 100,
      connect: failing,
    });
    const byText = new Map(results.map((r) => [r.expectation.text, r.repeats]));
    expect(byText.get('boot -> a-1: any')).toEqual([
      { connected: false, path: null, timeToConnectMs: null, error: 'TimeoutError: x' },
    ]);
    expect(byText.get('a-2 -> boot: direct')![0]!.error).toBe('node a-2 is not running');
    expect(byText.get('a-1 -> a-2: direct within 50ms')![0]!.error).toBe('node a-2 is not running');
  });

  it('stops starting probes once aborted and rejects', async () => {
    const c = controlledConnect();
    const ctrl = new AbortController();
    const run = runExpectations(TOPOLOGY.expectations, MEMBERS, {
      repeat: 3,
      parallel: 1,
      connectTimeoutMs: 100,
      connect: c.connect,
      signal: ctrl.signal,
    });
    const rejected = expect(run).rejects.toThrow(/interrupted/);
    await c.finishNext(OK);
    await c.whenPending();
    ctrl.abort(); // while the second probe runs: it finishes, no third starts
    c.pending.shift()!.finish(OK);
    await rejected;
    expect(c.calls).toHaveLength(2);
  });
});

describe('reading /connect answers', () => {
  it('observationOf keeps known paths, rounds times and drops them when not connected', () => {
    expect(observationOf({ connected: true, path: 'relayed', timeToConnectMs: 12.3456, rttMs: 3 })).toEqual({
      connected: true,
      path: 'relayed',
      timeToConnectMs: 12.3,
    });
    expect(observationOf({ connected: true, path: 'teleported', timeToConnectMs: 'x' })).toEqual({
      connected: true,
      path: null,
      timeToConnectMs: null,
    });
    expect(
      observationOf({ connected: false, path: 'direct', timeToConnectMs: 5, error: 'IdentityError: y' }),
    ).toEqual({
      connected: false,
      path: null,
      timeToConnectMs: null,
      error: 'IdentityError: y',
    });
  });

  it('httpConnect posts the target and turns HTTP failures into observations', async () => {
    const seen: Array<{ url: string; body: unknown }> = [];
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url, body: JSON.parse(init.body as string) });
      if (url.includes('/a-2/'))
        return new Response(JSON.stringify({ error: 'nodeId: bad' }), { status: 400 });
      if (url.includes('/a-3/')) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ connected: true, path: 'direct', timeToConnectMs: 4 }));
    }) as unknown as typeof fetch;
    const connect = httpConnect(fake);
    const boot = MEMBERS.get('boot')!;
    expect(await connect(MEMBERS.get('a-1')!, boot, { fresh: true, timeoutMs: 1000 })).toEqual({
      connected: true,
      path: 'direct',
      timeToConnectMs: 4,
    });
    expect(seen[0]).toEqual({
      url: 'http://mgmt/a-1/connect',
      body: { addr: boot.dataAddr, nodeId: boot.nodeId, fresh: true, timeoutMs: 1000 },
    });
    expect((await connect(MEMBERS.get('a-2')!, boot, { fresh: true, timeoutMs: 1000 })).error).toBe(
      'control endpoint of a-2 answered 400: nodeId: bad',
    );
    expect((await connect(MEMBERS.get('a-3')!, boot, { fresh: true, timeoutMs: 1000 })).error).toBe(
      'control endpoint of a-3 unreachable: fetch failed',
    );
  });
});

describe('waitForMesh', () => {
  const handle: LabHandle = {
    name: 'unit',
    backend: 'netns',
    shaping: 'none requested',
    timings: {},
    nodes: TOPOLOGY.nodes.map((n) => ({
      name: n.name,
      kind: 'host' as const,
      namespace: `qm-unit_h_${n.name}`,
      network: n.network,
      addresses: [`${n.address}/24`],
      nat: 'public',
      statusUrl: `http://mgmt/${n.name}/status`,
      logFile: null,
    })),
  };

  it('waits for every NodeId, then for every node to know a peer', async () => {
    let reads = 0;
    const fetchStatus = async (url: string): Promise<Record<string, unknown> | null> => {
      reads++;
      const name = url.split('/')[3]!;
      if (name === 'a-3' && reads < 6) return null; // still starting
      const peers = name === 'boot' && reads < 12 ? 0 : 2;
      return { nodeId: member(name).nodeId, addr: 'x', peersSeen: peers };
    };
    const lines: string[] = [];
    const ready = await waitForMesh(TOPOLOGY, handle, {
      timeoutMs: 10_000,
      fetchStatus,
      pollMs: 1,
      onProgress: (l) => lines.push(l),
    });
    expect(ready.settled).toBe(true);
    expect([...ready.members.keys()].sort()).toEqual(['a-1', 'a-2', 'a-3', 'boot']);
    expect(ready.members.get('a-3')).toMatchObject({
      connectUrl: 'http://mgmt/a-3/connect',
      dataAddr: MEMBERS.get('a-3')!.dataAddr,
    });
    expect(ready.members.get('boot')!.peers).toBe(2);
    expect(lines.join('\n')).toMatch(/all 4 node\(s\) answer \/status[\s\S]*bootstrap settled/);
  });

  it('fails when a node never answers, and only warns when bootstrap never settles', async () => {
    const silent = async (url: string) =>
      url.includes('/a-2/') ? null : { nodeId: 'ab'.repeat(32), peersSeen: 1 };
    await expect(
      waitForMesh(TOPOLOGY, handle, { timeoutMs: 20, fetchStatus: silent, pollMs: 1 }),
    ).rejects.toThrow(TimeoutError);
    const lonely = async () => ({ nodeId: 'ab'.repeat(32), peers: [] });
    const ready = await waitForMesh(TOPOLOGY, handle, { timeoutMs: 20, fetchStatus: lonely, pollMs: 1 });
    expect(ready.settled).toBe(false);
    expect(ready.unsettled.sort()).toEqual(['a-1', 'a-2', 'a-3', 'boot']);
  });

  it('also waits for every node to have published its endpoint record', async () => {
    let reads = 0;
    const fetchStatus = async (url: string): Promise<Record<string, unknown> | null> => {
      reads++;
      const name = url.split('/')[3]!;
      const recordPublished = !(name === 'a-2' && reads < 20);
      return { nodeId: member(name).nodeId, peersSeen: 1, extra: { nat: { recordPublished } } };
    };
    const ready = await waitForMesh(TOPOLOGY, handle, { timeoutMs: 10_000, fetchStatus, pollMs: 1 });
    expect(ready.settled).toBe(true);
    expect(reads).toBeGreaterThanOrEqual(20);
    expect(ready.members.get('a-2')!.joined).toBe(true);
    expect(recordPublished({ nodeId: 'x' })).toBe(true); // nodes that do not say
    expect(recordPublished({ extra: { nat: { recordPublished: false } } })).toBe(false);
  });

  it('expects peers only where bootstrap gives them, and reads either peer field', () => {
    for (const n of TOPOLOGY.nodes) expect(expectsPeers(TOPOLOGY, n)).toBe(true);
    const noBoot = { ...TOPOLOGY, nodes: TOPOLOGY.nodes.map((n) => ({ ...n, role: 'plain' as const })) };
    for (const n of noBoot.nodes) expect(expectsPeers(noBoot, n)).toBe(false);
    const alone = { ...TOPOLOGY, nodes: TOPOLOGY.nodes.filter((n) => n.name === 'boot') };
    expect(expectsPeers(alone, alone.nodes[0]!)).toBe(false);
    expect(peerCount({ peersSeen: 3 })).toBe(3);
    expect(peerCount({ peers: [1, 2] })).toBe(2);
    expect(peerCount({})).toBeNull();
  });
});

describe('quicmesh-lab test: bad input exits 2 before building anything', () => {
  const run = async (...args: string[]) => {
    const io = captureIO();
    const code = await main(args, io);
    return { code, err: io.err.join('') };
  };

  it.each([
    [['test', 'topologies/quickstart.yaml', '--repeat', '0'], /--repeat: expected a whole number ≥ 1 or "auto", got 0/],
    [['test', 'topologies/quickstart.yaml', '--repeat', '1.5'], /--repeat: expected a whole number/],
    [['test', 'topologies/quickstart.yaml', '--parallel', '0'], /--parallel: /],
    [
      ['test', 'topologies/quickstart.yaml', '--ready-timeout', '-1'],
      /--ready-timeout: expected a positive number/,
    ],
    [
      ['test', 'topologies/quickstart.yaml', '--json', '/no/such/dir/out.json'],
      /--json: directory \/no\/such\/dir does not exist/,
    ],
    [['test', 'topologies/quickstart.yaml', '--junit', 'test'], /--junit: test is a directory/],
    [['test', 'topologies/quickstart.yaml', '--backend', 'nope'], /unknown lab backend "nope"/],
    [['test', 'no-such.yaml'], /cannot read topology no-such.yaml: no such file/],
    [['test', 'test/fixtures/topologies/bad/bad-cidr.yaml'], /bad-cidr\.yaml:\d+ /],
  ])('%j', async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});
