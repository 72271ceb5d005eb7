/**
 * The lab's scenario driver with command nodes (node kinds × scenarios): a check from a command node runs
 * its probe (the runner gets the probe's path and time), a stream to or from one fails saying why, and a
 * quicmesh node's checks still go to its control endpoint.
 */
import { describe, expect, it } from 'vitest';
import type { CommandMember, LabMember } from '../../cli/lab/command-probe.js';
import type { MeshMember } from '../../cli/lab/mesh-ready.js';
import type { ConnectOptions } from '../../cli/lab/run-expectations.js';
import { labDriver } from '../../cli/lab/scenario/driver.js';
import { parseTopology } from '../../cli/topology/parse.js';

const topo = parseTopology(
  `
name: mixed
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
nodes:
  q: { network: internet }
  r: { network: internet }
  p: { network: internet, command: [x], probe: [x, "{{to.address}}"] }
  s: { network: internet, command: [x], probe: [x, "{{to.address}}"] }
`,
  'mixed.yaml',
);
const node = (name: string) => topo.nodes.find((n) => n.name === name)!;
const mesh = (name: string): MeshMember => ({
  name,
  statusUrl: `http://10.99.0.1/${name}/status`,
  connectUrl: `http://10.99.0.1/${name}/connect`,
  nodeId: `id-${name}`,
  dataAddr: `${node(name).address}:4433`,
  peers: 1,
  joined: true,
});
const command = (name: string): CommandMember => ({ name, node: node(name) });

function driverWith() {
  const probes: Array<[string, string, ConnectOptions]> = [];
  const posts: string[] = [];
  const members = new Map<string, LabMember>([
    ['q', mesh('q')],
    ['r', mesh('r')],
    ['p', command('p')],
    ['s', command('s')],
  ]);
  const driver = labDriver({
    runtime: {} as never, // no action is taken here
    lab: 'mixed',
    members,
    readyTimeoutMs: 1000,
    commandProbe: async (from, to, opts) => {
      probes.push([from.name, to.name, opts]);
      return to.name === 's'
        ? { connected: true, path: 'hole-punched', timeToConnectMs: 12.5 }
        : { connected: false, path: null, timeToConnectMs: null, error: 'probe exited with code 1: no answer' };
    },
    fetchImpl: (async (url: string) => {
      posts.push(url);
      return new Response(JSON.stringify({ connected: true, path: 'direct', timeToConnectMs: 3 }), { status: 200 });
    }) as typeof fetch,
  });
  return { driver, probes, posts };
}

describe('the scenario driver with command nodes', () => {
  it("runs a command node's probe for its checks, with the check's deadline", async () => {
    const { driver, probes, posts } = driverWith();
    const signal = new AbortController().signal;
    expect(await driver.probe('p', 's', { timeoutMs: 3000, fresh: true }, signal)).toEqual({
      connected: true,
      path: 'hole-punched',
      resolveMs: null,
      timeToConnectMs: 12.5,
    });
    expect(await driver.probe('p', 'q', { timeoutMs: 2000, fresh: false }, signal)).toEqual({
      connected: false,
      path: null,
      resolveMs: null,
      timeToConnectMs: null,
      error: 'probe exited with code 1: no answer',
    });
    expect(probes.map(([f, t, o]) => [f, t, o.timeoutMs, o.fresh])).toEqual([
      ['p', 's', 3000, true],
      ['p', 'q', 2000, false],
    ]);
    expect(posts).toEqual([]);
    // a quicmesh node's checks still go to its control endpoint
    expect((await driver.probe('q', 'r', { timeoutMs: 1000, fresh: true }, signal)).path).toBe('direct');
    expect(posts).toEqual(['http://10.99.0.1/q/connect']);
  });

  it('a stream from or to a command node fails saying it has no control endpoint', async () => {
    const { driver } = driverWith();
    const signal = new AbortController().signal;
    await expect(driver.stream('p', 'q', 1000, signal)).rejects.toThrow(
      'node p runs kind command: it has no control endpoint',
    );
    await expect(driver.stream('q', 's', 1000, signal)).rejects.toThrow(
      'node s runs kind command: it has no control endpoint',
    );
  });
});
