/**
 * Link shaping as data: which interfaces of a lab get which delay, jitter, loss and rate, and the nft loss
 * table of the fallback stages. Pure; wiring/shaping.ts applies it.
 * Semantics: every packet crossing a shaped interface's wire gets `delayMs` (± `jitterMs`, uniform), is
 * dropped with `lossPct` percent and is limited to `rateKbit`: loss and rate as it leaves, the delay on the
 * wire — after the sending router's NAT has made its state, before the receiving router judges it (with
 * netem as it leaves the sender, with the fallback as it arrives: wiring/shaping.ts says why). A link on a
 * network shapes every interface attached to it (hosts and the routers' sides), so two hosts on a network
 * shaped with delay D see an RTT of 2·D; a link on one node shapes that node's interface only (its RTT to
 * anything grows by D).
 */
import { ConfigError } from '../../../src/errors.js';
import type { ResolvedTopology } from '../../topology/model.js';
import type { LabPlan } from './lab-plan.js';
import { IF, nsName } from '../names.js';

export interface ShapeTarget {
  namespace: string;
  iface: string;
  delayMs: number;
  jitterMs: number;
  lossPct: number;
  rateKbit: number;
}

export type ShapingMode = 'netem' | 'fallback';

export function shapingLabel(mode: ShapingMode): string {
  return mode === 'netem' ? 'tc netem' : 'nft numgen loss + tc tbf rate + NFQUEUE delay (nfq-delay); no netem in this kernel';
}

/** Which interfaces get which shaping. A node-specific link overrides its network's link. Pure. */
export function planShaping(topo: ResolvedTopology, plan: Pick<LabPlan, 'attachments'>): ShapeTarget[] {
  const out = new Map<string, ShapeTarget>();
  const ordered = [...topo.links].sort((a, b) => Number(a.node !== null) - Number(b.node !== null));
  for (const l of ordered) {
    if (l.delayMs < 0 || l.jitterMs < 0 || l.rateKbit < 0 || l.lossPct < 0 || l.lossPct > 100) {
      throw new ConfigError(`link on ${l.node ?? l.network}: delay, jitter and rate must be ≥ 0 and loss within 0..100`);
    }
    if (l.jitterMs > l.delayMs) throw new ConfigError(`link on ${l.node ?? l.network}: jitter (${l.jitterMs} ms) exceeds delay (${l.delayMs} ms)`);
    const shape = { delayMs: l.delayMs, jitterMs: l.jitterMs, lossPct: l.lossPct, rateKbit: l.rateKbit };
    if (l.node) {
      const node = topo.nodes.find((n) => n.name === l.node);
      if (!node) throw new ConfigError(`link refers to unknown node "${l.node}"`);
      const ns = nsName(topo.name, 'h', node.name);
      out.set(`${ns}/${IF.host}`, { namespace: ns, iface: IF.host, ...shape });
    } else {
      const atts = plan.attachments.filter((a) => a.network === l.network);
      if (!atts.length && !topo.networks.some((n) => n.name === l.network)) {
        throw new ConfigError(`link refers to unknown network "${l.network}"`);
      }
      for (const a of atts) out.set(`${a.namespace}/${a.iface}`, { namespace: a.namespace, iface: a.iface, ...shape });
    }
  }
  return [...out.values()].filter((t) => t.delayMs > 0 || t.lossPct > 0 || t.rateKbit > 0);
}

/** The nft loss table for one namespace (fallback mode). Exported for tests. */
export function lossScript(targets: ShapeTarget[]): string {
  const rules = targets
    .filter((t) => t.lossPct > 0)
    // numgen's range is 0..9999: a loss of 100 % drops everything without asking it
    .map((t) => `\t\toifname "${t.iface}" ${t.lossPct >= 100 ? '' : `numgen random mod 10000 < ${Math.round(t.lossPct * 100)} `}drop`);
  return [
    'table inet qm_shape {}',
    'delete table inet qm_shape',
    'table inet qm_shape {',
    '\tchain egress_loss {',
    '\t\ttype filter hook postrouting priority filter; policy accept;',
    ...rules,
    '\t}',
    '}',
    '',
  ].join('\n');
}

