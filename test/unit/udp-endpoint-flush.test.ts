/**
 * UdpEndpoint's flush scheduling: a sink marked dirty is flushed with the turn's batch (setImmediate),
 * except an urgent one (a connection in its handshake), which is flushed right after the current task
 * (a microtask), so its packets do not wait behind every other I/O callback of the turn.
 */
import { describe, expect, it } from 'vitest';
import { UdpEndpoint, type DatagramSink } from '../../src/transport/quic/endpoint.js';
import { silentLogger } from '../../src/core/logger.js';

function endpoint(): UdpEndpoint {
  return new UdpEndpoint({ accept: () => undefined, raw: () => {}, dropped: () => {} }, silentLogger);
}

class CountingSink implements DatagramSink {
  flushes = 0;
  constructor(public urgent: boolean) {}
  recv(): void {}
  flush(): void {
    this.flushes++;
  }
}

/** Run every queued microtask (and the ones they queue), but no macrotask. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UdpEndpoint flush scheduling', () => {
  it.each([
    ['an ordinary sink, however often it was marked', (ep: UdpEndpoint, sink: CountingSink) => {
      sink.urgent = false;
      ep.markDirty(sink);
      ep.markDirty(sink);
    }],
    ['a sink that stopped being urgent before its microtask (not lost)', (ep: UdpEndpoint, sink: CountingSink) => {
      ep.markDirty(sink);
      sink.urgent = false; // e.g. its handshake completed in the same task
    }],
  ])('batches %s: flushed once, on the turn (setImmediate)', async (_what, mark) => {
    const ep = endpoint();
    const sink = new CountingSink(true);
    mark(ep, sink);
    await microtasks();
    expect(sink.flushes).toBe(0);
    await nextTurn();
    expect(sink.flushes).toBe(1);
  });

  it('flushes an urgent sink right after the current task, once, and not again with the batch', async () => {
    const ep = endpoint();
    const urgent = new CountingSink(true);
    const batched = new CountingSink(false);
    ep.markDirty(batched);
    ep.markDirty(urgent);
    ep.markDirty(urgent);
    expect(urgent.flushes).toBe(0); // not synchronously: the caller's task finishes first
    await microtasks();
    expect([urgent.flushes, batched.flushes]).toEqual([1, 0]);
    await nextTurn();
    expect([urgent.flushes, batched.flushes]).toEqual([1, 1]);
  });

  it('flushNow flushes at once and takes the sink out of the batch', async () => {
    const ep = endpoint();
    const sink = new CountingSink(false);
    ep.markDirty(sink);
    ep.flushNow(sink);
    expect(sink.flushes).toBe(1);
    await nextTurn();
    expect(sink.flushes).toBe(1);
  });
});
