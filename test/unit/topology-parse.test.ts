import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { TopologyError } from '../../cli/topology/errors.js';
import { loadTopology, parseTopology } from '../../cli/topology/parse.js';
import { NAT_PRESETS } from '../../src/nat/nat-presets.js';

const BAD = 'test/fixtures/topologies/bad';

async function problems(file: string): Promise<string> {
  const error = await loadTopology(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TopologyError);
  expect(error).toBeInstanceOf(ConfigError);
  return (error as TopologyError).message;
}

// Each bad file with every message it must produce, exactly (file:line path: text).
const CASES: [string, string[]][] = [
  [
    'unknown-key.yaml',
    [
      '10 routers.home-router.hairpn: unknown key "hairpn" (allowed: nat, wan, lan, hairpin, mappingTimeout, behaviour)',
      '12 nodes.alice.colour: unknown key "colour" (allowed: network, role, count, port, args, replicas, kind, command, env, ready, probe, image)',
    ],
  ],
  [
    'bad-preset.yaml',
    [
      // the presets in table order (src/nat/nat-presets.ts): none, full-cone, …, cgnat, eim-eif, … apdm-apdf
      `9 routers.home.nat: expected one of ${NAT_PRESETS.join(', ')}; got "full-cne"`,
    ],
  ],
  [
    'bad-name.yaml',
    [
      '5 nodes.Bob: bad name "Bob": expected a name of lowercase letters, digits and "-", starting with a letter (at most 31)',
      '6 nodes.carol.count: must be at least 1',
      '8 expect[0]: expected an expectation like "alice -> bob" or "alice -> bob: direct within 2000ms"',
    ],
  ],
  [
    'bad-cidr.yaml',
    [
      '3 networks.internet.subnet: "203.0.113.7/24" has host bits set; did you mean 203.0.113.0/24?',
      '4 networks.home.subnet: "192.168.300.0/24" is not a CIDR: "192.168.300.0" is not an IPv4 address',
      '5 networks.tiny.subnet: /31 leaves no room for hosts; use /30 or shorter',
    ],
  ],
  [
    'overlap.yaml',
    [
      '5 networks.office.subnet: 203.0.113.128/25 overlaps networks.internet (203.0.113.0/24); a public network may overlap no other (only LANs behind different routers may share addresses)',
      '7 networks.upstairs.subnet: 100.64.1.0/25 overlaps networks.flat (100.64.1.0/24), which lies between it and the public network: routing there would be ambiguous',
      '8 networks.mgmt.subnet: 172.31.5.0/24 overlaps 172.31.0.0/16, which the lab keeps for its management network',
    ],
  ],
  [
    'dangling.yaml',
    [
      '4 networks.home: LAN "home" has no router (add a router with lan: home, or make it kind: public)',
      '6 routers.home-nat.lan: no network named "hom" (networks: internet, home)',
      '8 links[0].node: no node or node group named "zed"',
      '11 nodes.bob.network: no network named "interne" (networks: internet, home)',
      '13 expect[0]: unknown node "carol" (node groups: alice, bob)',
    ],
  ],
  [
    'stacking-loop.yaml',
    [
      '7 routers.left-nat.wan: NAT stacking loops: left-nat -> right-nat -> left-nat',
      '9 routers.self-nat.lan: "internet" is this router\'s WAN too; a router joins two different networks',
    ],
  ],
  [
    'cgnat-misplaced.yaml',
    [
      "6 routers.carrier-nat.lan: a cgnat router's LAN must lie in 100.64.0.0/10 (shared address space), not 10.64.0.0/24",
      '6 routers.carrier-nat.nat: a cgnat router must sit upstream of another router, but no router has wan: carrier',
    ],
  ],
  [
    'lan-topology.yaml',
    [
      '6 networks.orphan: LAN "orphan" has no router (add a router with lan: orphan, or make it kind: public)',
      '9 routers.home-b.lan: LAN "home" already has router home-a; a LAN has exactly one router',
      '10 routers.transit.lan: "backbone" is a public network; a router\'s LAN side must be a network of kind lan',
    ],
  ],
  [
    'names.yaml',
    [
      '3 networks.internet.subnet: 203.0.113.0/30 has room for 2 hosts but 3 need an address',
      '7 nodes.alice-2: the name "alice-2" is already used by nodes.alice',
    ],
  ],
  [
    'expect.yaml',
    [
      '8 expect[0]: unknown path kind "punched": expected one of any, direct, hole-punched, relayed',
      '9 expect[1]: after "within": expected a duration like "25ms", "2s" or "1m"',
      '11 expect[3]: alice-1 -> bob is already expected by expect[2]',
      '12 expect[4]: expects nothing: bob and bob are the same node',
      '13 expect[5]: expected "from -> to[: path][ within duration]", got "bob to alice"',
    ],
  ],
  [
    'yaml-syntax.yaml',
    ['4 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }'],
  ],
];

describe('topology parsing: bad files', () => {
  it('has a case for every bad fixture', () => {
    expect(CASES.map(([f]) => f).sort()).toEqual(readdirSync(BAD).sort());
  });

  it.each(CASES)('%s', async (file, lines) => {
    expect(await problems(`${BAD}/${file}`)).toBe(lines.map((l) => `${BAD}/${file}:${l}`).join('\n'));
  });

  it('keeps every issue as data', async () => {
    const error = (await loadTopology(`${BAD}/overlap.yaml`).catch((e: unknown) => e)) as TopologyError;
    expect(error.issues).toHaveLength(3);
    expect(error.issues[2]).toEqual({
      file: `${BAD}/overlap.yaml`,
      line: 8,
      path: 'networks.mgmt.subnet',
      message: '172.31.5.0/24 overlaps 172.31.0.0/16, which the lab keeps for its management network',
    });
  });
});

describe('topology parsing: shared home subnets', () => {
  it('accepts LANs behind different routers on one subnet, each host numbered in its own LAN', async () => {
    const topo = await loadTopology('test/fixtures/topologies/good/same-home-subnets.yaml');
    const addr = (n: string) => topo.nodes.find((x) => x.name === n)!.address;
    expect(['alice', 'bob', 'carol'].map(addr)).toEqual(['192.168.1.2', '192.168.1.2', '192.168.1.2']);
    expect(topo.routers.map((r) => r.lan.address)).toEqual(['192.168.1.1', '192.168.1.1', '100.64.0.1', '192.168.1.1']);
  });
});

describe('topology parsing: edge cases', () => {
  const fails = (text: string): string => {
    try {
      parseTopology(text, 'x.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(TopologyError);
      return (error as Error).message;
    }
    throw new Error('expected a TopologyError');
  };

  it('reports an empty file', () => {
    expect(fails('')).toBe('x.yaml:1 the file is empty');
    expect(fails('# only a comment\n')).toBe('x.yaml:1 the file is empty');
  });

  it('reports a document that is not a mapping', () => {
    expect(fails('- a\n- b\n')).toBe('x.yaml:1 expected a mapping, got a list');
  });

  it('reports missing required keys at their parent', () => {
    expect(fails('name: x\nnetworks:\n  pub: { kind: public }\n')).toBe(
      'x.yaml:1 nodes: required\nx.yaml:3 networks.pub.subnet: required',
    );
  });

  it('reports duplicate YAML keys', () => {
    expect(fails('name: x\nnetworks: {}\nnetworks: {}\nnodes: {}\n')).toBe(
      'x.yaml:3 invalid YAML: Map keys must be unique',
    );
  });

  it('reports wrong types and unit strings', () => {
    const text = [
      'name: x',
      'networks:',
      '  pub: { kind: public, subnet: 203.0.113.0/24 }',
      'links:',
      '  - { network: pub, delay: 25, loss: "1", rate: 10mbps }',
      'nodes:',
      '  a: { network: pub, port: "4433", count: 1.5 }',
    ].join('\n');
    expect(fails(text)).toBe(
      [
        'x.yaml:5 links[0].delay: expected a duration like "25ms", "2s" or "1m"',
        'x.yaml:5 links[0].loss: expected a percentage like "1%" or "0.5%"',
        'x.yaml:5 links[0].rate: expected a rate like "10mbit", "512kbit" or "unlimited"',
        'x.yaml:7 nodes.a.count: expected a whole number, got number 1.5',
        'x.yaml:7 nodes.a.port: expected a number, got "4433"',
      ].join('\n'),
    );
  });

  it('rejects jitter above the delay a link ends up with', () => {
    const text = [
      'name: x',
      'defaults:',
      '  link: { jitter: 3ms }',
      'networks:',
      '  pub: { kind: public, subnet: 203.0.113.0/24 }',
      'links:',
      '  - { network: pub, delay: 10ms, jitter: 2ms }',
      '  - { network: pub, node: a, delay: 1ms }',
      'nodes:',
      '  a: { network: pub }',
    ].join('\n');
    expect(fails(text)).toBe(
      [
        'x.yaml:3 defaults.link.jitter: jitter 3ms exceeds delay 0; the delay varies within ±jitter',
        'x.yaml:8 links[1].jitter: jitter 2ms exceeds delay 1ms; the delay varies within ±jitter',
      ].join('\n'),
    );
  });

  it('accepts an expectation written as a YAML mapping and as a quoted string alike', () => {
    const base =
      'name: x\nnetworks:\n  pub: { kind: public, subnet: 203.0.113.0/24 }\nnodes:\n  a: {network: pub}\n  b: {network: pub}\n';
    const plain = parseTopology(`${base}expect:\n  - a -> b: direct within 1s\n`, 'x.yaml');
    const quoted = parseTopology(`${base}expect:\n  - "a -> b: direct within 1s"\n`, 'x.yaml');
    expect(plain.expectations).toEqual(quoted.expectations);
    expect(plain.expectations[0]).toMatchObject({
      from: 'a',
      to: 'b',
      path: 'direct',
      withinMs: 1000,
      line: 8,
    });
  });

  it('follows YAML anchors and merge keys, locating errors inside them', () => {
    const text = [
      'name: x',
      'networks:',
      '  pub: { kind: public, subnet: 203.0.113.0/24 }',
      'nodes:',
      '  a: &base { network: pub, port: 7000 }',
      '  b: { <<: *base, rol: relay }',
    ].join('\n');
    expect(fails(text)).toBe(
      'x.yaml:6 nodes.b.rol: unknown key "rol" (allowed: network, role, count, port, args, replicas, kind, command, env, ready, probe, image)',
    );
    const ok = parseTopology(text.replace('rol:', 'role:'), 'x.yaml');
    expect(ok.nodes.map((n) => [n.name, n.port, n.role])).toEqual([
      ['a', 7000, 'plain'],
      ['b', 7000, 'relay'],
    ]);
  });

  it('reads a file with or without the format version, and refuses an unknown one on that alone', () => {
    const body = 'name: x\nnetworks:\n  pub: { kind: public, subnet: 203.0.113.0/24 }\nnodes:\n  a: { network: pub }\n';
    expect(parseTopology(`version: 1\n${body}`, 'x.yaml')).toEqual(parseTopology(body, 'x.yaml'));
    // a future file's unknown keys are not reported: they may be valid in the version it names
    expect(fails(`${body}version: 2\nrouters2: {}\n`)).toBe(
      'x.yaml:6 version: unsupported topology version 2: this quicmesh-lab reads version 1',
    );
    expect(fails(`version: "1"\n${body}`)).toBe(
      'x.yaml:1 version: unsupported topology version "1": this quicmesh-lab reads version 1',
    );
  });

  it('says when the file cannot be read', async () => {
    await expect(loadTopology('test/fixtures/topologies/none-such.yaml')).rejects.toThrow(
      new ConfigError('cannot read topology test/fixtures/topologies/none-such.yaml: no such file'),
    );
  });

  it('reads the example topologies in topologies/', () => {
    const files = readdirSync('topologies').filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(
      expect.arrayContaining([
        'quickstart.yaml',
        'nat-full-cone.yaml',
        'nat-restricted-cone.yaml',
        'nat-port-restricted-cone.yaml',
        'nat-symmetric.yaml',
        'cgnat.yaml',
        'nat-matrix.yaml',
      ]),
    );
    for (const file of files) {
      const topology = parseTopology(readFileSync(`topologies/${file}`, 'utf8'), `topologies/${file}`);
      expect(topology.name).toBe(file.replace(/\.yaml$/, ''));
      expect(topology.expectations.length).toBeGreaterThan(0);
    }
  });
});
