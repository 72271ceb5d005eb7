/**
 * PeerMoves (src/transport/quic/path-moves.ts): after the peer moved (its NAT rebinding), the old
 * path is probed so that what is left in flight there is reaped, and packets quiche still addresses
 * to the old address go where the peer is now. On a ManualClock with a stand-in for quiche.
 */
import type { Connection } from '@matrixai/quic/native/index.js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { PeerMoves } from '../../src/transport/quic/path-moves.js';
import type { HostPort } from '../../src/transport/quic/addr.js';

const LOCAL: HostPort = { host: '0.0.0.0', port: 4433 };
const OLD: HostPort = { host: '203.0.113.1', port: 4433 };
const NEW: HostPort = { host: '203.0.113.1', port: 28205 };
const OTHER: HostPort = { host: '198.51.100.7', port: 9 };

function setup(opts: { probeFails?: boolean } = {}) {
  const clock = new ManualClock();
  const probes: Array<[HostPort, HostPort]> = [];
  let wakes = 0;
  let active = NEW;
  const native = {
    probePath(local: HostPort, peer: HostPort): number {
      if (opts.probeFails) throw new Error('InvalidState');
      probes.push([local, peer]);
      return 0;
    },
  } as unknown as Connection;
  const moves = new PeerMoves({ native, clock, local: LOCAL, activePeer: () => active, wake: () => void wakes++ });
  return {
    clock,
    moves,
    probes,
    wakes: () => wakes,
    setActive: (p: HostPort) => void (active = p),
  };
}

describe('PeerMoves', () => {
  it('sends what quiche addresses to the address the peer left to where it is now, and nothing else', () => {
    const t = setup();
    expect(t.moves.destination(OLD)).toEqual(OLD); // no move yet: untouched
    t.moves.moved(OLD);
    expect(t.moves.destination(OLD)).toEqual(NEW);
    expect(t.moves.destination(NEW)).toEqual(NEW);
    expect(t.moves.destination(OTHER)).toEqual(OTHER);
  });

  it('probes the old path twice (soon, and again later) so its stale packets are reaped', () => {
    const t = setup();
    t.moves.moved(OLD);
    expect(t.probes).toEqual([]);
    t.clock.advance(150);
    expect(t.probes).toEqual([[LOCAL, OLD]]);
    expect(t.wakes()).toBe(1);
    t.clock.advance(1_000);
    expect(t.probes).toEqual([
      [LOCAL, OLD],
      [LOCAL, OLD],
    ]);
  });

  it('does not probe when the peer is back at the old address, nor after stop()', () => {
    const back = setup();
    back.moves.moved(OLD);
    back.setActive(OLD);
    back.clock.advance(2_000);
    expect(back.probes).toEqual([]);
    const stopped = setup();
    stopped.moves.moved(OLD);
    stopped.moves.stop();
    stopped.clock.advance(2_000);
    expect(stopped.probes).toEqual([]);
  });

  it('gives up quietly when quiche refuses the probe (it no longer knows the path)', () => {
    const t = setup({ probeFails: true });
    t.moves.moved(OLD);
    expect(() => t.clock.advance(2_000)).not.toThrow();
    expect(t.wakes()).toBe(0);
  });

  it('remembers only the latest few addresses the peer left', () => {
    const t = setup();
    const left = [1, 2, 3, 4, 5].map((i) => ({ host: '203.0.113.1', port: 40_000 + i }));
    for (const a of left) t.moves.moved(a);
    expect(t.moves.destination(left[0]!)).toEqual(left[0]); // the oldest is forgotten
    for (const a of left.slice(1)) expect(t.moves.destination(a)).toEqual(NEW);
  });
});
