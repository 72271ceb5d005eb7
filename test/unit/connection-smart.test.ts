import { describe, expect, it } from 'vitest';
import { behindNat } from '../../src/traversal/smart-connector.js';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import type { RelayEndpoint } from '../../src/identity/endpoint-record.js';
import type { Counter, Gauge, Histogram, Metrics } from '../../src/metrics/metrics.js';
import { ConnectionManager, type PeerEffect } from '../../src/connection/connection-manager.js';
import {
  canAttemptUpgrade,
  isDirect,
  SmartConnectPlan,
  type SmartConnectTarget,
  type SmartEffect,
} from '../../src/connection/smart-connection.js';

const peerId = new Uint8Array(32).fill(0xbb);
const R1: RelayEndpoint = { relayId: new Uint8Array(32).fill(1), addrs: ['198.51.100.1:4433'] };
const R2: RelayEndpoint = { relayId: new Uint8Array(32).fill(2), addrs: ['198.51.100.2:4433'] };
const A1 = '203.0.113.2:4433';
const A2 = '10.0.0.2:4433';
const target = (over: Partial<SmartConnectTarget> = {}): SmartConnectTarget => ({ peerId, addrs: [A1, A2], relays: [R1, R2], ...over });
const kinds = (effects: SmartEffect[]): string[] => effects.map((e) => e.kind);
const plan = (t = target()): SmartConnectPlan =>
  new SmartConnectPlan(t, { rng: new SeededRng(1), directTimeoutMs: 5000, relayTimeoutMs: 1000, upgradeIntervalMs: 10_000, maxUpgradeAttempts: 2 });

function relayConnectOf(effects: SmartEffect[]): Extract<SmartEffect, { kind: 'relayConnect' }> {
  const e = effects.find((x) => x.kind === 'relayConnect');
  if (e?.kind !== 'relayConnect') throw new Error(`no relayConnect in ${kinds(effects).join(',')}`);
  return e;
}

describe('SmartConnection state', () => {
  it('isDirect / canAttemptUpgrade', () => {
    expect(isDirect({ kind: 'Direct', addr: A1, via: 'direct' })).toBe(true);
    const relayed = { kind: 'Relayed' as const, relay: R1, sessionId: new Uint8Array(16), directAddrs: [A1] };
    expect(isDirect(relayed)).toBe(false);
    expect(canAttemptUpgrade(relayed)).toBe(true);
    expect(canAttemptUpgrade({ ...relayed, directAddrs: [] })).toBe(false);
    expect(canAttemptUpgrade({ kind: 'RelayPending', relay: R1, sessionId: new Uint8Array(16) })).toBe(false);
  });
});

describe('SmartConnectPlan', () => {
  it('dials every address and registers a punch at the first relay; the first dial wins', () => {
    const p = plan();
    const start = p.start(0);
    // the punch first: its request has the longest way to go, the dials' first flights repeat meanwhile
    expect(start).toEqual([
      { kind: 'punch', rendezvous: { id: R1.relayId, addr: R1.addrs[0] }},
      { kind: 'dial', addr: A1 },
      { kind: 'dial', addr: A2 },
    ]);
    expect(p.start(1)).toEqual([]); // already running
    const won = p.input({ kind: 'dialSucceeded', addr: A2 }, 100);
    expect(kinds(won)).toEqual(['connected', 'cancelDials']);
    expect(p.connection).toEqual({ kind: 'Direct', addr: A2, via: 'direct' });
    expect(p.input({ kind: 'punchSucceeded', addr: A1 }, 200)).toEqual([]); // already direct
    expect(p.nextAt()).toBeUndefined();
  });

  it('a punch can win before any dial', () => {
    const p = plan();
    p.start(0);
    expect(kinds(p.input({ kind: 'punchSucceeded', addr: '203.0.113.2:61000' }, 300))).toEqual(['connected', 'cancelDials']);
    expect(p.connection).toEqual({ kind: 'Direct', addr: '203.0.113.2:61000', via: 'hole-punched' });
  });

  it('falls back to a relay when every direct attempt failed', () => {
    const p = plan();
    p.start(0);
    expect(p.input({ kind: 'dialFailed', addr: A1 }, 10)).toEqual([]);
    expect(p.input({ kind: 'dialFailed', addr: A2 }, 20)).toEqual([]); // the punch is still running
    const rc = relayConnectOf(p.input({ kind: 'punchFailed', reason: 'Timeout' }, 30));
    expect(rc.relay).toBe(R1);
    expect(rc.sessionId).toHaveLength(16);
    expect(p.input({ kind: 'relayAccepted', sessionId: rc.sessionId }, 40)).toEqual([]);
    expect(p.connection?.kind).toBe('RelayPending');
    const conn = p.input({ kind: 'relayConnected', sessionId: rc.sessionId }, 50);
    expect(conn).toEqual([
      { kind: 'connected', connection: { kind: 'Relayed', relay: R1, sessionId: rc.sessionId, directAddrs: [A1, A2] } },
    ]);
    expect(p.phase).toBe('connected');
  });

  it('brings the relays in at the direct timeout while dials hang, and a late direct success still wins', () => {
    const p = plan();
    p.start(0);
    expect(p.nextAt()).toBe(5000);
    expect(p.tick(4999)).toEqual([]);
    const out = p.tick(5000);
    expect(kinds(out)).toEqual(['relayConnect']); // the dials keep going beside the relay
    // a late punch success still wins over the pending relay attempt
    const rc = relayConnectOf(out);
    p.input({ kind: 'relayAccepted', sessionId: rc.sessionId }, 5100);
    const up = p.input({ kind: 'punchSucceeded', addr: A1 }, 5200);
    expect(up).toEqual([
      { kind: 'connected', connection: { kind: 'Direct', addr: A1, via: 'hole-punched' } },
      { kind: 'cancelDials' },
      { kind: 'relayClose', relay: R1, sessionId: rc.sessionId },
    ]);
  });

  it('gives the dials a head start before the punch, and skips the punch when a dial wins first', () => {
    const p = new SmartConnectPlan(target(), { rng: new SeededRng(1), punchDelayMs: 10 });
    expect(kinds(p.start(0))).toEqual(['dial', 'dial']);
    expect(p.nextAt()).toBe(10);
    expect(p.tick(10)).toEqual([{ kind: 'punch', rendezvous: { id: R1.relayId, addr: R1.addrs[0] } }]);
    const q = new SmartConnectPlan(target(), { rng: new SeededRng(1), punchDelayMs: 10 });
    q.start(0);
    q.input({ kind: 'dialSucceeded', addr: A1 }, 5);
    expect(q.tick(10)).toEqual([]);
    // a peer known to be behind a NAT is punched at once
    const r = new SmartConnectPlan(target({ behindNat: true }), { rng: new SeededRng(1), punchDelayMs: 10 });
    expect(kinds(r.start(0))).toEqual(['punch', 'dial', 'dial']);
    // a peer known to be public gets the longer head start: its handshake answers first
    const pub = new SmartConnectPlan(target({ addrs: [A1], behindNat: false }), { rng: new SeededRng(1), punchDelayMs: 10, publicPunchDelayMs: 100 });
    expect(kinds(pub.start(0))).toEqual(['dial']);
    expect(pub.nextAt()).toBe(100);
    expect(pub.tick(10)).toEqual([]);
    expect(kinds(pub.tick(100))).toEqual(['punch']);
  });

  it('relayNow: the relays join at once beside the dials and the punch; a punch that wins later still upgrades', () => {
    const p = new SmartConnectPlan(target({ behindNat: true, relayNow: true }), { rng: new SeededRng(1), directTimeoutMs: 500 });
    const start = p.start(0);
    expect(kinds(start)).toEqual(['punch', 'dial', 'dial', 'relayConnect']);
    const { sessionId } = relayConnectOf(start);
    // the relay answers first: relayed, dials cancelled; the punch keeps running
    expect(kinds(p.input({ kind: 'relayConnected', sessionId }, 80))).toEqual(['connected', 'cancelDials']);
    expect(kinds(p.input({ kind: 'punchSucceeded', addr: A1 }, 120))).toEqual(['upgraded', 'relayClose']);
    // a dial that wins first: direct, and the relay attempt in flight is abandoned
    const q = new SmartConnectPlan(target({ relayNow: true }), { rng: new SeededRng(2) });
    q.start(0);
    expect(kinds(q.input({ kind: 'dialSucceeded', addr: A1 }, 20))).toEqual(['connected', 'cancelDials']);
    expect(q.connection).toMatchObject({ kind: 'Direct', addr: A1 });
  });

  it('gives a peer not known to be behind a NAT the longer direct timeout before the relays join', () => {
    const opts = { rng: new SeededRng(1), directTimeoutMs: 500, publicDirectTimeoutMs: 2000 };
    const pub = new SmartConnectPlan(target({ addrs: [A1], behindNat: false }), opts);
    pub.start(0);
    expect(pub.nextAt()).toBe(2000);
    expect(pub.tick(500)).toEqual([]);
    expect(kinds(pub.tick(2000))).toEqual(['relayConnect']);
    const nat = new SmartConnectPlan(target({ behindNat: true }), opts);
    nat.start(0);
    expect(nat.nextAt()).toBe(500);
    expect(kinds(nat.tick(500))).toEqual(['relayConnect']);
    const unknown = new SmartConnectPlan(target({ addrs: [A1] }), opts); // no record: nothing known
    unknown.start(0);
    expect(unknown.nextAt()).toBe(500);
  });

  it('a relay that connects first ends the dials still in flight', () => {
    const p = plan();
    p.start(0);
    const rc = relayConnectOf(p.tick(5000));
    expect(kinds(p.input({ kind: 'relayConnected', sessionId: rc.sessionId }, 5100))).toEqual(['connected', 'cancelDials']);
    expect(p.connection?.kind).toBe('Relayed');
  });

  it('with no relays, slow dials run to their own end instead of being cut at the direct timeout', () => {
    const p = plan(target({ relays: [], rendezvous: null }));
    p.start(0);
    expect(p.tick(5000)).toEqual([]);
    expect(p.phase).toBe('connecting');
    expect(kinds(p.input({ kind: 'dialSucceeded', addr: A1 }, 6000))).toEqual(['connected', 'cancelDials']);
  });

  it('fails over between relays on rejection and timeout, then fails', () => {
    const p = plan(target({ addrs: [], rendezvous: null }));
    const first = relayConnectOf(p.start(0));
    const second = p.input({ kind: 'relayFailed', sessionId: first.sessionId, reason: 'Full' }, 10);
    expect(second[0]).toEqual({ kind: 'relayFailed', relay: R1, reason: 'Full' });
    const rc2 = relayConnectOf(second);
    expect(rc2.relay).toBe(R2);
    p.input({ kind: 'relayAccepted', sessionId: rc2.sessionId }, 20);
    expect(p.nextAt()).toBe(1020); // waiting for the peer to join
    const end = p.tick(1020);
    expect(end).toEqual([
      { kind: 'relayFailed', relay: R2, reason: 'Peer did not join' },
      { kind: 'failed', reason: 'no path: direct and relays failed' },
    ]);
    expect(p.phase).toBe('failed');
    expect(p.failures).toBe(1);
    // stale answers are ignored
    expect(p.input({ kind: 'relayConnected', sessionId: rc2.sessionId }, 1100)).toEqual([]);
  });

  it('fails at once with nothing to try', () => {
    const p = plan(target({ addrs: [], relays: [] }));
    expect(p.start(0)).toEqual([{ kind: 'failed', reason: 'no path: direct failed and no relays' }]);
    // and can be started again later
    expect(kinds(p.start(10))).toEqual(['failed']);
  });

  it('upgrades relayed → direct: periodic rounds, then a validated path', () => {
    const p = plan(target({ addrs: [A1] }));
    p.start(0);
    p.input({ kind: 'dialFailed', addr: A1 }, 10);
    const rc = relayConnectOf(p.input({ kind: 'punchFailed', reason: 'x' }, 20));
    p.input({ kind: 'relayConnected', sessionId: rc.sessionId }, 30);
    expect(p.nextAt()).toBe(10_030);
    expect(p.tick(10_030)).toEqual([
      { kind: 'probeDirect', addrs: [A1] },
      { kind: 'punch', rendezvous: { id: R1.relayId, addr: R1.addrs[0] } },
    ]);
    const relayed = p.connection!;
    const up = p.input({ kind: 'pathValidated', addr: A1 }, 12_000);
    expect(up).toEqual([
      { kind: 'upgraded', from: relayed, to: { kind: 'Direct', addr: A1, via: 'direct' } },
      { kind: 'relayClose', relay: R1, sessionId: rc.sessionId },
    ]);
    expect(p.upgrades).toBe(1);
    expect(p.nextAt()).toBeUndefined();
  });

  it('stops upgrade rounds after the limit', () => {
    const p = plan(target({ addrs: [A1], rendezvous: null }));
    p.start(0);
    const rc = relayConnectOf(p.input({ kind: 'dialFailed', addr: A1 }, 10));
    p.input({ kind: 'relayConnected', sessionId: rc.sessionId }, 20);
    let rounds = 0;
    for (let t = 0; t < 100_000; t += 1000) rounds += p.tick(t).filter((e) => e.kind === 'probeDirect').length;
    expect(rounds).toBe(2);
  });

  it('reconnects after the connection is lost', () => {
    const p = plan();
    p.start(0);
    p.input({ kind: 'dialSucceeded', addr: A1 }, 10);
    const again = p.input({ kind: 'connectionLost' }, 20);
    expect(kinds(again)).toEqual(['punch', 'dial', 'dial']);
    expect(p.failures).toBe(1);
  });

  it('refuses bad options', () => {
    expect(() => new SmartConnectPlan(target(), { rng: new SeededRng(1), directTimeoutMs: 0 })).toThrow(ConfigError);
  });
});

function recordingMetrics(): Metrics & { gauges: Map<string, number>; counters: Map<string, number>; observed: number[] } {
  const gauges = new Map<string, number>();
  const counters = new Map<string, number>();
  const observed: number[] = [];
  const counter = (name: string): Counter => ({ inc: (_l, v = 1) => counters.set(name, (counters.get(name) ?? 0) + v) });
  const gauge = (name: string): Gauge => ({
    set: (v, labels) => gauges.set(`${name}{${labels?.kind ?? ''}}`, v),
    inc: () => {},
    dec: () => {},
  });
  const histogram = (): Histogram => ({ observe: (v) => observed.push(v) });
  return { gauges, counters, observed, counter, gauge, histogram };
}

describe('ConnectionManager', () => {
  const peerB = new Uint8Array(32).fill(0xcc);

  it('dedupes concurrent connects and runs peers independently', () => {
    const metrics = recordingMetrics();
    const m = new ConnectionManager({ rng: new SeededRng(3), metrics, directTimeoutMs: 1000, relayTimeoutMs: 1000 });
    const first = m.connect(target(), 0);
    expect(first.deduped).toBe(false);
    expect(first.effects.every((e: PeerEffect) => e.peer === peerId)).toBe(true);
    expect(m.connect(target(), 5)).toEqual({ effects: [], deduped: true });
    const other = m.connect(target({ peerId: peerB, addrs: [], rendezvous: null }), 5);
    expect(kinds(other.effects)).toEqual(['relayConnect']);
    expect(metrics.gauges.get('quicmesh_path_state{Connecting}')).toBe(2);

    m.input(peerId, { kind: 'dialSucceeded', addr: A1 }, 10);
    expect(m.stats(peerId)).toMatchObject({ kind: 'Direct', upgrades: 0, failures: 0 });
    expect(metrics.gauges.get('quicmesh_path_state{Direct}')).toBe(1);
    m.recordRtt(peerId, 20);
    m.recordRtt(peerId, 28);
    expect(m.stats(peerId)!.rttMs).toBe(21);
    expect(metrics.observed).toEqual([0.02, 0.028]);

    // the relayed peer: relay times out, then nothing is left → failed
    expect(m.nextAt()).toBe(1005);
    const out = m.tick(1005);
    expect(kinds(out)).toEqual(['relayFailed', 'relayConnect']);
    const end = m.tick(2005);
    expect(kinds(end)).toEqual(['relayFailed', 'failed']);
    expect(m.stats(peerB)).toMatchObject({ kind: 'Failed', failures: 1 });
    expect(metrics.counters.get('quicmesh_path_failures_total')).toBe(1);
    // a failed peer may be connected again (no dedupe)
    expect(m.connect(target({ peerId: peerB, addrs: [], rendezvous: null }), 3000).deduped).toBe(false);
  });

  it('counts upgrades and connection losses', () => {
    const metrics = recordingMetrics();
    const m = new ConnectionManager({ rng: new SeededRng(4), metrics });
    const rc = m.connect(target({ addrs: [A1], rendezvous: null }), 0);
    expect(kinds(rc.effects)).toEqual(['dial']);
    const relay = m.input(peerId, { kind: 'dialFailed', addr: A1 }, 10)[0]!;
    if (relay.kind !== 'relayConnect') throw new Error('expected relayConnect');
    m.input(peerId, { kind: 'relayConnected', sessionId: relay.sessionId }, 20);
    expect(m.stats(peerId)!.kind).toBe('Relayed');
    m.recordRtt(peerId, 80);
    const up = m.input(peerId, { kind: 'pathValidated', addr: A1 }, 30);
    expect(kinds(up)).toEqual(['upgraded', 'relayClose']);
    expect(m.stats(peerId)).toMatchObject({ kind: 'Direct', upgrades: 1, rttMs: null });
    expect(metrics.counters.get('quicmesh_path_upgrades_total')).toBe(1);
    m.input(peerId, { kind: 'connectionLost' }, 40);
    expect(metrics.counters.get('quicmesh_path_failures_total')).toBe(1);
    expect(m.allStats()).toHaveLength(1);
    m.remove(peerId);
    expect(m.stats(peerId)).toBeUndefined();
    expect(m.input(peerId, { kind: 'connectionLost' }, 50)).toEqual([]);
  });
});

describe('behindNat (an endpoint record author behind a NAT)', () => {
  it('is true when the record names two different addresses: as seen by a peer, and its own', () => {
    expect(behindNat(['203.0.113.2:4433', '10.0.0.2:4433'])).toBe(true);
    expect(behindNat(['203.0.113.9:4433'])).toBe(false);
    expect(behindNat(['203.0.113.9:4433', '203.0.113.9:4433'])).toBe(false);
    expect(behindNat([])).toBe(false);
  });
});
