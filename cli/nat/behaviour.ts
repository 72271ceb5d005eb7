/**
 * NAT presets named by behaviour (RFC 4787 §4.1 mapping, §5 filtering) and the classic names
 * that map onto them. Pure: no I/O. The resolver usually fills `router.nat`; this module is the
 * one place that says what a preset name means, so rules and docs agree.
 */
import { ConfigError } from '../../src/errors.js';
import type { MappingBehaviour, NatBehaviour, NatPresetName, ResolvedRouter } from '../topology/model.js';

const SHORT: Record<string, MappingBehaviour> = {
  eim: 'endpoint-independent',
  adm: 'address-dependent',
  apdm: 'address-and-port-dependent',
  eif: 'endpoint-independent',
  adf: 'address-dependent',
  apdf: 'address-and-port-dependent',
};

const CLASSIC: Record<string, NatBehaviour | null> = {
  none: null,
  'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  'restricted-cone': { mapping: 'endpoint-independent', filtering: 'address-dependent' },
  'port-restricted-cone': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' },
  // RFC 6888 REQ-1: a carrier-grade NAT must have endpoint-independent mapping; filtering as port-restricted.
  cgnat: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
};

/** Every preset name the lab accepts, classic names first, then the nine RFC 4787 combinations. */
export const NAT_PRESETS: readonly NatPresetName[] = [
  'none',
  'full-cone',
  'restricted-cone',
  'port-restricted-cone',
  'symmetric',
  'cgnat',
  ...(['eim', 'adm', 'apdm'] as const).flatMap((m) =>
    (['eif', 'adf', 'apdf'] as const).map((f) => `${m}-${f}` as NatPresetName),
  ),
];

/** The behaviour a preset name stands for (null = no NAT, plain forwarding). */
export function presetBehaviour(preset: string): NatBehaviour | null {
  if (preset in CLASSIC) return CLASSIC[preset] ?? null;
  const m = /^(eim|adm|apdm)-(eif|adf|apdf)$/.exec(preset);
  if (m) return { mapping: SHORT[m[1]!]!, filtering: SHORT[m[2]!]! };
  throw new ConfigError(`unknown NAT preset "${preset}" (known: ${NAT_PRESETS.join(', ')})`);
}

/** The behaviour a router really gets: `router.nat` when the resolver set it, else its preset's. */
export function routerBehaviour(router: ResolvedRouter): NatBehaviour | null {
  if (router.preset === 'none') {
    if (router.nat) throw new ConfigError(`router ${router.name}: preset none cannot carry a NAT behaviour`);
    return null;
  }
  return router.nat ?? presetBehaviour(router.preset);
}

/** Short RFC 4787 label, e.g. "EIM/APDF", for tables and reports. */
export function behaviourLabel(b: NatBehaviour | null): string {
  if (!b) return 'no NAT';
  const abbrev = (x: MappingBehaviour) =>
    x === 'endpoint-independent' ? 'EI' : x === 'address-dependent' ? 'AD' : 'APD';
  return `${abbrev(b.mapping)}M/${abbrev(b.filtering)}F`;
}
