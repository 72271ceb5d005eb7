/**
 * What a lab router's NAT does: its preset's behaviour from the preset table
 * (src/nat/nat-presets.ts, the one place that says what a preset name means) unless the resolver
 * set another (a carrier NAT's `behaviour:`), and the short RFC 4787 label reports show. Pure.
 */
import { ConfigError } from '../../src/errors.js';
import { NAT_PRESETS, natPresetBehaviour } from '../../src/nat/nat-presets.js';
import type { MappingBehaviour, NatBehaviour, ResolvedRouter } from '../topology/model.js';

export { NAT_PRESETS };

/** The behaviour a preset name stands for (null = no NAT, plain forwarding); ConfigError for an unknown name. */
export function presetBehaviour(preset: string): NatBehaviour | null {
  return natPresetBehaviour(preset);
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
