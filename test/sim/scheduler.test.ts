import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { LineLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { SimScheduler, SimStalledError } from '../../src/sim/scheduler.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import { seededKeypairs } from '../support/virtual-time.js';

describe('SimScheduler', () => {
  it('lets promise continuations run before time moves on', async () => {
    const s = new SimScheduler();
    const sleep = (ms: number): Promise<void> => new Promise((r) => s.clock.setTimer(ms, r));
    const seen: string[] = [];
    async function worker(name: string, delays: number[]): Promise<void> {
      for (const d of delays) {
        await sleep(d);
        await Promise.resolve();
        await Promise.resolve();
        // The continuation of a timer fired at t must observe t, not a later instant.
        seen.push(`${name}@${s.now()}`);
      }
    }
    const done = Promise.all([worker('a', [10, 10, 10]), worker('b', [15, 1, 30])]);
    await s.run(done, 1000);
    expect(seen).toEqual(['a@10', 'b@15', 'b@16', 'a@20', 'a@30', 'b@46']);
    expect(s.stats().events).toBe(6);
  });

  it('fires same-instant timers in one batch, in insertion order', async () => {
    const s = new SimScheduler();
    const order: number[] = [];
    for (let i = 0; i < 5; i++) s.clock.setTimer(7, () => order.push(i));
    s.clock.setTimer(7, () => s.clock.setTimer(0, () => order.push(99)));
    expect(await s.runUntil(() => order.length === 6, 100)).toBe('done');
    expect(order).toEqual([0, 1, 2, 3, 4, 99]);
    expect(s.stats()).toEqual({ events: 7, batches: 1 });
  });

  it('reports deadline and idle, and run() turns them into SimStalledError', async () => {
    const s = new SimScheduler();
    s.clock.setTimer(500, () => undefined);
    expect(await s.runUntil(() => false, 100)).toBe('deadline');
    expect(s.now()).toBe(100);
    expect(await s.runUntil(() => false, 1000)).toBe('idle');
    expect(s.now()).toBe(500);
    const never = new Promise<void>(() => undefined);
    await expect(s.run(never, 50)).rejects.toBeInstanceOf(SimStalledError);
    await expect(s.run(never, 50)).rejects.toMatchObject({ outcome: 'idle' });
  });

  it('returns the value of the awaited promise and propagates its rejection', async () => {
    const s = new SimScheduler();
    const later = <T>(ms: number, v: T): Promise<T> => new Promise((r) => s.clock.setTimer(ms, () => r(v)));
    expect(await s.run(later(25, 'ok'), 100)).toBe('ok');
    const failing = later(5, 0).then(() => {
      throw new Error('boom');
    });
    await expect(s.run(failing, 100)).rejects.toThrow('boom');
  });

  it('runFor advances the clock even with nothing scheduled', async () => {
    const s = new SimScheduler();
    const fired: number[] = [];
    s.clock.setTimer(30, () => fired.push(s.now()));
    await s.runFor(100);
    expect(fired).toEqual([30]);
    expect(s.now()).toBe(100);
  });
});

describe('logs in the simulator', () => {
  it('carry virtual time: a LineLogger reads the clock the nodes are given', async () => {
    const s = new SimScheduler(new ManualClock(Date.UTC(2030, 0, 1)));
    const lines: string[] = [];
    const logger = new LineLogger({ level: 'warn', write: (l) => lines.push(l), clock: s.clock });
    const net = new MemoryNetwork({ clock: s.clock, rng: new SeededRng(1), latencyMs: () => 40 });
    const keys = seededKeypairs(70);
    const [a, b] = [keys.next(), keys.next()].map(
      (keypair) =>
        new MeshNode({
          keypair,
          transport: net.createTransport({ nodeId: keypair.nodeId, publicKey: keypair.publicKeyBytes() }),
          components: { clock: s.clock, rng: new SeededRng(2), logger, metrics: noopMetrics },
        }),
    ) as [MeshNode, MeshNode];
    b.handle('FindNode', () => {
      throw new Error('boom');
    });
    await s.run(Promise.all([a.start(), b.start()]), 10);
    await s.runFor(60_000); // a minute of nothing takes no wall time
    const reply = a.request(b.contact, { type: 'FindNode', from: a.contact, target: a.nodeId }).catch((e: Error) => e.message);
    expect(await s.run(reply, 1_000)).toMatch(/Internal: boom/);
    // b logged the failure when the request reached it: 40 ms after it was sent, a minute in
    expect(lines).toEqual([expect.stringMatching(/^2030-01-01T00:01:00\.040Z WARN  quicmesh: request handler failed .*error=boom$/)]);
  });
});
