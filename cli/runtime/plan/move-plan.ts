/**
 * Planning a host's move to another network of its lab, or a renumber on its own network: which
 * address, which new switch port, which `ip -batch` lines in which namespace, which shaping. Pure
 * (lab state in, plan out), so it is unit-tested without root; move.ts executes it.
 *
 * A move builds the new attachment beside the old one first (a veth whose host end is TEMP_IF, its
 * switch end a fresh port p<i>, the new address on it), so a failure up to then only has to drop the
 * new pair. Only then does one batch delete the old pair, rename the new end to eth0, bring it up
 * and set the routes. A renumber keeps the link, as a DHCP lease change does, and swaps the address.
 */
import { ConfigError } from '../../../src/errors.js';
import type { LabState, NetworkRecord, NodeRecord } from '../state.js';
import type { ResolvedLink } from '../../topology/model.js';
import { type Cidr, cidrSize, formatIpv4, parseCidr, parseIpv4, usableHosts } from '../../topology/ipv4.js';
import { IF } from '../names.js';

/** The new host end's name while the old eth0 still exists. */
export const TEMP_IF = 'eth0new';

export interface MoveEnd {
  network: string;
  address: string;
}

export interface MovePlan {
  kind: 'move' | 'renumber';
  node: string;
  hostNs: string;
  from: MoveEnd;
  to: MoveEnd & { gateway: string | null };
  /** Root-namespace lines creating the new pair (empty for a renumber). */
  root: string[];
  /** The target switch's namespace and the lines joining the new port to its bridge. */
  switchNs: string;
  switchLines: string[];
  /** Host lines that change nothing the node uses yet. */
  prepare: string[];
  /** Host lines that switch over to the new attachment. */
  commit: string[];
  /** Host lines undoing a failed root/switch/prepare step (the old attachment is still intact). */
  abort: string[];
  /** Shaping on the host's interface before and after (a renumber keeps it as it is). */
  shaping: { from: ResolvedLink | null; to: ResolvedLink | null };
  /** The node's record after the move. */
  record: Pick<NodeRecord, 'network' | 'addresses' | 'nat'>;
}

function cidrOf(net: NetworkRecord): Cidr {
  const parsed = parseCidr(net.subnet);
  if (!parsed.ok) throw new ConfigError(`network ${net.name}: ${parsed.message}`);
  return parsed.cidr;
}

const bare = (addr: string): string => addr.split('/')[0] ?? addr;

/** The node to move and its current and target networks; every name checked against the state. */
export function resolveMove(
  state: LabState,
  nodeName: string,
  networkName: string,
): { node: NodeRecord; from: NetworkRecord; to: NetworkRecord } {
  if (state.phase !== 'up') throw new ConfigError(`lab ${state.lab} is not up (phase: ${state.phase})`);
  const held = (state.partitions ?? []).find((p) => p.sides.some((side) => side.includes(nodeName)));
  if (held) {
    throw new ConfigError(`${nodeName} is in partition ${held.id}, whose rules are keyed on its address: heal it first (quicmesh-lab heal)`);
  }
  if (!state.networks) {
    throw new ConfigError(
      `lab ${state.lab} was started by an older quicmesh-lab that did not record its networks; run down and up again to use move`,
    );
  }
  const hosts = state.nodes.filter((n) => n.kind === 'host').map((n) => n.name);
  const node = state.nodes.find((n) => n.name === nodeName);
  if (!node)
    throw new ConfigError(
      `lab ${state.lab} has no node "${nodeName}" (nodes: ${hosts.join(', ') || 'none'})`,
    );
  if (node.kind !== 'host')
    throw new ConfigError(
      `"${nodeName}" is a router; only nodes can move (nodes: ${hosts.join(', ') || 'none'})`,
    );
  const to = state.networks.find((n) => n.name === networkName);
  if (!to) {
    throw new ConfigError(
      `lab ${state.lab} has no network "${networkName}" (networks: ${state.networks.map((n) => n.name).join(', ')})`,
    );
  }
  const from = state.networks.find((n) => n.name === node.network);
  if (!from)
    throw new ConfigError(
      `node ${nodeName} is on network "${node.network}", which the lab state does not list`,
    );
  return { node, from, to };
}

/**
 * Lab addresses in use → who holds them: on `network` when given (two LANs may share a subnet, so an
 * address is only taken on its own network), else everywhere (nodes and both sides of every router).
 */
export function usedAddresses(nodes: NodeRecord[], network?: string): Map<string, string> {
  const used = new Map<string, string>();
  for (const n of nodes) {
    const who = n.kind === 'router' ? `router ${n.name}` : n.name;
    if (network === undefined || (n.kind === 'router' && !n.router)) {
      for (const a of n.addresses) used.set(bare(a), who);
    } else if (n.kind === 'router') {
      for (const side of [n.router!.wan, n.router!.lan]) if (side.network === network) used.set(side.address, who);
    } else if (n.network === network) {
      for (const a of n.addresses) used.set(bare(a), who);
    }
  }
  return used;
}

/** `requested` after checking it, else the lowest free host address of the network (as DHCP would). */
export function chooseAddress(
  net: NetworkRecord,
  used: Map<string, string>,
  requested?: string,
  mover?: string,
): string {
  const cidr = cidrOf(net);
  if (requested === undefined) {
    for (let i = 1; i <= usableHosts(cidr); i++) {
      const addr = formatIpv4(cidr.base + i);
      if (!used.has(addr)) return addr;
    }
    throw new ConfigError(`network ${net.name} (${net.subnet}) has no free address`);
  }
  const value = parseIpv4(requested);
  if (value === null) throw new ConfigError(`--address "${requested}" is not an IPv4 address`);
  const what = `--address ${requested}`;
  if (value < cidr.base || value >= cidr.base + cidrSize(cidr))
    throw new ConfigError(`${what} is outside network ${net.name} (${net.subnet})`);
  if (usableHosts(cidr) === 0)
    throw new ConfigError(`network ${net.name} (${net.subnet}) has no host addresses`);
  if (value === cidr.base)
    throw new ConfigError(`${what} is the network address of ${net.name} (${net.subnet})`);
  if (value === cidr.base + cidrSize(cidr) - 1)
    throw new ConfigError(`${what} is the broadcast address of ${net.name} (${net.subnet})`);
  const owner = used.get(requested);
  if (owner !== undefined) {
    throw new ConfigError(
      owner === mover ? `${what} is already ${mover}'s address` : `${what} is taken by ${owner}`,
    );
  }
  return requested;
}

/** A switch port name not among the ones the switch has: one past the highest p<i>. */
export function nextPortName(existing: string[]): string {
  const used = existing
    .map((n) => /^p(\d+)$/.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  return `p${used.length ? Math.max(...used) + 1 : 0}`;
}

/** The link shaping `up` would give this node's interface on that network (a node entry wins). */
export function shapeFor(links: ResolvedLink[], node: string, network: string): ResolvedLink | null {
  const link =
    links.find((l) => l.node === node && l.network === network) ??
    links.find((l) => l.node === null && l.network === network);
  return link && (link.delayMs > 0 || link.lossPct > 0 || link.rateKbit > 0) ? link : null;
}

/** "none", or e.g. "delay 20 ms ± 2 ms, loss 1 % (link on network home-b)". */
export function describeShape(link: ResolvedLink | null): string {
  if (!link) return 'none';
  const parts = [
    link.delayMs > 0 ? `delay ${link.delayMs} ms${link.jitterMs > 0 ? ` ± ${link.jitterMs} ms` : ''}` : '',
    link.lossPct > 0 ? `loss ${link.lossPct} %` : '',
    link.rateKbit > 0 ? `rate ${link.rateKbit} kbit/s` : '',
  ].filter(Boolean);
  return `${parts.join(', ')} (link on ${link.node ? `node ${link.node}` : `network ${link.network}`})`;
}

/** Host lines giving the routes of a host on `net` (replace: some may survive from before). */
export function routeLines(net: NetworkRecord): string[] {
  return [
    ...(net.gateway ? [`route replace default via ${net.gateway}`] : []),
    ...net.routes.map((r) => `route replace ${r.subnet} via ${r.via}`),
  ];
}

/** The lines attaching a host namespace to `net` with `address` through a new pair, up to the rename. */
export function attachLines(
  hostNs: string,
  net: NetworkRecord,
  address: string,
  port: string,
): { root: string[]; switchLines: string[]; prepare: string[]; switchOver: string[] } {
  return {
    root: [`link add ${TEMP_IF} netns ${hostNs} type veth peer name ${port} netns ${net.namespace}`],
    switchLines: [`link set ${port} master ${IF.bridge}`, `link set ${port} up`],
    prepare: [`addr add ${address}/${cidrOf(net).prefix} dev ${TEMP_IF}`],
    // a link must be down to be renamed; the new end has not been up yet
    switchOver: [`link set ${TEMP_IF} name ${IF.host}`, `link set ${IF.host} up`, ...routeLines(net)],
  };
}

export interface MoveRequest {
  node: string;
  network: string;
  address?: string;
  /** The target switch's current interface names (to pick a new port); unused for a renumber. */
  switchPorts: string[];
}

/** The whole plan of one move or renumber, after validating the request against the state. */
export function planMove(state: LabState, req: MoveRequest): MovePlan {
  const { node, from, to } = resolveMove(state, req.node, req.network);
  const fromAddress = bare(node.addresses[0] ?? '');
  const address = chooseAddress(to, usedAddresses(state.nodes, to.name), req.address, node.name);
  const prefix = cidrOf(to).prefix;
  const links = state.links ?? [];
  const common = {
    node: node.name,
    hostNs: node.namespace,
    from: { network: from.name, address: fromAddress },
    to: { network: to.name, address, gateway: to.gateway },
    switchNs: to.namespace,
    record: { network: to.name, addresses: [`${address}/${prefix}`], nat: to.nat },
  };
  if (from.name === to.name) {
    const keep = shapeFor(links, node.name, to.name);
    return {
      ...common,
      kind: 'renumber',
      root: [],
      switchLines: [],
      prepare: [],
      commit: [
        `addr del ${fromAddress}/${cidrOf(from).prefix} dev ${IF.host}`,
        `addr add ${address}/${prefix} dev ${IF.host}`,
        ...routeLines(to),
      ],
      abort: [],
      shaping: { from: keep, to: keep },
    };
  }
  const port = nextPortName(req.switchPorts);
  const lines = attachLines(node.namespace, to, address, port);
  // a network cut with `link down`: the new cable is plugged into a switch whose ports are all down
  if ((state.linkCuts ?? []).some((c) => c.network === to.name && c.node === null)) {
    lines.switchLines = lines.switchLines.map((l) => (l === `link set ${port} up` ? `link set ${port} down` : l));
  }
  return {
    ...common,
    kind: 'move',
    root: lines.root,
    switchLines: lines.switchLines,
    prepare: lines.prepare,
    // deleting one end of a veth deletes the pair: the old switch port goes with eth0
    commit: [`link del ${IF.host}`, ...lines.switchOver],
    abort: [`link del ${TEMP_IF}`],
    shaping: { from: shapeFor(links, node.name, from.name), to: shapeFor(links, node.name, to.name) },
  };
}

/** Host lines putting a renumbered host back on its old address (whatever the failed batch did). */
export function renumberRestoreLines(plan: MovePlan, from: NetworkRecord): string[] {
  return [
    `addr flush dev ${IF.host}`,
    `addr add ${plan.from.address}/${cidrOf(from).prefix} dev ${IF.host}`,
    `link set ${IF.host} up`,
    ...routeLines(from),
  ];
}
