/**
 * Forgetting the NAT state between two lab hosts (cli/runtime/plan/forget-plan.ts), without root: lab
 * node records from planLab, router snapshots written as `conntrack -L` lines and `nft -j` JSON, and the
 * deletions the plan picks — exactly the A↔B flows and permissions, never the mappings A and B share with
 * other traffic, never another pair's flows. Also the test verb's wrapper that forgets before each probe.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  type RouterSnapshot,
  forgetCommands,
  forgetScope,
  parseConntrack,
  parseNatTable,
  parseSnapshot,
} from '../../cli/runtime/plan/forget-plan.js';
import { planLab } from '../../cli/runtime/plan/lab-plan.js';
import { forgetFirst, type ConnectFn } from '../../cli/lab/run-expectations.js';
import type { MeshMember } from '../../cli/lab/mesh-ready.js';
import type { NatPresetName, ResolvedRouter, ResolvedTopology } from '../../cli/topology/model.js';
import { MissingToolError } from '../../cli/runtime/errors.js';
import { TOOL_PACKAGES } from '../../cli/runtime/exec.js';
import { host, router } from '../lab/lab-fixtures.js';

// ---- snapshot writers: the shapes conntrack and nft really print -----------------------------------

const ep = (s: string) => {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), s.slice(i + 1)] as const;
};
const line = (o: [string, string], r: [string, string]) => {
  const [os, osp] = ep(o[0]);
  const [od, odp] = ep(o[1]);
  const [rs, rsp] = ep(r[0]);
  const [rd, rdp] = ep(r[1]);
  return `udp      17 29 src=${os} dst=${od} sport=${osp} dport=${odp} src=${rs} dst=${rd} sport=${rsp} dport=${rdp} mark=0 use=1`;
};
/** A flow from the LAN: inside → remote, source-NATed to `mapped` (the router's WAN address:port). */
const out = (inside: string, remote: string, mapped: string) => line([inside, remote], [remote, mapped]);
/** A flow from the WAN to `mapped`, destination-NATed to `inside` (full cone, restricted cone). */
const inbound = (remote: string, mapped: string, inside: string) => line([remote, mapped], [inside, remote]);

type Ep = [string, number];
interface Sets {
  by_inside?: Array<[Ep, Ep]>;
  by_remote?: Array<[[string, number, string], Ep]>;
  by_port?: Array<[number, Ep]>;
  contacted?: Ep[];
}
/** `nft -j list table ip qm_nat`, elements with timeouts as nft prints them. */
function nftJson(sets: Sets): string {
  const el = (val: unknown) => ({ elem: { val, expires: 24 } });
  const c = (xs: unknown[]) => ({ concat: xs });
  const items: unknown[] = [{ metainfo: { version: '1.0.6' } }, { table: { family: 'ip', name: 'qm_nat', handle: 1 } }];
  const add = (kind: 'set' | 'map', name: string, elem: unknown[]) => items.push({ [kind]: { family: 'ip', name, table: 'qm_nat', elem } });
  if (sets.by_inside) add('map', 'by_inside', sets.by_inside.map(([k, v]) => [el(c(k)), c(v)]));
  if (sets.by_remote) add('map', 'by_remote', sets.by_remote.map(([k, v]) => [el(c(k)), c(v)]));
  if (sets.by_port) add('map', 'by_port', sets.by_port.map(([k, v]) => [el(k), c(v)]));
  if (sets.contacted) add('set', 'contacted', sets.contacted.map((k) => el(c(k))));
  return JSON.stringify({ nftables: items });
}

const snap = (lines: string[], sets: Sets = {}): RouterSnapshot => parseSnapshot(lines.join('\n'), nftJson(sets));

/** Plan a forget and return, per router, the tuples (orig "src:sport>dst:dport") and elements it deletes. */
function plan(topo: ResolvedTopology, snaps: Record<string, RouterSnapshot>, a: string, b: string) {
  const scope = forgetScope(planLab(topo, null).nodes, a, b);
  const result = forgetCommands(scope, new Map(Object.entries(snaps)));
  return Object.fromEntries(
    result.map((f) => [
      f.router,
      {
        flows: f.conntrack.map(({ orig: o }) => `${o.src}:${o.sport}>${o.dst}:${o.dport}`).sort(),
        elements: f.elements.map((e) => `${e.set} ${e.key}`).sort(),
        commands: f.commands,
      },
    ]),
  );
}

// ---- topologies ---------------------------------------------------------------------------------------

const BOOT = '203.0.113.10';
/** Routers on one public segment, each with a LAN; hosts a1, a2 … behind them; a public bootstrap "boot". */
function lab(routers: Array<[string, NatPresetName, Partial<ResolvedRouter>?]>, hostsPer: Record<string, string[]>): ResolvedTopology {
  const t: ResolvedTopology = {
    name: 'forget-unit',
    sourceFile: '(test)',
    networks: [{ name: 'pub', kind: 'public', subnet: '203.0.113.0/24' }],
    routers: [],
    nodes: [host('boot', 'pub', BOOT, null)],
    links: [],
    expectations: [],
  };
  routers.forEach(([name, preset, extra], i) => {
    t.networks.push({ name: `lan-${name}`, kind: 'lan', subnet: `10.${i + 1}.0.0/24` });
    t.routers.push(router(name, preset, ['pub', `203.0.113.${i + 1}`], [`lan-${name}`, `10.${i + 1}.0.1`], extra));
    (hostsPer[name] ?? []).forEach((h, j) => t.nodes.push(host(h, `lan-${name}`, `10.${i + 1}.0.${j + 2}`, `10.${i + 1}.0.1`)));
  });
  return t;
}

describe('forgetScope', () => {
  it('lists the routers of both paths once, bottom-up, stacked ones included', () => {
    const t = lab([['cg', 'cgnat'], ['rb', 'port-restricted-cone']], { rb: ['b'] });
    t.networks.push({ name: 'home', kind: 'lan', subnet: '192.168.9.0/24' });
    t.routers.push(router('home', 'port-restricted-cone', ['lan-cg', '10.1.0.2'], ['home', '192.168.9.1'], { upstreamRouter: 'cg' }));
    t.nodes.push(host('a', 'home', '192.168.9.2', '192.168.9.1'), host('n', 'lan-cg', '10.1.0.9', '10.1.0.1'));
    const s = forgetScope(planLab(t, null).nodes, 'a', 'b');
    expect(s.a.path.map((r) => r.name)).toEqual(['home', 'cg']);
    expect(s.routers.map((r) => r.name)).toEqual(['home', 'cg', 'rb']);
    expect(forgetScope(planLab(t, null).nodes, 'a', 'n').routers.map((r) => r.name)).toEqual(['home', 'cg']);
    expect(forgetScope(planLab(t, null).nodes, 'boot', 'b').routers.map((r) => r.name)).toEqual(['rb']);
  });

  it('refuses unknown hosts, routers and a host named twice', () => {
    const nodes = planLab(lab([['ra', 'full-cone']], { ra: ['a'] }), null).nodes;
    expect(() => forgetScope(nodes, 'a', 'zed')).toThrow(/no host "zed"/);
    expect(() => forgetScope(nodes, 'a', 'ra')).toThrow(/no host "ra"/);
    expect(() => forgetScope(nodes, 'a', 'a')).toThrow(/named twice/);
  });

  it('reads router sides from state files written before planLab recorded them', () => {
    const nodes = planLab(lab([['ra', 'symmetric']], { ra: ['a'] }), null).nodes.map((n) => ({ ...n, router: undefined }));
    const r = forgetScope(nodes, 'a', 'boot').routers[0]!;
    expect(r).toMatchObject({ name: 'ra', preset: 'symmetric', wan: { network: 'pub', address: '203.0.113.1' }, lan: { network: 'lan-ra', address: '10.1.0.1' } });
  });
});

describe('forgetCommands', () => {
  // a, d behind ra; b, c behind rb: B's public address 203.0.113.2 is shared with c
  const WA = '203.0.113.1';
  const WB = '203.0.113.2';

  it('port-restricted both sides: only the a↔b flows go; a↔c, d↔b, bootstrap flows and the mappings stay', () => {
    const t = lab([['ra', 'port-restricted-cone'], ['rb', 'port-restricted-cone']], { ra: ['a', 'd'], rb: ['b', 'c'] });
    const p = plan(t, {
      ra: snap(
        [
          out('10.1.0.2:4433', `${WB}:4433`, `${WA}:4433`), // a → b (b's mapping 4433)
          out('10.1.0.2:4433', `${WB}:5000`, `${WA}:4433`), // a → c (c's mapping 5000)
          out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:4433`), // a → bootstrap
          out('10.1.0.3:4433', `${WB}:4433`, `${WA}:6000`), // d → b
        ],
        { by_inside: [[['10.1.0.2', 4433], [WA, 4433]], [['10.1.0.3', 4433], [WA, 6000]]] },
      ),
      rb: snap(
        [
          out('10.2.0.2:4433', `${WA}:4433`, `${WB}:4433`), // b → a
          out('10.2.0.2:4433', `${WA}:6000`, `${WB}:4433`), // b → d
          out('10.2.0.3:4433', `${WA}:4433`, `${WB}:5000`), // c → a
          out('10.2.0.2:4433', `${BOOT}:4433`, `${WB}:4433`),
        ],
        { by_inside: [[['10.2.0.2', 4433], [WB, 4433]], [['10.2.0.3', 4433], [WB, 5000]]] },
      ),
    }, 'a', 'b');
    expect(p.ra).toMatchObject({ flows: [`10.1.0.2:4433>${WB}:4433`], elements: [] });
    expect(p.rb).toMatchObject({ flows: [`10.2.0.2:4433>${WA}:4433`], elements: [] });
    expect(p.ra!.commands).toEqual([
      { argv: ['conntrack', '-D', '-p', 'udp', '-s', '10.1.0.2', '-d', WB, '--sport', '4433', '--dport', '4433'] },
    ]);
  });

  it('full cone: the inbound DNATed flow from b goes, by_port and by_inside (the mapping) stay', () => {
    const t = lab([['ra', 'full-cone'], ['rb', 'full-cone']], { ra: ['a'], rb: ['b', 'c'] });
    const mapping = { by_inside: [[['10.1.0.2', 4433], [WA, 4433]]] as Array<[Ep, Ep]>, by_port: [[4433, ['10.1.0.2', 4433]]] as Array<[number, Ep]> };
    const p = plan(t, {
      ra: snap([inbound(`${WB}:4433`, `${WA}:4433`, '10.1.0.2:4433'), inbound(`${WB}:5000`, `${WA}:4433`, '10.1.0.2:4433'), out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:4433`)], mapping),
      rb: snap([out('10.2.0.2:4433', `${WA}:4433`, `${WB}:4433`), out('10.2.0.3:4433', `${WA}:4433`, `${WB}:5000`)], {
        by_inside: [[['10.2.0.2', 4433], [WB, 4433]], [['10.2.0.3', 4433], [WB, 5000]]],
        by_port: [[4433, ['10.2.0.2', 4433]], [5000, ['10.2.0.3', 4433]]],
      }),
    }, 'a', 'b');
    expect(p.ra).toMatchObject({ flows: [`${WB}:4433>${WA}:4433`], elements: [] });
    expect(p.rb).toMatchObject({ flows: [`10.2.0.2:4433>${WA}:4433`], elements: [] });
  });

  it('restricted cone: the contacted entries of a (and b) for the other side go, their others stay', () => {
    const t = lab([['ra', 'restricted-cone'], ['rb', 'restricted-cone']], { ra: ['a', 'd'], rb: ['b'] });
    const p = plan(t, {
      ra: snap([out('10.1.0.2:4433', `${WB}:4433`, `${WA}:4433`), out('10.1.0.3:4433', `${WB}:4433`, `${WA}:6000`)], {
        by_inside: [[['10.1.0.2', 4433], [WA, 4433]], [['10.1.0.3', 4433], [WA, 6000]]],
        by_port: [[4433, ['10.1.0.2', 4433]], [6000, ['10.1.0.3', 4433]]],
        contacted: [[WB, 4433], [BOOT, 4433], [WB, 6000]],
      }),
      // rb has b alone behind it: everything at WB is b's, whatever the port
      rb: snap([inbound(`${WA}:4433`, `${WB}:7000`, '10.2.0.2:4433')], {
        by_inside: [[['10.2.0.2', 4433], [WB, 7000]]],
        by_port: [[7000, ['10.2.0.2', 4433]]],
        contacted: [[WA, 7000], [BOOT, 7000]],
      }),
    }, 'a', 'b');
    expect(p.ra).toMatchObject({ flows: [`10.1.0.2:4433>${WB}:4433`], elements: [`contacted ${WB} . 4433`] });
    expect(p.rb).toMatchObject({ flows: [`${WA}:4433>${WB}:7000`], elements: [`contacted ${WA} . 7000`] });
    expect(p.ra!.commands.at(-1)).toEqual({ argv: ['nft', '-f', '-'], input: `delete element ip qm_nat contacted { ${WB} . 4433 }\n` });
  });

  it('symmetric: each flow its own random port; only the flows toward b go', () => {
    const t = lab([['ra', 'symmetric'], ['rb', 'port-restricted-cone']], { ra: ['a', 'd'], rb: ['b', 'c'] });
    const p = plan(t, {
      ra: snap([
        out('10.1.0.2:4433', `${WB}:4433`, `${WA}:40001`), // a → b
        out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:40002`),
        out('10.1.0.3:4433', `${WB}:5000`, `${WA}:40001`), // d → c reuses port 40001 toward another remote
      ]),
      rb: snap(
        [out('10.2.0.2:4433', `${WA}:40001`, `${WB}:4433`), out('10.2.0.3:4433', `${WA}:40001`, `${WB}:5000`)],
        { by_inside: [[['10.2.0.2', 4433], [WB, 4433]], [['10.2.0.3', 4433], [WB, 5000]]] },
      ),
    }, 'a', 'b');
    expect(p.ra).toMatchObject({ flows: [`10.1.0.2:4433>${WB}:4433`], elements: [] });
    // WA:40001 is a's port toward b and d's toward c: c's flow to it is d↔c, not a↔b, and stays
    expect(p.rb).toMatchObject({ flows: [`10.2.0.2:4433>${WA}:40001`], elements: [] });
  });

  it('APDM with EIF: a mapping port that served only a↔b goes from by_port, one still in use stays', () => {
    const t = lab([['ra', 'apdm-eif'], ['rb', 'full-cone']], { ra: ['a'], rb: ['b'] });
    const p = plan(t, {
      ra: snap([out('10.1.0.2:4433', `${WB}:4433`, `${WA}:40001`), out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:40002`)], {
        by_port: [[40001, ['10.1.0.2', 4433]], [40002, ['10.1.0.2', 4433]]],
      }),
    }, 'a', 'b');
    expect(p.ra).toMatchObject({ flows: [`10.1.0.2:4433>${WB}:4433`], elements: ['by_port 40001'] });
    expect(p.rb).toMatchObject({ flows: [], elements: [], commands: [] });
  });

  it('ADM: the mapping toward b\'s address (by_remote, its port, its contacted) goes; toward the bootstrap stays', () => {
    const t = lab([['ra', 'adm-adf'], ['rb', 'port-restricted-cone']], { ra: ['a'], rb: ['b'] });
    const p = plan(t, {
      ra: snap([out('10.1.0.2:4433', `${WB}:4433`, `${WA}:31000`), out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:32000`)], {
        by_remote: [[['10.1.0.2', 4433, WB], [WA, 31000]], [['10.1.0.2', 4433, BOOT], [WA, 32000]]],
        by_port: [[31000, ['10.1.0.2', 4433]], [32000, ['10.1.0.2', 4433]]],
        contacted: [[WB, 31000], [BOOT, 32000]],
      }),
    }, 'a', 'b');
    expect(p.ra!.elements).toEqual([`by_port 31000`, `by_remote 10.1.0.2 . 4433 . ${WB}`, `contacted ${WB} . 31000`]);
    expect(p.ra!.flows).toEqual([`10.1.0.2:4433>${WB}:4433`]);
  });

  it('CGNAT stacked: a behind home behind cg; a neighbour n behind the same home and one behind cg keep their flows', () => {
    const t = lab([['cg', 'cgnat'], ['rb', 'port-restricted-cone']], { rb: ['b'], cg: ['m'] });
    t.networks.push({ name: 'home', kind: 'lan', subnet: '192.168.9.0/24' });
    t.routers.push(router('home', 'port-restricted-cone', ['lan-cg', '10.1.0.20'], ['home', '192.168.9.1'], { upstreamRouter: 'cg' }));
    t.nodes.push(host('a', 'home', '192.168.9.2', '192.168.9.1'), host('n', 'home', '192.168.9.3', '192.168.9.1'));
    const WC = '203.0.113.1'; // cg's public address
    const WH = '10.1.0.20'; // home's address on the carrier LAN
    const p = plan(t, {
      home: snap(
        [out('192.168.9.2:4433', `${WB}:4433`, `${WH}:4433`), out('192.168.9.3:4433', `${WB}:4433`, `${WH}:1111`), out('192.168.9.2:4433', `${BOOT}:4433`, `${WH}:4433`)],
        { by_inside: [[['192.168.9.2', 4433], [WH, 4433]], [['192.168.9.3', 4433], [WH, 1111]]] },
      ),
      cg: snap(
        [
          out(`${WH}:4433`, `${WB}:4433`, `${WC}:2222`), // a → b
          out(`${WH}:1111`, `${WB}:4433`, `${WC}:3333`), // n → b
          out('10.1.0.2:4433', `${WB}:4433`, `${WC}:4433`), // m → b
          out(`${WH}:4433`, `${BOOT}:4433`, `${WC}:2222`),
        ],
        { by_inside: [[[WH, 4433], [WC, 2222]], [[WH, 1111], [WC, 3333]], [['10.1.0.2', 4433], [WC, 4433]]] },
      ),
      rb: snap(
        [out('10.2.0.2:4433', `${WC}:2222`, `${WB}:4433`), out('10.2.0.2:4433', `${WC}:3333`, `${WB}:4433`), out('10.2.0.2:4433', `${WC}:4433`, `${WB}:4433`)],
        { by_inside: [[['10.2.0.2', 4433], [WB, 4433]]] },
      ),
    }, 'a', 'b');
    expect(p.home!.flows).toEqual([`192.168.9.2:4433>${WB}:4433`]);
    expect(p.cg!.flows).toEqual([`${WH}:4433>${WB}:4433`]);
    expect(p.rb!.flows).toEqual([`10.2.0.2:4433>${WC}:2222`]);
  });

  it('same router: the hairpinned flow between them goes, each one\'s bootstrap flow stays', () => {
    const t = lab([['r', 'port-restricted-cone', { hairpin: true }]], { r: ['a', 'b'] });
    const W = WA;
    const p = plan(t, {
      r: snap(
        [
          // a → b's public mapping, hairpinned: DNAT to b, SNAT to a's mapping
          line(['10.1.0.2:4433', `${W}:5000`], ['10.1.0.3:4433', `${W}:4433`]),
          out('10.1.0.2:4433', `${BOOT}:4433`, `${W}:4433`),
          out('10.1.0.3:4433', `${BOOT}:4433`, `${W}:5000`),
        ],
        { by_inside: [[['10.1.0.2', 4433], [W, 4433]], [['10.1.0.3', 4433], [W, 5000]]], by_port: [[4433, ['10.1.0.2', 4433]], [5000, ['10.1.0.3', 4433]]] },
      ),
    }, 'a', 'b');
    expect(p.r).toMatchObject({ flows: [`10.1.0.2:4433>${W}:5000`], elements: [] });
  });

  it('two home routers behind one carrier NAT: their flows over the carrier LAN go, the CGNAT holds none', () => {
    const t = lab([['cg', 'cgnat']], {});
    t.networks.push({ name: 'h1', kind: 'lan', subnet: '192.168.1.0/24' }, { name: 'h2', kind: 'lan', subnet: '192.168.1.0/24' });
    t.routers.push(
      router('r1', 'port-restricted-cone', ['lan-cg', '10.1.0.21'], ['h1', '192.168.1.1'], { upstreamRouter: 'cg' }),
      router('r2', 'port-restricted-cone', ['lan-cg', '10.1.0.22'], ['h2', '192.168.1.1'], { upstreamRouter: 'cg' }),
    );
    // the same private address on both LANs: each router sees only its own host's
    t.nodes.push(host('a', 'h1', '192.168.1.2', '192.168.1.1'), host('b', 'h2', '192.168.1.2', '192.168.1.1'));
    const p = plan(t, {
      r1: snap([out('192.168.1.2:4433', '10.1.0.22:4433', '10.1.0.21:4433'), out('192.168.1.2:4433', `${BOOT}:4433`, '10.1.0.21:4433')]),
      r2: snap([out('192.168.1.2:4433', '10.1.0.21:4433', '10.1.0.22:4433'), out('192.168.1.2:4433', `${BOOT}:4433`, '10.1.0.22:4433')]),
      cg: snap([out('10.1.0.21:4433', `${BOOT}:4433`, '203.0.113.1:4433'), out('10.1.0.22:4433', `${BOOT}:4433`, '203.0.113.1:9000')]),
    }, 'a', 'b');
    expect(p.r1!.flows).toEqual(['192.168.1.2:4433>10.1.0.22:4433']);
    expect(p.r2!.flows).toEqual(['192.168.1.2:4433>10.1.0.21:4433']);
    expect(p.cg).toMatchObject({ flows: [], commands: [] });
  });

  it('a public host and a NATed one: only the NATed side has state, and only their flow goes', () => {
    const t = lab([['ra', 'port-restricted-cone']], { ra: ['a', 'd'] });
    const p = plan(t, {
      ra: snap([out('10.1.0.2:4433', `${BOOT}:4433`, `${WA}:4433`), out('10.1.0.3:4433', `${BOOT}:4433`, `${WA}:6000`)], {
        by_inside: [[['10.1.0.2', 4433], [WA, 4433]], [['10.1.0.3', 4433], [WA, 6000]]],
      }),
    }, 'boot', 'a');
    expect(Object.keys(p)).toEqual(['ra']);
    expect(p.ra!.flows).toEqual([`10.1.0.2:4433>${BOOT}:4433`]);
  });
});

describe('snapshot parsers', () => {
  it('reads conntrack -L lines with their flags', () => {
    const text = [
      'udp      17 29 src=10.67.1.3 dst=198.19.67.2 sport=4433 dport=4433 [UNREPLIED] src=198.19.67.2 dst=198.19.67.1 sport=4433 dport=7668 mark=0 use=1',
      'udp      17 28 src=10.66.1.2 dst=198.19.66.3 sport=4433 dport=4433 src=198.19.66.3 dst=198.19.66.1 sport=4433 dport=4433 [ASSURED] mark=0 use=1',
      'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
    ].join('\n');
    expect(parseConntrack(text)).toEqual([
      { orig: { src: '10.67.1.3', dst: '198.19.67.2', sport: 4433, dport: 4433 }, reply: { src: '198.19.67.2', dst: '198.19.67.1', sport: 4433, dport: 7668 } },
      { orig: { src: '10.66.1.2', dst: '198.19.66.3', sport: 4433, dport: 4433 }, reply: { src: '198.19.66.3', dst: '198.19.66.1', sport: 4433, dport: 4433 } },
    ]);
  });

  it('reads the dynamic sets of nft -j list table (as nft 1.0.6 prints them)', () => {
    const json = JSON.stringify({
      nftables: [
        { map: { name: 'by_port', type: 'inet_service', map: 'ipv4_addr . inet_service', elem: [[{ elem: { val: 6424, expires: 24 } }, { concat: ['10.67.2.2', 4433] }]] } },
        { map: { name: 'by_remote', elem: [[{ elem: { val: { concat: ['10.67.2.2', 4433, '198.19.67.1'] }, expires: 24 } }, { concat: ['198.19.67.2', 6424] }]] } },
        { set: { name: 'held_ports', elem: [{ elem: { val: 4433, expires: 24 } }] } },
        { set: { name: 'contacted', elem: [{ elem: { val: { concat: ['198.19.67.1', 6424] }, expires: 24 } }, { concat: ['198.19.67.5', 1] }] } },
        { chain: { name: 'input' } },
      ],
    });
    expect(parseNatTable(json)).toEqual({
      eim: false,
      byInside: [],
      byRemote: [{ key: { addr: '10.67.2.2', port: 4433, remote: '198.19.67.1' }, value: { addr: '198.19.67.2', port: 6424 } }],
      byPort: [{ port: 6424, value: { addr: '10.67.2.2', port: 4433 } }],
      contacted: [{ remote: '198.19.67.1', port: 6424 }, { remote: '198.19.67.5', port: 1 }],
    });
    expect(parseNatTable(nftJson({ by_inside: [[['10.0.0.2', 1], ['1.2.3.4', 2]]] })).eim).toBe(true);
  });
});

describe('forgetFirst (the test verb, cold mode)', () => {
  const member = (name: string) => ({ name }) as MeshMember;
  const ok: ConnectFn = async () => ({ connected: true, path: 'hole-punched', timeToConnectMs: 12 });

  it('forgets the pair, then connects', async () => {
    const order: string[] = [];
    const connect = forgetFirst(
      async (...args) => (order.push('connect'), ok(...args)),
      async (a, b) => void order.push(`forget ${a.name} ${b.name}`),
      () => order.push('failure'),
    );
    expect(await connect(member('a'), member('b'), { fresh: true, timeoutMs: 1 })).toMatchObject({ connected: true });
    expect(order).toEqual(['forget a b', 'connect']);
  });

  it('a failed forget is not measured around: no connect, an error observation, onFailure told', async () => {
    const onFailure = vi.fn();
    const inner = vi.fn(ok);
    const err = new MissingToolError('conntrack', TOOL_PACKAGES.conntrack!);
    const connect = forgetFirst(inner, () => Promise.reject(err), onFailure);
    const o = await connect(member('a'), member('b'), { fresh: true, timeoutMs: 1 });
    expect(o).toEqual({ connected: false, path: null, timeToConnectMs: null, error: expect.stringContaining('apt-get install conntrack') });
    expect(inner).not.toHaveBeenCalled();
    expect(onFailure).toHaveBeenCalledWith(err);
  });
});
