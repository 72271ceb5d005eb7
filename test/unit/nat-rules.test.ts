/**
 * NAT rule generation: golden files per preset (UPDATE_GOLDEN=1 rewrites them) plus the structural
 * properties each behaviour relies on. Pure: runs without root.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { NAT_PRESETS, behaviourLabel, presetBehaviour, routerBehaviour } from '../../cli/nat/behaviour.js';
import { natRules, routerSysctls } from '../../cli/nat/rules.js';
import type { NatPresetName, ResolvedRouter } from '../../cli/topology/model.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'nat-golden');
const IFS = { wan: 'wan0', lan: 'lan0' };

function r(preset: NatPresetName, extra: Partial<ResolvedRouter> = {}): ResolvedRouter {
  return {
    name: 'home',
    preset,
    nat: preset === 'none' ? null : presetBehaviour(preset),
    wan: { network: 'internet', address: '203.0.113.7' },
    lan: { network: 'home-lan', address: '192.168.1.1' },
    hairpin: false,
    mappingTimeoutS: 30,
    upstreamRouter: null,
    ...extra,
  };
}

const cases: Array<[string, ResolvedRouter]> = [
  ...NAT_PRESETS.map((p) => [p, r(p)] as [string, ResolvedRouter]),
  ['full-cone-hairpin', r('full-cone', { hairpin: true })],
  ['port-restricted-cone-hairpin', r('port-restricted-cone', { hairpin: true })],
  ['symmetric-hairpin', r('symmetric', { hairpin: true })],
  ['adm-adf-hairpin', r('adm-adf', { hairpin: true })],
  ['cgnat-stacked', r('cgnat', { wan: { network: 'internet', address: '203.0.113.9' }, lan: { network: 'carrier', address: '100.64.0.1' }, mappingTimeoutS: 120 })],
];

describe('natRules golden files', () => {
  for (const [name, router] of cases) {
    it(`${name} matches test/fixtures/nat-golden/${name}.nft`, () => {
      const file = join(GOLDEN, `${name}.nft`);
      const got = natRules(router, IFS);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, got);
      }
      expect(existsSync(file), `missing golden file ${file}: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(got).toBe(readFileSync(file, 'utf8'));
    });
  }
});

describe('natRules behaviour', () => {
  const rules = (p: NatPresetName, extra: Partial<ResolvedRouter> = {}) => natRules(r(p, extra), IFS);

  it('every NAT preset accepts established/related from the WAN and drops the rest', () => {
    for (const p of NAT_PRESETS.filter((x) => x !== 'none')) {
      const s = rules(p);
      const accept = s.indexOf('iifname "wan0" ct state established,related accept');
      const drop = s.indexOf('iifname "wan0" drop');
      expect(accept, p).toBeGreaterThan(0);
      expect(drop, p).toBeGreaterThan(accept);
    }
  });

  it('none forwards plainly: no translation, no drop', () => {
    const s = rules('none');
    expect(s).not.toMatch(/masquerade|snat|dnat|drop/);
  });

  it('only touches its own table, and replaces it when applied twice', () => {
    for (const p of NAT_PRESETS) {
      const s = rules(p);
      expect(s).not.toMatch(/flush ruleset/);
      expect(s.match(/^table (\w+) (\w+)/gm)?.every((t) => t === 'table ip qm_nat')).toBe(true);
      expect(s).toContain('delete table ip qm_nat');
    }
  });

  it('endpoint-independent filtering DNATs any source; address-dependent only contacted ones; APDF none', () => {
    expect(rules('full-cone')).toMatch(/iifname "wan0" ip daddr 203\.0\.113\.7 dnat ip to udp dport map @by_port/);
    expect(rules('restricted-cone')).toMatch(/ip saddr \. udp dport @contacted dnat ip to udp dport map @by_port/);
    expect(rules('restricted-cone')).not.toMatch(/ip daddr 203\.0\.113\.7 dnat/);
    expect(rules('port-restricted-cone')).not.toMatch(/dnat ip to/);
    expect(rules('symmetric')).not.toMatch(/dnat ip to/);
  });

  it('mapping: EIM reuses by_inside then preserves the port; ADM keys on the remote address; APDM randomises', () => {
    expect(rules('eim-apdf')).toMatch(/snat ip to ip saddr \. udp sport map @by_inside\n.*@held_ports masquerade random\n.*masquerade\n/);
    expect(rules('adm-apdf')).toMatch(/snat ip to ip saddr \. udp sport \. ip daddr map @by_remote\n.*masquerade random/);
    const apdm = rules('apdm-apdf');
    expect(apdm).toContain('oifname "wan0" masquerade random');
    expect(apdm).not.toMatch(/by_inside|by_remote/);
  });

  it('maps are filled after srcnat and expire with the mapping timeout', () => {
    const s = rules('full-cone', { mappingTimeoutS: 45 });
    expect(s).toContain('type filter hook postrouting priority srcnat + 1;');
    expect(s).toMatch(/update @by_port \{ udp sport : ct original ip saddr \. ct original proto-src \}/);
    expect(s).toMatch(/map by_port \{[^}]*timeout 45s;/);
  });

  it('hairpin DNATs LAN traffic for the public address and SNATs it to that address', () => {
    const off = rules('port-restricted-cone');
    const on = rules('port-restricted-cone', { hairpin: true });
    expect(off).not.toMatch(/iifname "lan0" ip daddr/);
    expect(on).toContain('iifname "lan0" ip daddr 203.0.113.7 dnat ip to udp dport map @by_port');
    expect(on).toContain('iifname "lan0" oifname "lan0" ct status dnat snat ip to 203.0.113.7');
  });

  it('router sysctls: forwarding and conntrack UDP timeouts = mapping lifetime', () => {
    expect(routerSysctls(r('symmetric', { mappingTimeoutS: 77 }))).toEqual({
      'net.ipv4.ip_forward': '1',
      'net.netfilter.nf_conntrack_udp_timeout': '77',
      'net.netfilter.nf_conntrack_udp_timeout_stream': '77',
    });
  });

  it('rejects bad input with a ConfigError naming the problem', () => {
    expect(() => natRules(r('full-cone'), { wan: 'a-very-long-interface', lan: 'lan0' })).toThrow(/bad wan interface name/);
    expect(() => natRules(r('full-cone', { mappingTimeoutS: 0 }), IFS)).toThrow(ConfigError);
    expect(() => natRules(r('full-cone', { wan: { network: 'x', address: '300.1.1.1' } }), IFS)).toThrow(/not an IPv4/);
    expect(() => presetBehaviour('leaky-cone')).toThrow(/unknown NAT preset "leaky-cone"/);
    expect(() => routerBehaviour(r('none', { nat: presetBehaviour('full-cone') }))).toThrow(/preset none/);
  });

  it('labels behaviours the RFC 4787 way', () => {
    expect(new Set(NAT_PRESETS).size).toBe(NAT_PRESETS.length); // one name, one row
    expect(behaviourLabel(presetBehaviour('restricted-cone'))).toBe('EIM/ADF');
    expect(behaviourLabel(presetBehaviour('symmetric'))).toBe('APDM/APDF');
    expect(behaviourLabel(presetBehaviour('adm-eif'))).toBe('ADM/EIF');
    expect(behaviourLabel(null)).toBe('no NAT');
  });
});
