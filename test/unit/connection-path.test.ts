import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import { PathProber, type PathStats } from '../../src/connection/path-prober.js';
import { selectPath } from '../../src/connection/path-select.js';
import type { PathReply } from '../../src/wire/messages.js';

const local = { id: new Uint8Array(32).fill(1), addr: '192.168.1.2:4433' };
const RELAY = '198.51.100.9:4433';
const D1 = '203.0.113.2:4433';
const D2 = '10.0.0.2:4433';

function prober(): PathProber {
  return new PathProber(RELAY, true, { local, rng: new SeededRng(1), probeIntervalMs: 1000, probeTimeoutMs: 200, maxFailures: 2, failedRetryMs: 5000 });
}

const reply = (nonce: Uint8Array): PathReply => ({ type: 'PathReply', nonce, observedAddr: '203.0.113.1:40000' });

describe('PathProber', () => {
  it('probes every path, validates on reply and measures RTT', () => {
    const p = prober();
    p.addDirectCandidates([D1, D2, D1]);
    const probes = p.generateProbes(0);
    expect(probes.map((x) => x.addr)).toEqual([RELAY, D1, D2]);
    expect(probes[0]!.probe).toMatchObject({ type: 'PathProbe', from: local });
    expect(new Set(probes.map((x) => x.probe.nonce.join())).size).toBe(3);
    expect(p.pathStats().map((s) => s.state)).toEqual(['probing', 'probing', 'probing']);
    expect(p.onReply(reply(probes[1]!.probe.nonce), D1, 40)).toBe(40);
    expect(p.onReply(reply(probes[1]!.probe.nonce), D1, 50)).toBeNull(); // duplicate
    expect(p.onReply(reply(new Uint8Array(16)), D1, 50)).toBeNull(); // unknown
    const d1 = p.pathStats().find((s) => s.addr === D1)!;
    expect(d1).toMatchObject({ state: 'validated', rttMs: 40, isRelay: false, lastSeen: 40, observedAddr: '203.0.113.1:40000' });
    expect(p.pathStats()[0]!.isRelay).toBe(true);
  });

  it('smooths RTT and re-probes validated paths on their interval', () => {
    const p = new PathProber(D1, false, { local, rng: new SeededRng(2), probeIntervalMs: 1000 });
    let [probe] = p.generateProbes(0);
    p.onReply(reply(probe!.probe.nonce), D1, 100);
    expect(p.generateProbes(500)).toEqual([]);
    expect(p.nextAt()).toBe(1000);
    [probe] = p.generateProbes(1000);
    p.onReply(reply(probe!.probe.nonce), D1, 1020);
    expect(p.pathStats()[0]!.rttMs).toBeCloseTo(100 * 0.875 + 20 * 0.125);
  });

  it('fails a path after consecutive losses and retries it later', () => {
    const p = prober();
    expect(p.generateProbes(0)).toHaveLength(1);
    expect(p.nextAt()).toBe(200);
    expect(p.generateProbes(200)).toHaveLength(1); // first loss, resend
    expect(p.pathStats()[0]!).toMatchObject({ state: 'probing', failures: 1 });
    expect(p.generateProbes(400)).toHaveLength(0); // second loss: failed
    expect(p.pathStats()[0]!.state).toBe('failed');
    expect(p.nextAt()).toBe(5200);
    const [again] = p.generateProbes(5200);
    p.onReply(reply(again!.probe.nonce), RELAY, 5210);
    expect(p.pathStats()[0]!).toMatchObject({ state: 'validated', failures: 0, rttMs: 10 });
  });

  it('refuses bad input', () => {
    expect(() => new PathProber('bad', false, { local, rng: new SeededRng(1) })).toThrow(ConfigError);
    expect(() => new PathProber(D1, false, { local, rng: new SeededRng(1), probeTimeoutMs: 0 })).toThrow(/probeTimeoutMs/);
    expect(() => prober().addDirectCandidates(['x'])).toThrow(ConfigError);
  });
});

describe('selectPath', () => {
  const path = (addr: string, rttMs: number | null, isRelay: boolean, state: PathStats['state'] = 'validated'): PathStats => ({
    addr,
    rttMs,
    isRelay,
    state,
    lastSeen: 0,
    failures: 0,
    observedAddr: null,
  });

  it('prefers direct unless the relay is more than 50 ms faster', () => {
    expect(selectPath([path(RELAY, 50, true), path(D1, 100, false)])!.addr).toBe(D1);
    expect(selectPath([path(RELAY, 49, true), path(D1, 100, false)])!.addr).toBe(RELAY);
    expect(selectPath([path(RELAY, 10, true), path(D1, 100, false, 'failed')])!.addr).toBe(RELAY);
    expect(selectPath([path(D1, 30, false), path(D2, 20, false)])!.addr).toBe(D2);
    expect(selectPath([path(D1, null, false, 'probing')])).toBeNull();
  });

  it('does not flap around the margin', () => {
    // on the relay, faster by 45 ms (> 50 − 10): stay
    expect(selectPath([path(RELAY, 55, true), path(D1, 100, false)], { current: RELAY })!.addr).toBe(RELAY);
    // faster by only 35 ms: go direct
    expect(selectPath([path(RELAY, 65, true), path(D1, 100, false)], { current: RELAY })!.addr).toBe(D1);
    // on direct, a relay 55 ms faster is not enough (needs > 60)
    expect(selectPath([path(RELAY, 45, true), path(D1, 100, false)], { current: D1 })!.addr).toBe(D1);
    expect(selectPath([path(RELAY, 39, true), path(D1, 100, false)], { current: D1 })!.addr).toBe(RELAY);
    // another direct path must be 10 ms better
    expect(selectPath([path(D1, 30, false), path(D2, 25, false)], { current: D1 })!.addr).toBe(D1);
    expect(selectPath([path(D1, 30, false), path(D2, 19, false)], { current: D1 })!.addr).toBe(D2);
    // a current path that failed is left
    expect(selectPath([path(D1, 30, false, 'failed'), path(RELAY, 90, true)], { current: D1 })!.addr).toBe(RELAY);
  });

  it('hysteresis holds through noise around the margin', () => {
    const switches = (hysteresisMs: number): number => {
      const rng = new SeededRng(9);
      let current: string | null = null;
      let n = 0;
      for (let i = 0; i < 200; i++) {
        // the relay hovers around 50 ms faster than direct, ±4 ms of noise on each
        const d = 100 + rng.int(9) - 4;
        const r = 50 + rng.int(9) - 4;
        const chosen: string = selectPath([path(D1, d, false), path(RELAY, r, true)], { current, hysteresisMs })!.addr;
        if (current !== null && chosen !== current) n++;
        current = chosen;
      }
      return n;
    };
    expect(switches(0)).toBeGreaterThan(20);
    expect(switches(10)).toBe(0);
  });

  it('refuses a hysteresis larger than the margin', () => {
    expect(() => selectPath([], { marginMs: 5, hysteresisMs: 10 })).toThrow(ConfigError);
  });
});
