/**
 * What the punch driver tells the connector for path labels (src/traversal/path-label.ts): when each
 * ICE check arrives and from whom (`onCheck`), and whether the peer answered the pre-check sent beside a
 * plain dial (`precheck`) — which it does only when its NAT let that check in unsolicited.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { MAX_PRECHECKS, PRECHECK_TTL_MS, PunchDriver } from '../../src/traversal/punch-driver.js';
import type { TraversalNode } from '../../src/traversal/host.js';
import type { RawDatagrams } from '../../src/transport/capabilities.js';
import type { HolePunchReady } from '../../src/wire/messages.js';
import { settle } from '../support/virtual-time.js';

const A = '203.0.113.1:4433';
const B = '203.0.113.2:4433';
const ONE_WAY_MS = 10;

/**
 * Two nodes on one wire, 10 ms apart. B sits behind a NAT that is either open (full cone: admits
 * anything) or filtering (admits A only once B sent something to A). `delayToB` holds back what
 * A sends, to model a late answer.
 */
function wire(clock: ManualClock, bFilters: boolean) {
  const handlers = new Map<string, (data: Uint8Array, from: { host: string; port: number }) => void>();
  let bSentToA = false;
  let extraToB = 0;
  const sent: { from: string; to: string }[] = [];
  const split = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });
  const raw = (self: string): RawDatagrams => ({
    sendRawDatagram: (bytes, host, port) => {
      const to = `${host}:${port}`;
      sent.push({ from: self, to });
      if (self === B && to === A) bSentToA = true;
      if (to === B && bFilters && !bSentToA) return; // dropped at B's NAT
      const copy = Uint8Array.from(bytes);
      clock.setTimer(ONE_WAY_MS + (to === B ? extraToB : 0), () => handlers.get(to)?.(copy, split(self)));
    },
    onRawDatagram: (listener) => {
      handlers.set(self, listener);
      return () => handlers.delete(self);
    },
  });
  return { raw, sent, delayToB: (ms: number) => (extraToB = ms) };
}

function fakeNode(id: number, addr: string, clock: ManualClock): TraversalNode {
  const components: Components = { clock, rng: new SeededRng(id), logger: silentLogger, metrics: noopMetrics };
  const nodeId = new Uint8Array(32).fill(id);
  return { nodeId, contact: { id: nodeId, addr }, components, onNotify: () => {} } as unknown as TraversalNode;
}

function pair(bFilters: boolean) {
  const clock = new ManualClock(0);
  const w = wire(clock, bFilters);
  const nodeA = fakeNode(1, A, clock);
  const nodeB = fakeNode(2, B, clock);
  const a = new PunchDriver(nodeA, { raw: w.raw(A), isRendezvous: () => true, localCandidates: () => ({ host: A, reflexive: null }) });
  const b = new PunchDriver(nodeB, { raw: w.raw(B), isRendezvous: () => true, localCandidates: () => ({ host: B, reflexive: null }) });
  const wait = (ms: number) => settle(clock, new Promise<void>((resolve) => clock.setTimer(ms, resolve)));
  return { clock, w, nodeA, nodeB, a, b, wait };
}

describe('pre-checks beside a plain dial', () => {
  it('a peer whose NAT admits us unsolicited answers it: one round trip after it left', async () => {
    const { a, b, wait } = pair(false);
    const answers: number[] = [];
    a.precheck(B, (at) => answers.push(at));
    await wait(100);
    expect(answers).toEqual([2 * ONE_WAY_MS]);
    // the peer kept it as an early check: a punch it starts now learns where it came from
    expect(b.status().earlyChecks).toBe(1);
    a.stop();
    b.stop();
  });

  it('a filtering NAT drops it: no answer, also not once the peer punched toward us later', async () => {
    const { a, b, nodeA, wait } = pair(true);
    const answers: number[] = [];
    a.precheck(B, (at) => answers.push(at));
    await wait(15);
    const ready: HolePunchReady = { type: 'HolePunchReady', peer: nodeA.contact, peerAddrs: [A], delayMs: 0 };
    b.punch(ready, 'controlled').catch(() => {});
    await wait(200);
    expect(answers).toEqual([]);
    a.stop();
    b.stop();
  });

  it('an answer later than PRECHECK_TTL_MS says nothing of the dial and is dropped', async () => {
    const { a, b, w, wait } = pair(false);
    w.delayToB(PRECHECK_TTL_MS);
    const answers: number[] = [];
    a.precheck(B, (at) => answers.push(at));
    await wait(PRECHECK_TTL_MS + 100);
    expect(answers).toEqual([]);
    a.stop();
    b.stop();
  });

  it('at most MAX_PRECHECKS wait for an answer at once; expired ones make room', async () => {
    const { a, b, w, wait } = pair(true); // every pre-check dropped
    for (let i = 0; i < MAX_PRECHECKS + 10; i++) a.precheck(B, () => {});
    expect(w.sent.filter((s) => s.from === A)).toHaveLength(MAX_PRECHECKS);
    await wait(PRECHECK_TTL_MS);
    a.precheck(B, () => {});
    expect(w.sent.filter((s) => s.from === A)).toHaveLength(MAX_PRECHECKS + 1);
    a.stop();
    b.stop();
  });
});

describe('checks heard', () => {
  it('reports every check with the peer it names and its arrival time, with or without an attempt of ours', async () => {
    const { a, b, nodeA, nodeB, wait } = pair(false);
    const heard: { peer: number; at: number }[] = [];
    const stop = a.onCheck((peer, at) => heard.push({ peer: peer[0]!, at }));
    await wait(5);
    const ready: HolePunchReady = { type: 'HolePunchReady', peer: nodeA.contact, peerAddrs: [A], delayMs: 0 };
    b.punch(ready, 'controlled').catch(() => {});
    await wait(100);
    expect(heard.length).toBeGreaterThan(0);
    expect(heard[0]).toEqual({ peer: nodeB.nodeId[0], at: 5 + ONE_WAY_MS });
    stop();
    const before = heard.length;
    b.punch(ready, 'controlled').catch(() => {});
    await wait(100);
    expect(heard).toHaveLength(before);
    a.stop();
    b.stop();
  });
});
