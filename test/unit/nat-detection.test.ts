import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { settle } from '../support/virtual-time.js';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import {
  classifyNat,
  detectNatType,
  planNatProbes,
  type NatProbeDriver,
  type NatProbeResult,
  type NatServer,
} from '../../src/nat/nat-detection.js';
import { NatBox } from '../../src/nat/nat-model.js';
import { NAT_PRESET_TABLE, type NatBehaviourSpec } from '../../src/nat/nat-presets.js';

const INSIDE = '192.168.1.10:5000';
const S1: NatServer = { addr: '198.51.100.1:3478', altPortAddr: '198.51.100.1:3479' };
const S2: NatServer = { addr: '198.51.100.2:3478' };
/** The host server 1 asks to answer "from another address"; we never send to it ourselves. */
const PARTNER = '198.51.100.3:3478';

const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** A driver whose packets cross `nat` (or no NAT at all when `nat` is null). */
function natDriver(nat: NatBox | null, opts: { partner?: boolean } = {}): NatProbeDriver & { sent: string[] } {
  const sent: string[] = [];
  const out = (dst: string): string => {
    sent.push(dst);
    return nat ? nat.outbound(INSIDE, dst) : INSIDE;
  };
  const into = (from: string, to: string): boolean => (nat ? nat.inbound(from, to) === INSIDE : true);
  return {
    sent,
    async whatIsMyAddr(_server, dest) {
      const reflexive = out(dest);
      if (!into(dest, reflexive)) return never();
      return reflexive;
    },
    async requestReplyFrom(server, alternate, accepted) {
      const reflexive = out(server.addr);
      if (alternate === 'address' && opts.partner === false) return 'unsupported';
      accepted();
      const source = alternate === 'port' ? server.altPortAddr! : PARTNER;
      return into(source, reflexive) ? 'received' : never();
    },
    async hairpin(reflexive) {
      out(reflexive);
      return nat?.hairpin ? true : never();
    },
  };
}

async function detectThrough(behaviour: NatBehaviourSpec | null, hairpin = false) {
  const clock = new ManualClock();
  const nat = behaviour ? new NatBox('203.0.113.5', behaviour, { hairpin, rng: new SeededRng(7) }) : null;
  const driver = natDriver(nat);
  const report = await settle(clock, detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE] }));
  return { report, driver };
}

describe('NAT detection through each preset', () => {
  const table = [
    ['full-cone', 'FullCone', 'endpoint-independent', 'endpoint-independent'],
    ['restricted-cone', 'RestrictedCone', 'endpoint-independent', 'address-dependent'],
    ['port-restricted-cone', 'PortRestrictedCone', 'endpoint-independent', 'address-and-port-dependent'],
    ['symmetric', 'Symmetric', 'address-and-port-dependent', 'address-and-port-dependent'],
  ] as const;
  for (const [preset, natType, mapping, filtering] of table) {
    it(`${preset} → ${natType}`, async () => {
      const { report } = await detectThrough(NAT_PRESET_TABLE[preset].behaviour);
      expect(report).toMatchObject({ natType, mapping, filtering, hairpin: false });
      expect(report.publicAddrs.length).toBe(preset === 'symmetric' ? 3 : 1);
      expect(report.publicAddrs.every((a) => a.startsWith('203.0.113.5:'))).toBe(true);
    });
  }

  it('address-dependent mapping is symmetric and named as such', async () => {
    const { report } = await detectThrough({ mapping: 'address-dependent', filtering: 'address-dependent' });
    expect(report).toMatchObject({ natType: 'Symmetric', mapping: 'address-dependent', filtering: 'address-dependent' });
    expect(report.publicAddrs).toHaveLength(2);
  });

  it('no NAT: the reflexive address is a local one', async () => {
    const { report } = await detectThrough(null);
    expect(report).toMatchObject({ natType: 'None', mapping: 'endpoint-independent', filtering: 'endpoint-independent' });
    expect(report.publicAddrs).toEqual([INSIDE]);
  });

  it('reports hairpinning when the NAT loops packets back', async () => {
    const { report } = await detectThrough(NAT_PRESET_TABLE['full-cone'].behaviour, true);
    expect(report.hairpin).toBe(true);
  });

  it('runs the filtering tests before sending anything to the alternate addresses', async () => {
    const { driver } = await detectThrough(NAT_PRESET_TABLE['port-restricted-cone'].behaviour);
    const firstAlt = driver.sent.findIndex((d) => d === S1.altPortAddr || d === S2.addr);
    expect(driver.sent.slice(0, firstAlt).every((d) => d === S1.addr)).toBe(true);
    expect(firstAlt).toBeGreaterThanOrEqual(3);
  });

  it('an unresponsive server gives Unknown, after the timeout', async () => {
    const clock = new ManualClock();
    const driver: NatProbeDriver = { whatIsMyAddr: never, requestReplyFrom: never };
    const p = detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE], timeoutMs: 1000 });
    const report = await settle(clock, p);
    expect(report).toMatchObject({ natType: 'Unknown', mapping: 'unknown', filtering: 'unknown', publicAddrs: [] });
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
  });

  it('a server without a partner address leaves EIF vs ADF undecided', async () => {
    const clock = new ManualClock();
    const nat = new NatBox('203.0.113.5', NAT_PRESET_TABLE['full-cone'].behaviour);
    const p = detectNatType(natDriver(nat, { partner: false }), [S1, S2], { clock, localAddrs: [INSIDE] });
    const report = await settle(clock, p);
    expect(report).toMatchObject({ natType: 'Unknown', mapping: 'endpoint-independent', filtering: 'unknown' });
    expect(report.probes).toContainEqual({ id: 'filter-other-address', received: null });
  });

  it('driver errors count as no answer, not as filtering', async () => {
    const clock = new ManualClock();
    const driver: NatProbeDriver = {
      whatIsMyAddr: async () => '203.0.113.5:40000',
      requestReplyFrom: async () => {
        throw new Error('connection refused');
      },
    };
    const report = await settle(clock, detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE] }));
    expect(report.filtering).toBe('unknown');
    expect(report.mapping).toBe('endpoint-independent');
  });

  it('stops on abort', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const driver: NatProbeDriver = { whatIsMyAddr: never, requestReplyFrom: never };
    const p = detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE], signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});

describe('a filtering test the server refuses or fails', () => {
  /** Detection through a NAT at 203.0.113.5:40000; `filter` plays every filtering try (numbered from 0 per test, `now` on the clock). */
  async function detectWith(
    filter: (alternate: 'address' | 'port', attempt: number, accepted: () => void, now: number) => Promise<'received' | 'unsupported'>,
  ) {
    const clock = new ManualClock();
    const tries: Array<{ alternate: string; at: number }> = [];
    const driver: NatProbeDriver = {
      whatIsMyAddr: async () => '203.0.113.5:40000',
      requestReplyFrom: (_server, alternate, accepted) => {
        tries.push({ alternate, at: clock.now() });
        return filter(alternate, tries.filter((t) => t.alternate === alternate).length - 1, accepted, clock.now());
      },
    };
    const report = await settle(clock, detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE], timeoutMs: 1000 }));
    const received = (id: string) => report.probes.find((p) => p.id === id);
    return { report, tries, received, clock };
  }
  const refuse = async (): Promise<'unsupported'> => 'unsupported';

  it('is asked again after a refusal and an error, and measured once the server takes it', async () => {
    const { report, tries, received } = await detectWith(async (alternate, attempt, accepted) => {
      if (attempt === 0) return 'unsupported'; // e.g. the partner is not up yet
      if (attempt === 1) throw new Error('request timed out'); // e.g. the server's forward failed
      accepted();
      return alternate === 'port' ? 'received' : never();
    });
    expect(received('filter-other-port')).toEqual({ id: 'filter-other-port', received: true });
    // taken, then silence: that is the measurement, not a failure
    expect(received('filter-other-address')).toEqual({ id: 'filter-other-address', received: false });
    expect(report.filtering).toBe('address-dependent');
    // three tries each, the pause growing from 100 ms
    const at = tries.filter((t) => t.alternate === 'port').map((t) => t.at);
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(100);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(200);
  });

  it('refused until the probe time is up: unknown, with a bounded number of tries within that time', async () => {
    const { report, tries, received } = await detectWith(refuse);
    expect(received('filter-other-address')).toEqual({ id: 'filter-other-address', received: null });
    expect(received('filter-other-port')).toEqual({ id: 'filter-other-port', received: null });
    expect(report.filtering).toBe('unknown');
    const port = tries.filter((t) => t.alternate === 'port');
    expect(port.length).toBeGreaterThan(2);
    expect(port.length).toBeLessThanOrEqual(6);
    // the last try still leaves 100 ms for an answer
    expect(port.at(-1)!.at - port[0]!.at).toBeLessThanOrEqual(900);
  });

  it('a server that starts taking tests shortly before the probe time is up still gets a last try', async () => {
    // the clock starts at 0, and so do the filtering tests (map-primary is answered at once)
    const { received, clock } = await detectWith(async (_alternate, _attempt, accepted, now) => {
      if (now < 850) return 'unsupported';
      accepted();
      return 'received';
    });
    expect(received('filter-other-port')).toEqual({ id: 'filter-other-port', received: true });
    expect(received('filter-other-address')).toEqual({ id: 'filter-other-address', received: true });
    expect(clock.now()).toBeLessThan(2000);
  });

  it('a try the server has not taken when the probe time is up tells nothing (null, not filtered)', async () => {
    // refused at first, then the retry's request hangs (a slow server): no evidence of filtering
    const { report, received } = await detectWith(async (_alternate, attempt) => (attempt === 0 ? 'unsupported' : never()));
    expect(received('filter-other-address')).toEqual({ id: 'filter-other-address', received: null });
    expect(received('filter-other-port')).toEqual({ id: 'filter-other-port', received: null });
    expect(report.filtering).toBe('unknown');
  });

  it('stops asking on abort', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    let tries = 0;
    const driver: NatProbeDriver = {
      whatIsMyAddr: async () => '203.0.113.5:40000',
      requestReplyFrom: async () => {
        if (++tries === 2) ac.abort(new Error('stop'));
        return 'unsupported';
      },
    };
    const p = detectNatType(driver, [S1, S2], { clock, localAddrs: [INSIDE], timeoutMs: 1000, signal: ac.signal });
    await expect(settle(clock, p)).rejects.toThrow('stop');
    expect(tries).toBeLessThanOrEqual(3);
  });
});

describe('planNatProbes', () => {
  it('orders phases: primary, filtering, alternates, hairpin', () => {
    const plan = planNatProbes([S1, S2]);
    expect(plan.map((p) => [p.id, p.phase])).toEqual([
      ['map-primary', 1],
      ['filter-other-address', 2],
      ['filter-other-port', 2],
      ['map-other-port', 3],
      ['map-other-address', 3],
      ['hairpin', 4],
    ]);
  });

  it('leaves out what the servers cannot support', () => {
    const ids = planNatProbes([{ addr: S1.addr }, { addr: '198.51.100.1:9999' }], { hairpin: false }).map((p) => p.id);
    expect(ids).toEqual(['map-primary', 'filter-other-address']);
  });

  it('refuses bad server lists', () => {
    expect(() => planNatProbes([])).toThrow(ConfigError);
    expect(() => planNatProbes([{ addr: 'nonsense' }])).toThrow(/servers\[0\]/);
    expect(() => planNatProbes([{ addr: S1.addr, altPortAddr: S2.addr }])).toThrow(/same host/);
  });
});

describe('classifyNat truth table', () => {
  const X = '203.0.113.5:40000';
  const Y = '203.0.113.5:40001';
  const r = (
    x1: string | null,
    x2: string | null | undefined,
    x3: string | null | undefined,
    fa: boolean | null | undefined,
    fp: boolean | null | undefined,
  ): NatProbeResult[] => {
    const out: NatProbeResult[] = [{ id: 'map-primary', reflexive: x1 }];
    if (x2 !== undefined) out.push({ id: 'map-other-port', reflexive: x2 });
    if (x3 !== undefined) out.push({ id: 'map-other-address', reflexive: x3 });
    if (fa !== undefined) out.push({ id: 'filter-other-address', received: fa });
    if (fp !== undefined) out.push({ id: 'filter-other-port', received: fp });
    return out;
  };
  const cases: [string, NatProbeResult[], string, string, string][] = [
    ['EIM+EIF', r(X, X, X, true, true), 'FullCone', 'endpoint-independent', 'endpoint-independent'],
    ['EIM+ADF', r(X, X, X, false, true), 'RestrictedCone', 'endpoint-independent', 'address-dependent'],
    ['EIM+APDF', r(X, X, X, false, false), 'PortRestrictedCone', 'endpoint-independent', 'address-and-port-dependent'],
    ['APDM', r(X, Y, Y, false, false), 'Symmetric', 'address-and-port-dependent', 'address-and-port-dependent'],
    ['ADM', r(X, X, Y, false, true), 'Symmetric', 'address-dependent', 'address-dependent'],
    ['non-EIM, port untested', r(X, undefined, Y, false, undefined), 'Symmetric', 'unknown', 'unknown'],
    ['EIM from the address test alone', r(X, undefined, X, false, false), 'PortRestrictedCone', 'endpoint-independent', 'address-and-port-dependent'],
    ['no second server', r(X, X, undefined, true, true), 'Unknown', 'unknown', 'endpoint-independent'],
    ['second server silent', r(X, X, null, false, false), 'Unknown', 'unknown', 'address-and-port-dependent'],
    ['primary silent', r(null, X, X, true, true), 'Unknown', 'unknown', 'unknown'],
    ['EIF despite a lost port reply', r(X, X, X, true, false), 'FullCone', 'endpoint-independent', 'endpoint-independent'],
  ];
  for (const [name, results, natType, mapping, filtering] of cases) {
    it(name, () => {
      expect(classifyNat(['192.168.1.10:5000'], results)).toMatchObject({ natType, mapping, filtering });
    });
  }

  it('None when the primary reflexive address is local, whatever the filtering', () => {
    expect(classifyNat([X], r(X, X, X, false, false))).toMatchObject({
      natType: 'None',
      filtering: 'address-and-port-dependent',
    });
  });
});

describe('NatBox model', () => {
  it('maps and filters by its behaviour', () => {
    const sym = new NatBox('203.0.113.5', NAT_PRESET_TABLE['symmetric'].behaviour);
    const x = sym.outbound(INSIDE, S1.addr);
    const y = sym.outbound(INSIDE, S2.addr);
    expect(x).not.toBe(y);
    expect(sym.outbound(INSIDE, S1.addr)).toBe(x);
    expect(sym.mappingCount).toBe(2);
    expect(sym.inbound(S1.addr, x)).toBe(INSIDE);
    expect(sym.inbound(S2.addr, x)).toBeNull(); // another destination's mapping
    expect(sym.inbound(S1.addr, '203.0.113.5:1')).toBeNull(); // no mapping: dropped
    expect(sym.inbound(S1.addr, '203.0.113.6:40000')).toBeNull(); // not our address

    const rc = new NatBox('203.0.113.5', NAT_PRESET_TABLE['restricted-cone'].behaviour);
    const m = rc.outbound(INSIDE, S1.addr);
    expect(rc.outbound(INSIDE, S2.addr)).toBe(m);
    expect(rc.inbound(S1.altPortAddr!, m)).toBe(INSIDE); // same host, other port: allowed
    expect(rc.inbound(PARTNER, m)).toBeNull();
    expect(() => new NatBox('x', NAT_PRESET_TABLE['full-cone'].behaviour, { firstPort: 0 })).toThrow(ConfigError);
  });
});
