import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import {
  candidatePriority,
  gatherCandidates,
  IceAgent,
  pairPriority,
  type IceCandidate,
  type IceEffect,
  type IceRole,
} from '../../src/nat/ice.js';

describe('ICE priorities', () => {
  it('candidate priority follows RFC 8445', () => {
    expect(candidatePriority('host')).toBe(2130706431); // 126·2^24 + 65535·2^8 + 255
    expect(candidatePriority('server-reflexive', 65535, 1)).toBe(100 * 2 ** 24 + 65535 * 256 + 255);
    expect(candidatePriority('peer-reflexive', 0, 2)).toBe(110 * 2 ** 24 + 254);
    expect(candidatePriority('relay', 65535)).toBe(65535 * 256 + 255);
    expect(() => candidatePriority('host', 70000)).toThrow(ConfigError);
    expect(() => candidatePriority('host', 1, 0)).toThrow(ConfigError);
  });

  it('pair priority is the same on both sides and favours the controlling side on ties', () => {
    const g = candidatePriority('host');
    const d = candidatePriority('server-reflexive');
    expect(pairPriority(g, d)).toBe((BigInt(d) << 32n) + 2n * BigInt(g) + 1n);
    expect(pairPriority(d, g)).toBe((BigInt(d) << 32n) + 2n * BigInt(g));
    expect(pairPriority(g, g)).toBe((BigInt(g) << 32n) + 2n * BigInt(g));
  });

  it('gathers host, reflexive and relay candidates, best first, without redundant ones', () => {
    const cands = gatherCandidates({
      hostAddrs: ['192.168.1.2:4433', '10.8.0.2:4433'],
      reflexive: [
        { addr: '203.0.113.1:40000', base: '192.168.1.2:4433', server: '198.51.100.1:3478' },
        { addr: '192.168.1.2:4433', base: '192.168.1.2:4433' }, // no NAT: same as host
      ],
      relays: [{ addr: '198.51.100.9:4433', relayId: new Uint8Array(32).fill(9) }],
    });
    expect(cands.map((c) => [c.type, c.addr])).toEqual([
      ['host', '192.168.1.2:4433'],
      ['host', '10.8.0.2:4433'],
      ['server-reflexive', '203.0.113.1:40000'],
      ['relay', '198.51.100.9:4433'],
    ]);
    expect(cands[2]!.base).toBe('192.168.1.2:4433');
    expect(new Set(cands.map((c) => c.foundation)).size).toBe(4);
  });
});

// --- two agents over a modelled network ------------------------------------------------------

interface Side {
  agent: IceAgent;
  /** base → how the other side sees packets from it */
  publicOf: (base: string) => string;
  /** Addresses at which this side receives, mapped to the base that receives them. */
  receivesAt: Map<string, string>;
}

/** Deliver checks when `reachable(fromPublic, to)`; responses always return. Runs to completion. */
function run(a: Side, b: Side, reachable: (from: string, to: string) => boolean, limitMs = 20_000): IceEffect[][] {
  const log: IceEffect[][] = [[], []];
  const sides = [a, b];
  const queue: { at: number; seq: number; fn: () => void }[] = [];
  let seq = 0;
  const at = (t: number, fn: () => void): void => {
    queue.push({ at: t, seq: seq++, fn });
  };
  const handle = (i: number, effects: IceEffect[], now: number): void => {
    const me = sides[i]!;
    const other = sides[1 - i]!;
    log[i]!.push(...effects);
    for (const e of effects) {
      if (e.kind === 'check') {
        const seenFrom = me.publicOf(e.from);
        const base = other.receivesAt.get(e.to);
        if (base === undefined || !reachable(seenFrom, e.to)) continue;
        at(now + 5, () => handle(1 - i, other.agent.onRequest(seenFrom, base, e), now + 5));
      } else if (e.kind === 'respond') {
        at(now + 5, () => handle(1 - i, other.agent.onResponse(e.txId, e.mappedAddr, now + 5), now + 5));
      }
    }
    const next = me.agent.nextAt();
    if (next !== undefined) at(Math.max(next, now), () => handle(i, me.agent.poll(Math.max(next, now)), Math.max(next, now)));
  };
  handle(0, a.agent.poll(0), 0);
  handle(1, b.agent.poll(0), 0);
  while (queue.length > 0) {
    queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
    const ev = queue.shift()!;
    if (ev.at > limitMs) break;
    ev.fn();
  }
  return log;
}

const A_HOST = '192.168.1.2:4433';
const A_PUB = '203.0.113.1:40000';
const B_HOST = '10.0.0.2:4433';
const B_PUB = '198.51.100.2:5000';

function side(role: IceRole, host: string, pub: string, remote: IceCandidate[], seed: number): Side {
  const local = gatherCandidates({ hostAddrs: [host], reflexive: [{ addr: pub, base: host }] });
  return {
    agent: new IceAgent({ role, local, remote, rng: new SeededRng(seed) }),
    publicOf: () => pub,
    receivesAt: new Map([
      [host, host],
      [pub, host],
    ]),
  };
}

describe('IceAgent', () => {
  const aCands = gatherCandidates({ hostAddrs: [A_HOST], reflexive: [{ addr: A_PUB, base: A_HOST }] });
  const bCands = gatherCandidates({ hostAddrs: [B_HOST], reflexive: [{ addr: B_PUB, base: B_HOST }] });

  it('finds and nominates the working pair on both sides', () => {
    const a = side('controlling', A_HOST, A_PUB, bCands, 1);
    const b = side('controlled', B_HOST, B_PUB, aCands, 2);
    // only public addresses are reachable across the internet
    const log = run(a, b, (_from, to) => to === A_PUB || to === B_PUB);
    expect(a.agent.state).toBe('completed');
    expect(b.agent.state).toBe('completed');
    expect(a.agent.selectedPair).toMatchObject({ nominated: true, remote: { addr: B_PUB }, mappedAddr: A_PUB });
    expect(b.agent.selectedPair!.remote.addr).toBe(A_PUB);
    expect(log[0]!.filter((e) => e.kind === 'selected')).toHaveLength(1);
    expect(log[0]!.some((e) => e.kind === 'check' && e.useCandidate)).toBe(true);
  });

  it('prefers the higher-priority pair when several work', () => {
    const a = side('controlling', A_HOST, A_PUB, bCands, 3);
    const b = side('controlled', B_HOST, B_PUB, aCands, 4);
    run(a, b, () => true); // same LAN: host addresses work too
    expect(a.agent.selectedPair!.remote.type).toBe('host');
    // the model shows every packet from A as coming from A_PUB: B selects that (peer-reflexive or srflx) remote
    expect(b.agent.selectedPair!.remote.addr).toBe(A_PUB);
    expect(b.agent.selectedPair!.local.base).toBe(B_HOST);
  });

  it('reports failure when nothing is reachable', () => {
    const a = side('controlling', A_HOST, A_PUB, bCands, 5);
    const b = side('controlled', B_HOST, B_PUB, aCands, 6);
    const log = run(a, b, () => false);
    expect(a.agent.state).toBe('failed');
    expect(log[0]!.filter((e) => e.kind === 'failed')).toHaveLength(1);
    expect(a.agent.checklist().every((p) => p.state === 'Failed')).toBe(true);
    // each pair: one check + 3 retransmissions
    expect(log[0]!.filter((e) => e.kind === 'check')).toHaveLength(a.agent.checklist().length * 4);
  });

  it('paces new checks one per Ta, best pair first, frozen until its foundation is unfrozen', () => {
    const local = gatherCandidates({ hostAddrs: [A_HOST] });
    const agent = new IceAgent({ role: 'controlling', local, remote: bCands, rng: new SeededRng(1), taMs: 50 });
    const list = agent.checklist();
    expect(list.map((p) => p.state)).toEqual(['Waiting', 'Waiting']); // two remote foundations
    const first = agent.poll(0);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ kind: 'check', to: B_HOST, from: A_HOST, useCandidate: false });
    expect(agent.poll(10)).toEqual([]);
    expect(agent.nextAt()).toBe(50);
    expect(agent.poll(50)).toMatchObject([{ kind: 'check', to: B_PUB }]);
  });

  it('firstBurst: the first round checks every candidate at once, then pacing resumes', () => {
    const local = gatherCandidates({ hostAddrs: [A_HOST] });
    const remote = gatherCandidates({ hostAddrs: [B_HOST, '10.9.0.2:4433'], reflexive: [{ addr: B_PUB, base: B_HOST }] });
    const agent = new IceAgent({ role: 'controlling', local, remote, rng: new SeededRng(1), taMs: 50, firstBurst: 8 });
    const first = agent.poll(0);
    expect(first.map((e) => (e.kind === 'check' ? e.to : e.kind))).toEqual([B_HOST, '10.9.0.2:4433', B_PUB]);
    expect(agent.poll(10)).toEqual([]);
    // a peer-reflexive candidate learned later is paced as usual
    agent.onRequest('203.0.113.7:1000', A_HOST, { txId: 't', priority: 1, useCandidate: false });
    expect(agent.nextAt()).toBe(50);
    expect(() => new IceAgent({ role: 'controlling', local, rng: new SeededRng(1), firstBurst: 0 })).toThrow(ConfigError);
  });

  it('unpacedTriggered: the answer to a peer\'s check goes out at once, not after Ta', () => {
    const local = gatherCandidates({ hostAddrs: [A_HOST] });
    const agent = new IceAgent({ role: 'controlling', local, remote: bCands, rng: new SeededRng(1), taMs: 50, unpacedTriggered: true });
    expect(agent.poll(0)).toHaveLength(1);
    agent.onRequest('203.0.113.7:1000', A_HOST, { txId: 't', priority: 1, useCandidate: false });
    expect(agent.nextAt()).toBeLessThanOrEqual(1);
    expect(agent.poll(1)).toMatchObject([{ kind: 'check', to: '203.0.113.7:1000' }]);
    // the paced round is not moved by it
    expect(agent.poll(2)).toEqual([]);
    expect(agent.poll(50)).toMatchObject([{ kind: 'check', to: B_PUB }]);
  });

  it('learns a peer-reflexive remote from an incoming check and answers it', () => {
    const local = gatherCandidates({ hostAddrs: [B_HOST] });
    const agent = new IceAgent({ role: 'controlled', local, rng: new SeededRng(1) });
    const out = agent.onRequest('203.0.113.1:61000', B_HOST, { txId: 't1', priority: candidatePriority('peer-reflexive'), useCandidate: false });
    expect(out).toEqual([{ kind: 'respond', txId: 't1', from: B_HOST, to: '203.0.113.1:61000', mappedAddr: '203.0.113.1:61000' }]);
    const pair = agent.checklist()[0]!;
    expect(pair.remote.type).toBe('peer-reflexive');
    expect(pair.state).toBe('Waiting');
    // the triggered check goes first
    expect(agent.poll(0)).toMatchObject([{ kind: 'check', to: '203.0.113.1:61000' }]);
  });

  it('a controlled agent selects on USE-CANDIDATE once its own check succeeded', () => {
    const local = gatherCandidates({ hostAddrs: [B_HOST] });
    const remote = gatherCandidates({ hostAddrs: [A_PUB] });
    const agent = new IceAgent({ role: 'controlled', local, remote, rng: new SeededRng(2) });
    const [check] = agent.poll(0);
    if (check?.kind !== 'check') throw new Error('expected a check');
    expect(agent.onResponse(check.txId, B_HOST, 5)).toEqual([]);
    const out = agent.onRequest(A_PUB, B_HOST, { txId: 'n', priority: 1, useCandidate: true });
    expect(out.map((e) => e.kind)).toEqual(['respond', 'selected']);
    expect(agent.state).toBe('completed');
    expect(agent.poll(1000)).toEqual([]);
  });

  it('refuses bad options', () => {
    expect(() => new IceAgent({ role: 'controlling', local: [], rng: new SeededRng(1), taMs: 0 })).toThrow(ConfigError);
  });
});
