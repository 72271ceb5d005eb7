import { describe, expect, it } from 'vitest';
import { idFromLog, missingProgram, probeObservation, ProbeError } from '../../cli/lab/command-probe.js';
import {
  formatComparison,
  lead,
  perStackFile,
  stackCell,
  type StackRun,
} from '../../cli/lab/stack-compare.js';
import { computeVerdicts, toJsonReport, type Observation } from '../../cli/lab/verdicts/index.js';
import { commandLaunch, probeArgv } from '../../cli/runtime/plan/command-launch.js';
import { readyWhat } from '../../cli/runtime/ready.js';
import type { Expectation } from '../../cli/topology/model.js';
import { parseTopology } from '../../cli/topology/parse.js';

const TOPO = parseTopology(
  `
name: cmd
kinds:
  udp:
    command: [node, "{{dir}}/p.mjs", "{{self.role}}", "{{self.address}}:{{self.port}}", "{{bootstrap}}", "{{data}}/x", "{{lab}}"]
    env: { PEER: "{{node.a.address}}" }
    ready: { udp: "{{self.port}}" }
    probe: [node, "{{dir}}/p.mjs", probe, "{{to.address}}:{{to.port}}", "{{to.id}}", "{{timeout}}"]
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
nodes:
  boot: { network: internet, role: bootstrap, kind: udp, port: 5000 }
  a: { network: internet, kind: udp }
  b: { network: internet, kind: udp, ready: { http: "http://127.0.0.1:{{self.port}}/ready" } }
`,
  '/srv/t/cmd.yaml',
);
const node = (name: string) => TOPO.nodes.find((n) => n.name === name)!;

describe('a command node launch', () => {
  it("fills in every template of argv, env and ready for the backend's data directory", () => {
    const launch = commandLaunch(TOPO, node('a'), { dataDir: '/lab' });
    expect(launch).toEqual({
      argv: ['node', '/srv/t/p.mjs', 'plain', '203.0.113.2:4433', '203.0.113.1:5000', '/lab/x', 'cmd'],
      env: { PEER: '203.0.113.2' },
      ready: { check: 'udp', port: '4433', timeoutMs: null },
      image: null,
      mounts: ['/srv/t'],
    });
    expect(commandLaunch(TOPO, node('boot'), { dataDir: '/d' }).argv[4]).toBe(''); // no other bootstrap node
    expect(commandLaunch(TOPO, node('b'), { dataDir: '/d' }).ready).toEqual({
      check: 'http',
      url: 'http://127.0.0.1:4433/ready',
      timeoutMs: null,
    });
  });

  it('a probe sees its target and the ids nodes printed; an id never printed is named', () => {
    const ids = new Map([['b', 'peer-b']]);
    expect(probeArgv(TOPO, node('a'), node('b'), { dataDir: '/lab', ids, timeoutMs: 5000 })).toEqual([
      'node',
      '/srv/t/p.mjs',
      'probe',
      '203.0.113.3:4433',
      'peer-b',
      '5000',
    ]);
    expect(() => probeArgv(TOPO, node('b'), node('a'), { dataDir: '/lab', ids, timeoutMs: 5000 })).toThrow(
      'node b: its probe: no value for {{to.id}}',
    );
  });

  it('says in words what it waits for', () => {
    expect(readyWhat(null)).toBe('its process to run');
    expect(readyWhat({ check: 'tcp', port: '80', timeoutMs: null })).toBe(
      'a TCP socket listening on port 80',
    );
    expect(readyWhat({ check: 'command', argv: ['test', '-e', '/lab/up'], timeoutMs: 1 })).toBe(
      '`test -e /lab/up` to exit 0',
    );
  });
});

describe("a probe's result", () => {
  const pair = { from: 'a', to: 'b' };
  const run = (code: number, stdout = '', stderr = '', killed = false) =>
    probeObservation({ code, stdout, stderr, ...(killed ? { killed } : {}) }, pair, 5000);

  it('exit 0 is connected; a last JSON line gives path and time', () => {
    expect(run(0, 'dialling…\n{"path": "hole-punched", "ms": 41.26}\n')).toEqual({
      connected: true,
      path: 'hole-punched',
      timeToConnectMs: 41.3,
    });
    expect(run(0, '{"ms": 3}')).toEqual({ connected: true, path: null, timeToConnectMs: 3 });
    expect(run(0, 'connected\n')).toEqual({ connected: true, path: null, timeToConnectMs: null });
    expect(run(0, '')).toEqual({ connected: true, path: null, timeToConnectMs: null });
  });

  it('another exit code is not connected, with the last line saying why; a killed probe timed out', () => {
    expect(run(1, '', 'trying\nnot connected: timed out\n')).toMatchObject({
      connected: false,
      error: 'probe exited with code 1: not connected: timed out',
    });
    expect(run(137, '', '', true)).toMatchObject({
      connected: false,
      error: 'probe timed out after 5000 ms and was killed',
    });
  });

  it('garbage as the result line, or a program that does not exist, is bad input naming the node', () => {
    expect(() => run(0, '{oops')).toThrow(ProbeError);
    expect(() => run(0, '{oops')).toThrow(
      'probe in node a (-> b) printed an unreadable result line "{oops": not JSON',
    );
    expect(() => run(0, '{"path": "warp", "ms": 1}')).toThrow(
      'probe in node a (-> b) printed an unknown path "warp"',
    );
    expect(() => run(0, '{"path": "direct", "ms": -1}')).toThrow('printed a bad time -1');
    expect(() => run(0, '[1,2]')).not.toThrow(); // not a result line: it does not start with "{"
    expect(() => run(255, '', 'exec of "nope" failed: No such file or directory\n')).toThrow(
      'probe in node a (-> b): its command "nope" was not found',
    );
    expect(
      missingProgram(
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown',
      ),
    ).toBe('nope');
    // docker runs a node's program under tini (Init): its words for a program that does not exist
    expect(missingProgram('[FATAL tini (7)] exec no-such-prog failed: No such file or directory')).toBe('no-such-prog');
    expect(missingProgram('listening on 4433')).toBeNull();
  });

  it("a node's id is the last `ID <id>` line of its log", () => {
    expect(idFromLog('starting\nID first\nrestarted\nID second\nlistening\n')).toBe('second');
    expect(idFromLog('no id here\n  ID indented\n')).toBeNull();
  });
});

describe('stacks side by side', () => {
  const expectation = (from: string, to: string, path: Expectation['path']): Expectation => ({
    text: `${from} -> ${to}: ${path}`,
    source: '',
    from,
    to,
    path,
    withinMs: null,
    line: 1,
  });
  const obs = (path: Observation['path'], ms: number | null): Observation =>
    path
      ? { connected: true, path, timeToConnectMs: ms }
      : { connected: false, path: null, timeToConnectMs: null, error: 'timed out' };
  const run = (
    name: string,
    cells: Array<[string, string, Expectation['path'], Observation[]]>,
  ): StackRun => ({
    name,
    file: undefined,
    error: null,
    report: toJsonReport(
      computeVerdicts(
        cells.map(([f, t, p, repeats]) => ({ expectation: expectation(f, t, p), repeats })),
        { topology: 'x' },
      ),
    ),
  });

  it("shows each stack's path, connected ratio and p50, and how far the first is ahead of the best other", () => {
    const runs = [
      run('quicmesh', [
        ['a', 'b', 'hole-punched', [obs('hole-punched', 30), obs('hole-punched', 32)]],
        ['a', 'c', 'relayed', [obs('relayed', 50), obs('relayed', 52)]],
        ['a', 'd', 'direct', [obs('direct', 25), obs('direct', 25)]],
      ]),
      run('udp', [
        ['a', 'b', 'hole-punched', [obs('hole-punched', 45), obs('hole-punched', 47)]],
        ['a', 'c', 'relayed', [obs(null, null), obs(null, null)]],
        ['a', 'd', 'direct', [obs('direct', 20), obs('direct', 21)]],
      ]),
      run('libp2p', [
        ['a', 'b', 'hole-punched', [obs('relayed', 200), obs('relayed', 210)]],
        ['a', 'c', 'relayed', [obs('relayed', 220), obs(null, null)]],
        ['a', 'd', 'direct', [obs('direct', 40), obs('direct', 41)]],
      ]),
    ];
    const text = formatComparison(runs);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^cell\s+expected\s+quicmesh\s+udp\s+libp2p\s+quicmesh ahead by \(p50\)$/);
    expect(lines[1]).toMatch(
      /^a -> b\s+hole-punched\s+hole-punched 2\/2 30ms\s+hole-punched 2\/2 45ms\s+relayed 2\/2 200ms\s+\+15 ms vs udp$/,
    );
    expect(lines[2]).toMatch(
      /^a -> c\s+relayed\s+relayed 2\/2 50ms\s+failed 0\/2 -\s+relayed 1\/2 220ms\s+\+170 ms vs libp2p \(1\/2 connected\)$/,
    );
    expect(lines[3]).toMatch(/\+?-5 ms vs udp$/);
    expect(text).toContain(
      'quicmesh is ahead in 2 of 3 comparable cell(s); behind in: a -> d: 5 ms behind udp',
    );
    expect(lead([undefined])).toBeNull();
    expect(stackCell(undefined)).toBe('·');
    expect(perStackFile('out/run.json', 'udp')).toBe('out/run.udp.json');
  });
});

describe('command nodes in the live UI', () => {
  it('a command node is watched (no status URL needed), and shows up or down as its process runs', async () => {
    const { targetsFromLabState } = await import('../../cli/ui/targets.js');
    const { LabPoller } = await import('../../cli/ui/poller.js');
    const { ManualClock } = await import('../../src/core/clock.js');
    const rec = {
      name: 'u1',
      kind: 'host' as const,
      namespace: 'qm-x_h_u1',
      network: 'lan1',
      addresses: ['10.0.0.2/24'],
      nat: 'symmetric',
      statusUrl: null,
      logFile: null,
      mgmtAddress: '172.31.1.2',
      launch: { argv: ['node', 'p.mjs'], dataDir: '/d', kind: 'udp' },
      process: { pid: 1, running: true, restarts: 0 },
    };
    const state = {
      version: 2,
      lab: 'x',
      backend: 'netns',
      topologyFile: 'x.yaml',
      createdAt: '',
      phase: 'up' as const,
      tag: 'x',
      namespaces: [],
      mgmtSubnet: null,
      nodes: [rec],
      processes: [],
      shaping: null,
      netns: { rootLinks: [] },
    };
    const { targets, unwatchable } = targetsFromLabState(state);
    expect(unwatchable).toEqual([]);
    expect(targets).toEqual([{ name: 'u1', baseUrl: '', network: 'lan1', nat: 'symmetric', program: 'udp' }]);
    let running = true;
    const asked: string[] = [];
    const poller = new LabPoller({
      lab: 'x',
      targets,
      clock: new ManualClock(0),
      fetch: () => Promise.reject(new Error('a command node must not be fetched')),
      liveness: async (t) => {
        asked.push(t.name);
        return running ? { running } : { running, error: 'exited (code 3)' };
      },
    });
    await poller.pollOnce();
    expect(poller.getSnapshot().nodes[0]).toMatchObject({ state: 'up', lastError: null, status: null });
    running = false;
    await poller.pollOnce();
    expect(poller.getSnapshot().nodes[0]).toMatchObject({ state: 'down', lastError: 'exited (code 3)' });
    expect(asked).toEqual(['u1', 'u1']);
    expect(
      poller
        .getSnapshot()
        .events.map((e) => e.text)
        .join('\n'),
    ).toMatch(/down/);
  });
});
