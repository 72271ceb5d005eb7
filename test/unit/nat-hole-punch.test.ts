import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { splitAddr } from '../../src/nat/addr.js';
import { candidateList, delays, HolePunchCoordinator, PUNCH_FAILURE, type PunchParty } from '../../src/nat/hole-punch.js';
import { natBoxFor, type NatBox } from '../../src/nat/nat-model.js';
import { expectedPath, NAT_PRESETS, natPresetBehaviour, type NatPresetName } from '../../src/nat/nat-presets.js';
import { gatherCandidates, IceAgent, type CandidatePair, type IceEffect } from '../../src/nat/ice.js';
import { classifyRaw, encodeNatTestReply, parseNatTestReply } from '../../src/nat/raw-packets.js';
import { remoteCandidates } from '../../src/traversal/punch-driver.js';
import { encodeMessage } from '../../src/wire/codec.js';
import type { HolePunchReady } from '../../src/wire/messages.js';

const idA = new Uint8Array(32).fill(0x11);
const idB = new Uint8Array(32).fill(0x22);
const party = (id: Uint8Array, observedAddr: string, rttMs?: number): PunchParty => ({
  contact: { id, addr: observedAddr } as Contact,
  observedAddr,
  rttMs,
});

describe('raw packet formats', () => {
  it('ICE checks and their replies travel as encoded messages, never taken for QUIC', () => {
    const check = encodeMessage({
      type: 'IceCheck',
      from: { id: idA, addr: '203.0.113.1:4433' },
      txId: new Uint8Array(12).fill(7),
      priority: 1,
      useCandidate: false,
      controlling: true,
    });
    const reply = encodeMessage({ type: 'PathReply', nonce: new Uint8Array(12).fill(7), observedAddr: '203.0.113.1:4433' });
    for (const b of [check, reply]) {
      expect(b[0]! & 0x40).toBe(0); // QUIC's fixed bit clear
      expect(classifyRaw(b)).toBe('message');
    }
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
    expect(out.effects[0]!.msg).not.toHaveProperty('initial');
  });

  it("HolePunchStart's forwarded Initial goes to the target only", () => {
    const c = new HolePunchCoordinator({ startDelayMs: 0 });
    c.peerSeen(b);
    const initial = new Uint8Array(1_200).fill(7);
    const out = c.start(a, { type: 'HolePunchStart', from: a.contact, target: idB, addrs: [], initial });
    expect(out.reply).not.toHaveProperty('initial');
    expect(out.effects).toHaveLength(1);
    expect(out.effects[0]!.to).toEqual(b.contact);
    expect(out.effects[0]!.msg).toEqual({ type: 'HolePunchReady', peer: a.contact, peerAddrs: ['203.0.113.1:40000'], delayMs: 0, initial });
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

describe('ICE candidates from a HolePunchReady', () => {
  it('private-range addresses are host candidates, the others server-reflexive, in the given order of preference', () => {
    const c = remoteCandidates(['203.0.113.7:40001', '10.0.0.2:4433', '203.0.113.7:40001', '100.64.0.9:1']);
    expect(c.map((x) => [x.addr, x.type])).toEqual([
      ['203.0.113.7:40001', 'server-reflexive'],
      ['10.0.0.2:4433', 'host'],
      ['100.64.0.9:1', 'host'],
    ]);
    expect(c[1]!.priority).toBeGreaterThan(c[0]!.priority); // host outranks reflexive (RFC 8445)
  });
});

// --- punching through modelled NATs ---------------------------------------------------------

const RENDEZVOUS = '198.51.100.1:3478';
const ONE_WAY_MS = 10;

interface SimHost {
  id: Uint8Array;
  inside: string;
  nat: NatBox | null;
  agent?: IceAgent;
}

/**
 * Rendezvous + ICE checks between two hosts behind `pa` and `pb`, in virtual time, as the punch
 * driver runs them (A controlling, B controlled; 5 ms pacing, 20 ms first retransmission).
 */
function simulatePunch(pa: NatPresetName, pb: NatPresetName, seed: number): [CandidatePair | null, CandidatePair | null] {
  const rng = new SeededRng(seed);
  const mkHost = (id: Uint8Array, preset: NatPresetName, n: number): SimHost => {
    // port-dependent mappings draw random ports (masquerade random), the others count up
    const random = natPresetBehaviour(preset)?.mapping === 'address-and-port-dependent';
    const nat = natBoxFor(preset, `203.0.113.${n}`, random ? { rng: rng.fork() } : { firstPort: 40000 + n });
    return { id, inside: nat === null ? `203.0.113.${n}:4433` : `192.168.${n}.10:4433`, nat };
  };
  const hosts = [mkHost(idA, pa, 1), mkHost(idB, pb, 2)];
  const events: { at: number; seq: number; fn: () => void }[] = [];
  let seq = 0;
  const schedule = (at: number, fn: () => void): void => {
    events.push({ at, seq: seq++, fn });
  };
  type Packet = { kind: 'check'; txId: string; priority: number; useCandidate: boolean } | { kind: 'reply'; txId: string; mapped: string };
  const send = (h: SimHost, dst: string, pkt: Packet | null, now: number): string => {
    const src = h.nat ? h.nat.outbound(h.inside, dst) : h.inside;
    if (pkt) schedule(now + ONE_WAY_MS, () => deliver(dst, src, pkt, now + ONE_WAY_MS));
    return src;
  };
  const run = (h: SimHost, effects: IceEffect[], now: number): void => {
    for (const e of effects) {
      if (e.kind === 'check') send(h, e.to, { kind: 'check', txId: e.txId, priority: e.priority, useCandidate: e.useCandidate }, now);
      else if (e.kind === 'respond') send(h, e.to, { kind: 'reply', txId: e.txId, mapped: e.mappedAddr }, now);
    }
  };
  const poll = (h: SimHost, now: number): void => {
    run(h, h.agent!.poll(now), now);
    const next = h.agent!.nextAt();
    if (next !== undefined) schedule(Math.max(next, now + 1), () => poll(h, Math.max(next, now + 1)));
  };
  const deliver = (dst: string, src: string, pkt: Packet, now: number): void => {
    const dstHost = splitAddr(dst).host;
    for (const h of hosts) {
      const pub = h.nat ? h.nat.publicHost : splitAddr(h.inside).host;
      if (pub !== dstHost) continue;
      const inside = h.nat ? h.nat.inbound(src, dst) : dst;
      if (inside !== h.inside || h.agent === undefined) return;
      if (pkt.kind === 'check') run(h, h.agent.onRequest(src, h.inside, { txId: pkt.txId, priority: pkt.priority, useCandidate: pkt.useCandidate }), now);
      else run(h, h.agent.onResponse(pkt.txId, pkt.mapped, now), now);
      poll(h, now); // a triggered check or a nomination is due now
    }
  };

  // 1. each tells the rendezvous about itself; the rendezvous sees its reflexive address
  const coord = new HolePunchCoordinator();
  const parties = hosts.map((h) => party(h.id, send(h, RENDEZVOUS, null, 0), 2 * ONE_WAY_MS));
  coord.peerSeen(parties[1]!);
  // 2. A asks the rendezvous to start; both get a HolePunchReady one way later
  const { reply, effects } = coord.start(parties[0]!, { type: 'HolePunchStart', from: parties[0]!.contact, target: idB, addrs: [hosts[0]!.inside] });
  const readies: [HolePunchReady, HolePunchReady] = [reply as HolePunchReady, effects[0]!.msg as HolePunchReady];
  hosts.forEach((h, i) => {
    const ready = readies[i]!;
    const startAt = 2 * ONE_WAY_MS + ready.delayMs;
    h.agent = new IceAgent({
      role: i === 0 ? 'controlling' : 'controlled',
      local: gatherCandidates({ hostAddrs: [h.inside] }),
      remote: remoteCandidates(ready.peerAddrs),
      rng: rng.fork(),
      taMs: 5,
      rtoMs: 20,
      maxRetransmits: 7,
      nominationWaitMs: 0,
    });
    schedule(startAt, () => poll(h, startAt));
  });
  // 3. run to quiescence
  while (events.length > 0) {
    events.sort((x, y) => x.at - y.at || x.seq - y.seq);
    events.shift()!.fn();
  }
  return [hosts[0]!.agent!.selectedPair, hosts[1]!.agent!.selectedPair];
}

describe('hole punching through every pair of NAT presets (the expected matrix, LAB-FACTS)', () => {
  for (const a of NAT_PRESETS) {
    for (const b of NAT_PRESETS) {
      const path = expectedPath(natPresetBehaviour(a), natPresetBehaviour(b));
      it(`${a} × ${b}: ${path === 'relayed' ? 'needs a relay' : 'punches'}`, () => {
        const [ra, rb] = simulatePunch(a, b, 11);
        expect(ra !== null && rb !== null).toBe(path !== 'relayed');
        // a filtering peer whose mapping depends on the destination is reached at a learned, peer-reflexive address
        const nb = natPresetBehaviour(b);
        if (ra && rb && nb !== null && nb.mapping !== 'endpoint-independent' && nb.filtering !== 'endpoint-independent') {
          expect(ra.remote.type).toBe('peer-reflexive');
        }
      });
    }
  }
});
