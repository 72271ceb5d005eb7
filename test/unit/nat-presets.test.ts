/**
 * The NAT preset table (src/nat/nat-presets.ts) and what derives from it: the behaviour of each
 * name, the presets a carrier NAT may behave as, a golden rules file per preset, and the expected
 * path between two presets — checked against the lab's NAT matrix (topologies/nat-matrix.yaml).
 * The in-memory model's agreement with the same matrix is in nat-hole-punch.test.ts.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../cli/topology/parse.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { ConfigError } from '../../src/errors.js';
import {
  CARRIER_BEHAVIOURS,
  CARRIER_PRESETS,
  expectedPath,
  isCarrierPreset,
  NAT_PRESET_TABLE,
  NAT_PRESETS,
  natPresetBehaviour,
  type NatBehaviourSpec,
} from '../../src/nat/nat-presets.js';

const EI = 'endpoint-independent';
const AD = 'address-dependent';
const APD = 'address-and-port-dependent';

describe('NAT preset table', () => {
  it('maps the classic names onto RFC 4787 behaviours', () => {
    expect(natPresetBehaviour('none')).toBeNull();
    expect(natPresetBehaviour('full-cone')).toEqual({ mapping: EI, filtering: EI });
    expect(natPresetBehaviour('restricted-cone')).toEqual({ mapping: EI, filtering: AD });
    expect(natPresetBehaviour('port-restricted-cone')).toEqual({ mapping: EI, filtering: APD });
    expect(natPresetBehaviour('symmetric')).toEqual({ mapping: APD, filtering: APD });
  });

  it('spells mapping × filtering directly in the nine RFC 4787 names', () => {
    const short = { eim: EI, adm: AD, apdm: APD, eif: EI, adf: AD, apdf: APD } as const;
    const spelled = NAT_PRESETS.filter((p) => /^(eim|adm|apdm)-(eif|adf|apdf)$/.test(p));
    expect(spelled).toHaveLength(9);
    for (const p of spelled) {
      const [m, f] = p.split('-') as [keyof typeof short, keyof typeof short];
      expect(natPresetBehaviour(p), p).toEqual({ mapping: short[m], filtering: short[f] });
    }
  });

  it('lets a carrier NAT behave as any translating preset but itself, port-restricted cone by default', () => {
    expect(natPresetBehaviour('cgnat')).toEqual(natPresetBehaviour('port-restricted-cone'));
    expect(natPresetBehaviour('cgnat', 'apdm-adf')).toEqual({ mapping: APD, filtering: AD });
    expect(CARRIER_PRESETS).toEqual(['cgnat']);
    expect(isCarrierPreset('cgnat') && !isCarrierPreset('symmetric') && !isCarrierPreset('nope')).toBe(true);
    expect(CARRIER_BEHAVIOURS).toEqual(NAT_PRESETS.filter((p) => p !== 'none' && p !== 'cgnat'));
    expect(() => natPresetBehaviour('cgnat', 'none')).toThrow(/cannot behave as none/);
    expect(() => natPresetBehaviour('cgnat', 'cgnat')).toThrow(ConfigError);
    // a carrier behaviour means nothing to another preset
    expect(natPresetBehaviour('symmetric', 'full-cone')).toEqual(natPresetBehaviour('symmetric'));
  });

  it('refuses a name that is not in the table, listing the known ones', () => {
    expect(() => natPresetBehaviour('leaky-cone')).toThrow(/unknown NAT preset "leaky-cone" \(known: none, full-cone/);
    expect(() => natPresetBehaviour('toString')).toThrow(ConfigError);
  });

  it('has golden nftables rules for every preset', () => {
    for (const p of Object.keys(NAT_PRESET_TABLE)) {
      expect(existsSync(`test/fixtures/nat-golden/${p}.nft`), p).toBe(true);
    }
  });
});

describe('expectedPath', () => {
  const b = (mapping: NatBehaviourSpec['mapping'], filtering: NatBehaviourSpec['filtering']): NatBehaviourSpec => ({
    mapping,
    filtering,
  });

  it('is direct when one side takes unsolicited packets', () => {
    expect(expectedPath(null, b(APD, APD))).toBe('direct');
    expect(expectedPath(b(APD, APD), b(AD, EI))).toBe('direct');
  });

  it('punches when one side keeps its mapping and the other lets its checks in', () => {
    expect(expectedPath(b(EI, APD), b(EI, APD))).toBe('hole-punched');
    expect(expectedPath(b(EI, AD), b(APD, APD))).toBe('hole-punched');
    expect(expectedPath(b(EI, APD), b(APD, APD))).toBe('relayed');
    expect(expectedPath(b(AD, AD), b(AD, AD))).toBe('relayed');
  });

  it('is symmetric', () => {
    const all = NAT_PRESETS.map((p) => natPresetBehaviour(p));
    for (const x of all) for (const y of all) expect(expectedPath(x, y)).toBe(expectedPath(y, x));
  });

  it('agrees with the lab matrix (topologies/nat-matrix.yaml) for every pair behind one NAT each', async () => {
    const topo = await loadTopology('topologies/nat-matrix.yaml');
    let compared = 0;
    for (const e of topo.expectations) {
      const from = singleNat(topo, e.from);
      const to = singleNat(topo, e.to);
      if (from === undefined || to === undefined) continue; // behind stacked NATs: outside the rule
      expect(expectedPath(from, to), e.text).toBe(e.path);
      compared++;
    }
    expect(compared).toBe(25);
  });
});

/** The behaviour in front of `node` when it sits on a public network or behind one router (null: none); undefined when stacked. */
function singleNat(topo: ResolvedTopology, node: string): NatBehaviourSpec | null | undefined {
  const n = topo.nodes.find((x) => x.name === node)!;
  const router = topo.routers.find((r) => r.lan.network === n.network);
  if (router === undefined) return null;
  return router.upstreamRouter === null ? router.nat : undefined;
}
