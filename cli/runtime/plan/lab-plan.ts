/**
 * The build plan of a lab as data, the same for every backend: which network namespaces, which `ip -batch`
 * lines in the root namespace and in each namespace, which sysctls and nft scripts, which management
 * addresses. Pure (topology in, plan out), so it is unit-tested without root; the orchestrator and the
 * backends only execute it. Layout:
 *   network N  → namespace qm-<lab>_n_N with bridge br0 (a switch); each attachment is a veth whose
 *                 switch end (p<i>) joins br0
 *   router R   → machine namespace qm-<lab>_r_R with wan0 / lan0 on its two networks, forwarding, NAT rules
 *   host H     → machine namespace qm-<lab>_h_H with eth0 on its network, default route via its gateway
 *   management → 172.31.<k>.0/24, gateway .1 on the host side, one address per host (interface mgmt0)
 * A machine namespace is made by the backend (`ip netns add` on netns; a container's namespace, given that
 * name, on docker); everything else is wired the same way on both, so both give the same verdicts.
 */
import { ConfigError } from '../../../src/errors.js';
import type { ResolvedNetwork, ResolvedTopology } from '../../topology/model.js';
import { behaviourLabel, routerBehaviour } from '../../nat/behaviour.js';
import { natRules, routerSysctls } from '../../nat/rules.js';
import type { NetworkRecord, NodeRecord } from '../state.js';
import { IF, METRICS_PORT, checkLabName, mgmtBridgeName, nsName } from '../names.js';

export interface Attachment {
  namespace: string;
  iface: string;
  network: string;
  /** Port name on the network's switch. */
  port: string;
}

/** A host's place on the management network. */
export interface MgmtHost {
  name: string;
  namespace: string;
  /** Position among the lab's hosts (0-based): the address is .<index + 2>. */
  index: number;
  address: string;
}

export interface LabPlan {
  lab: string;
  /** Switch namespaces, made by the networks step. */
  switches: string[];
  /** Machine namespaces, made by the backend. */
  routers: string[];
  hosts: string[];
  /** Root-namespace `ip -batch` lines per step (machines exist by then). */
  root: { networks: string[]; routers: string[]; hosts: string[] };
  /** Per-namespace `ip -batch` lines per step. */
  inNs: { networks: Map<string, string[]>; routers: Map<string, string[]>; hosts: Map<string, string[]> };
  sysctls: Map<string, Record<string, string>>;
  nft: Map<string, string>;
  attachments: Attachment[];
  /** The management network: subnet, host-side gateway, the bridge's name, every host's address. */
  mgmt: { subnet: string; gateway: string; bridge: string; hosts: MgmtHost[] } | null;
  nodes: NodeRecord[];
  /** Every network as the state file records it (what `move` attaches a host to). */
  networks: NetworkRecord[];
}

function prefixLen(net: ResolvedNetwork): number {
  const m = /\/(\d{1,2})$/.exec(net.subnet);
  if (!m) throw new ConfigError(`network ${net.name}: subnet "${net.subnet}" lacks a /prefix`);
  return Number(m[1]);
}

function push(map: Map<string, string[]>, ns: string, ...lines: string[]): void {
  const list = map.get(ns);
  if (list) list.push(...lines);
  else map.set(ns, [...lines]);
}

/** mgmtIndex picks the management subnet 172.31.<mgmtIndex>.0/24 (1..254); null: no management network. */
export function planLab(topo: ResolvedTopology, mgmtIndex: number | null): LabPlan {
  const lab = topo.name;
  checkLabName(lab);
  const nets = new Map(topo.networks.map((n) => [n.name, n]));
  const net = (name: string, what: string): ResolvedNetwork => {
    const n = nets.get(name);
    if (!n) throw new ConfigError(`${what} refers to unknown network "${name}"`);
    return n;
  };
  const names = new Set<string>();
  for (const x of [...topo.routers, ...topo.nodes]) {
    if (names.has(x.name)) throw new ConfigError(`name "${x.name}" is used twice (routers and nodes share one namespace of names)`);
    names.add(x.name);
  }

  const plan: LabPlan = {
    lab,
    switches: [],
    routers: [],
    hosts: [],
    root: { networks: [], routers: [], hosts: [] },
    inNs: { networks: new Map(), routers: new Map(), hosts: new Map() },
    sysctls: new Map(),
    nft: new Map(),
    attachments: [],
    mgmt: null,
    nodes: [],
    networks: networkRecords(topo),
  };

  // networks: one switch namespace each
  const portCount = new Map<string, number>();
  for (const n of topo.networks) {
    const sw = nsName(lab, 'n', n.name);
    plan.switches.push(sw);
    plan.root.networks.push(`netns add ${sw}`);
    push(plan.inNs.networks, sw, 'link set lo up', `link add ${IF.bridge} type bridge`, `link set ${IF.bridge} up`);
    portCount.set(n.name, 0);
  }
  const attach = (step: 'routers' | 'hosts', ns: string, iface: string, network: string): void => {
    const sw = nsName(lab, 'n', network);
    const i = portCount.get(network) ?? 0;
    portCount.set(network, i + 1);
    const port = `p${i}`;
    plan.root[step].push(`link add ${iface} netns ${ns} type veth peer name ${port} netns ${sw}`);
    push(plan.inNs[step], sw, `link set ${port} master ${IF.bridge}`, `link set ${port} up`);
    plan.attachments.push({ namespace: ns, iface, network, port });
  };

  // routers
  const routerByLan = new Map(topo.routers.map((r) => [r.lan.network, r]));
  for (const r of topo.routers) {
    const ns = nsName(lab, 'r', r.name);
    const wan = net(r.wan.network, `router ${r.name} wan`);
    const lan = net(r.lan.network, `router ${r.name} lan`);
    plan.routers.push(ns);
    attach('routers', ns, IF.wan, wan.name);
    attach('routers', ns, IF.lan, lan.name);
    push(
      plan.inNs.routers,
      ns,
      'link set lo up',
      `addr add ${r.wan.address}/${prefixLen(wan)} dev ${IF.wan}`,
      `addr add ${r.lan.address}/${prefixLen(lan)} dev ${IF.lan}`,
      `link set ${IF.wan} up`,
      `link set ${IF.lan} up`,
    );
    const upstream = routerByLan.get(r.wan.network);
    if (upstream && upstream !== r) push(plan.inNs.routers, ns, `route add default via ${upstream.lan.address}`);
    plan.sysctls.set(ns, routerSysctls(r));
    plan.nft.set(ns, natRules(r, { wan: IF.wan, lan: IF.lan }));
    plan.nodes.push({
      name: r.name,
      kind: 'router',
      namespace: ns,
      network: `${r.wan.network} → ${r.lan.network}`,
      addresses: [`${r.wan.address}/${prefixLen(wan)}`, `${r.lan.address}/${prefixLen(lan)}`],
      nat: `${r.preset} (${behaviourLabel(routerBehaviour(r))}${r.hairpin ? ', hairpin' : ''})`,
      role: 'router',
      mgmtAddress: null,
      statusUrl: null,
      logFile: null,
      router: { preset: r.preset, wan: { ...r.wan }, lan: { ...r.lan }, hairpin: r.hairpin },
    });
  }

  // hosts
  if (mgmtIndex !== null && (!Number.isInteger(mgmtIndex) || mgmtIndex < 1 || mgmtIndex > 254)) {
    throw new ConfigError(`management subnet index ${mgmtIndex} is outside 1..254`);
  }
  if (mgmtIndex !== null && topo.nodes.length > 253) throw new ConfigError('at most 253 nodes per lab (management /24)');
  for (const [i, h] of topo.nodes.entries()) {
    const ns = nsName(lab, 'h', h.name);
    const n = net(h.network, `node ${h.name}`);
    plan.hosts.push(ns);
    attach('hosts', ns, IF.host, n.name);
    push(plan.inNs.hosts, ns, 'link set lo up', `addr add ${h.address}/${prefixLen(n)} dev ${IF.host}`, `link set ${IF.host} up`);
    if (h.gateway) push(plan.inNs.hosts, ns, `route add default via ${h.gateway}`);
    const mgmtAddress = mgmtIndex === null ? null : `172.31.${mgmtIndex}.${i + 2}`;
    plan.nodes.push({
      name: h.name,
      kind: 'host',
      namespace: ns,
      network: h.network,
      addresses: [`${h.address}/${prefixLen(n)}`],
      nat: routerByLan.get(h.network)?.preset ?? 'public',
      role: h.role,
      group: h.group,
      mgmtAddress,
      statusUrl: mgmtAddress ? `http://${mgmtAddress}:${METRICS_PORT}/status` : null,
      logFile: null,
    });
  }

  // routers without NAT forward plainly: everything on their WAN side needs a route to their LAN
  for (const r of topo.routers.filter((x) => routerBehaviour(x) === null)) {
    const lanNet = net(r.lan.network, `router ${r.name} lan`);
    for (const a of plan.attachments) {
      if (a.network !== r.wan.network || a.namespace === nsName(lab, 'r', r.name)) continue;
      const step = plan.routers.includes(a.namespace) ? 'routers' : 'hosts';
      push(plan.inNs[step], a.namespace, `route add ${lanNet.subnet} via ${r.wan.address}`);
    }
  }

  // management network: the host side's bridge at .1, one address per host
  if (mgmtIndex !== null && topo.nodes.length > 0) {
    const hosts = plan.nodes
      .filter((x) => x.kind === 'host')
      .map((node, index) => ({ name: node.name, namespace: node.namespace, index, address: node.mgmtAddress! }));
    plan.mgmt = { subnet: `172.31.${mgmtIndex}.0/24`, gateway: `172.31.${mgmtIndex}.1`, bridge: mgmtBridgeName(lab), hosts };
  }
  return plan;
}

/**
 * What a host placed on each network gets: the gateway and NAT label resolve.ts gives the topology's
 * own hosts there (the LAN router, or none on a public segment), and the routes planLab adds on the
 * WAN side of routers without NAT.
 */
export function networkRecords(topo: ResolvedTopology): NetworkRecord[] {
  return topo.networks.map((n) => {
    const router = topo.routers.find((r) => r.lan.network === n.name);
    const routes = topo.routers
      .filter((r) => r.wan.network === n.name && routerBehaviour(r) === null)
      .map((r) => ({ subnet: topo.networks.find((x) => x.name === r.lan.network)?.subnet ?? '', via: r.wan.address }))
      .filter((r) => r.subnet !== '');
    return {
      name: n.name,
      kind: n.kind,
      subnet: n.subnet,
      namespace: nsName(topo.name, 'n', n.name),
      gateway: router?.lan.address ?? null,
      nat: router?.preset ?? 'public',
      routes,
    };
  });
}

/** Namespaces of the plan in build order. */
export function planNamespaces(plan: LabPlan): string[] {
  return [...plan.switches, ...plan.routers, ...plan.hosts];
}

