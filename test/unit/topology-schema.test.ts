import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectationText, parseExpectLine } from '../../cli/topology/expect.js';
import {
  cidrsOverlap,
  cidrWithin,
  hostAddress,
  parseCidr,
  parseIpv4,
  usableHosts,
  CGNAT_SPACE,
} from '../../cli/topology/ipv4.js';
import { NAT_PRESETS } from '../../src/nat/nat-presets.js';
import { topologySchemaText } from '../../cli/topology/schema.js';
import { parseDurationMs, parsePercent, parseRateKbit } from '../../cli/topology/units.js';

describe('topology JSON Schema', () => {
  it('is committed as generated (run `npx tsx scripts/gen-schema.ts` after schema changes)', () => {
    // compared as data, so a formatter reflowing the committed file does not matter
    expect(JSON.parse(readFileSync('schema/topology.schema.json', 'utf8'))).toEqual(
      JSON.parse(topologySchemaText()),
    );
  });

  it('forbids unknown keys and lists every preset', () => {
    const schema = JSON.parse(topologySchemaText());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.routers.additionalProperties.additionalProperties).toBe(false);
    expect(schema.properties.routers.additionalProperties.properties.nat.enum).toEqual([...NAT_PRESETS]);
  });
});

describe('IPv4 helpers', () => {
  it('parses addresses and CIDRs strictly', () => {
    expect(parseIpv4('10.0.0.255')).toBe(0x0a0000ff);
    expect(parseIpv4('10.0.0.256')).toBeNull();
    expect(parseIpv4('10.0.0.01')).toBeNull();
    expect(parseCidr('10.0.0.0/8')).toEqual({ ok: true, cidr: { base: 0x0a000000, prefix: 8 } });
    expect(parseCidr('10.0.0.0')).toEqual({
      ok: false,
      message: '"10.0.0.0" is not a CIDR: expected address/prefix, e.g. 10.0.1.0/24',
    });
    expect(parseCidr('10.0.0.0/33')).toEqual({
      ok: false,
      message: '"10.0.0.0/33" is not a CIDR: prefix "33" is not 0..32',
    });
  });

  it('computes overlap, containment and host addresses', () => {
    const cidr = (t: string) => {
      const p = parseCidr(t);
      if (!p.ok) throw new Error(p.message);
      return p.cidr;
    };
    expect(cidrsOverlap(cidr('10.0.0.0/16'), cidr('10.0.255.0/24'))).toBe(true);
    expect(cidrsOverlap(cidr('10.0.0.0/24'), cidr('10.0.1.0/24'))).toBe(false);
    expect(cidrWithin(cidr('100.64.3.0/24'), CGNAT_SPACE)).toBe(true);
    expect(cidrWithin(cidr('100.128.0.0/24'), CGNAT_SPACE)).toBe(false);
    expect(usableHosts(cidr('192.168.1.0/30'))).toBe(2);
    expect(hostAddress(cidr('192.168.1.0/24'), 1)).toBe('192.168.1.1');
    expect(hostAddress(cidr('192.168.1.0/24'), 254)).toBe('192.168.1.254');
    expect(() => hostAddress(cidr('192.168.1.0/24'), 255)).toThrow(RangeError);
  });
});

describe('units', () => {
  it('parses durations, percentages and rates', () => {
    expect([
      parseDurationMs('0'),
      parseDurationMs('25ms'),
      parseDurationMs('1.5s'),
      parseDurationMs('2m'),
    ]).toEqual([0, 25, 1500, 120000]);
    expect(parseDurationMs('25')).toBeNull();
    expect([parsePercent('1%'), parsePercent('0.5%'), parsePercent('1')]).toEqual([1, 0.5, null]);
    expect([
      parseRateKbit('10mbit'),
      parseRateKbit('512kbit'),
      parseRateKbit('1gbit'),
      parseRateKbit('unlimited'),
    ]).toEqual([10000, 512, 1000000, 0]);
    expect(parseRateKbit('10mbps')).toBeNull();
  });
});

describe('expectation lines', () => {
  it.each([
    ['alice -> bob', { from: 'alice', to: 'bob', path: 'any', withinMs: null }, 'alice -> bob: any'],
    [
      'alice-1->bob: direct within 2000ms',
      { from: 'alice-1', to: 'bob', path: 'direct', withinMs: 2000 },
      'alice-1 -> bob: direct within 2000ms',
    ],
    ['a -> b: relayed', { from: 'a', to: 'b', path: 'relayed', withinMs: null }, 'a -> b: relayed'],
    ['a -> b: within 1.5s', { from: 'a', to: 'b', path: 'any', withinMs: 1500 }, 'a -> b: any within 1500ms'],
  ])('%s', (text, line, canonical) => {
    const parsed = parseExpectLine(text);
    expect(parsed).toEqual({ ok: true, line });
    if (parsed.ok) expect(expectationText(parsed.line)).toBe(canonical);
  });

  it.each([
    ['alice', 'expected "from -> to[: path][ within duration]", got "alice"'],
    ['a -> b: sideways', 'unknown path kind "sideways": expected one of any, direct, hole-punched, relayed'],
    ['a -> b: direct within', 'after "within": expected a duration like "25ms", "2s" or "1m"'],
    ['a -> b: direct please', 'unexpected "please" in "a -> b: direct please"'],
  ])('rejects %s', (text, message) => {
    expect(parseExpectLine(text)).toEqual({ ok: false, message });
  });
});
