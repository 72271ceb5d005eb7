/**
 * SilenceProbe (src/transport/quic/silence-probe.ts): when a stream the peer writes to us goes silent,
 * early keep-alives at afterMs, 2·afterMs, 4·afterMs … below the regular keep-alive period; only stream
 * data starts a new silence (the ACK of our own PING does not), and nothing while no stream is open.
 * On the sending side, a peer heard again after such a silence gets one PING (its ACK lets quiche declare
 * what died in the silence lost at once, instead of at its backed-off PTO).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SilenceProbe, type SilenceVerdict } from '../../src/transport/quic/silence-probe.js';

/** The verdicts of a check every `tick` ms from `from` to `to`, keeping only the probes, with their times. */
function probes(
  p: SilenceProbe,
  from: number,
  to: number,
  tick: number,
  receiving = true,
): Array<[number, SilenceVerdict]> {
  const out: Array<[number, SilenceVerdict]> = [];
  for (let t = from; t <= to; t += tick) {
    const v = p.check(t, receiving);
    if (v !== 'quiet') out.push([t, v]);
  }
  return out;
}

describe('SilenceProbe', () => {
  it('probes a silent stream at 250, 500 and 1000 ms, then leaves it to the 2 s keep-alive', () => {
    const p = new SilenceProbe(250, 2_000);
    for (let t = 0; t <= 1_000; t += 20) p.heard(t); // a stream every 20 ms, then the router reboots
    expect(probes(p, 1_000, 5_000, 10)).toEqual([
      [1_250, 'first'],
      [1_500, 'again'],
      [2_000, 'again'],
    ]);
  });

  it('starts over once stream data arrives again, not before', () => {
    const p = new SilenceProbe(250, 2_000);
    p.heard(0);
    expect(probes(p, 0, 600, 50)).toEqual([
      [250, 'first'],
      [500, 'again'],
    ]);
    p.heard(700);
    expect(probes(p, 700, 1_000, 50)).toEqual([[950, 'first']]);
  });

  it('is quiet when a stream opens long after the last data (a slow reply is no reboot)', () => {
    const p = new SilenceProbe(250, 2_000);
    p.heard(0);
    expect(probes(p, 5_000, 8_000, 10)).toEqual([]); // a request stream opened at 5 s, its reply slow
    p.heard(8_000);
    expect(probes(p, 8_000, 10_000, 10).map(([, v]) => v)).toEqual(['first', 'again', 'again']);
  });

  it('is quiet with no stream to us open, and before any stream data', () => {
    const p = new SilenceProbe(250, 2_000);
    expect(probes(p, 0, 3_000, 10)).toEqual([]);
    p.heard(0);
    expect(probes(p, 0, 3_000, 10, false)).toEqual([]);
  });

  it('probes a silence at most once per doubling of afterMs, all before untilMs, the first at afterMs (seeded)', () => {
    // as the transport runs it: checks every afterMs/2 or more often, untilMs (the keep-alive) >= 2·afterMs
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 500 })
          .chain((after) =>
            fc.tuple(
              fc.constant(after),
              fc.integer({ min: 2 * after, max: 5_000 }),
              fc.integer({ min: 1, max: Math.floor(after / 2) }),
            ),
          ),
        ([after, until, tick]) => {
          const p = new SilenceProbe(after, until);
          p.heard(0);
          const got = probes(p, 0, until * 3, tick);
          let doublings = 0;
          while (after * 2 ** doublings < until) doublings++;
          expect(got.length).toBeLessThanOrEqual(doublings);
          expect(got.length).toBeGreaterThanOrEqual(doublings - 1); // the last may fall in the tick after untilMs
          expect(got.every(([t]) => t < until)).toBe(true);
          expect(got[0]).toEqual([expect.any(Number), 'first']);
          expect(got[0]![0]).toBeGreaterThanOrEqual(after);
          expect(got[0]![0]).toBeLessThan(after + tick);
          expect(got.slice(1).every(([, v]) => v === 'again')).toBe(true);
        },
      ),
      { seed: 13, numRuns: 300 },
    );
  });

  it('pings once when a peer we send to is heard again after 250 ms of silence, not while packets flow', () => {
    const p = new SilenceProbe(250, 2_000);
    const pings: number[] = [];
    const at = (t: number, sending = true): void => void (p.resumed(t, sending) && pings.push(t));
    for (let t = 0; t <= 1_000; t += 20) at(t); // ACKs while we stream
    at(1_900); // the reboot's silence ends: the peer's probe came through
    at(1_940); // the ACK of our PING, then ACKs as before
    at(1_960);
    expect(pings).toEqual([1_900]);
    at(2_500, false); // nothing of ours in flight: nothing to recover
    at(3_000, false);
    expect(pings).toEqual([1_900]);
    at(3_249);
    expect(pings).toEqual([1_900]); // 249 ms is no silence
  });
});
