import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { splitAddr } from '../../src/nat/addr.js';
import { candidateList, delays, HolePunchCoordinator, PUNCH_FAILURE, type PunchParty } from '../../src/nat/hole-punch.js';
import { NAT_PRESETS, NatBox, type NatPresetName } from '../../src/nat/nat-model.js';
import { Puncher, punchRounds, punchSchedule, type PunchResult } from '../../src/nat/puncher.js';
import {
  classifyRaw,
  encodeNatTestReply,
  encodePunch,
  parseNatTestReply,
  parsePunch,
  PUNCH_PACKET_BYTES,
} from '../../src/nat/raw-packets.js';
import type { HolePunchReady } from '../../src/wire/messages.js';

const idA = new Uint8Array(32).fill(0x11);
const idB = new Uint8Array(32).fill(0x22);
const party = (id: Uint8Array, observedAddr: string, rttMs?: number): PunchParty => ({
  contact: { id, addr: observedAddr } as Contact,
  observedAddr,
  rttMs,
});

describe('raw packet formats', () => {
  it('punch packets round-trip and never look like QUIC', () => {
    const p = { ack: true, nonce: new Uint8Array(8).fill(1), echo: new Uint8Array(8).fill(2), sender: idA };
    const bytes = encodePunch(p);
    expect(bytes).toHaveLength(PUNCH_PACKET_BYTES);
    expect(bytes[0]! & 0x40).toBe(0); // QUIC's fixed bit clear
    expect(bytes[0]! & 0x80).toBe(0); // not a long header either
    expect(parsePunch(bytes)).toEqual(p);
    expect(classifyRaw(bytes)).toBe('punch');
  });

  it('punch parsing is strict', () => {
    const good = encodePunch({ ack: false, nonce: new Uint8Array(8), echo: new Uint8Array(8), sender: idA });
    const field = (b: Uint8Array): string => {
      try {
        parsePunch(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        return (e as DecodeError).field;
      }
      throw new Error('accepted');
    };
    expect(field(good.subarray(0, 20))).toBe('Punch');
    const magic = Uint8Array.from(good);
    magic[1] = 0x58;
    expect(field(magic)).toBe('Punch.magic');
    const flags = Uint8Array.from(good);
    flags[4] = 0x80;
    expect(field(flags)).toBe('Punch.flags');
    const echo = Uint8Array.from(good);
    echo[13] = 1;
    expect(field(echo)).toBe('Punch.echo');
    expect(() => encodePunch({ ack: false, nonce: new Uint8Array(3), echo: new Uint8Array(8), sender: idA })).toThrow(
      /Punch.nonce/,
    );
  });

  it('NAT test replies round-trip; wire messages classify apart', () => {
    const r = { nonce: new Uint8Array(16).fill(5), observedAddr: '[2001:db8::1]:40000' };
    const bytes = encodeNatTestReply(r);
    expect(parseNatTestReply(bytes)).toEqual(r);
    expect(classifyRaw(bytes)).toBe('nat-test');
    expect(classifyRaw(Uint8Array.of(0x01, 0x30))).toBe('message');
    expect(classifyRaw(Uint8Array.of(0xc0))).toBe('unknown');
    expect(() => parseNatTestReply(bytes.subarray(0, bytes.length - 1))).toThrow(DecodeError);
    expect(() => encodeNatTestReply({ nonce: r.nonce, observedAddr: 'nope' })).toThrow(/observedAddr/);
  });
});

describe('HolePunchCoordinator', () => {
  const a = party(idA, '203.0.113.1:40000', 40);
  const b = party(idB, '203.0.113.2:50000', 100);

  it('waits for the partner, then readies both with observed addresses first', () => {
    const c = new HolePunchCoordinator({ startDelayMs: 100 });
    const first = c.register(a, { type: 'HolePunchRegister', from: a.contact, target: idB, addrs: ['192.168.1.5:4433'] }, 0);
    expect(first).toEqual({ reply: { type: 'HolePunchWaiting', target: idB }, effects: [] });
    const second = c.register(b, { type: 'HolePunchRegister', from: b.contact, target: idA, addrs: ['10.0.0.5:4433'] }, 500);
    expect(second.reply).toEqual({
      type: 'HolePunchReady',
      peer: a.contact,
      peerAddrs: ['203.0.113.1:40000', '192.168.1.5:4433'],
      delayMs: 100, // b is the slower one: it waits only the slack
    });
    expect(second.effects).toEqual([
      {
        kind: 'send',
        to: a.contact,
        msg: { type: 'HolePunchReady', peer: b.contact, peerAddrs: ['203.0.113.2:50000', '10.0.0.5:4433'], delayMs: 130 },
      },
    ]);
    expect(c.pendingCount).toBe(0);
  });

  it('lines up the start: receipt + delay is the same for both', () => {
    const [da, db] = delays(a, b, 100);
    expect(a.rttMs! / 2 + da).toBe(b.rttMs! / 2 + db);
  });

  it('fails a registration nobody matches in the window', () => {
    const c = new HolePunchCoordinator({ windowMs: 1000 });
    c.register(a, { type: 'HolePunchRegister', from: a.contact, target: idB, addrs: [] }, 0);
    expect(c.nextDeadline()).toBe(1000);
    expect(c.tick(999)).toEqual([]);
    expect(c.tick(1000)).toEqual([
      { kind: 'send', to: a.contact, msg: { type: 'HolePunchFailed', target: idB, reason: PUNCH_FAILURE.Timeout } },
    ]);
    // a late partner now just waits
    expect(c.register(b, { type: 'HolePunchRegister', from: b.contact, target: idA, addrs: [] }, 1500).reply.type).toBe(
      'HolePunchWaiting',
    );
  });

  it('HolePunchStart tells a connected target to punch now', () => {
    const c = new HolePunchCoordinator({ startDelayMs: 0 });
    expect(c.start(a, { type: 'HolePunchStart', from: a.contact, target: idB, addrs: [] }).reply).toEqual({
      type: 'HolePunchFailed',
      target: idB,
      reason: PUNCH_FAILURE.UnknownTarget,
    });
    c.peerSeen(b);
    const out = c.start(a, { type: 'HolePunchStart', from: a.contact, target: idB, addrs: ['192.168.1.5:4433'] });
    expect(out.reply).toMatchObject({ type: 'HolePunchReady', peer: b.contact, peerAddrs: ['203.0.113.2:50000'] });
    expect(out.effects[0]!.to).toEqual(b.contact);
    expect(out.effects[0]!.msg).toMatchObject({ peerAddrs: ['203.0.113.1:40000', '192.168.1.5:4433'] });
  });

  it('refuses self targets and overload', () => {
    const c = new HolePunchCoordinator({ maxPending: 1 });
    expect(c.register(a, { type: 'HolePunchRegister', from: a.contact, target: idA, addrs: [] }, 0).reply).toMatchObject({
      reason: PUNCH_FAILURE.SelfTarget,
    });
    c.register(a, { type: 'HolePunchRegister', from: a.contact, target: idB, addrs: [] }, 0);
    const idC = new Uint8Array(32).fill(0x33);
    expect(c.register(b, { type: 'HolePunchRegister', from: b.contact, target: idC, addrs: [] }, 0).reply).toMatchObject({
      reason: PUNCH_FAILURE.Busy,
    });
    expect(() => new HolePunchCoordinator({ windowMs: 0 })).toThrow(ConfigError);
  });

  it('candidate lists drop invalid and duplicate addresses', () => {
    expect(candidateList('1.2.3.4:5', ['1.2.3.4:5', 'bad', '5.6.7.8:9'])).toEqual(['1.2.3.4:5', '5.6.7.8:9']);
  });
});

describe('punch schedule', () => {
  it('rounds every 20–50 ms for 2 s, to every candidate', () => {
    const rounds = punchRounds(1000, { rng: new SeededRng(3) });
    expect(rounds[0]).toBe(1000);
    for (let i = 1; i < rounds.length; i++) {
      const gap = rounds[i]! - rounds[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(20);
      expect(gap).toBeLessThanOrEqual(50);
    }
    expect(rounds.at(-1)!).toBeLessThan(3000);
    expect(rounds.at(-1)!).toBeGreaterThanOrEqual(2950);
    const plan = punchSchedule(['1.1.1.1:1', '2.2.2.2:2'], 1000, { rng: new SeededRng(3) });
    expect(plan).toHaveLength(rounds.length * 2);
    expect(plan.slice(0, 2)).toEqual([
      { at: 1000, addr: '1.1.1.1:1' },
      { at: 1000, addr: '2.2.2.2:2' },
    ]);
    expect(() => punchRounds(0, { rng: new SeededRng(1), minIntervalMs: 50, maxIntervalMs: 20 })).toThrow(ConfigError);
  });
});

describe('Puncher handshake', () => {
  const make = (local: Uint8Array, peer: Uint8Array, candidates: string[], seed: number, learn = true): Puncher =>
    new Puncher({ localId: local, peerId: peer, candidates, startAt: 100, rng: new SeededRng(seed), learnPeerReflexive: learn });

  it('waits, punches, acks, succeeds, confirms; the lower NodeId dials', () => {
    const pa = make(idA, idB, ['203.0.113.2:50000'], 1);
    const pb = make(idB, idA, ['203.0.113.1:40000'], 2);
    expect(pa.state(0)).toBe('waiting');
    expect(pa.poll(0)).toEqual({ sends: [], nextAt: 100 });
    const { sends } = pa.poll(100);
    expect(sends.map((s) => s.addr)).toEqual(['203.0.113.2:50000']);
    const atB = pb.onPacket(sends[0]!.bytes, '203.0.113.1:40000', 110);
    expect(atB).toMatchObject({ kind: 'answered', learned: false, succeeded: null });
    if (atB.kind !== 'answered') throw new Error('unreachable');
    const atA = pa.onPacket(atB.replies[0]!.bytes, '203.0.113.2:50000', 120);
    if (atA.kind !== 'answered') throw new Error('unreachable');
    expect(atA.succeeded).toMatchObject({ addr: '203.0.113.2:50000', origin: 'announced', role: 'dial' });
    const confirm = pb.onPacket(atA.replies[0]!.bytes, '203.0.113.1:40000', 130);
    if (confirm.kind !== 'answered') throw new Error('unreachable');
    expect(confirm.succeeded).toMatchObject({ addr: '203.0.113.1:40000', role: 'accept' });
    expect(confirm.replies).toHaveLength(1);
    // the last confirm ends it: no further ack from A
    const end = pa.onPacket(confirm.replies[0]!.bytes, '203.0.113.2:50000', 140);
    expect(end).toMatchObject({ kind: 'answered', replies: [], succeeded: null });
    expect(pa.poll(200)).toEqual({ sends: [], nextAt: null });
    expect(pa.state(5000)).toBe('succeeded');
  });

  it('learns a peer-reflexive source and answers there', () => {
    const pa = make(idA, idB, ['203.0.113.2:50000'], 1);
    const pb = make(idB, idA, ['203.0.113.1:40000'], 2);
    const punch = pb.poll(100).sends[0]!.bytes;
    const out = pa.onPacket(punch, '203.0.113.2:61234', 105);
    expect(out).toMatchObject({ kind: 'answered', learned: true });
    if (out.kind !== 'answered') throw new Error('unreachable');
    expect(out.replies[0]!.addr).toBe('203.0.113.2:61234');
    expect(pa.candidateAddrs().map((c) => c.origin)).toEqual(['announced', 'peer-reflexive']);
    expect(pa.poll(100).sends.map((s) => s.addr)).toEqual(['203.0.113.2:50000', '203.0.113.2:61234']);
    const noLearn = make(idA, idB, ['203.0.113.2:50000'], 1, false);
    expect(noLearn.onPacket(punch, '203.0.113.2:61234', 105)).toEqual({ kind: 'ignored', reason: 'unknown source address' });
  });

  it('ignores strangers and garbage; fails after the duration', () => {
    const pa = make(idA, idB, ['203.0.113.2:50000'], 1);
    const stranger = encodePunch({ ack: false, nonce: new Uint8Array(8), echo: new Uint8Array(8), sender: idA });
    expect(pa.onPacket(stranger, '203.0.113.2:50000', 0)).toEqual({ kind: 'ignored', reason: 'not from the peer' });
    expect(pa.onPacket(Uint8Array.of(1, 2, 3), '203.0.113.2:50000', 0).kind).toBe('ignored');
    let now = 0;
    for (let i = 0; i < 500; i++) {
      const { nextAt } = pa.poll(now);
      if (nextAt === null) break;
      now = nextAt;
    }
    expect(pa.state(now)).toBe('failed');
    expect(now).toBe(2100);
    expect(pa.packetsSent).toBeGreaterThanOrEqual(40);
    expect(() => make(idA, idB, ['bad'], 1)).toThrow(ConfigError);
  });

  it('caps learned sources', () => {
    const pa = new Puncher({ localId: idA, peerId: idB, candidates: [], startAt: 0, rng: new SeededRng(1), maxLearned: 2 });
    const punch = encodePunch({ ack: false, nonce: new Uint8Array(8), echo: new Uint8Array(8), sender: idB });
    expect(pa.onPacket(punch, '1.1.1.1:1', 0).kind).toBe('answered');
    expect(pa.onPacket(punch, '1.1.1.1:2', 0).kind).toBe('answered');
    expect(pa.onPacket(punch, '1.1.1.1:3', 0)).toEqual({ kind: 'ignored', reason: 'too many sources' });
  });
});

// --- punching through modelled NATs ---------------------------------------------------------

type Preset = NatPresetName | 'none';
const PRESETS: Preset[] = ['none', 'full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric'];
const RENDEZVOUS = '198.51.100.1:3478';
const ONE_WAY_MS = 10;

interface SimHost {
  id: Uint8Array;
  inside: string;
  nat: NatBox | null;
  puncher?: Puncher;
}

/** Rendezvous + punch between two hosts behind `pa` and `pb`, in virtual time. */
function simulatePunch(pa: Preset, pb: Preset, seed: number, learn = true): [PunchResult | null, PunchResult | null] {
  const rng = new SeededRng(seed);
  const mkHost = (id: Uint8Array, preset: Preset, n: number): SimHost => ({
    id,
    inside: preset === 'none' ? `203.0.113.${n}:4433` : `192.168.${n}.10:4433`,
    nat:
      preset === 'none'
        ? null
        : new NatBox(`203.0.113.${n}`, NAT_PRESETS[preset], preset === 'symmetric' ? { rng: rng.fork() } : { firstPort: 40000 + n }),
  });
  const hosts = [mkHost(idA, pa, 1), mkHost(idB, pb, 2)];
  const events: { at: number; seq: number; fn: () => void }[] = [];
  let seq = 0;
  const schedule = (at: number, fn: () => void): void => {
    events.push({ at, seq: seq++, fn });
  };
  const send = (h: SimHost, dst: string, bytes: Uint8Array, now: number): string => {
    const src = h.nat ? h.nat.outbound(h.inside, dst) : h.inside;
    schedule(now + ONE_WAY_MS, () => deliver(dst, src, bytes, now + ONE_WAY_MS));
    return src;
  };
  const deliver = (dst: string, src: string, bytes: Uint8Array, now: number): void => {
    const dstHost = splitAddr(dst).host;
    for (const h of hosts) {
      const pub = h.nat ? h.nat.publicHost : splitAddr(h.inside).host;
      if (pub !== dstHost) continue;
      const inside = h.nat ? h.nat.inbound(src, dst) : dst;
      if (inside !== h.inside || h.puncher === undefined) return;
      const out = h.puncher.onPacket(bytes, src, now);
      if (out.kind === 'answered') for (const r of out.replies) send(h, r.addr, r.bytes, now);
    }
  };
  const poll = (h: SimHost, now: number): void => {
    const { sends, nextAt } = h.puncher!.poll(now);
    for (const s of sends) send(h, s.addr, s.bytes, now);
    if (nextAt !== null) schedule(nextAt, () => poll(h, nextAt));
  };

  // 1. each registers with the rendezvous, which sees its reflexive address
  const coord = new HolePunchCoordinator({ startDelayMs: 50 });
  const parties = hosts.map((h) => party(h.id, send(h, RENDEZVOUS, new Uint8Array(0), 0), 2 * ONE_WAY_MS));
  events.length = 0; // the registrations themselves are not punches
  const reg = (i: number, now: number) =>
    coord.register(parties[i]!, { type: 'HolePunchRegister', from: parties[i]!.contact, target: hosts[1 - i]!.id, addrs: [hosts[i]!.inside] }, now);
  reg(0, ONE_WAY_MS);
  const { reply, effects } = reg(1, ONE_WAY_MS);
  // 2. the Ready messages arrive one way later; each side starts after its delay
  const readies: [HolePunchReady, HolePunchReady] = [effects[0]!.msg as HolePunchReady, reply as HolePunchReady];
  hosts.forEach((h, i) => {
    const ready = readies[i]!;
    const startAt = 2 * ONE_WAY_MS + ready.delayMs;
    h.puncher = new Puncher({
      localId: h.id,
      peerId: hosts[1 - i]!.id,
      candidates: ready.peerAddrs,
      startAt,
      rng: rng.fork(),
      learnPeerReflexive: learn,
    });
    schedule(startAt, () => poll(h, startAt));
  });
  // 3. run to quiescence
  while (events.length > 0) {
    events.sort((x, y) => x.at - y.at || x.seq - y.seq);
    events.shift()!.fn();
  }
  return [hosts[0]!.puncher!.result, hosts[1]!.puncher!.result];
}

describe('hole punching through NAT presets (LAB-FACTS matrix)', () => {
  const fails = (a: Preset, b: Preset): boolean =>
    (a === 'symmetric' && (b === 'symmetric' || b === 'port-restricted-cone')) ||
    (b === 'symmetric' && a === 'port-restricted-cone');

  for (const a of PRESETS) {
    for (const b of PRESETS) {
      const expected = !fails(a, b);
      it(`${a} × ${b}: ${expected ? 'punches' : 'needs a relay'}`, () => {
        const [ra, rb] = simulatePunch(a, b, 11);
        expect(ra !== null && rb !== null).toBe(expected);
        if (ra && rb) {
          expect(new Set([ra.role, rb.role])).toEqual(new Set(['dial', 'accept']));
          // a symmetric peer is reached at a learned, peer-reflexive address
          if (b === 'symmetric') expect(ra.origin).toBe('peer-reflexive');
        }
      });
    }
  }

  it('without peer-reflexive learning, every pair with a symmetric NAT fails', () => {
    for (const a of PRESETS) {
      const [ra, rb] = simulatePunch(a, 'symmetric', 5, false);
      expect(ra === null || rb === null).toBe(true);
    }
    const [ra, rb] = simulatePunch('port-restricted-cone', 'restricted-cone', 5, false);
    expect(ra !== null && rb !== null).toBe(true);
  });
});
