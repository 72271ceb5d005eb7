/** The plan of `quicmesh-lab move` is pure: address choice, port name, batch lines and errors, without root. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { STATE_VERSION, type LabState } from '../../cli/runtime/state.js';
import { formatMove } from '../../cli/lab/commands/move.js';
import { planLab } from '../../cli/runtime/plan/lab-plan.js';
import {
  TEMP_IF,
  chooseAddress,
  describeShape,
  nextPortName,
  planMove,
  renumberRestoreLines,
  shapeFor,
  usedAddresses,
} from '../../cli/runtime/plan/move-plan.js';
import { nsName } from '../../cli/runtime/names.js';
import type { ResolvedLink, ResolvedTopology } from '../../cli/topology/model.js';
import { router, threeRouterLab } from '../lab/lab-fixtures.js';

/** The state `up` would write for a topology (what move plans from). */
function stateOf(topo: ResolvedTopology): LabState {
  const plan = planLab(topo, 3);
  return {
    version: STATE_VERSION,
    lab: topo.name,
    backend: 'netns',
    topologyFile: '(test)',
    createdAt: '2026-01-01T00:00:00.000Z',
    phase: 'up',
    tag: 'abcdef',
    namespaces: [],
    netns: { rootLinks: [] },
    mgmtSubnet: null,
    nodes: plan.nodes,
    processes: [],
    shaping: null,
    networks: plan.networks,
    links: topo.links,
  };
}

const link = (network: string, node: string | null, delayMs: number, lossPct = 0): ResolvedLink => ({
  network,
  node,
  delayMs,
  jitterMs: 0,
  lossPct,
  rateKbit: 0,
});

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('network records', () => {
  it('give the gateway and NAT a host gets there, and the routes to LANs of routers without NAT', () => {
    const topo = threeRouterLab('recs');
    topo.routers.push(router('plain', 'none', ['pub', '203.0.113.50'], ['lan4', '10.0.4.1']));
    topo.networks.push({ name: 'lan4', kind: 'lan', subnet: '10.0.4.0/24' });
    const plan = planLab(topo, null);
    const pub = plan.networks.find((n) => n.name === 'pub')!;
    expect(pub).toEqual({
      name: 'pub',
      kind: 'public',
      subnet: '203.0.113.0/24',
      namespace: nsName('recs', 'n', 'pub'),
      gateway: null,
      nat: 'public',
      natStack: { path: [], effective: 'none', effectiveLabel: 'no NAT' },
      routes: [{ subnet: '10.0.4.0/24', via: '203.0.113.50' }],
    });
    expect(plan.networks.find((n) => n.name === 'lan2')).toMatchObject({
      gateway: '10.0.2.1',
      nat: 'symmetric',
      routes: [],
    });
    // the same route planLab gives the routers on that segment
    expect(plan.inNs.routers.get(nsName('recs', 'r', 'r1'))).toContain(
      'route add 10.0.4.0/24 via 203.0.113.50',
    );
  });
});

describe('chooseAddress', () => {
  const state = stateOf(threeRouterLab('addr'));
  const used = usedAddresses(state.nodes);
  const lan1 = state.networks!.find((n) => n.name === 'lan1')!;

  it('counts an address as taken on its own network only: two LANs may share a subnet', () => {
    const topo = threeRouterLab('twins');
    // lan2 reuses lan1's subnet behind its own router
    topo.networks.find((n) => n.name === 'lan2')!.subnet = '10.0.1.0/24';
    topo.routers.find((r) => r.name === 'r2')!.lan.address = '10.0.1.1';
    for (const h of topo.nodes.filter((n) => n.network === 'lan2')) {
      h.address = h.address.replace('10.0.2.', '10.0.1.');
      h.gateway = '10.0.1.1';
    }
    const twins = stateOf(topo);
    const onLan2 = usedAddresses(twins.nodes, 'lan2');
    expect(onLan2.get('10.0.1.1')).toBe('router r2');
    expect(onLan2.get('10.0.1.10')).toBe('h2a');
    expect(usedAddresses(twins.nodes, 'lan1').get('10.0.1.10')).toBe('h1a');
    expect(usedAddresses(twins.nodes, 'pub').get('203.0.113.3')).toBe('router r2');
    // h1a moves to lan2: lan2's own holders decide, not lan1's
    const plan = planMove(twins, { node: 'h1a', network: 'lan2', switchPorts: ['p0', 'p1', 'p2'] });
    expect(plan.to.address).toBe('10.0.1.2');
    expect(() => planMove(twins, { node: 'h1a', network: 'lan2', address: '10.0.1.10', switchPorts: [] })).toThrow(/taken by h2a/);
  });

  it('takes the lowest address no node or router holds', () => {
    expect(used.get('10.0.1.1')).toBe('router r1');
    expect(used.get('203.0.113.3')).toBe('router r2');
    expect(chooseAddress(lan1, used)).toBe('10.0.1.2');
    expect(chooseAddress(lan1, new Map([...used, ['10.0.1.2', 'x']]))).toBe('10.0.1.3');
  });

  it('checks a requested address: IPv4, inside the subnet, a host address, free', () => {
    expect(chooseAddress(lan1, used, '10.0.1.200')).toBe('10.0.1.200');
    expect(configError(() => chooseAddress(lan1, used, '10.0.1'))).toBe(
      '--address "10.0.1" is not an IPv4 address',
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.2.5'))).toBe(
      '--address 10.0.2.5 is outside network lan1 (10.0.1.0/24)',
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.1.0'))).toMatch(
      /is the network address of lan1/,
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.1.255'))).toMatch(
      /is the broadcast address of lan1/,
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.1.11'))).toBe(
      '--address 10.0.1.11 is taken by h1b',
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.1.1'))).toBe(
      '--address 10.0.1.1 is taken by router r1',
    );
    expect(configError(() => chooseAddress(lan1, used, '10.0.1.10', 'h1a'))).toBe(
      "--address 10.0.1.10 is already h1a's address",
    );
  });

  it('says so when the network is full', () => {
    const tiny = { ...lan1, subnet: '10.9.9.0/30' };
    expect(
      configError(() =>
        chooseAddress(
          tiny,
          new Map([
            ['10.9.9.1', 'a'],
            ['10.9.9.2', 'b'],
          ]),
        ),
      ),
    ).toBe('network lan1 (10.9.9.0/30) has no free address');
  });
});

describe('nextPortName', () => {
  it('picks one past the highest port, ignoring other links', () => {
    expect(nextPortName(['lo', 'br0'])).toBe('p0');
    expect(nextPortName(['lo', 'br0', 'p0', 'p2', 'p1'])).toBe('p3');
    expect(nextPortName(['p9', 'px', 'p10x'])).toBe('p10');
  });
});

describe('planMove', () => {
  const state = stateOf(threeRouterLab('mv', [link('lan2', null, 20), link('lan2', 'h2a', 5, 1)]));
  const h1a = nsName('mv', 'h', 'h1a');

  it('to another LAN: a new pair beside eth0, then one switch-over batch', () => {
    const plan = planMove(state, {
      node: 'h1a',
      network: 'lan3',
      switchPorts: ['lo', 'br0', 'p0', 'p1', 'p2'],
    });
    expect(plan.kind).toBe('move');
    expect(plan.from).toEqual({ network: 'lan1', address: '10.0.1.10' });
    expect(plan.to).toEqual({ network: 'lan3', address: '10.0.3.2', gateway: '10.0.3.1' });
    expect(plan.root).toEqual([
      `link add ${TEMP_IF} netns ${h1a} type veth peer name p3 netns ${nsName('mv', 'n', 'lan3')}`,
    ]);
    expect(plan.switchNs).toBe(nsName('mv', 'n', 'lan3'));
    expect(plan.switchLines).toEqual(['link set p3 master br0', 'link set p3 up']);
    expect(plan.prepare).toEqual([`addr add 10.0.3.2/24 dev ${TEMP_IF}`]);
    expect(plan.commit).toEqual([
      'link del eth0',
      `link set ${TEMP_IF} name eth0`,
      'link set eth0 up',
      'route replace default via 10.0.3.1',
    ]);
    expect(plan.abort).toEqual([`link del ${TEMP_IF}`]);
    expect(plan.record).toEqual({
      network: 'lan3',
      addresses: ['10.0.3.2/24'],
      nat: 'full-cone',
      natStack: { path: [{ router: 'r3', preset: 'full-cone', behaviour: 'EIM/EIF' }], effective: 'full-cone', effectiveLabel: 'EIM/EIF' },
    });
    expect(plan.shaping).toEqual({ from: null, to: null });
  });

  it('to a public segment: no default route, as up gives hosts there', () => {
    const plan = planMove(state, {
      node: 'h1a',
      network: 'pub',
      address: '203.0.113.99',
      switchPorts: ['p0', 'p1', 'p2'],
    });
    expect(plan.to).toEqual({ network: 'pub', address: '203.0.113.99', gateway: null });
    expect(plan.commit).toEqual(['link del eth0', `link set ${TEMP_IF} name eth0`, 'link set eth0 up']);
    expect(plan.record.nat).toBe('public');
  });

  it('on its own network: a renumber that keeps the link and its shaping', () => {
    const plan = planMove(state, { node: 'h2a', network: 'lan2', switchPorts: [] });
    expect(plan.kind).toBe('renumber');
    expect(plan.to).toEqual({ network: 'lan2', address: '10.0.2.2', gateway: '10.0.2.1' });
    expect(plan.root).toEqual([]);
    expect(plan.commit).toEqual([
      'addr del 10.0.2.10/24 dev eth0',
      'addr add 10.0.2.2/24 dev eth0',
      'route replace default via 10.0.2.1',
    ]);
    expect(plan.shaping.from).toBe(plan.shaping.to);
    expect(plan.shaping.to?.node).toBe('h2a');
    const lan2 = state.networks!.find((n) => n.name === 'lan2')!;
    expect(renumberRestoreLines(plan, lan2)).toEqual([
      'addr flush dev eth0',
      'addr add 10.0.2.10/24 dev eth0',
      'link set eth0 up',
      'route replace default via 10.0.2.1',
    ]);
  });

  it('shapes the new attachment as up would: the node entry for that network, else the network entry', () => {
    expect(planMove(state, { node: 'h1a', network: 'lan2', switchPorts: [] }).shaping).toEqual({
      from: null,
      to: link('lan2', null, 20),
    });
    expect(planMove(state, { node: 'h2a', network: 'lan1', switchPorts: [] }).shaping).toEqual({
      from: link('lan2', 'h2a', 5, 1),
      to: null,
    });
    expect(shapeFor([link('lan1', null, 0)], 'h1a', 'lan1')).toBeNull();
    expect(describeShape(link('lan2', 'h2a', 5, 1))).toBe('delay 5 ms, loss 1 % (link on node h2a)');
    expect(describeShape({ ...link('lan2', null, 20), jitterMs: 2, rateKbit: 1000 })).toBe(
      'delay 20 ms ± 2 ms, rate 1000 kbit/s (link on network lan2)',
    );
    expect(describeShape(null)).toBe('none');
  });

  it('names what is wrong: unknown node, a router, unknown network, a lab not up, an old state file', () => {
    const req = (node: string, network: string) => () => planMove(state, { node, network, switchPorts: [] });
    expect(configError(req('zed', 'lan1'))).toBe(
      'lab mv has no node "zed" (nodes: h1a, h1b, h2a, h2b, h3a, h3b)',
    );
    expect(configError(req('r1', 'lan2'))).toMatch(/^"r1" is a router; only nodes can move/);
    expect(configError(req('h1a', 'mars'))).toBe(
      'lab mv has no network "mars" (networks: pub, lan1, lan2, lan3)',
    );
    expect(
      configError(() =>
        planMove({ ...state, phase: 'building' }, { node: 'h1a', network: 'lan2', switchPorts: [] }),
      ),
    ).toBe('lab mv is not up (phase: building)');
    expect(
      configError(() =>
        planMove({ ...state, networks: undefined }, { node: 'h1a', network: 'lan2', switchPorts: [] }),
      ),
    ).toMatch(/older quicmesh-lab .* run down and up again/);
  });
});

describe('formatMove', () => {
  it('prints one line: from, to, gateway, time and shaping', () => {
    const r = {
      node: 'alice',
      from: { network: 'home-a', address: '192.168.1.2' },
      to: { network: 'home-b', address: '10.0.2.7', gateway: '10.0.2.1' },
      shaping: 'none',
      ms: 41.7,
    };
    expect(formatMove(r)).toBe(
      'moved alice: home-a 192.168.1.2 → home-b 10.0.2.7 (gateway 10.0.2.1) in 0.04 s; shaping: none\n',
    );
    expect(
      formatMove({ ...r, to: { network: 'home-a', address: '192.168.1.9', gateway: '192.168.1.1' } }),
    ).toMatch(/^renumbered alice: home-a 192\.168\.1\.2 → home-a 192\.168\.1\.9/);
    expect(
      formatMove({ ...r, to: { network: 'internet', address: '203.0.113.9', gateway: null } }),
    ).toContain('(public segment, no default route)');
  });
});
