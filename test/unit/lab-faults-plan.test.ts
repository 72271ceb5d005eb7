/**
 * The pure parts of the fault verbs, without root: link records and the shaping each namespace gets,
 * link cuts, partition drop lists (exact, or refused where a NAT's address is shared across the cut),
 * the nat reset scripts, the state merge of one node's stop/start, and how status and the TUI show them.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import { STATE_VERSION, mergeNodeChanges, type LabState } from '../../cli/runtime/state.js';
import { planLab } from '../../cli/runtime/plan/lab-plan.js';
import {
  changeCuts,
  changeLinks,
  isCut,
  linkFor,
  namespaceShaping,
  resolveLinkTarget,
} from '../../cli/runtime/plan/link-plan.js';
import { lossScript } from '../../cli/runtime/plan/shaping-plan.js';
import {
  mergeRules,
  partitionHosts,
  partitionScript,
  planPartition,
  views,
} from '../../cli/runtime/plan/partition-plan.js';
import { BLOCK_SCRIPT, countOf, flushScript, natTableSets } from '../../cli/runtime/wiring/nat-reset.js';
import { formatStatus, nodeState } from '../../cli/lab/commands/status.js';
import { formatNodeProcess } from '../../cli/lab/commands/node-process.js';
import { formatLinkSet, formatLinkState, linkChange } from '../../cli/lab/commands/link.js';
import { formatHeal, formatPartition } from '../../cli/lab/commands/partition.js';
import { formatNatReset } from '../../cli/lab/commands/nat.js';
import { nsName } from '../../cli/runtime/names.js';
import { LabPoller } from '../../cli/ui/poller.js';
import { stateLabel } from '../../cli/ui/node-table.js';
import { processText } from '../../cli/ui/detail-pane.js';
import type { LabStatus } from '../../cli/runtime/runtime.js';
import type { NodeProcessInfo } from '../../cli/ui/node-view.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { host, router } from '../lab/lab-fixtures.js';
import { FakeFetch, statusBody } from './ui-fixtures.js';

/** pub: srv, pub2; home (port-restricted cone, hairpin) with a-1, a-2; office (symmetric) with b-1; cg (cgnat) → inner (full cone) with c-1, c-2. */
function topo(): ResolvedTopology {
  return {
    name: 'flt',
    sourceFile: '(test)',
    networks: [
      { name: 'pub', kind: 'public', subnet: '203.0.113.0/24' },
      { name: 'home', kind: 'lan', subnet: '192.168.1.0/24' },
      { name: 'office', kind: 'lan', subnet: '192.168.1.0/24' },
      { name: 'carrier', kind: 'lan', subnet: '100.64.0.0/24' },
      { name: 'inner', kind: 'lan', subnet: '10.5.0.0/24' },
    ],
    routers: [
      router('rh', 'port-restricted-cone', ['pub', '203.0.113.2'], ['home', '192.168.1.1'], {
        hairpin: true,
      }),
      router('ro', 'symmetric', ['pub', '203.0.113.3'], ['office', '192.168.1.1']),
      router('cg', 'cgnat', ['pub', '203.0.113.4'], ['carrier', '100.64.0.1']),
      router('ri', 'full-cone', ['carrier', '100.64.0.2'], ['inner', '10.5.0.1']),
    ],
    nodes: [
      host('srv', 'pub', '203.0.113.10', null),
      host('pub2', 'pub', '203.0.113.11', null),
      host('a-1', 'home', '192.168.1.10', '192.168.1.1'),
      host('a-2', 'home', '192.168.1.11', '192.168.1.1'),
      host('b-1', 'office', '192.168.1.10', '192.168.1.1'),
      host('c-1', 'inner', '10.5.0.10', '10.5.0.1'),
      host('c-2', 'inner', '10.5.0.11', '10.5.0.1'),
    ],
    links: [{ network: 'pub', node: null, delayMs: 10, jitterMs: 1, lossPct: 0, rateKbit: 0 }],
    expectations: [],
  };
}

function stateOf(t: ResolvedTopology): LabState {
  const plan = planLab(t, 3);
  return {
    version: STATE_VERSION,
    lab: t.name,
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
    links: t.links,
  };
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('link plans', () => {
  const state = stateOf(topo());

  it('find the interfaces of a network (hosts and both router sides) or of one node on it', () => {
    expect(resolveLinkTarget(state, 'home', null).map((e) => `${e.machine}/${e.iface}`)).toEqual([
      'rh/lan0',
      'a-1/eth0',
      'a-2/eth0',
    ]);
    expect(resolveLinkTarget(state, 'pub', 'srv').map((e) => `${e.machine}/${e.iface}`)).toEqual([
      'srv/eth0',
    ]);
    expect(configError(() => resolveLinkTarget(state, 'mars', null))).toMatch(
      /no network "mars" \(networks: pub, home, office, carrier, inner\)/,
    );
    expect(configError(() => resolveLinkTarget(state, 'home', 'b-1'))).toBe(
      'node b-1 is on network office, not home',
    );
    expect(configError(() => resolveLinkTarget(state, 'home', 'rh'))).toMatch(
      /network home has no node "rh" \(nodes on it: a-1, a-2\)/,
    );
  });

  it('change the fields given, keep the others, and give a node an entry of its own starting from its network', () => {
    const net = changeLinks(state.links!, { network: 'pub', lossPct: 5 });
    expect(net.link).toEqual({
      network: 'pub',
      node: null,
      delayMs: 10,
      jitterMs: 1,
      lossPct: 5,
      rateKbit: 0,
    });
    const own = changeLinks(net.links, { network: 'pub', node: 'srv', delayMs: 0, jitterMs: 0 });
    expect(own.link).toEqual({
      network: 'pub',
      node: 'srv',
      delayMs: 0,
      jitterMs: 0,
      lossPct: 5,
      rateKbit: 0,
    });
    expect(own.links).toHaveLength(2);
    expect(linkFor(own.links, { network: 'pub', node: 'pub2' }).delayMs).toBe(10);
    expect(linkFor(own.links, { network: 'home', node: 'a-1' })).toMatchObject({ delayMs: 0, lossPct: 0 });
    expect(configError(() => changeLinks(state.links!, { network: 'pub', delayMs: 0 }))).toMatch(
      /jitter \(1 ms\) exceeds delay \(0 ms\)/,
    );
    expect(configError(() => changeLinks([], { network: 'pub', lossPct: 101 }))).toMatch(
      /loss within 0\.\.100/,
    );
  });

  it("shape every interface of a namespace at once (a router's two sides), from the records", () => {
    const next = { ...state, links: changeLinks(state.links!, { network: 'home', rateKbit: 1000 }).links };
    expect(namespaceShaping(next, nsName('flt', 'r', 'rh'))).toEqual([
      {
        namespace: nsName('flt', 'r', 'rh'),
        iface: 'wan0',
        delayMs: 10,
        jitterMs: 1,
        lossPct: 0,
        rateKbit: 0,
      },
      {
        namespace: nsName('flt', 'r', 'rh'),
        iface: 'lan0',
        delayMs: 0,
        jitterMs: 0,
        lossPct: 0,
        rateKbit: 1000,
      },
    ]);
  });

  it('the fallback loss table drops everything at 100 % (numgen counts to 9999 only)', () => {
    const t = { namespace: 'ns', delayMs: 0, jitterMs: 0, rateKbit: 0 };
    expect(
      lossScript([
        { ...t, iface: 'eth0', lossPct: 100 },
        { ...t, iface: 'wan0', lossPct: 2.5 },
      ]),
    ).toContain('\t\toifname "eth0" drop\n\t\toifname "wan0" numgen random mod 10000 < 250 drop');
  });

  it('cut and restore a node or a whole network, refusing what makes no sense', () => {
    let cuts = changeCuts([], 'home', 'a-1', false);
    expect(cuts).toEqual([{ network: 'home', node: 'a-1' }]);
    expect(isCut(cuts, 'home', 'a-1')).toBe(true);
    expect(isCut(cuts, 'home', 'a-2')).toBe(false);
    expect(configError(() => changeCuts(cuts, 'home', 'a-1', false))).toMatch(/down already/);
    cuts = changeCuts(cuts, 'home', null, false); // the whole network takes the node's cut with it
    expect(cuts).toEqual([{ network: 'home', node: null }]);
    expect(isCut(cuts, 'home', 'a-2')).toBe(true);
    expect(configError(() => changeCuts(cuts, 'home', 'a-1', true))).toMatch(
      /the whole network home is down/,
    );
    expect(changeCuts(cuts, 'home', null, true)).toEqual([]);
    expect(configError(() => changeCuts([], 'home', null, true))).toMatch(/is not down/);
  });

  it('the CLI reads --delay/--loss/--rate with units, and says which flag is wrong', () => {
    expect(linkChange('pub', { delay: '25ms', loss: '1.5%', rate: '10mbit', node: 'srv' })).toEqual({
      network: 'pub',
      node: 'srv',
      delayMs: 25,
      lossPct: 1.5,
      rateKbit: 10000,
    });
    expect(configError(() => linkChange('pub', { delay: '25' }))).toMatch(/^--delay: expected a duration/);
    expect(configError(() => linkChange('pub', {}))).toMatch(/nothing to set/);
  });
});

describe('partition plans', () => {
  const state = stateOf(topo());
  const { hosts, routers } = partitionHosts(state.nodes);
  const v = (x: string, y: string) => views(hosts.get(x)!, hosts.get(y)!, routers);

  it('see a node at its address on the lowest shared network, and at a hairpinning NAT above that', () => {
    expect(v('srv', 'a-1')).toEqual(['203.0.113.2']);
    expect(v('a-1', 'srv')).toEqual(['203.0.113.10']);
    expect(v('a-1', 'a-2')).toEqual(['192.168.1.11', '203.0.113.2']); // rh hairpins
    expect(v('b-1', 'a-1')).toEqual(['203.0.113.2']); // same LAN subnet, different homes: only the public address
    expect(v('srv', 'c-1')).toEqual(['203.0.113.4']); // the carrier NAT's address, not the inner router's
    expect(v('c-1', 'c-2')).toEqual(['10.5.0.11']);
  });

  it('drop at the end where the addresses are exact: a NAT whose whole LAN is on one side is exact', () => {
    const p = planPartition(state.nodes, ['a'], ['srv', 'b-1']);
    expect(p.sides).toEqual([
      ['a-1', 'a-2'],
      ['srv', 'b-1'],
    ]);
    expect(p.rules).toEqual([
      { namespace: nsName('flt', 'h', 'a-1'), machine: 'a-1', drop: ['203.0.113.10', '203.0.113.3'] },
      { namespace: nsName('flt', 'h', 'a-2'), machine: 'a-2', drop: ['203.0.113.10', '203.0.113.3'] },
      { namespace: nsName('flt', 'h', 'b-1'), machine: 'b-1', drop: ['203.0.113.2'] },
      { namespace: nsName('flt', 'h', 'srv'), machine: 'srv', drop: ['203.0.113.2'] },
    ]);
  });

  it("drop only at the inside end where the NAT's address is shared with a node left out", () => {
    const p = planPartition(state.nodes, ['a-1'], ['srv']);
    expect(p.rules).toEqual([
      { namespace: nsName('flt', 'h', 'a-1'), machine: 'a-1', drop: ['203.0.113.10'] },
    ]);
    // two nodes of one hairpinning LAN: a-2 is also seen at the router's address, which stands for a-1 alone here
    expect(planPartition(state.nodes, ['a-1'], ['a-2']).rules.map((r) => r.machine)).toEqual(['a-1', 'a-2']);
  });

  it('refuse a cut where both ends are behind shared addresses, naming the nodes and the address', () => {
    const msg = configError(() => planPartition(state.nodes, ['a-1'], ['c-1']));
    expect(msg).toMatch(
      /a-1 sees c-1 at 203\.0\.113\.4, which also stands for c-2; and c-1 sees a-1 at 203\.0\.113\.2, which also stands for a-2/,
    );
    expect(msg).toMatch(/Put every node behind such a NAT on one side/);
    expect(configError(() => planPartition(state.nodes, ['a-1'], ['a-1']))).toMatch(/a-1 on both sides/);
    expect(configError(() => planPartition(state.nodes, ['zed'], ['srv']))).toMatch(/no node or group "zed"/);
  });

  it('add up several partitions per namespace; the nft table drops at the interface, or goes', () => {
    const one = planPartition(state.nodes, ['a'], ['srv']);
    const two = planPartition(state.nodes, ['a'], ['pub2']);
    const merged = mergeRules([one, two]);
    expect(merged.find((r) => r.machine === 'a-1')?.drop).toEqual(['203.0.113.10', '203.0.113.11']);
    const script = partitionScript('eth0', ['203.0.113.10']);
    expect(script).toContain('hook ingress device "eth0"');
    expect(script).toContain('hook egress device "eth0"');
    expect(script).toContain('elements = { 203.0.113.10 }');
    expect(partitionScript('eth0', [])).toBe(
      'table netdev qm_partition {}\ndelete table netdev qm_partition\n',
    );
  });
});

describe('nat reset scripts', () => {
  it('flush every set and map of the NAT table and lift the blocker in one transaction', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { table: { name: 'qm_nat' } },
        {
          map: {
            name: 'by_port',
            elem: [
              [1, 2],
              [3, 4],
            ],
          },
        },
        { set: { name: 'held_ports', elem: [5] } },
        { set: { name: 'contacted' } },
        { chain: { name: 'input' } },
      ],
    });
    const sets = natTableSets(json);
    expect(sets).toEqual([
      { kind: 'map', name: 'by_port', elements: 2 },
      { kind: 'set', name: 'held_ports', elements: 1 },
      { kind: 'set', name: 'contacted', elements: 0 },
    ]);
    expect(flushScript(sets)).toBe(
      'flush map ip qm_nat by_port\nflush set ip qm_nat held_ports\nflush set ip qm_nat contacted\ndelete table ip qm_reset\n',
    );
    expect(BLOCK_SCRIPT).toContain('hook prerouting priority raw - 100; policy drop;');
    expect(countOf('42\n')).toBe(42);
    expect(countOf('')).toBe(0);
  });
});

describe('one node stopped or started', () => {
  it("merges that node's process, recorded host process and container into the current state only", () => {
    const base = stateOf(topo());
    base.docker = {
      engine: 'x',
      images: { node: 'n', router: 'r' },
      network: null,
      containers: [{ name: 'qm-flt_a-1', machine: 'a-1', role: 'node', id: 'old' }],
    };
    const current: LabState = structuredClone(base);
    current.nodes.find((n) => n.name === 'a-2')!.process = { pid: 7, running: true, restarts: 3 }; // another verb's change
    const mine: LabState = structuredClone(base);
    mine.nodes.find((n) => n.name === 'a-1')!.process = { pid: 9, running: true, restarts: 1 };
    mine.processes.push({ role: 'node:a-1', namespace: 'x', pid: 9, cmdlineMark: 'm' });
    mine.docker!.containers[0]!.id = 'new';
    mergeNodeChanges(current, mine, 'a-1');
    expect(current.nodes.find((n) => n.name === 'a-1')?.process).toEqual({
      pid: 9,
      running: true,
      restarts: 1,
    });
    expect(current.nodes.find((n) => n.name === 'a-2')?.process).toEqual({
      pid: 7,
      running: true,
      restarts: 3,
    });
    expect(current.processes.map((p) => p.role)).toEqual(['node:a-1']);
    expect(current.docker!.containers.map((c) => c.id)).toEqual(['new']);
  });
});

describe('what status and the TUI show', () => {
  const st: LabStatus = {
    name: 'flt',
    backend: 'docker',
    phase: 'up',
    nodes: [
      {
        name: 'a-1',
        kind: 'host',
        namespace: 'x',
        network: 'home',
        addresses: ['192.168.1.10/24'],
        nat: 'port-restricted-cone',
        statusUrl: 'http://172.31.3.2:9464/status',
        logFile: null,
        process: { pid: null, container: 'qm-flt_a-1', running: false, restarts: 2 },
        live: { node: 'a-1', reachable: false, status: null, error: 'stopped' },
      },
      {
        name: 'srv',
        kind: 'host',
        namespace: 'y',
        network: 'pub',
        addresses: ['203.0.113.10/24'],
        nat: 'public',
        statusUrl: 'http://172.31.3.3:9464/status',
        logFile: null,
        process: { pid: 4242, running: true, restarts: 0 },
        live: {
          node: 'srv',
          reachable: true,
          status: { nodeId: 'ab'.repeat(32), peersSeen: 3 },
          error: null,
        },
      },
    ],
    links: [{ network: 'pub', node: null, delayMs: 10, jitterMs: 1, lossPct: 0, rateKbit: 0 }],
    linkCuts: [{ network: 'home', node: 'a-1' }],
    partitions: [{ id: 1, sides: [['a-1'], ['srv']] }],
  };

  it('status: a stopped node is stopped (not unreachable), with its container or pid and restart count, and the faults in force', () => {
    expect(nodeState(st.nodes[0]!)).toBe('stopped');
    const text = formatStatus(st);
    expect(text).toMatch(/PROCESS\s+RESTARTS\s+STATE/);
    expect(text).toMatch(/a-1 .* qm-flt_a-1\s+2\s+stopped/);
    expect(text).toMatch(/srv .* pid 4242\s+0\s+up/);
    expect(text).toContain('link pub: delay 10 ms ± 1 ms');
    expect(text).toContain('link a-1 on home: DOWN');
    expect(text).toContain('partition 1: a-1 | srv');
  });

  it('the TUI polls no stopped node: it shows it stopped, with its process, and says when it starts again', async () => {
    const clock = new ManualClock(1000);
    const fake = new FakeFetch();
    const base = 'http://172.31.3.2:9464';
    fake.node(base, statusBody({ peers: 1 }));
    let proc: NodeProcessInfo = { pid: null, container: 'qm-flt_a-1', running: false, restarts: 1 };
    const poller = new LabPoller({
      targets: [{ name: 'a-1', baseUrl: base }],
      fetch: fake.fetch,
      clock,
      processes: () => new Map([['a-1', proc]]),
    });
    await poller.pollOnce();
    let v = poller.getSnapshot().nodes[0]!;
    expect(v.state).toBe('stopped');
    expect(stateLabel(v)).toBe('stop');
    expect(v.lastError).toBeNull();
    expect(processText(v)).toBe('container qm-flt_a-1 · stopped · restarts 1');
    expect(fake.calls).toEqual([]);
    proc = { pid: 77, running: true, restarts: 2 };
    await poller.pollOnce();
    v = poller.getSnapshot().nodes[0]!;
    expect(v.state).toBe('up');
    expect(processText(v)).toBe('pid 77 · restarts 2');
    expect(poller.getSnapshot().events.map((e) => e.text)).toEqual(['stopped by its lab', 'started again']);
  });

  it('the verbs print one line each', () => {
    expect(formatNodeProcess('stop', { node: 'a-1', running: false, pid: null, restarts: 0, ms: 120 })).toBe(
      'stopped a-1 in 0.12 s; restarts so far: 0\n',
    );
    expect(
      formatNodeProcess('restart', {
        node: 'a-1',
        running: true,
        pid: 9,
        restarts: 1,
        nodeId: 'ab'.repeat(32),
        readyMs: 850,
        ms: 1200,
      }),
    ).toBe(
      'restarted a-1 (pid 9; NodeId abababababababab…, restart 1): answered /status 0.85 s after it started, 1.20 s in all\n',
    );
    expect(
      formatLinkSet({
        network: 'pub',
        node: null,
        link: { network: 'pub', node: null, delayMs: 5, jitterMs: 0, lossPct: 2, rateKbit: 0 },
        interfaces: 4,
        mode: 'tc netem',
        ms: 30,
      }),
    ).toBe('link on network pub: delay 5 ms, loss 2 %; 4 interface(s), 0.03 s\n');
    expect(formatLinkState({ network: 'home', node: 'a-1', state: 'down', ports: 1, ms: 10 })).toBe(
      "a-1's link on home down: 1 switch port(s), 0.01 s\n",
    );
    expect(formatPartition({ id: 2, sides: [['a-1'], ['srv', 'b-1']], machines: 3, ms: 40 })).toBe(
      'partition 2: a-1 | srv, b-1 — drop rules in 3 machine(s), 0.04 s\n',
    );
    expect(formatHeal({ partitions: 0, machines: 0, ms: 1 })).toBe('no partition to heal\n');
    expect(formatNatReset({ router: 'rh', conntrack: 1, elements: 4, ms: 20 })).toBe(
      'rh reset: 1 conntrack entry and 4 NAT table element(s) forgotten in 0.02 s\n',
    );
  });
});
