/**
 * Planning a partition: which machine drops which addresses so that no packet passes between two sides
 * of nodes, in either direction — and nothing else is cut. Pure (the lab's node records in, per-host drop
 * lists out); wiring/partition.ts installs them.
 *
 * Rules live in the hosts' own namespaces (never in routers, whose NAT state stays as it is), keyed on
 * addresses: a host X sees a host Y at the address Y has on the lowest network their paths to the
 * internet share — Y's own address, or the WAN address of the NAT router in front of it — and, where a
 * router on that shared path hairpins, at that router's WAN address too (views()). A drop list at X is
 * exact when every host X sees at those addresses is on the other side; a NAT's public address stands
 * for every host behind it, so it is exact only where that whole LAN lies on one side.
 *
 * Each cross pair needs one exact end: X drops what stands for Y, or Y what stands for X (both where
 * both are exact). A pair with none cannot be cut without cutting a third node too: the plan is refused,
 * naming the nodes and the shared address.
 */
import { ConfigError } from '../../../src/errors.js';
import type { NodeRecord } from '../state.js';

export interface PartitionHost {
  name: string;
  namespace: string;
  /** (network, the address this host has there), from its own network up to the top of its path. */
  path: Array<{ network: string; address: string }>;
}

export interface PartitionPlan {
  sides: [string[], string[]];
  /** Per host namespace: the addresses it drops traffic to and from (sorted). */
  rules: Array<{ namespace: string; machine: string; drop: string[] }>;
}

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

/** A router as partitions see it: whether it translates and hairpins, and its two sides. */
export interface PartitionRouter {
  name: string;
  nat: boolean;
  hairpin: boolean;
  wan: { network: string; address: string };
  lan: { network: string; address: string };
}

function routersOf(nodes: readonly NodeRecord[]): Map<string, PartitionRouter> {
  const byLan = new Map<string, PartitionRouter>();
  for (const n of nodes.filter((x) => x.kind === 'router')) {
    if (!n.router)
      throw new ConfigError(
        `router ${n.name}: the lab state does not record its networks (started by an older quicmesh-lab); run down and up again`,
      );
    const hairpin = n.router.hairpin ?? /hairpin\)$/.test(n.nat);
    byLan.set(n.router.lan.network, {
      name: n.name,
      nat: n.router.preset !== 'none',
      hairpin,
      wan: n.router.wan,
      lan: n.router.lan,
    });
  }
  return byLan;
}

/** The lab's hosts with the address each has on every network up its path (NAT routers rewrite it to their WAN address). */
export function partitionHosts(nodes: readonly NodeRecord[]): {
  hosts: Map<string, PartitionHost>;
  routers: Map<string, PartitionRouter>;
} {
  const routers = routersOf(nodes);
  const hosts = new Map<string, PartitionHost>();
  for (const n of nodes.filter((x) => x.kind === 'host')) {
    let address = bare(n.addresses[0] ?? '');
    const path = [{ network: n.network, address }];
    const seen = new Set([n.network]);
    for (let r = routers.get(n.network); r && !seen.has(r.wan.network); r = routers.get(r.wan.network)) {
      if (r.nat) address = r.wan.address;
      path.push({ network: r.wan.network, address });
      seen.add(r.wan.network);
    }
    hosts.set(n.name, { name: n.name, namespace: n.namespace, path });
  }
  return { hosts, routers };
}

/** The addresses `x` sees `y` at: y's address on the lowest network both paths share, and hairpinning routers' WAN addresses above it. */
export function views(
  x: PartitionHost,
  y: PartitionHost,
  routers: ReadonlyMap<string, PartitionRouter>,
): string[] {
  const xs = x.path.map((p) => p.network);
  const meet = y.path.find((p) => xs.includes(p.network));
  if (!meet) return []; // no network in common: they cannot exchange a packet
  const out = new Set([meet.address]);
  // above the meeting network the two paths are one: a hairpinning NAT there turns packets back down
  for (const p of x.path.slice(xs.indexOf(meet.network))) {
    const r = routers.get(p.network);
    if (r?.nat && r.hairpin) out.add(r.wan.address);
  }
  return [...out];
}

/** Split the names given for a side into host names: a name is a node, or a group (its replicas). */
export function expandSide(nodes: readonly NodeRecord[], names: readonly string[], what: string): string[] {
  const hosts = nodes.filter((n) => n.kind === 'host');
  const out: string[] = [];
  for (const name of names) {
    const exact = hosts.filter((h) => h.name === name);
    const group = hosts.filter((h) => (h.group ?? h.name.replace(/-\d+$/, '')) === name);
    const found = exact.length ? exact : group;
    if (!found.length) {
      const known = [...new Set(hosts.flatMap((h) => [h.name, h.group ?? h.name.replace(/-\d+$/, '')]))];
      throw new ConfigError(`${what}: no node or group "${name}" (nodes and groups: ${known.join(', ')})`);
    }
    for (const h of found) if (!out.includes(h.name)) out.push(h.name);
  }
  return out;
}

export function planPartition(
  nodes: readonly NodeRecord[],
  sideA: readonly string[],
  sideB: readonly string[],
): PartitionPlan {
  const a = expandSide(nodes, sideA, 'partition');
  const b = expandSide(nodes, sideB, 'partition --from');
  if (!a.length || !b.length) throw new ConfigError('partition: both sides need at least one node');
  const both = a.filter((n) => b.includes(n));
  if (both.length) throw new ConfigError(`partition: ${both.join(', ')} on both sides`);
  const { hosts, routers } = partitionHosts(nodes);
  const all = [...hosts.values()];
  const host = (n: string) => hosts.get(n)!;
  /** Hosts other than x that x sees at `addr`. */
  const seenAt = (x: PartitionHost, addr: string) =>
    all.filter((z) => z !== x && views(x, z, routers).includes(addr)).map((z) => z.name);

  const drops = new Map<string, Set<string>>();
  const problems: string[] = [];
  /** x's drop list for y, when every host x sees there is on y's side; else the reason why not. */
  const exactAt = (
    x: PartitionHost,
    y: PartitionHost,
    ySide: readonly string[],
  ): { ok: true; addrs: string[] } | { ok: false; why: string } => {
    const addrs = views(x, y, routers);
    for (const addr of addrs) {
      const strangers = seenAt(x, addr).filter((z) => !ySide.includes(z));
      if (strangers.length)
        return {
          ok: false,
          why: `${x.name} sees ${y.name} at ${addr}, which also stands for ${strangers.join(', ')}`,
        };
    }
    return { ok: true, addrs };
  };
  for (const xa of a) {
    for (const yb of b) {
      const x = host(xa);
      const y = host(yb);
      if (!views(x, y, routers).length) continue; // never meet
      const atX = exactAt(x, y, b);
      const atY = exactAt(y, x, a);
      for (const [end, res] of [
        [x, atX],
        [y, atY],
      ] as const) {
        if (!res.ok) continue;
        const set = drops.get(end.name) ?? new Set<string>();
        for (const addr of res.addrs) set.add(addr);
        drops.set(end.name, set);
      }
      if (!atX.ok && !atY.ok) problems.push(`${atX.why}; and ${atY.why}`);
    }
  }
  if (problems.length) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more pair(s))` : '';
    throw new ConfigError(
      `partition cannot be made exactly: a NAT's public address stands for every node behind it, so cutting these pairs would cut others too: ${problems.slice(0, 3).join('; ')}${more}. Put every node behind such a NAT on one side`,
    );
  }
  const rules = [...drops]
    .map(([name, set]) => ({ namespace: host(name).namespace, machine: name, drop: [...set].sort() }))
    .sort((p, q) => p.machine.localeCompare(q.machine));
  return { sides: [a, b], rules };
}

/** The drop lists of several partitions together, per namespace (what is installed while they all hold). */
export function mergeRules(
  partitions: ReadonlyArray<{ rules: PartitionPlan['rules'] }>,
): PartitionPlan['rules'] {
  const by = new Map<string, { namespace: string; machine: string; drop: Set<string> }>();
  for (const p of partitions)
    for (const r of p.rules) {
      const e = by.get(r.namespace) ?? {
        namespace: r.namespace,
        machine: r.machine,
        drop: new Set<string>(),
      };
      for (const d of r.drop) e.drop.add(d);
      by.set(r.namespace, e);
    }
  return [...by.values()].map((e) => ({
    namespace: e.namespace,
    machine: e.machine,
    drop: [...e.drop].sort(),
  }));
}

/** The nft script of one host's partition table: silent drops at eth0 (netdev ingress/egress), or its removal. */
export function partitionScript(iface: string, drop: readonly string[]): string {
  const head = ['table netdev qm_partition {}', 'delete table netdev qm_partition'];
  if (!drop.length) return [...head, ''].join('\n');
  return [
    ...head,
    'table netdev qm_partition {',
    `\tset blocked { type ipv4_addr; elements = { ${drop.join(', ')} }; }`,
    `\tchain ingress { type filter hook ingress device "${iface}" priority filter; policy accept; ip saddr @blocked drop; }`,
    `\tchain egress { type filter hook egress device "${iface}" priority filter; policy accept; ip daddr @blocked drop; }`,
    '}',
    '',
  ].join('\n');
}
