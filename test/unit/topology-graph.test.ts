import { describe, expect, it } from 'vitest';
import { renderGraph, toDot, toMermaid } from '../../cli/topology/graph.js';
import { parseTopology } from '../../cli/topology/parse.js';

const TOPOLOGY = parseTopology(
  [
    'name: pic',
    'networks:',
    '  internet: { kind: public, subnet: 203.0.113.0/24 }',
    '  carrier: { kind: lan, subnet: 100.64.0.0/24 }',
    '  home: { kind: lan, subnet: 192.168.1.0/24 }',
    'routers:',
    '  isp: { nat: cgnat, wan: internet, lan: carrier }',
    '  home-nat: { nat: symmetric, wan: carrier, lan: home, hairpin: true }',
    'links:',
    '  - { network: internet, delay: 25ms, jitter: 2ms, loss: 1%, rate: 10mbit }',
    '  - { network: home, node: bob, rate: 512kbit }',
    'nodes:',
    '  boot: { network: internet, role: bootstrap }',
    '  peer: { network: home, count: 4 }',
    '  bob: { network: home }',
  ].join('\n'),
  'pic.yaml',
);

describe('topology graph', () => {
  it('draws a Mermaid flowchart', () => {
    expect(toMermaid(TOPOLOGY)).toBe(
      [
        'flowchart TB',
        '  subgraph net_internet["internet<br/>public 203.0.113.0/24<br/>25ms ±2ms, 1% loss, 10mbit"]',
        '    n_boot["boot<br/>203.0.113.2:4433<br/>bootstrap"]',
        '  end',
        '  net_carrier(["carrier<br/>lan 100.64.0.0/24"])',
        '  subgraph net_home["home<br/>lan 192.168.1.0/24"]',
        '    g_peer["peer ×4<br/>192.168.1.2 – 192.168.1.5"]',
        '    n_bob["bob<br/>192.168.1.6:4433<br/>512kbit"]',
        '  end',
        '  r_isp{{"isp<br/>cgnat (EIM+APDF)"}}',
        '  net_internet ---|"203.0.113.1"| r_isp',
        '  r_isp ---|"100.64.0.1"| net_carrier',
        '  r_home_nat{{"home-nat<br/>symmetric, hairpin"}}',
        '  net_carrier ---|"100.64.0.2"| r_home_nat',
        '  r_home_nat ---|"192.168.1.1"| net_home',
        '',
      ].join('\n'),
    );
  });

  it('draws every replica when told not to collapse', () => {
    const text = toMermaid(TOPOLOGY, { collapseAbove: 10 });
    expect(text).toContain('    n_peer_4["peer-4<br/>192.168.1.5:4433"]');
    expect(text).not.toContain('g_peer');
  });

  it('draws Graphviz DOT', () => {
    expect(renderGraph(TOPOLOGY, 'dot')).toBe(toDot(TOPOLOGY));
    expect(toDot(TOPOLOGY)).toBe(
      [
        'graph "pic" {',
        '  node [fontname="Helvetica"];',
        '  "net:internet" [shape=box, style="rounded,filled", fillcolor="#dbeafe", label="internet\\npublic 203.0.113.0/24\\n25ms ±2ms, 1% loss, 10mbit"];',
        '  "node:n_boot" [shape=ellipse, label="boot\\n203.0.113.2:4433\\nbootstrap"];',
        '  "net:internet" -- "node:n_boot";',
        '  "net:carrier" [shape=box, style="rounded,filled", fillcolor="#f3f4f6", label="carrier\\nlan 100.64.0.0/24"];',
        '  "net:home" [shape=box, style="rounded,filled", fillcolor="#f3f4f6", label="home\\nlan 192.168.1.0/24"];',
        '  "node:g_peer" [shape=ellipse, label="peer ×4\\n192.168.1.2 – 192.168.1.5"];',
        '  "net:home" -- "node:g_peer";',
        '  "node:n_bob" [shape=ellipse, label="bob\\n192.168.1.6:4433\\n512kbit"];',
        '  "net:home" -- "node:n_bob";',
        '  "router:isp" [shape=hexagon, style=filled, fillcolor="#fde68a", label="isp\\ncgnat (EIM+APDF)"];',
        '  "net:internet" -- "router:isp" [label="203.0.113.1"];',
        '  "router:isp" -- "net:carrier" [label="100.64.0.1"];',
        '  "router:home-nat" [shape=hexagon, style=filled, fillcolor="#fde68a", label="home-nat\\nsymmetric, hairpin"];',
        '  "net:carrier" -- "router:home-nat" [label="100.64.0.2"];',
        '  "router:home-nat" -- "net:home" [label="192.168.1.1"];',
        '}',
        '',
      ].join('\n'),
    );
  });
});
