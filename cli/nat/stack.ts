/**
 * The lab's view of stacked NATs: the routers between a network and the public internet, and the
 * behaviour they add up to (composeNatStack in src/nat/nat-presets.ts says how). Computed once
 * when a lab is planned and kept in the state (NodeRecord.natStack, NetworkRecord.natStack), so
 * `status`, the TUI and the Prometheus labels all show the same thing. Pure.
 */
import { ConfigError } from '../../src/errors.js';
import { composeNatStack, isCarrierPreset, presetNameOf } from '../../src/nat/nat-presets.js';
import type { ResolvedRouter } from '../topology/model.js';
import { behaviourLabel, routerBehaviour } from './behaviour.js';

/** One router on the way out: its name, preset and RFC 4787 label (e.g. "EIM/APDF"). */
export interface NatHop {
  router: string;
  preset: string;
  /** The behaviour it really has: its preset's, or a carrier's `behaviour:` (short label). */
  behaviour: string;
}

/** The NATs between a network and the public internet, innermost first, and what they add up to. */
export interface NatStack {
  path: NatHop[];
  /** Preset name of the composed behaviour ("none": nothing translates). */
  effective: string;
  /** Its short RFC 4787 label, e.g. "APDM/APDF", or "no NAT". */
  effectiveLabel: string;
}

/** The stack behind `network`: follow each LAN's router to its WAN until a network no router serves. */
export function natStackOf(routers: readonly ResolvedRouter[], network: string): NatStack {
  const byLan = new Map(routers.map((r) => [r.lan.network, r]));
  const hops: ResolvedRouter[] = [];
  for (let r = byLan.get(network); r !== undefined; r = byLan.get(r.wan.network)) {
    if (hops.includes(r)) throw new ConfigError(`routers ${hops.map((h) => h.name).join(' → ')} form a loop`);
    hops.push(r);
  }
  const effective = composeNatStack(hops.map(routerBehaviour));
  return {
    path: hops.map((r) => ({ router: r.name, preset: r.preset, behaviour: behaviourLabel(routerBehaviour(r)) })),
    effective: presetNameOf(effective),
    effectiveLabel: behaviourLabel(effective),
  };
}

/** "home:full-cone > carrier:cgnat(APDM/APDF)": a carrier shows the behaviour it was given. */
export function formatNatPath(stack: NatStack): string {
  return stack.path.map((h) => `${h.router}:${h.preset}${isCarrierPreset(h.preset) ? `(${h.behaviour})` : ''}`).join(' > ');
}

/**
 * One line for tables: the preset alone for a single NAT ("full-cone"), else the effective
 * behaviour and the path: "symmetric = home:full-cone > cg:symmetric". "public" with no NAT at all.
 */
export function formatNatStack(stack: NatStack): string {
  if (stack.path.length === 0) return 'public';
  if (stack.path.length === 1) return stack.path[0]!.preset;
  return `${stack.effective} = ${formatNatPath(stack)}`;
}
