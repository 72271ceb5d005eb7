/**
 * The NAT presets: one table, one row per preset name, saying what that name means in RFC 4787
 * terms (mapping §4.1, filtering §5). Everything else derives from it:
 *   - the topology schema's `nat:` and `behaviour:` choices (cli/topology/schema.ts);
 *   - the behaviour a lab router gets, hence its nftables rules (cli/nat/rules.ts, golden copies in
 *     test/fixtures/nat-golden);
 *   - the in-memory NAT model's behaviour (NatBox, nat-model.ts);
 *   - the expected path between two nodes behind two presets (`expectedPath`, the NAT matrix).
 * Adding a preset: a row here, and its golden rules file.
 */
import { ConfigError } from '../errors.js';

/** An RFC 4787 mapping or filtering behaviour. */
export type NatRule = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/** A NAT's RFC 4787 behaviour: its mapping rule and its filtering rule. */
export interface NatBehaviourSpec {
  mapping: NatRule;
  filtering: NatRule;
}

export interface NatPreset {
  /** What the NAT does; null: no NAT (plain forwarding). */
  behaviour: NatBehaviourSpec | null;
  /**
   * A carrier NAT, stacked in front of other routers. Its router may name another preset to
   * behave as (the topology's `behaviour:`); `behaviour` here is its default.
   */
  carrier?: true;
}

const EI = 'endpoint-independent';
const AD = 'address-dependent';
const APD = 'address-and-port-dependent';

/** Every preset, in the order messages and the schema list them: classic names, cgnat, then the RFC 4787 names. */
export const NAT_PRESET_TABLE = {
  none: { behaviour: null },
  'full-cone': { behaviour: { mapping: EI, filtering: EI } },
  'restricted-cone': { behaviour: { mapping: EI, filtering: AD } },
  'port-restricted-cone': { behaviour: { mapping: EI, filtering: APD } },
  symmetric: { behaviour: { mapping: APD, filtering: APD } },
  // RFC 6888 REQ-1: a carrier-grade NAT has endpoint-independent mapping; filtering as port-restricted cone.
  cgnat: { behaviour: { mapping: EI, filtering: APD }, carrier: true },
  'eim-eif': { behaviour: { mapping: EI, filtering: EI } },
  'eim-adf': { behaviour: { mapping: EI, filtering: AD } },
  'eim-apdf': { behaviour: { mapping: EI, filtering: APD } },
  'adm-eif': { behaviour: { mapping: AD, filtering: EI } },
  'adm-adf': { behaviour: { mapping: AD, filtering: AD } },
  'adm-apdf': { behaviour: { mapping: AD, filtering: APD } },
  'apdm-eif': { behaviour: { mapping: APD, filtering: EI } },
  'apdm-adf': { behaviour: { mapping: APD, filtering: AD } },
  'apdm-apdf': { behaviour: { mapping: APD, filtering: APD } },
} as const satisfies Record<string, NatPreset>;

/** Preset names accepted in a topology file: the rows of the preset table. */
export type NatPresetName = keyof typeof NAT_PRESET_TABLE;

/** Every preset name, in table order. */
export const NAT_PRESETS = Object.keys(NAT_PRESET_TABLE) as readonly NatPresetName[];

/** A carrier NAT: stacked in front of other routers, it may be told to behave as another preset. */
export function isCarrierPreset(name: string): boolean {
  return isNatPreset(name) && (NAT_PRESET_TABLE[name] as NatPreset).carrier === true;
}

/** The carrier presets (cgnat). */
export const CARRIER_PRESETS = NAT_PRESETS.filter(isCarrierPreset);

/** The presets a carrier router may behave as: every one that translates and is not itself a carrier. */
export const CARRIER_BEHAVIOURS = NAT_PRESETS.filter((p) => NAT_PRESET_TABLE[p].behaviour !== null && !isCarrierPreset(p));

export function isNatPreset(name: string): name is NatPresetName {
  return Object.hasOwn(NAT_PRESET_TABLE, name);
}

/**
 * The behaviour of `preset` (null: no NAT). A carrier preset behaves as `carrierBehaviour` when
 * given (one of CARRIER_BEHAVIOURS), else as its own row says. ConfigError for a name not in the table.
 */
export function natPresetBehaviour(preset: string, carrierBehaviour?: string): NatBehaviourSpec | null {
  if (!isNatPreset(preset)) throw new ConfigError(`unknown NAT preset "${preset}" (known: ${NAT_PRESETS.join(', ')})`);
  if (carrierBehaviour !== undefined && isCarrierPreset(preset)) {
    if (!(CARRIER_BEHAVIOURS as readonly string[]).includes(carrierBehaviour)) {
      throw new ConfigError(`a ${preset} router cannot behave as ${carrierBehaviour} (one of: ${CARRIER_BEHAVIOURS.join(', ')})`);
    }
    return natPresetBehaviour(carrierBehaviour);
  }
  return NAT_PRESET_TABLE[preset].behaviour;
}

/** How a node behind one NAT reaches a node behind another (or none): the NAT matrix's cells. */
export type ExpectedPath = 'direct' | 'hole-punched' | 'relayed';

/**
 * The path two nodes get, each behind one NAT of these behaviours (null: none), with a rendezvous
 * on the public side and ICE-style punching (each side answers the source it receives from, and a
 * NAT sends a reply out through the mapping its request came in on, as conntrack does):
 *   - direct: one side takes unsolicited packets (no NAT, or endpoint-independent filtering);
 *   - hole-punched: one side's first check gets through the other's NAT;
 *   - relayed: neither.
 * Two nodes behind the same NAT (a shared carrier without hairpinning) are outside this rule.
 */
export function expectedPath(a: NatBehaviourSpec | null, b: NatBehaviourSpec | null): ExpectedPath {
  if (acceptsUnsolicited(a) || acceptsUnsolicited(b)) return 'direct';
  return firstCheckPasses(a, b) || firstCheckPasses(b, a) ? 'hole-punched' : 'relayed';
}

const acceptsUnsolicited = (n: NatBehaviourSpec | null): boolean => n === null || n.filtering === EI;
/** Sends to every destination from the one mapping the rendezvous saw. */
const keepsMapping = (n: NatBehaviourSpec | null): boolean => n === null || n.mapping === EI;

/**
 * `from`'s first check, sent to the mapping the rendezvous saw of `to`, gets in. That mapping is
 * the one `to` punches from only when its mapping is endpoint-independent; it then lets in `from`'s
 * host (address-dependent filtering) or the exact address `to` punched toward — `from`'s source
 * only when `from` keeps its mapping too.
 */
function firstCheckPasses(from: NatBehaviourSpec | null, to: NatBehaviourSpec | null): boolean {
  if (acceptsUnsolicited(to)) return true;
  if (!keepsMapping(to)) return false;
  return to!.filtering === AD || keepsMapping(from);
}
