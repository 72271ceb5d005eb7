/**
 * NAT preset names and the RFC 4787 behaviour each stands for. The classic names map as
 * full cone = EIM+EIF, restricted cone = EIM+ADF, port-restricted cone = EIM+APDF, symmetric = APDM+APDF;
 * the nine behaviour names (eim-eif … apdm-apdf) spell mapping × filtering directly. `cgnat` is a carrier
 * NAT stacked above other routers; it behaves as port-restricted cone unless the router says otherwise.
 */
import type { FilteringBehaviour, MappingBehaviour, NatBehaviour, NatPresetName } from './model.js';

export const CLASSIC_PRESETS = ['full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric'] as const;

export const BEHAVIOUR_PRESETS = [
  'eim-eif',
  'eim-adf',
  'eim-apdf',
  'adm-eif',
  'adm-adf',
  'adm-apdf',
  'apdm-eif',
  'apdm-adf',
  'apdm-apdf',
] as const;

/** Every preset a topology may name, in the order messages list them. */
export const NAT_PRESETS = [
  'none',
  ...CLASSIC_PRESETS,
  'cgnat',
  ...BEHAVIOUR_PRESETS,
] as const satisfies readonly NatPresetName[];

/** Presets a cgnat router may take as its behaviour (anything that translates, except cgnat itself). */
export const CGNAT_BEHAVIOURS = [...CLASSIC_PRESETS, ...BEHAVIOUR_PRESETS] as const;

/** The behaviour a cgnat router has when it names none. */
export const CGNAT_DEFAULT_BEHAVIOUR = 'port-restricted-cone';

const SHORT: Record<string, MappingBehaviour & FilteringBehaviour> = {
  eim: 'endpoint-independent',
  eif: 'endpoint-independent',
  adm: 'address-dependent',
  adf: 'address-dependent',
  apdm: 'address-and-port-dependent',
  apdf: 'address-and-port-dependent',
};

const CLASSIC: Record<(typeof CLASSIC_PRESETS)[number], (typeof BEHAVIOUR_PRESETS)[number]> = {
  'full-cone': 'eim-eif',
  'restricted-cone': 'eim-adf',
  'port-restricted-cone': 'eim-apdf',
  symmetric: 'apdm-apdf',
};

/**
 * The behaviour of a preset; null for `none` (plain forwarding). For `cgnat`, `cgnatBehaviour` names
 * the preset it behaves as (default port-restricted cone).
 */
export function natBehaviourOf(preset: NatPresetName, cgnatBehaviour?: NatPresetName): NatBehaviour | null {
  if (preset === 'none') return null;
  if (preset === 'cgnat') {
    const inner = cgnatBehaviour ?? CGNAT_DEFAULT_BEHAVIOUR;
    if (inner === 'cgnat' || inner === 'none')
      throw new RangeError(`a cgnat router cannot behave as ${inner}`);
    return natBehaviourOf(inner);
  }
  const spelled = preset in CLASSIC ? CLASSIC[preset as keyof typeof CLASSIC] : preset;
  const [m, f] = spelled.split('-');
  const mapping = SHORT[m ?? ''];
  const filtering = SHORT[f ?? ''];
  if (!mapping || !filtering) throw new RangeError(`unknown NAT preset "${preset}"`);
  return { mapping, filtering };
}
