import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../cli/topology/errors.js';
import { nodeKind } from '../../cli/topology/model.js';
import { parseTopology } from '../../cli/topology/parse.js';
import { parseStack } from '../../cli/topology/stack.js';
import { checkTemplate, expandTemplate, usesIds } from '../../cli/topology/templates.js';

const BASE = `
name: kinds
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
`;

function problems(text: string, opts = {}): string[] {
  try {
    parseTopology(text, 'k.yaml', opts);
  } catch (e) {
    if (e instanceof TopologyError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('node kinds in a topology', () => {
  it('a group without kind is a quicmesh node; a command is a command node with its args appended', () => {
    const topo = parseTopology(
      `${BASE}
kinds:
  udp:
    command: [node, "{{dir}}/punch.mjs", "{{self.role}}"]
    ready: { udp: "{{self.port}}", timeout: 5s }
    probe: [node, "{{dir}}/punch.mjs", probe, "{{to.address}}:{{to.port}}", "{{to.id}}"]
nodes:
  boot: { network: internet, role: bootstrap }
  a: { network: internet, kind: udp, args: [--verbose], env: { PEER: "{{node.boot.address}}" } }
  b: { network: internet, command: [sh, -c, "sleep 100"], ready: { tcp: 8080 } }
`,
      'dir/k.yaml',
    );
    const [boot, a, b] = topo.nodes;
    expect(nodeKind(boot!)).toBe('quicmesh');
    expect(boot!.program).toBeUndefined();
    expect(a!.program).toEqual({
      kind: 'udp',
      command: ['node', '{{dir}}/punch.mjs', '{{self.role}}', '--verbose'],
      env: { PEER: '{{node.boot.address}}' },
      ready: { check: 'udp', port: '{{self.port}}', timeoutMs: 5000 },
      probe: ['node', '{{dir}}/punch.mjs', 'probe', '{{to.address}}:{{to.port}}', '{{to.id}}'],
      image: null,
      dir: resolve('dir'),
    });
    expect(b!.program).toMatchObject({
      kind: 'command',
      ready: { check: 'tcp', port: '8080', timeoutMs: null },
      probe: null,
    });
  });

  it('reports unknown kinds, program fields on quicmesh nodes, template mistakes and probe-less expectations with their lines', () => {
    expect(
      problems(`${BASE}
kinds:
  quicmesh: { command: [x] }
nodes:
  boot: { network: internet, role: bootstrap, probe: [x] }
  a: { network: internet, kind: udpx }
  b: { network: internet, kind: command }
  c: { network: internet, command: [x, "{{self.nme}}"], ready: { udp: 1, tcp: 2 } }
  d: { network: internet, command: [x, "{{to.id}}"] }
expect:
  - d -> boot
  - boot -> d
`),
    ).toEqual([
      'k.yaml:12 nodes.c.ready: give exactly one of udp, tcp, http, command',
      // (the schema fails first: the rest is checked once the shape is right)
    ]);
    expect(
      problems(`${BASE}
kinds:
  quicmesh: { command: [x] }
nodes:
  boot: { network: internet, role: bootstrap, probe: [x] }
  a: { network: internet, kind: udpx }
  b: { network: internet, kind: command }
  c: { network: internet, command: [x, "{{self.nme}}", "{{node.zz.address}}"] }
  d: { network: internet, command: [x, "{{to.id}}"] }
expect:
  - d -> boot
  - boot -> d
`),
    ).toEqual([
      'k.yaml:7 kinds.quicmesh: "quicmesh" is a built-in kind; name your program otherwise',
      'k.yaml:9 nodes.boot.probe: only a command node takes probe (this group runs kind quicmesh; set kind: command)',
      'k.yaml:10 nodes.a.kind: unknown kind "udpx" (known: quicmesh, command)',
      'k.yaml:11 nodes.b: a node of kind command needs a command (the program to start, e.g. command: [node, server.js])',
      expect.stringMatching(
        /^k\.yaml:12 nodes\.c\.command\[1\]: unknown template variable \{\{self\.nme\}\} \(known: \{\{self\.name\}\} /,
      ),
      'k.yaml:12 nodes.c.command[2]: {{node.zz.address}}: no node named "zz" (nodes: boot, a, b, c, d)',
      'k.yaml:13 nodes.d.command[1]: {{to.id}} is only known in a probe (the node a probe connects to)',
      'k.yaml:15 expect[0]: node d runs kind command, which has no probe: an expectation from it needs one (probe: [program, "{{to.address}}", …])',
      'k.yaml:16 expect[1]: boot is a quicmesh node and d runs kind command: a quicmesh node only probes quicmesh nodes',
    ]);
  });

  it("a scenario's checks follow the same rules: probes from command nodes need one, streams need quicmesh nodes", () => {
    expect(
      problems(`${BASE}
nodes:
  boot: { network: internet, role: bootstrap }
  q: { network: internet }
  p: { network: internet, command: [x], probe: [x, "{{to.address}}"] }
  n: { network: internet, command: [x] }
scenario:
  - { at: 0s, expect: "p -> n" }
  - { at: 0s, expect: "n -> p" }
  - { at: 0s, expect: "q -> p" }
  - { at: 0s, stream: q -> p, until: 2s }
  - { at: 0s, stream: boot -> q, until: 2s }
  - { at: 1s, restart: p }
  - { at: 1s, all-pairs: { among: [boot, q] } }
  - { at: 1s, all-pairs: { among: [q, p] } }
`),
    ).toEqual([
      'k.yaml:13 scenario[1].expect: node n runs kind command, which has no probe: an expectation from it needs one (probe: [program, "{{to.address}}", …])',
      'k.yaml:14 scenario[2].expect: q is a quicmesh node and p runs kind command: a quicmesh node only probes quicmesh nodes',
      'k.yaml:15 scenario[3].stream: node p runs kind command: a stream needs quicmesh nodes at both ends (a program has no stream endpoint)',
      'k.yaml:19 scenario[7].all-pairs: q is a quicmesh node and p runs kind command: a quicmesh node only probes quicmesh nodes',
    ]);
  });

  it('a stack runs in every group that does not choose its kind, and its problems point into the stack file', () => {
    const stack = parseStack(
      `name: udp
command: [node, "{{dir}}/punch.mjs", "{{self.role}}", "{{node.rendezvous.address}}"]
probe: [node, "{{dir}}/probe.mjs", "{{to.name}}"]
`,
      'stacks/udp.yaml',
    );
    const text = readFileSync('topologies/nat-matrix.yaml', 'utf8');
    expect(problems(text, { stack })).toEqual([
      'stacks/udp.yaml:2 command[3]: {{node.rendezvous.address}}: no node named "rendezvous" (nodes: boot, relay, a-none, a-full, a-restricted, a-port, a-symmetric, a-cgnat, b-none, b-full, b-restricted, b-port, b-symmetric, b-cgnat)',
    ]);
    const good = parseStack(
      'name: udp\ncommand: [node, "{{dir}}/punch.mjs"]\nprobe: [node, probe.mjs]\n',
      'stacks/udp.yaml',
    );
    const topo = parseTopology(text, 'nat-matrix.yaml', { stack: good });
    expect(
      topo.nodes.every(
        (n) => n.program?.kind === 'udp' && n.program.dir === resolve(dirname('stacks/udp.yaml')),
      ),
    ).toBe(true);
    expect(topo.expectations).toHaveLength(36);
  });

  it('a stack file is checked on its own: unknown keys, a missing command, a built-in name', () => {
    const error = (text: string): string => {
      try {
        parseStack(text, 's.yaml');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(error('name: x\ncommand: [a]\nprobes: [b]\n')).toBe(
      's.yaml:3 probes: unknown key "probes" (allowed: name, description, command, env, ready, probe, image)',
    );
    expect(error('name: x\nprobe: [b]\n')).toBe('s.yaml:1 command: required');
    expect(error('name: quicmesh\ncommand: [a]\n')).toBe(
      's.yaml:1 name: "quicmesh" is a built-in kind; name your stack otherwise',
    );
  });
});

describe('templates', () => {
  const nodes = new Set(['boot', 'a']);
  it('knows its variables per scope', () => {
    expect(
      checkTemplate(
        '{{self.address}}:{{ self.port }} {{bootstrap}} {{node.boot.port}} {{data}}',
        'start',
        nodes,
      ),
    ).toBeNull();
    expect(checkTemplate('{{to.id}} {{node.a.id}} {{to.network}}', 'probe', nodes)).toBeNull();
    expect(checkTemplate('{{node.a.id}}', 'start', nodes)).toMatch(/ids are only known in a probe/);
    expect(checkTemplate('{{node.c.address}}', 'probe', nodes)).toMatch(/no node named "c"/);
    expect(checkTemplate('{{selfaddress}}', 'start', nodes)).toMatch(/unknown template variable/);
    expect(usesIds(['x', '--peer={{to.id}}'])).toBe(true);
    expect(usesIds(['{{to.address}}'])).toBe(false);
  });
  it('fills in values and names a missing one', () => {
    const values: Record<string, string> = { 'self.address': '10.0.0.2', 'self.port': '4433' };
    expect(expandTemplate('{{self.address}}:{{self.port}}', (n) => values[n])).toBe('10.0.0.2:4433');
    expect(() => expandTemplate('{{to.id}}', (n) => values[n])).toThrow('no value for {{to.id}}');
  });
});
