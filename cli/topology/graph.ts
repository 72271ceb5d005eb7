/**
 * A picture of a resolved topology: networks, routers (labelled with their NAT preset) and nodes, as a
 * Mermaid flowchart (default; renders on GitHub) or Graphviz DOT. Pure: topology in, text out.
 * Groups with more than `collapseAbove` replicas are drawn as one box with their address range.
 */
import type { ResolvedLink, ResolvedNode, ResolvedRouter, ResolvedTopology } from './model.js';
import { behaviourLabel } from '../nat/behaviour.js';
import { isCarrierPreset } from '../../src/nat/nat-presets.js';

/** A graph format: mermaid or dot. */
export type GraphFormat = 'mermaid' | 'dot';
/** The graph formats renderGraph draws. */
export const GRAPH_FORMATS: readonly GraphFormat[] = ['mermaid', 'dot'];

/** Graph drawing options. */
export interface GraphOptions {
  /** Groups with more replicas than this are drawn as one box (default 3). */
  collapseAbove?: number;
}

interface Box {
  id: string;
  lines: string[];
}

function shapingText(link: ResolvedLink | undefined): string | null {
  if (!link) return null;
  const parts: string[] = [];
  if (link.delayMs > 0 || link.jitterMs > 0)
    parts.push(link.jitterMs > 0 ? `${link.delayMs}ms ±${link.jitterMs}ms` : `${link.delayMs}ms`);
  if (link.lossPct > 0) parts.push(`${link.lossPct}% loss`);
  if (link.rateKbit > 0)
    parts.push(link.rateKbit >= 1000 ? `${link.rateKbit / 1000}mbit` : `${link.rateKbit}kbit`);
  return parts.length > 0 ? parts.join(', ') : 'unshaped';
}

function routerLabel(router: ResolvedRouter): string[] {
  // a carrier NAT (cgnat) may behave as another preset: show which, e.g. "cgnat (EIM+APDF)"
  const preset =
    isCarrierPreset(router.preset) && router.nat
      ? `${router.preset} (${behaviourLabel(router.nat).replace('/', '+')})`
      : router.preset;
  return [router.name, router.hairpin ? `${preset}, hairpin` : preset];
}

/** The node boxes of one network, collapsing big groups. */
function nodeBoxes(topology: ResolvedTopology, network: string, collapseAbove: number): Box[] {
  const nodeLink = new Map(topology.links.filter((l) => l.node !== null).map((l) => [l.node as string, l]));
  const onNetwork = topology.nodes.filter((n) => n.network === network);
  const groups = new Map<string, ResolvedNode[]>();
  for (const node of onNetwork) groups.set(node.group, [...(groups.get(node.group) ?? []), node]);
  const boxes: Box[] = [];
  for (const [group, members] of groups) {
    const first = members[0] as ResolvedNode;
    const role = first.role === 'plain' ? [] : [first.role];
    if (members.length > collapseAbove) {
      const last = members[members.length - 1] as ResolvedNode;
      boxes.push({
        id: `g_${group}`,
        lines: [`${group} ×${members.length}`, `${first.address} – ${last.address}`, ...role],
      });
      continue;
    }
    for (const node of members) {
      const shaping = shapingText(nodeLink.get(node.name));
      const lines = [node.name, `${node.address}:${node.port}`, ...role];
      if (shaping) lines.push(shaping);
      boxes.push({ id: `n_${node.name}`, lines });
    }
  }
  return boxes;
}

function networkLines(topology: ResolvedTopology, name: string): string[] {
  const network = topology.networks.find((n) => n.name === name);
  if (!network) return [name];
  const shaping = shapingText(topology.links.find((l) => l.network === name && l.node === null));
  return [network.name, `${network.kind} ${network.subnet}`, ...(shaping ? [shaping] : [])];
}

const mermaidId = (id: string): string => id.replace(/-/g, '_');
const mermaidText = (lines: string[]): string =>
  `"${lines.map((l) => l.replace(/"/g, '#quot;')).join('<br/>')}"`;

/** Draws a topology as a Mermaid flowchart. */
export function toMermaid(topology: ResolvedTopology, options: GraphOptions = {}): string {
  const collapseAbove = options.collapseAbove ?? 3;
  const out = ['flowchart TB'];
  for (const network of topology.networks) {
    const id = mermaidId(`net_${network.name}`);
    const label = mermaidText(networkLines(topology, network.name));
    const boxes = nodeBoxes(topology, network.name, collapseAbove);
    // a network without nodes is a plain shape: empty subgraphs render poorly
    if (boxes.length === 0) {
      out.push(`  ${id}([${label}])`);
      continue;
    }
    out.push(`  subgraph ${id}[${label}]`);
    for (const box of boxes) out.push(`    ${mermaidId(box.id)}[${mermaidText(box.lines)}]`);
    out.push('  end');
  }
  for (const router of topology.routers) {
    const id = mermaidId(`r_${router.name}`);
    out.push(`  ${id}{{${mermaidText(routerLabel(router))}}}`);
    out.push(`  ${mermaidId(`net_${router.wan.network}`)} ---|"${router.wan.address}"| ${id}`);
    out.push(`  ${id} ---|"${router.lan.address}"| ${mermaidId(`net_${router.lan.network}`)}`);
  }
  return `${out.join('\n')}\n`;
}

const dotText = (lines: string[]): string =>
  `"${lines.map((l) => l.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n')}"`;

/** Draws a topology as Graphviz DOT. */
export function toDot(topology: ResolvedTopology, options: GraphOptions = {}): string {
  const collapseAbove = options.collapseAbove ?? 3;
  const out = [`graph ${dotText([topology.name])} {`, '  node [fontname="Helvetica"];'];
  for (const network of topology.networks) {
    const id = dotText([`net:${network.name}`]);
    const fill = network.kind === 'public' ? '#dbeafe' : '#f3f4f6';
    out.push(
      `  ${id} [shape=box, style="rounded,filled", fillcolor="${fill}", label=${dotText(networkLines(topology, network.name))}];`,
    );
    for (const box of nodeBoxes(topology, network.name, collapseAbove)) {
      const nodeId = dotText([`node:${box.id}`]);
      out.push(`  ${nodeId} [shape=ellipse, label=${dotText(box.lines)}];`);
      out.push(`  ${id} -- ${nodeId};`);
    }
  }
  for (const router of topology.routers) {
    const id = dotText([`router:${router.name}`]);
    out.push(
      `  ${id} [shape=hexagon, style=filled, fillcolor="#fde68a", label=${dotText(routerLabel(router))}];`,
    );
    out.push(
      `  ${dotText([`net:${router.wan.network}`])} -- ${id} [label=${dotText([router.wan.address])}];`,
    );
    out.push(
      `  ${id} -- ${dotText([`net:${router.lan.network}`])} [label=${dotText([router.lan.address])}];`,
    );
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Draws a topology as a Mermaid flowchart or Graphviz DOT. */
export function renderGraph(
  topology: ResolvedTopology,
  format: GraphFormat = 'mermaid',
  options: GraphOptions = {},
): string {
  return format === 'dot' ? toDot(topology, options) : toMermaid(topology, options);
}
