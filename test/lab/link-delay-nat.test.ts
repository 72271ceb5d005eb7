/**
 * A shaped link's delay is the wire's, not the NAT's (root only): a router opens its pinhole the moment
 * its host's packet passes it, and judges an arriving packet when it comes off the wire. Two hosts
 * behind port-restricted NATs, 150 ms apart on each wire, send to each other's mapping at the same
 * moment: on real NATs (and with netem) both packets get through, since each NAT opened long before the
 * other's packet arrived. A delay stage that held packets before the sender's conntrack confirmed them
 * would open each NAT only as its own packet left, 150 ms late, and drop the packet that arrived first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { nsName } from '../../cli/runtime/names.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { host, isRootWithTools, labBackends, labName, router } from './lab-fixtures.js';
import { Agent, mapping, waitUntil } from './udp-agents.js';

const DELAY_MS = 150;
const BOOT = '198.19.79.10:3478';

function topology(name: string): ResolvedTopology {
  return {
    name,
    sourceFile: '(link-delay test)',
    networks: [
      { name: 'pub', kind: 'public', subnet: '198.19.79.0/24' },
      { name: 'lan-a', kind: 'lan', subnet: '10.79.1.0/24' },
      { name: 'lan-b', kind: 'lan', subnet: '10.79.2.0/24' },
    ],
    routers: [
      router('nat-a', 'port-restricted-cone', ['pub', '198.19.79.1'], ['lan-a', '10.79.1.1']),
      router('nat-b', 'port-restricted-cone', ['pub', '198.19.79.2'], ['lan-b', '10.79.2.1']),
    ],
    nodes: [
      host('boot', 'pub', '198.19.79.10', null),
      host('a', 'lan-a', '10.79.1.2', '10.79.1.1'),
      host('b', 'lan-b', '10.79.2.2', '10.79.2.1'),
    ],
    links: [{ network: 'pub', node: null, delayMs: DELAY_MS, jitterMs: 0, lossPct: 0, rateKbit: 0 }],
    expectations: [],
  };
}

describe.runIf(isRootWithTools(['ip', 'nft', 'iptables', 'tc'])).each(labBackends())('link delay and NAT state (%s)', (backend) => {
  const lab = labName('link-delay-test', backend);
  const rt = getRuntime(backend);
  const agents: Agent[] = [];

  beforeAll(async () => {
    await rt.down(lab).catch(() => {}); // leftovers of an aborted earlier run
    await rt.up(topology(lab), { startNodes: false });
    for (const n of ['boot', 'a', 'b']) agents.push(Agent.start(nsName(lab, 'h', n), n));
    await Promise.all([agents[0]!.open(3478), agents[1]!.open(4433), agents[2]!.open(4433)]);
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.stop();
    await rt.down(lab);
  }, 60_000);

  it('two hosts sending to each other at once both get through: each NAT opened as its packet left', async () => {
    const [, a, b] = agents as [Agent, Agent, Agent];
    // a round trip to the public host crosses two 150 ms wires: wait a second per try
    const MA = await mapping(a, 4433, BOOT, 1000);
    const MB = await mapping(b, 4433, BOOT, 1000);
    a.send(4433, MB, 'from a');
    b.send(4433, MA, 'from b');
    const both = await waitUntil(() => a.has('from b', MB) && b.has('from a', MA), 5 * DELAY_MS);
    expect({ aGotB: a.has('from b', MB), bGotA: b.has('from a', MA) }).toEqual({ aGotB: true, bGotA: true });
    expect(both).toBe(true);
  });
});
