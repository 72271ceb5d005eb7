/**
 * PeerMoves (src/transport/quic/path-moves.ts): after the peer moved (its NAT rebinding), the old
 * path is probed so that what is left in flight there is reaped, and packets quiche still addresses
 * to the old address go where the peer is now; a new address is checked again until validated.
 * StrandedPeer: an address whose check quiche failed, where the peer still is. On a ManualClock with
 * a stand-in for quiche.
 */
import type { Connection, PathEvent } from '@matrixai/quic/native/index.js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { PathMigrations, PeerMoves, StrandedPeer } from '../../src/transport/quic/path-moves.js';
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
  let validated = false;
  const failed: HostPort[] = [];
  const native = {
    probePath(local: HostPort, peer: HostPort): number {
      if (opts.probeFails) throw new Error('InvalidState');
      probes.push([local, peer]);
      return 0;
    },
    isPathValidated(): boolean {
      return validated;
    },
  } as unknown as Connection;
  const moves = new PeerMoves({
    native,
    clock,
    local: LOCAL,
    activePeer: () => active,
    wake: () => void wakes++,
    checkable: (p) => !failed.some((f) => f.host === p.host && f.port === p.port),
  });
  return {
    clock,
    moves,
    probes,
    wakes: () => wakes,
    setActive: (p: HostPort) => void (active = p),
    validate: () => void (validated = true),
    fail: (p: HostPort) => void failed.push(p),
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

  it('does not probe when the peer is back at the old address', () => {
    const back = setup();
    back.moves.moved(OLD);
    back.setActive(OLD);
    back.clock.advance(2_000);
    expect(back.probes).toEqual([]);
  });

  it('remembers only the latest few addresses the peer left', () => {
    const t = setup();
    const left = [1, 2, 3, 4, 5].map((i) => ({ host: '203.0.113.1', port: 40_000 + i }));
    for (const a of left) t.moves.moved(a);
    expect(t.moves.destination(left[0]!)).toEqual(left[0]); // the oldest is forgotten
    for (const a of left.slice(1)) expect(t.moves.destination(a)).toEqual(NEW);
  });
});

describe('PeerMoves: a new peer address', () => {
  it('is checked again while quiche has not validated it (its one PATH_CHALLENGE may be lost), and no more once it has', () => {
    const t = setup();
    t.moves.arrived(NEW);
    t.clock.advance(300);
    expect(t.probes).toEqual([[LOCAL, NEW]]);
    expect(t.wakes()).toBe(1);
    t.clock.advance(400);
    expect(t.probes).toHaveLength(2);
    t.validate();
    t.clock.advance(5_000);
    expect(t.probes).toHaveLength(2);
  });

  it('is not checked once quiche failed it: its credit there is spent, and a check quiche cannot send holds up all it sends', () => {
    const t = setup();
    t.moves.arrived(NEW);
    t.clock.advance(300);
    expect(t.probes).toHaveLength(1);
    t.fail(NEW);
    t.clock.advance(5_000);
    expect(t.probes).toHaveLength(1);
  });
});

describe.each([
  ['the old path after a move', (m: PeerMoves) => m.moved(OLD)],
  ['a new peer address', (m: PeerMoves) => m.arrived(NEW)],
])('PeerMoves: checks of %s', (_what, start) => {
  it('are given up quietly when quiche refuses them (it no longer knows the path)', () => {
    const refused = setup({ probeFails: true });
    start(refused.moves);
    expect(() => refused.clock.advance(5_000)).not.toThrow();
    expect(refused.wakes()).toBe(0);
  });

  it('stop after stop()', () => {
    const stopped = setup();
    start(stopped.moves);
    stopped.moves.stop();
    stopped.clock.advance(5_000);
    expect(stopped.probes).toEqual([]);
  });
});

describe('StrandedPeer', () => {
  // quiche failed its check of NEW and fell back to its path to OLD; the peer is at NEW
  function stranded() {
    let active = OLD;
    const peer = new StrandedPeer({ activePeer: () => active });
    return { peer, setActive: (p: HostPort) => void (active = p) };
  }

  it('is idle until quiche fails a path: packets go in as they came, packets go out where quiche sends them', () => {
    const { peer } = stranded();
    expect(peer.engaged).toBe(false);
    expect(peer.source(NEW)).toBeUndefined();
    expect(peer.destination(OLD)).toEqual(OLD);
    expect(peer.at).toBeUndefined();
  });

  it('hands a packet from the failed address to quiche as from its active path, and once one proved authentic sends there', () => {
    const { peer } = stranded();
    peer.pathFailed(NEW);
    expect(peer.engaged).toBe(true);
    expect(peer.failedAt(NEW)).toBe(true);
    expect(peer.failedAt(OTHER)).toBe(false);
    expect(peer.source(NEW)).toEqual(OLD); // quiche would make its failed path active and close the connection
    expect(peer.source(OTHER)).toBeUndefined();
    expect(peer.watches(NEW)).toBe(true);
    expect(peer.destination(OLD)).toEqual(OLD); // nothing authentic from NEW yet
    expect(peer.heard(NEW, true)).toBe(true);
    expect(peer.at).toEqual(NEW);
    expect(peer.destination(OLD)).toEqual(NEW);
    expect(peer.destination(OTHER)).toEqual(OTHER); // a probe quiche sends elsewhere goes there
    expect(peer.watches(NEW)).toBe(false); // settled: no check per packet
    expect(peer.heard(NEW, true)).toBe(false);
  });

  it('lets quiche see the peer itself again when it sends from elsewhere, is followed, or the address validates after all', () => {
    const back = stranded();
    back.peer.pathFailed(NEW);
    back.peer.heard(NEW, true);
    expect(back.peer.watches(OLD)).toBe(true);
    expect(back.peer.heard(OLD, false)).toBe(true); // the peer really is at quiche's active path's address
    expect(back.peer.at).toBeUndefined();
    expect(back.peer.destination(OLD)).toEqual(OLD);

    const followed = stranded();
    followed.peer.pathFailed(NEW);
    followed.peer.heard(NEW, true);
    followed.setActive(OTHER);
    followed.peer.followed(OTHER); // quiche validated a later address and moved there
    expect(followed.peer.at).toBeUndefined();
    expect(followed.peer.destination(OTHER)).toEqual(OTHER);

    const later = stranded();
    later.peer.pathFailed(NEW);
    later.peer.validated(NEW); // a later check of NEW got through: quiche may follow the peer there
    expect(later.peer.source(NEW)).toBeUndefined();
  });

  it('never redirects quiche\'s own active address onto itself, and remembers only the latest few failures', () => {
    const { peer } = stranded();
    peer.pathFailed(OLD);
    expect(peer.source(OLD)).toBeUndefined();
    const failed = [1, 2, 3, 4, 5].map((i) => ({ host: '203.0.113.1', port: 50_000 + i }));
    for (const a of failed) peer.pathFailed(a);
    expect(peer.source(failed[0]!)).toBeUndefined();
    for (const a of failed.slice(1)) expect(peer.source(a)).toEqual(OLD);
  });
});

describe('PathMigrations (our own move to another path)', () => {
  function migrations() {
    const clock = new ManualClock();
    const switched: HostPort[] = [];
    const native = {
      probePath: () => 0,
      isPathValidated: () => false,
      migrate: () => 0,
    } as unknown as Connection;
    const m = new PathMigrations({ native, clock, local: LOCAL, switched: (p) => switched.push(p), activePeer: () => OLD, wake: () => {} });
    return { clock, m, switched };
  }

  it('fails the move at once when quiche reports the check failed (FailedValidation, as quiche 0.18 names it)', async () => {
    const { clock, m, switched } = migrations();
    const move = m.migrateTo(NEW, 5_000);
    m.onEvent({ type: 'FailedValidation', local: LOCAL, peer: NEW } as unknown as PathEvent);
    await expect(move).rejects.toThrow(/failed validation/);
    expect(m.pending).toBe(0);
    expect(clock.pending).toBe(0); // its deadline is gone too
    expect(switched).toEqual([]);
  });

  it('switches when the path validates, and fails at the deadline when nothing is heard', async () => {
    const { clock, m, switched } = migrations();
    const ok = m.migrateTo(NEW, 5_000);
    m.onEvent({ type: 'Validated', local: LOCAL, peer: NEW });
    await ok;
    expect(switched).toEqual([NEW]);
    const late = m.migrateTo(OTHER, 5_000);
    clock.advance(5_000);
    await expect(late).rejects.toThrow(/not validated within 5000 ms/);
  });
});
