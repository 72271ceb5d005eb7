/**
 * Changing links on a running lab, as data: which interfaces a network (or one node on it) has, the
 * shaping each interface of a machine gets from the lab's link records, and the records after a
 * `link set` or `link down/up`. Pure (the lab's state in, plans out); wiring/link.ts applies them.
 * Semantics are the topology's (plan/shaping-plan.ts): a network's link shapes every interface on it,
 * a node's link replaces it on that node's interface.
 */
import { ConfigError } from '../../../src/errors.js';
import type { ResolvedLink } from '../../topology/model.js';
import { IF } from '../names.js';
import type { LabState, LinkCut, NodeRecord } from '../state.js';
import type { LinkChange } from '../runtime.js';
import type { ShapeTarget } from './shaping-plan.js';

/** One machine's interface on a network. */
export interface LinkEnd {
  /** The machine (node or router) name. */
  machine: string;
  namespace: string;
  iface: string;
  network: string;
  /** The node whose interface it is, for node-specific links; null for a router's side. */
  node: string | null;
}

/** A router's two sides; older state files lack them. */
function sides(r: NodeRecord): NonNullable<NodeRecord['router']> {
  if (!r.router)
    throw new ConfigError(
      `router ${r.name}: the lab state does not record its networks (started by an older quicmesh-lab); run down and up again`,
    );
  return r.router;
}

/** Every interface of the lab, from its node records. */
export function linkEnds(state: Pick<LabState, 'nodes'>): LinkEnd[] {
  const out: LinkEnd[] = [];
  for (const n of state.nodes) {
    if (n.kind === 'host')
      out.push({ machine: n.name, namespace: n.namespace, iface: IF.host, network: n.network, node: n.name });
    else {
      const s = sides(n);
      out.push({
        machine: n.name,
        namespace: n.namespace,
        iface: IF.wan,
        network: s.wan.network,
        node: null,
      });
      out.push({
        machine: n.name,
        namespace: n.namespace,
        iface: IF.lan,
        network: s.lan.network,
        node: null,
      });
    }
  }
  return out;
}

/** The network and node named by a link verb, checked against the lab: its interfaces on that network. */
export function resolveLinkTarget(state: LabState, network: string, node: string | null): LinkEnd[] {
  const nets = (state.networks ?? []).map((n) => n.name);
  if (!nets.includes(network)) {
    throw new ConfigError(
      `lab ${state.lab} has no network "${network}" (networks: ${nets.join(', ') || 'none recorded'})`,
    );
  }
  const ends = linkEnds(state).filter((e) => e.network === network);
  if (node === null) return ends;
  const rec = state.nodes.find((n) => n.name === node);
  if (!rec || rec.kind !== 'host') {
    const hosts = ends.filter((e) => e.node !== null).map((e) => e.node);
    throw new ConfigError(
      `network ${network} has no node "${node}" (nodes on it: ${hosts.join(', ') || 'none'})`,
    );
  }
  if (rec.network !== network)
    throw new ConfigError(`node ${node} is on network ${rec.network}, not ${network}`);
  return ends.filter((e) => e.node === node);
}

const ZERO = { delayMs: 0, jitterMs: 0, lossPct: 0, rateKbit: 0 };

/** The link an interface gets: its node's own entry on that network, else the network's, else none. */
export function linkFor(
  links: readonly ResolvedLink[],
  end: Pick<LinkEnd, 'network' | 'node'>,
): ResolvedLink {
  const own =
    end.node === null ? undefined : links.find((l) => l.node === end.node && l.network === end.network);
  const net = links.find((l) => l.node === null && l.network === end.network);
  return own ?? net ?? { network: end.network, node: null, ...ZERO };
}

export function checkLink(l: ResolvedLink): void {
  const where = l.node ?? l.network;
  if (l.delayMs < 0 || l.jitterMs < 0 || l.rateKbit < 0 || l.lossPct < 0 || l.lossPct > 100) {
    throw new ConfigError(`link on ${where}: delay, jitter and rate must be ≥ 0 and loss within 0..100`);
  }
  if (l.jitterMs > l.delayMs)
    throw new ConfigError(`link on ${where}: jitter (${l.jitterMs} ms) exceeds delay (${l.delayMs} ms)`);
}

/**
 * The lab's link records after `change`: the entry it names (the node's own, or the network's) gets the
 * fields given; a node without an entry of its own gets one, starting from what it has now.
 */
export function changeLinks(
  links: readonly ResolvedLink[],
  change: LinkChange,
): { links: ResolvedLink[]; link: ResolvedLink } {
  const node = change.node ?? null;
  const current = linkFor(links, { network: change.network, node });
  const link: ResolvedLink = {
    network: change.network,
    node,
    delayMs: change.delayMs ?? current.delayMs,
    jitterMs: change.jitterMs ?? current.jitterMs,
    lossPct: change.lossPct ?? current.lossPct,
    rateKbit: change.rateKbit ?? current.rateKbit,
  };
  checkLink(link);
  const others = links.filter((l) => !(l.network === link.network && l.node === node));
  return { links: [...others, link], link };
}

/** What every interface of one machine namespace gets (all of them: the fallback stages are set per namespace). */
export function namespaceShaping(state: Pick<LabState, 'nodes' | 'links'>, namespace: string): ShapeTarget[] {
  const links = state.links ?? [];
  return linkEnds(state)
    .filter((e) => e.namespace === namespace)
    .map((e) => {
      const l = linkFor(links, e);
      return {
        namespace,
        iface: e.iface,
        delayMs: l.delayMs,
        jitterMs: l.jitterMs,
        lossPct: l.lossPct,
        rateKbit: l.rateKbit,
      };
    });
}

export const isShaped = (t: Pick<ShapeTarget, 'delayMs' | 'lossPct' | 'rateKbit'>): boolean =>
  t.delayMs > 0 || t.lossPct > 0 || t.rateKbit > 0;

/** The cuts after `link down` (up false) or `link up` of a network or one node on it; an error where it makes no sense. */
export function changeCuts(
  cuts: readonly LinkCut[],
  network: string,
  node: string | null,
  up: boolean,
): LinkCut[] {
  const whole = cuts.some((c) => c.network === network && c.node === null);
  const mine = cuts.some((c) => c.network === network && c.node === node);
  if (!up) {
    if (whole)
      throw new ConfigError(`network ${network} is down already${node ? ` (and ${node} with it)` : ''}`);
    if (mine) throw new ConfigError(`the link of ${node} on ${network} is down already`);
    // a whole network down takes its nodes' cuts with it: bringing it up brings every port up
    return [...cuts.filter((c) => node !== null || c.network !== network), { network, node }];
  }
  if (node !== null && whole)
    throw new ConfigError(
      `the whole network ${network} is down: bring it up with: quicmesh-lab link up ${network}`,
    );
  if (!mine && !(node === null && cuts.some((c) => c.network === network))) {
    throw new ConfigError(`the link of ${node ?? `network ${network}`} is not down`);
  }
  return cuts.filter((c) => !(c.network === network && (node === null || c.node === node)));
}

/** Whether `node`'s port on its network is cut now (its own cut, or its network's). */
export function isCut(cuts: readonly LinkCut[], network: string, node: string | null): boolean {
  return cuts.some((c) => c.network === network && (c.node === null || c.node === node));
}
