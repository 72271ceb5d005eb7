import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../cli/topology/errors.js';
import { loadTopology } from '../../cli/topology/parse.js';
import { resolveTopology } from '../../cli/topology/resolve.js';
import { TopologyFileSchema, type TopologyFile } from '../../cli/topology/schema.js';

const STACKED = 'test/fixtures/topologies/good/stacked.yaml';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('resolveTopology', () => {
  it('assigns addresses: .1 to the LAN router, then WAN routers, then nodes, in file order', async () => {
    const t = await loadTopology(STACKED);
    expect(t.routers.map((r) => [r.name, r.wan.address, r.lan.address, r.upstreamRouter])).toEqual([
      ['isp', '203.0.113.1', '100.64.0.1', null],
      ['home-nat', '100.64.0.2', '192.168.7.1', 'isp'],
      ['flat-gw', '203.0.113.2', '198.51.100.1', null],
    ]);
    expect(t.nodes.map((n) => [n.name, n.group, n.address, n.gateway])).toEqual([
      ['boot', 'boot', '203.0.113.3', null],
      ['phone', 'phone', '100.64.0.3', '100.64.0.1'],
      ['alice-1', 'alice', '192.168.7.2', '192.168.7.1'],
      ['alice-2', 'alice', '192.168.7.3', '192.168.7.1'],
      ['alice-3', 'alice', '192.168.7.4', '192.168.7.1'],
      ['server', 'server', '198.51.100.2', '198.51.100.1'],
    ]);
  });

  it('applies settings as defaults < group < replica', async () => {
    const t = await loadTopology(STACKED);
    expect(t.nodes.map((n) => [n.name, n.role, n.port, n.args])).toEqual([
      ['boot', 'bootstrap', 4433, []],
      ['phone', 'relay', 5000, ['--log', 'debug']],
      ['alice-1', 'plain', 5000, ['--quiet']],
      ['alice-2', 'plain', 6000, ['--quiet']],
      ['alice-3', 'plain', 5000, []],
      ['server', 'plain', 5000, ['--log', 'debug']],
    ]);
    expect(t.routers.map((r) => [r.name, r.preset, r.nat, r.hairpin, r.mappingTimeoutS])).toEqual([
      [
        'isp',
        'cgnat',
        { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' },
        false,
        120,
      ],
      ['home-nat', 'eim-adf', { mapping: 'endpoint-independent', filtering: 'address-dependent' }, true, 45],
      ['flat-gw', 'none', null, true, 120],
    ]);
  });

  it('resolves link shaping: every network from defaults, node entries inheriting their network entry', async () => {
    const t = await loadTopology(STACKED);
    const row = (l: (typeof t.links)[number]) => [
      l.network,
      l.node,
      l.delayMs,
      l.jitterMs,
      l.lossPct,
      l.rateKbit,
    ];
    expect(t.links.map(row)).toEqual([
      ['internet', null, 25, 2, 1, 10000],
      ['carrier', null, 1, 0, 0, 0],
      ['home', null, 1, 0, 0, 0],
      ['flat', null, 1, 0, 0, 0],
      ['internet', 'boot', 25, 2, 1, 512],
      ['home', 'alice-1', 1, 0, 0.5, 0],
      ['home', 'alice-2', 1, 0, 0.5, 0],
      ['home', 'alice-3', 1, 0, 0.5, 0],
    ]);
  });

  it('expands group names in expectations into one expectation per pair', async () => {
    const t = await loadTopology(STACKED);
    expect(t.expectations.map((e) => [e.text, e.source, e.line])).toEqual([
      ['alice-1 -> boot: any', 'alice -> boot', 32],
      ['alice-2 -> boot: any', 'alice -> boot', 32],
      ['alice-3 -> boot: any', 'alice -> boot', 32],
      ['alice-1 -> phone: direct within 2000ms', 'alice-1 -> phone: direct within 2s', 33],
      ['phone -> alice-1: relayed', 'phone -> alice: relayed', 34],
      ['phone -> alice-2: relayed', 'phone -> alice: relayed', 34],
      ['phone -> alice-3: relayed', 'phone -> alice: relayed', 34],
      ['server -> alice-2: hole-punched within 500ms', 'server -> alice-2: hole-punched within 500ms', 35],
    ]);
  });

  it('keeps a plain name for a count of 1 and fills built-in defaults', () => {
    const file: TopologyFile = {
      name: 'tiny',
      networks: { pub: { kind: 'public', subnet: '198.51.100.0/24' } },
      nodes: { solo: { network: 'pub', count: 1 } },
    };
    expect(resolveTopology(file, { sourceFile: 'tiny.yaml' })).toEqual({
      name: 'tiny',
      sourceFile: 'tiny.yaml',
      networks: [{ name: 'pub', kind: 'public', subnet: '198.51.100.0/24' }],
      routers: [],
      nodes: [
        {
          name: 'solo',
          group: 'solo',
          network: 'pub',
          address: '198.51.100.1',
          gateway: null,
          role: 'plain',
          port: 4433,
          args: [],
        },
      ],
      links: [],
      expectations: [],
    });
  });

  it('is pure: same input, deep-equal output, input untouched', () => {
    const raw = parse(readFileSync(STACKED, 'utf8')) as unknown;
    const file = deepFreeze(TopologyFileSchema.parse(raw));
    const first = resolveTopology(file, { sourceFile: STACKED });
    const second = resolveTopology(file, { sourceFile: STACKED });
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    // outputs share no mutable state with each other
    first.nodes[0]!.args.push('--changed');
    expect(second.nodes[0]!.args).toEqual([]);
  });

  it('runs the semantic checks itself and reports without lines when it has none', () => {
    const file: TopologyFile = {
      name: 'bad',
      networks: { home: { kind: 'lan', subnet: '192.168.1.0/24' } },
      nodes: {},
    };
    expect(() => resolveTopology(file, { sourceFile: 'bad.yaml' })).toThrow(
      new TopologyError([
        {
          file: 'bad.yaml',
          line: 0,
          path: 'networks.home',
          message: 'LAN "home" has no router (add a router with lan: home, or make it kind: public)',
        },
      ]),
    );
    try {
      resolveTopology(file, { sourceFile: 'bad.yaml' });
    } catch (error) {
      expect((error as Error).message).toBe(
        'bad.yaml networks.home: LAN "home" has no router (add a router with lan: home, or make it kind: public)',
      );
    }
  });
});
