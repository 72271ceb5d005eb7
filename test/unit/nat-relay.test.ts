import { describe, expect, it } from 'vitest';
import { bytesEqual, toHex } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import { nodeIdFromPublicKey } from '../../src/identity/node-id.js';
import type { Counter, Gauge, Metrics } from '../../src/metrics/metrics.js';
import { RelayClient, selectionScore } from '../../src/nat/relay/relay-client.js';
import {
  decodeRelayInfo,
  encodeRelayInfo,
  checkRelayInfoReplacement,
  preferDirectoryEntry,
  relayDirectoryKey,
  relayDirectorySlot,
  relayInfoKey,
  RELAY_DIRECTORY_SLOTS,
  signRelayInfo,
  verifyRelayInfo,
  type RelayInfo,
} from '../../src/nat/relay/relay-info.js';
import { RELAY_REJECT, RelayServer, type RelayOutcome } from '../../src/nat/relay/relay-server.js';
import { TokenBucket } from '../../src/nat/relay/token-bucket.js';

const rng = new SeededRng(1);
const contactOf = (n: number): Contact => ({ id: rng.bytes(32), addr: `10.0.0.${n}:4433` });
const relayKeys = Keypair.generate(new Uint8Array(32).fill(9));
const self = { identity: relayKeys.identity, nodeId: relayKeys.nodeId, addrs: ['198.51.100.9:4433'] };
const sid = (n: number): Uint8Array => new Uint8Array(16).fill(n);

function connect(server: RelayServer, from: Contact, target: Contact, s: Uint8Array, now = 0): RelayOutcome {
  return server.handle(from, { type: 'RelayConnect', from, target: target.id, sessionId: s }, now);
}

function recordingMetrics(): Metrics & { values: Map<string, number> } {
  const values = new Map<string, number>();
  const counter = (name: string): Counter => ({ inc: (_l, v = 1) => values.set(name, (values.get(name) ?? 0) + v) });
  const gauge = (name: string): Gauge => ({
    set: (v) => values.set(name, v),
    inc: () => {},
    dec: () => {},
  });
  return { values, counter, gauge, histogram: () => ({ observe() {} }) };
}

describe('RelayServer sessions', () => {
  const a = contactOf(1);
  const b = contactOf(2);

  function open(server: RelayServer, s = sid(1)): void {
    server.peerConnected(a);
    server.peerConnected(b);
    connect(server, a, b, s);
    connect(server, b, a, s);
  }

  it('offers, joins, forwards and closes', () => {
    const metrics = recordingMetrics();
    const server = new RelayServer(self, { metrics });
    server.peerConnected(a);
    server.peerConnected(b);
    const offer = connect(server, a, b, sid(1));
    expect(offer.reply).toEqual({ type: 'RelayAccepted', sessionId: sid(1) });
    expect(offer.effects).toHaveLength(1);
    expect(offer.effects[0]!.to.id).toEqual(b.id);
    expect(offer.effects[0]!.msg).toMatchObject({ type: 'RelayConnect', target: b.id, sessionId: sid(1) });
    expect(server.sessionsView(0)[0]!.state).toBe('pending');

    const join = connect(server, b, a, sid(1), 10);
    expect(join.reply).toEqual({ type: 'RelayConnected', sessionId: sid(1), peer: a });
    expect(join.effects).toEqual([{ kind: 'send', to: a, msg: { type: 'RelayConnected', sessionId: sid(1), peer: b } }]);

    const payload = Uint8Array.of(1, 2, 3);
    const fwd = server.handle(a, { type: 'RelayForward', from: a, sessionId: sid(1), payload }, 20);
    expect(fwd.reply).toEqual({ type: 'RelayForwarded', sessionId: sid(1), delivered: true });
    expect(fwd.effects).toEqual([{ kind: 'send', to: b, msg: { type: 'RelayForward', from: a, sessionId: sid(1), payload } }]);
    const back = server.handle(b, { type: 'RelayForward', from: b, sessionId: sid(1), payload }, 20);
    expect(back.effects[0]!.to).toEqual(a);
    expect(server.bytesRelayed).toBe(6);
    expect(metrics.values.get('quicmesh_relay_bytes_total')).toBe(6);
    expect(metrics.values.get('quicmesh_relay_sessions')).toBe(1);

    const close = server.handle(b, { type: 'RelayClose', from: b, sessionId: sid(1) }, 30);
    expect(close.reply).toEqual({ type: 'RelayClosed', sessionId: sid(1) });
    expect(close.effects).toEqual([{ kind: 'send', to: a, msg: { type: 'RelayClosed', sessionId: sid(1) } }]);
    expect(server.sessionCount).toBe(0);
    expect(metrics.values.get('quicmesh_relay_sessions')).toBe(0);
  });

  it('answers retransmitted connects idempotently', () => {
    const server = new RelayServer(self);
    server.peerConnected(a);
    server.peerConnected(b);
    connect(server, a, b, sid(1));
    expect(connect(server, a, b, sid(1)).reply.type).toBe('RelayAccepted');
    connect(server, b, a, sid(1));
    expect(connect(server, a, b, sid(1)).reply).toMatchObject({ type: 'RelayConnected', peer: b });
    expect(connect(server, b, a, sid(1)).reply).toMatchObject({ type: 'RelayConnected', peer: a });
    expect(server.sessionCount).toBe(1);
  });

  it('rejects with reasons', () => {
    const c = contactOf(3);
    const server = new RelayServer(self, { maxSessions: 2, maxSessionsPerPeer: 1 });
    server.peerConnected(a);
    server.peerConnected(b);
    const reason = (o: RelayOutcome): string | undefined => (o.reply.type === 'RelayRejected' ? o.reply.reason : undefined);
    expect(reason(connect(server, a, c, sid(1)))).toBe(RELAY_REJECT.UnknownTarget);
    expect(reason(connect(server, a, a, sid(1)))).toBe(RELAY_REJECT.SelfTarget);
    expect(reason(connect(server, a, { id: self.nodeId, addr: 'x:1' }, sid(1)))).toBe(RELAY_REJECT.UnknownTarget);
    connect(server, a, b, sid(1));
    expect(reason(connect(server, c, b, sid(1)))).toBe(RELAY_REJECT.SessionExists);
    server.peerConnected(c);
    expect(reason(connect(server, a, c, sid(2)))).toBe(RELAY_REJECT.TooManySessions);
    const d = contactOf(4);
    const e = contactOf(5);
    server.peerConnected(d);
    server.peerConnected(e);
    connect(server, c, d, sid(3));
    expect(reason(connect(server, e, d, sid(4)))).toBe(RELAY_REJECT.Full);
    const fwd = (from: Contact, s: Uint8Array): RelayOutcome =>
      server.handle(from, { type: 'RelayForward', from, sessionId: s, payload: new Uint8Array(1) }, 0);
    expect(reason(fwd(a, sid(9)))).toBe(RELAY_REJECT.UnknownSession);
    expect(reason(fwd(a, sid(1)))).toBe(RELAY_REJECT.NotConnected);
    expect(reason(fwd(c, sid(1)))).toBe(RELAY_REJECT.NotMember);
    expect(reason(server.handle(c, { type: 'RelayClose', from: c, sessionId: sid(1) }, 0))).toBe(RELAY_REJECT.NotMember);
    server.setAccepting(false);
    expect(server.relayInfo().accepting).toBe(false);
  });

  it('limits each direction to its bandwidth', () => {
    const server = new RelayServer(self, { bandwidthBytesPerSec: 1000 });
    open(server);
    const fwd = (from: Contact, n: number, now: number): string =>
      server.handle(from, { type: 'RelayForward', from, sessionId: sid(1), payload: new Uint8Array(n) }, now).reply.type;
    expect(fwd(a, 800, 0)).toBe('RelayForwarded');
    expect(fwd(a, 300, 0)).toBe('RelayRejected');
    expect(fwd(b, 300, 0)).toBe('RelayForwarded'); // the other direction has its own bucket
    expect(fwd(a, 300, 100)).toBe('RelayForwarded'); // 100 ms refilled 100 bytes
    expect(fwd(a, 300, 100)).toBe('RelayRejected');
  });

  it('unlimited bandwidth never rejects', () => {
    const server = new RelayServer(self, { bandwidthBytesPerSec: 0 });
    open(server);
    const big = new Uint8Array(100_000);
    for (let i = 0; i < 5; i++) {
      expect(server.handle(a, { type: 'RelayForward', from: a, sessionId: sid(1), payload: big }, 0).reply.type).toBe(
        'RelayForwarded',
      );
    }
  });

  it('expires idle sessions and unanswered offers', () => {
    const server = new RelayServer(self, { idleTimeoutMs: 1000, pendingTimeoutMs: 500 });
    open(server, sid(1));
    connect(server, a, b, sid(2), 0);
    expect(server.nextDeadline()).toBe(500);
    const first = server.tick(500);
    expect(first).toEqual([{ kind: 'send', to: a, msg: { type: 'RelayClosed', sessionId: sid(2) } }]);
    server.handle(a, { type: 'RelayForward', from: a, sessionId: sid(1), payload: new Uint8Array(1) }, 600);
    expect(server.tick(1000)).toEqual([]);
    const idle = server.tick(1600);
    expect(idle.map((e) => toHex(e.to.id)).sort()).toEqual([toHex(a.id), toHex(b.id)].sort());
    expect(server.sessionCount).toBe(0);
    expect(server.nextDeadline()).toBeUndefined();
  });

  it('closes a disconnected peer’s sessions and tells the other side', () => {
    const server = new RelayServer(self);
    open(server);
    const effects = server.peerDisconnected(a.id);
    expect(effects).toEqual([{ kind: 'send', to: b, msg: { type: 'RelayClosed', sessionId: sid(1) } }]);
    expect(server.sessionCount).toBe(0);
    expect(connect(server, b, a, sid(5)).reply).toMatchObject({ reason: RELAY_REJECT.UnknownTarget });
  });

  it('reports load and capabilities', () => {
    const server = new RelayServer(self, { maxSessions: 4, bandwidthBytesPerSec: 125_000, region: 'eu' });
    open(server);
    const info = server.relayInfo();
    expect(info).toMatchObject({ load: 0.25, accepting: true, relayAddrs: self.addrs, rttMs: null, tier: null });
    expect(info.capabilities).toEqual({ stun: true, turn: true, iceLite: true, maxBandwidthKbps: 1000, region: 'eu' });
  });

  it('refuses bad options', () => {
    expect(() => new RelayServer(self, { maxSessions: 0 })).toThrow(ConfigError);
    expect(() => new RelayServer(self, { bandwidthBytesPerSec: -1 })).toThrow(/bandwidthBytesPerSec/);
    expect(() => new TokenBucket(0, 1, 0)).toThrow(ConfigError);
  });
});

describe('RelayInfo encoding', () => {
  const info: Omit<RelayInfo, 'relayPeer'> = {
    relayAddrs: ['198.51.100.9:4433', '[2001:db8::9]:4433'],
    load: 0.375,
    accepting: true,
    rttMs: 12.5,
    tier: 2,
    capabilities: { stun: true, turn: true, iceLite: false, maxBandwidthKbps: 2048, region: 'eu-west' },
  };

  it('round-trips and verifies', () => {
    const signed = signRelayInfo(relayKeys, info, 7n, 1_700_000_000_000);
    const bytes = encodeRelayInfo(signed);
    const back = decodeRelayInfo(bytes);
    expect(back).toEqual(signed);
    expect(verifyRelayInfo(back)).toBe(true);
    expect(encodeRelayInfo(back)).toEqual(bytes);
  });

  it('detects tampering', () => {
    const signed = signRelayInfo(relayKeys, info, 1n, 0);
    expect(verifyRelayInfo({ ...signed, load: 0 })).toBe(false);
    expect(verifyRelayInfo({ ...signed, relayPeer: Keypair.generate(new Uint8Array(32).fill(1)).identity })).toBe(false);
  });

  it('names the bad field', () => {
    const signed = signRelayInfo(relayKeys, info, 1n, 0);
    const bytes = encodeRelayInfo(signed);
    const field = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        return (e as DecodeError).field;
      }
      throw new Error('no error');
    };
    expect(field(() => encodeRelayInfo({ ...signed, load: 1.5 }))).toBe('RelayInfo.load');
    expect(field(() => encodeRelayInfo({ ...signed, relayAddrs: ['nope'] }))).toBe('RelayInfo.relayAddrs[0]');
    expect(field(() => encodeRelayInfo({ ...signed, tier: 300 }))).toBe('RelayInfo.tier');
    expect(field(() => encodeRelayInfo({ ...signed, capabilities: { ...info.capabilities, region: '' } }))).toBe(
      'RelayInfo.capabilities.region',
    );
    const badVersion = Uint8Array.from(bytes);
    badVersion[0] = 2;
    expect(field(() => decodeRelayInfo(badVersion))).toBe('RelayInfo.version');
    expect(field(() => decodeRelayInfo(bytes.subarray(0, bytes.length - 10)))).toBe('RelayInfo.signature');
    expect(field(() => decodeRelayInfo(Uint8Array.of(...bytes, 0)))).toBe('RelayInfo');
    const badLoad = Uint8Array.from(bytes);
    const loadAt = 1 + 32 + 1 + (1 + 17) + (1 + 18); // version, peer, addr count, two addrs
    badLoad[loadAt] = 0xff;
    expect(field(() => decodeRelayInfo(badLoad))).toBe('RelayInfo.load');
  });

  it('derives distinct, stable keys', () => {
    const id = relayKeys.nodeId;
    expect(relayInfoKey(id)).toHaveLength(32);
    expect(bytesEqual(relayInfoKey(id), relayInfoKey(id))).toBe(true);
    const slots = new Set(Array.from({ length: RELAY_DIRECTORY_SLOTS }, (_, i) => toHex(relayDirectoryKey(i))));
    expect(slots.size).toBe(RELAY_DIRECTORY_SLOTS);
    expect(slots.has(toHex(relayInfoKey(id)))).toBe(false);
    expect(relayDirectorySlot(id)).toBe(id[0]! % RELAY_DIRECTORY_SLOTS);
    expect(() => relayDirectoryKey(RELAY_DIRECTORY_SLOTS)).toThrow(DecodeError);
    expect(() => relayInfoKey(new Uint8Array(3))).toThrow(/relayNodeId/);
  });

  it('directory slots keep the newest, then the less loaded', () => {
    const older = signRelayInfo(relayKeys, { ...info, load: 0.1 }, 1n, 100);
    const newer = signRelayInfo(relayKeys, { ...info, load: 0.9 }, 2n, 200);
    expect(preferDirectoryEntry(older, newer)).toBe(newer);
    const busy = signRelayInfo(relayKeys, { ...info, load: 0.9 }, 2n, 100);
    expect(preferDirectoryEntry(busy, older)).toBe(older);
  });
});

describe('RelayClient', () => {
  const keys = [1, 2, 3].map((n) => Keypair.generate(new Uint8Array(32).fill(n)));
  const relay = (i: number, over: Partial<RelayInfo> = {}): RelayInfo => ({
    relayPeer: keys[i]!.identity,
    relayAddrs: [`198.51.100.${i + 1}:4433`],
    load: 0,
    accepting: true,
    rttMs: null,
    tier: null,
    capabilities: { stun: true, turn: true, iceLite: true, maxBandwidthKbps: 0, region: null },
    ...over,
  });
  const idOf = (i: number): Uint8Array => nodeIdFromPublicKey(keys[i]!.identity);

  it('scores rtt + load·100 + tier·20 with 200 ms for unknown RTT', () => {
    expect(selectionScore(relay(0))).toBe(200);
    expect(selectionScore(relay(0, { rttMs: 30, load: 0.5, tier: 2 }))).toBe(30 + 50 + 40);
  });

  it('ranks by score and follows measurements', () => {
    const clock = new ManualClock();
    const client = new RelayClient({ clock });
    client.updateRelays([relay(0, { load: 0.9 }), relay(1), relay(2, { accepting: false })]);
    expect(client.rankedRelays().map((r) => r.score)).toEqual([200, 290]);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(1));
    expect(client.updateRelayRtt(idOf(0), 20, 0)).toBe(true);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(0));
    expect(client.bestRelay()!.score).toBe(110);
    // a refresh without measurements keeps them
    client.updateRelays([relay(0, { load: 0.5 })]);
    expect(client.bestRelay()!.score).toBe(70);
    expect(client.updateRelayRtt(new Uint8Array(32), 1)).toBe(false);
    expect(() => client.updateRelayRtt(idOf(0), -1)).toThrow(ConfigError);
  });

  it('takes signed infos from the DHT: verified, newer sequences only, own measurements kept', () => {
    const client = new RelayClient({ clock: new ManualClock() });
    const signed = (i: number, seq: bigint, over: Partial<RelayInfo> = {}) => signRelayInfo(keys[i]!, relay(i, over), seq, 1_000);
    expect(client.updateFromInfos([signed(0, 5n, { load: 0.5 }), signed(1, 5n, { load: 0.1 })])).toBe(2);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(1));
    client.updateRelayRtt(idOf(0), 10, 0);
    expect(client.bestRelay()!.score).toBe(60);
    // a relay claiming an RTT of its own is not believed; a newer info keeps our measurement
    expect(client.updateFromInfos([signed(0, 6n, { load: 0.2, rttMs: 0, tier: 0 })])).toBe(1);
    expect(client.rankedRelays()[0]).toMatchObject({ score: 30, info: { rttMs: 10, load: 0.2 } });
    // stale (same or older sequence) and forged infos are skipped
    expect(client.updateFromInfos([signed(0, 6n, { load: 1 }), signed(0, 2n, { load: 1 })])).toBe(0);
    const forged = { ...signed(2, 9n), relayPeer: keys[1]!.identity, load: 0 };
    expect(client.updateFromInfos([forged, { ...signed(1, 9n), accepting: false }])).toBe(0);
    expect(client.rankedRelays().map((r) => [r.score, 'sequence' in r.info])).toEqual([[30, false], [210, false]]);
    expect(client.size).toBe(2);
  });

  it('fails over with a doubling backoff', () => {
    const clock = new ManualClock();
    const client = new RelayClient({ clock, baseBackoffMs: 1000, maxBackoffMs: 3000 });
    client.updateRelays([relay(0, { rttMs: 10 }), relay(1, { rttMs: 50 })]);
    client.markFailed(idOf(0));
    expect(client.bestRelay()!.nodeId).toEqual(idOf(1));
    clock.advance(1000);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(0));
    client.markFailed(idOf(0));
    clock.advance(1999);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(1));
    clock.advance(1);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(0));
    client.markFailed(idOf(0));
    client.markFailed(idOf(0)); // capped at 3000
    clock.advance(3000);
    expect(client.bestRelay()!.nodeId).toEqual(idOf(0));
    client.markFailed(idOf(0));
    client.markSucceeded(idOf(0));
    expect(client.bestRelay()!.nodeId).toEqual(idOf(0));
    client.markFailed(idOf(0));
    client.markFailed(idOf(1));
    expect(client.bestRelay()).toBeUndefined();
  });

  it('orders a record’s relays: known by score, unknown next, failing last', () => {
    const clock = new ManualClock();
    const client = new RelayClient({ clock });
    client.updateRelays([relay(0, { rttMs: 400 }), relay(1, { rttMs: 10 })]);
    const unknown = { relayId: new Uint8Array(32).fill(7), addrs: ['203.0.113.7:4433'] };
    const eps = [
      { relayId: idOf(0), addrs: ['a:1'] },
      unknown,
      { relayId: idOf(1), addrs: ['b:1'] },
    ];
    expect(client.rankEndpoints(eps).map((e) => e.addrs[0])).toEqual(['b:1', '203.0.113.7:4433', 'a:1']);
    client.markFailed(idOf(1));
    expect(client.rankEndpoints(eps).map((e) => e.addrs[0])).toEqual(['203.0.113.7:4433', 'a:1', 'b:1']);
    expect(() => new RelayClient({ clock, baseBackoffMs: 10, maxBackoffMs: 5 })).toThrow(ConfigError);
  });
});

describe('RelayInfo storage rules', () => {
  const base: Omit<RelayInfo, 'relayPeer'> = {
    relayAddrs: ['198.51.100.9:4433'],
    load: 0.5,
    accepting: true,
    rttMs: null,
    tier: null,
    capabilities: { stun: true, turn: true, iceLite: true, maxBandwidthKbps: 0, region: null },
  };
  const other = Keypair.generate(new Uint8Array(32).fill(42));

  it('accepts own key and directory slot, newest wins; refuses forged and misplaced', () => {
    const v1 = signRelayInfo(relayKeys, base, 1n, 100);
    const v2 = signRelayInfo(relayKeys, base, 2n, 200);
    const own = relayInfoKey(relayKeys.nodeId);
    const slot = relayDirectoryKey(relayDirectorySlot(relayKeys.nodeId));
    expect(checkRelayInfoReplacement(undefined, v1, own)).toBeNull();
    expect(checkRelayInfoReplacement(v1, v2, own)).toBeNull();
    expect(checkRelayInfoReplacement(v2, v1, own)).toBe('Stale');
    expect(checkRelayInfoReplacement(v1, v2, slot)).toBeNull();
    expect(checkRelayInfoReplacement(undefined, v1, relayInfoKey(other.nodeId))).toBe('WrongKey');
    expect(checkRelayInfoReplacement(undefined, { ...v1, load: 0.1 }, own)).toBe('Forged');
    expect(checkRelayInfoReplacement(undefined, { ...v1, relayPeer: new Uint8Array(3) }, own)).toBe('Forged');
  });

  it('a shared slot keeps the newer relay record', () => {
    // find a second relay that lands in the same slot
    let seed = 100;
    let rival = Keypair.generate(new Uint8Array(32).fill(seed));
    while (relayDirectorySlot(rival.nodeId) !== relayDirectorySlot(relayKeys.nodeId)) {
      rival = Keypair.generate(new Uint8Array(32).fill(++seed));
    }
    const slot = relayDirectoryKey(relayDirectorySlot(relayKeys.nodeId));
    const mine = signRelayInfo(relayKeys, base, 9n, 100);
    const theirs = signRelayInfo(rival, base, 1n, 200);
    expect(checkRelayInfoReplacement(mine, theirs, slot)).toBeNull();
    expect(checkRelayInfoReplacement(theirs, mine, slot)).toBe('Stale');
  });
});
