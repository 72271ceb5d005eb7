/**
 * Forgetting the NAT state between two hosts of a lab, so that the next connection between them starts
 * from cold routers (`quicmesh-lab test` before every probe). Pure: the lab's node records and a snapshot
 * of each router's state in, the commands that delete exactly the A↔B state out; the backend runs them.
 *
 * Deleting needs the live state: nft removes set elements by exact key only, and a router's WAN address
 * is shared by every host behind it, so the ports decide which flows are B's. The snapshot of a router is
 * `conntrack -L -p udp` and `nft -j list table ip qm_nat` (SNAPSHOT_COMMANDS).
 *
 * What a router R holds for A↔B traffic (cli/nat/rules.ts; A below R, B outside):
 * - every preset: conntrack entries. A's dial: orig a:pa → B's endpoint, reply B's endpoint → W:mA (SNAT).
 *   A DNATed inbound flow (EIF/ADF): orig B's endpoint → W:mA, reply a:pa → B's endpoint. Hairpin (both
 *   below R): orig a:pa → W:mB, reply b:pb → W:mA. On APDF presets the entries are the filter itself.
 * - ADF: `contacted` (B's address . mA) — the permission for anything at B's address to reach mA.
 * - ADM: `by_remote` (a . pa . B's address) → W:mA, A's mapping toward B's address, used for nothing else.
 * - EIM: `by_inside`, `held_ports`, and `by_port` are A's one mapping, shared with its bootstrap and relay
 *   traffic: they stay (deleting them would rebind A's other connections). A full-cone router stays open
 *   to B while A's mapping lives — that is what full cone means.
 * - ADM/APDM with EIF, ADF or hairpin: `by_port` mA → a:pa goes when mA served only A↔B flows.
 * "B's endpoint" is B as that router sees it: b (its LAN address), or one of its routers' WAN addresses with
 * B's mapped port there. Ports come from the snapshots, bottom-up along each path (A's mapping at its home
 * router is the inside endpoint at the carrier NAT above it), restricted to flows toward the other side's
 * addresses so a port an APDM router reuses for another host's flow elsewhere is not mistaken for B's.
 * Where a router has only one host below it, its WAN address is that host's whatever the port.
 *
 * Not exact (LIMITATIONS.md): `contacted` and `by_remote` are keyed by B's *address*; a host C sharing B's
 * public address (behind the same NAT) loses A's permission/mapping toward that address too, until A's next
 * packet to C restores it (the track chain re-adds both). C's conntrack entries are left alone.
 * An APDM router may give A and a neighbour D the same random port toward different remotes; at a carrier
 * NAT above it their flows look alike, and only the other end (B or not) tells them apart.
 */
import { ConfigError } from '../../../src/errors.js';
import type { NodeRecord } from '../state.js';
import { NAT_TABLE } from '../../nat/rules.js';

export interface Command {
  argv: string[];
  input?: string;
}

/** What to read in each router namespace, in this order, to build a RouterSnapshot. */
export const SNAPSHOT_COMMANDS: readonly Command[] = [
  { argv: ['conntrack', '-L', '-p', 'udp'] },
  { argv: ['nft', '-j', 'list', 'table', 'ip', NAT_TABLE] },
];

export interface Side {
  network: string;
  address: string;
}

export interface ScopeRouter {
  name: string;
  namespace: string;
  preset: string;
  wan: Side;
  lan: Side;
  /** Networks whose addresses this router can see: its LAN, its WAN and every WAN above. */
  visible: Set<string>;
  /** Hosts whose path to the internet crosses this router. */
  below: Set<string>;
}

export interface ScopeHost {
  name: string;
  network: string;
  address: string;
  /** Routers from the host's LAN upward. */
  path: ScopeRouter[];
}

export interface ForgetScope {
  a: ScopeHost;
  b: ScopeHost;
  /** Every router on either path, each once: where to snapshot and delete. */
  routers: ScopeRouter[];
}

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

/** A router's two sides: recorded by planLab, or read back from the display fields of older state files. */
function sidesOf(n: NodeRecord): { wan: Side; lan: Side; preset: string } {
  if (n.router) return n.router;
  const [wanNet, lanNet] = n.network.split(' → ');
  const [wanAddr, lanAddr] = n.addresses;
  if (!wanNet || !lanNet || !wanAddr || !lanAddr) throw new ConfigError(`router ${n.name}: its state record lacks its networks`);
  return { wan: { network: wanNet, address: bare(wanAddr) }, lan: { network: lanNet, address: bare(lanAddr) }, preset: n.nat.split(' ')[0] ?? '' };
}

/** The routers on A's and B's paths to the internet, from the lab's node records (the state file). */
export function forgetScope(nodes: readonly NodeRecord[], a: string, b: string): ForgetScope {
  if (a === b) throw new ConfigError(`forget NAT state: "${a}" named twice`);
  const byLan = new Map<string, ScopeRouter>();
  for (const n of nodes.filter((x) => x.kind === 'router')) {
    const { wan, lan, preset } = sidesOf(n);
    byLan.set(lan.network, { name: n.name, namespace: n.namespace, preset, wan, lan, visible: new Set(), below: new Set() });
  }
  const chain = (network: string): ScopeRouter[] => {
    const out: ScopeRouter[] = [];
    for (let r = byLan.get(network); r && !out.includes(r); r = byLan.get(r.wan.network)) out.push(r);
    return out;
  };
  for (const r of byLan.values()) {
    r.visible.add(r.lan.network);
    for (const up of chain(r.lan.network)) r.visible.add(up.wan.network);
  }
  const hosts = new Map<string, ScopeHost>();
  for (const n of nodes.filter((x) => x.kind === 'host')) {
    const path = chain(n.network);
    for (const r of path) r.below.add(n.name);
    hosts.set(n.name, { name: n.name, network: n.network, address: bare(n.addresses[0] ?? ''), path });
  }
  const host = (name: string): ScopeHost => {
    const h = hosts.get(name);
    if (!h) throw new ConfigError(`forget NAT state: the lab has no host "${name}"`);
    return h;
  };
  const ha = host(a);
  const hb = host(b);
  const routers = [...ha.path, ...hb.path.filter((r) => !ha.path.includes(r))];
  return { a: ha, b: hb, routers };
}

// ---- snapshots ------------------------------------------------------------------------------------

export interface Endpoint {
  addr: string;
  port: number;
}

export interface CtTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface CtEntry {
  orig: CtTuple;
  reply: CtTuple;
}

export interface NatSets {
  /** The table has `by_inside`: the router maps endpoint-independently. */
  eim: boolean;
  byInside: Array<{ key: Endpoint; value: Endpoint }>;
  byRemote: Array<{ key: Endpoint & { remote: string }; value: Endpoint }>;
  byPort: Array<{ port: number; value: Endpoint }>;
  contacted: Array<{ remote: string; port: number }>;
}

export interface RouterSnapshot {
  conntrack: CtEntry[];
  sets: NatSets;
}

/** `conntrack -L -p udp` lines: the first src/dst/sport/dport are the original tuple, the next the reply. */
export function parseConntrack(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s*udp\s/.test(line)) continue;
    const v = (k: string) => [...line.matchAll(new RegExp(`\\b${k}=(\\S+)`, 'g'))].map((m) => m[1]!);
    const [src, dst, sport, dport] = [v('src'), v('dst'), v('sport'), v('dport')];
    if (src.length < 2 || dst.length < 2 || sport.length < 2 || dport.length < 2) continue;
    const tuple = (i: number): CtTuple => ({ src: src[i]!, dst: dst[i]!, sport: Number(sport[i]), dport: Number(dport[i]) });
    out.push({ orig: tuple(0), reply: tuple(1) });
  }
  return out;
}

type Json = unknown;
/** An element of `nft -j`: `{"elem": {"val": X, "expires": …}}` when it has a timeout, else X itself. */
const elemVal = (e: Json): Json => (e && typeof e === 'object' && 'elem' in e ? (e as { elem: { val: Json } }).elem.val : e);
const concat = (x: Json): Json[] => (x && typeof x === 'object' && 'concat' in x ? (x as { concat: Json[] }).concat : [x]);
const endpoint = (x: Json): Endpoint => {
  const [addr, port] = concat(x);
  return { addr: String(addr), port: Number(port) };
};

/** The dynamic sets and maps of table qm_nat, from `nft -j list table ip qm_nat`. */
export function parseNatTable(json: string): NatSets {
  const sets: NatSets = { eim: false, byInside: [], byRemote: [], byPort: [], contacted: [] };
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, { name?: string; elem?: Json[] }>> };
  for (const item of doc.nftables ?? []) {
    const s = item.set ?? item.map;
    if (!s?.name) continue;
    const elems = s.elem ?? [];
    const pairs = () => elems.map((e) => (Array.isArray(e) ? [elemVal(e[0]), e[1]] : [elemVal(e), null]) as [Json, Json]);
    if (s.name === 'by_inside') {
      sets.eim = true;
      sets.byInside = pairs().map(([k, v]) => ({ key: endpoint(k), value: endpoint(v) }));
    } else if (s.name === 'by_remote') {
      sets.byRemote = pairs().map(([k, v]) => {
        const [addr, port, remote] = concat(k);
        return { key: { addr: String(addr), port: Number(port), remote: String(remote) }, value: endpoint(v) };
      });
    } else if (s.name === 'by_port') {
      sets.byPort = pairs().map(([k, v]) => ({ port: Number(k), value: endpoint(v) }));
    } else if (s.name === 'contacted') {
      sets.contacted = elems.map((e) => {
        const [remote, port] = concat(elemVal(e));
        return { remote: String(remote), port: Number(port) };
      });
    }
  }
  return sets;
}

export function parseSnapshot(conntrackOut: string, nftJson: string): RouterSnapshot {
  return { conntrack: parseConntrack(conntrackOut), sets: parseNatTable(nftJson) };
}

export const EMPTY_SNAPSHOT: RouterSnapshot = {
  conntrack: [],
  sets: { eim: false, byInside: [], byRemote: [], byPort: [], contacted: [] },
};

// ---- classification -------------------------------------------------------------------------------

/** One side's endpoint as some router sees it; port null: any port (the address is that host's alone). */
interface Pattern {
  addr: string;
  port: number | null;
  network: string;
}

const hits = (ps: readonly Pattern[], e: Endpoint): boolean =>
  ps.some((p) => p.addr === e.addr && (p.port === null || p.port === e.port));
const hitsAddr = (ps: readonly Pattern[], addr: string): boolean => ps.some((p) => p.addr === addr);

/** How an entry looks from the router: the inside endpoint, the port it is mapped to, the remote address. */
interface View {
  inside: Endpoint;
  mapped: number;
  remote: string;
}

function views(e: CtEntry, wan: string): View[] {
  const out: View[] = [];
  // a flow from the LAN, source-NATed to the WAN address (also the sender's half of a hairpin)
  if (e.reply.dst === wan && e.orig.src !== wan)
    out.push({ inside: { addr: e.orig.src, port: e.orig.sport }, mapped: e.reply.dport, remote: e.orig.dst });
  // a flow to the WAN address, destination-NATed into the LAN (also the receiver's half of a hairpin)
  if (e.orig.dst === wan && e.reply.src !== wan)
    out.push({ inside: { addr: e.reply.src, port: e.reply.sport }, mapped: e.orig.dport, remote: e.orig.src });
  return out;
}

export interface RouterForget {
  router: string;
  namespace: string;
  /** Conntrack entries to delete (exact original tuples). */
  conntrack: CtEntry[];
  /** Set/map elements to delete, as nft key syntax. */
  elements: Array<{ set: 'contacted' | 'by_remote' | 'by_port'; key: string }>;
  /** Run inside `namespace` (independent of each other); empty when there is nothing to delete. */
  commands: Command[];
}

/** The commands that delete the A↔B state in every router of the scope, given each router's snapshot. */
export function forgetCommands(scope: ForgetScope, snapshots: ReadonlyMap<string, RouterSnapshot>): RouterForget[] {
  const snap = (r: ScopeRouter) => snapshots.get(r.name) ?? EMPTY_SNAPSHOT;
  const at = (ps: readonly Pattern[], r: ScopeRouter) => ps.filter((p) => r.visible.has(p.network));
  // the addresses that stand for a host anywhere: its own, and the WAN address of each router above it
  const addresses = (h: ScopeHost): Pattern[] => [
    { addr: h.address, port: null, network: h.network },
    ...h.path.map((r) => ({ addr: r.wan.address, port: null, network: r.wan.network })),
  ];
  const addrs = { a: addresses(scope.a), b: addresses(scope.b) };

  // X's endpoints, bottom-up: its LAN address, then at each router the ports X is mapped to there
  const ports = new Map<string, Set<number>>(); // `${side} ${router}` → X's mapped ports at that router
  const identities = (side: 'a' | 'b'): Pattern[] => {
    const h = scope[side];
    const other = addrs[side === 'a' ? 'b' : 'a'];
    const ids: Pattern[] = [{ addr: h.address, port: null, network: h.network }];
    for (const r of h.path) {
      const inner = ids.filter((p) => p.network === r.lan.network);
      if (r.preset === 'none') {
        // no translation: the same endpoints, seen on the WAN side too
        ids.push(...inner.map((p) => ({ ...p, network: r.wan.network })));
        continue;
      }
      const { conntrack, sets } = snap(r);
      const o = at(other, r);
      const mine = new Set<number>();
      for (const e of conntrack)
        for (const v of views(e, r.wan.address)) if (hits(inner, v.inside) && hitsAddr(o, v.remote)) mine.add(v.mapped);
      for (const m of sets.byInside) if (hits(inner, m.key) && m.value.addr === r.wan.address) mine.add(m.value.port);
      for (const m of sets.byRemote) if (hits(inner, m.key) && hitsAddr(o, m.key.remote)) mine.add(m.value.port);
      ports.set(`${side} ${r.name}`, mine);
      if (r.below.size === 1) ids.push({ addr: r.wan.address, port: null, network: r.wan.network });
      for (const p of mine) ids.push({ addr: r.wan.address, port: p, network: r.wan.network });
    }
    return ids;
  };
  const ids = { a: identities('a'), b: identities('b') };

  return scope.routers.map((r) => {
    const out: RouterForget = { router: r.name, namespace: r.namespace, conntrack: [], elements: [], commands: [] };
    if (r.preset === 'none') return out; // plain forwarding: no state that admits or maps anything
    const { conntrack, sets } = snap(r);
    const ia = at(ids.a, r);
    const ib = at(ids.b, r);
    const kept: CtEntry[] = [];
    for (const e of conntrack) {
      const p1 = [{ addr: e.orig.src, port: e.orig.sport }, { addr: e.reply.dst, port: e.reply.dport }];
      const p2 = [{ addr: e.orig.dst, port: e.orig.dport }, { addr: e.reply.src, port: e.reply.sport }];
      const side = (ps: Pattern[], party: Endpoint[]) => party.some((x) => hits(ps, x));
      const pair = (side(ia, p1) && side(ib, p2)) || (side(ib, p1) && side(ia, p2));
      (pair ? out.conntrack : kept).push(e);
    }

    const freed = new Set<number>(); // mapped ports of what goes: candidates for by_port on non-EIM routers
    for (const e of out.conntrack) for (const v of views(e, r.wan.address)) freed.add(v.mapped);
    const goneRemote = new Set<NatSets['byRemote'][number]>();
    for (const x of ['a', 'b'] as const) {
      if (!scope[x].path.includes(r)) continue;
      const inner = ids[x].filter((p) => p.network === r.lan.network);
      const o = at(addrs[x === 'a' ? 'b' : 'a'], r);
      const mine = ports.get(`${x} ${r.name}`) ?? new Set<number>();
      const alone = r.below.size === 1;
      for (const c of sets.contacted)
        if (hitsAddr(o, c.remote) && (alone || mine.has(c.port)))
          out.elements.push({ set: 'contacted', key: `${c.remote} . ${c.port}` });
      for (const m of sets.byRemote)
        if (hits(inner, m.key) && hitsAddr(o, m.key.remote)) {
          goneRemote.add(m);
          out.elements.push({ set: 'by_remote', key: `${m.key.addr} . ${m.key.port} . ${m.key.remote}` });
          freed.add(m.value.port);
        }
    }
    if (!sets.eim) {
      // a non-EIM mapping port that served only A↔B goes with them; one another flow still uses stays
      const used = new Set<number>();
      for (const e of kept) for (const v of views(e, r.wan.address)) used.add(v.mapped);
      for (const m of sets.byRemote) if (!goneRemote.has(m)) used.add(m.value.port);
      for (const m of sets.byPort)
        if (freed.has(m.port) && !used.has(m.port)) out.elements.push({ set: 'by_port', key: String(m.port) });
    }
    out.elements = dedupe(out.elements);
    out.commands = commandsFor(out);
    return out;
  });
}

function dedupe<T extends { set: string; key: string }>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = `${x.set} ${x.key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * One `conntrack -D` per entry, by its exact original tuple (unique per flow). `conntrack -R -` would take
 * them all at once, but it opens /dev/stdin, which fails on the socket Node gives a child as stdin.
 * The elements go in one `nft -f -` transaction.
 */
function commandsFor(f: RouterForget): Command[] {
  const cmds: Command[] = f.conntrack.map(({ orig: o }) => ({
    argv: ['conntrack', '-D', '-p', 'udp', '-s', o.src, '-d', o.dst, '--sport', String(o.sport), '--dport', String(o.dport)],
  }));
  if (f.elements.length) cmds.push({ argv: ['nft', '-f', '-'], input: f.elements.map(deleteElement).join('') });
  return cmds;
}

export function deleteElement(e: { set: string; key: string }): string {
  return `delete element ip ${NAT_TABLE} ${e.set} { ${e.key} }\n`;
}
