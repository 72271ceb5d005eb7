/** PubsubPeerFeed: DHT contacts become gossip peers, bounded, refreshed on the clock. */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact, NodeId } from '../../src/core/types.js';
import { ConfigError } from '../../src/errors.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { PubsubPeerFeed, type PeerSink } from '../../src/node/pubsub-peers.js';

function contact(i: number): Contact {
  const id = new Uint8Array(32);
  id[0] = i;
  return { id, addr: `10.0.0.${i}:4433` };
}

class FakeSink implements PeerSink {
  readonly peers = new Map<string, Contact>();
  addPeer(c: Contact): boolean {
    this.peers.set(toHex(c.id), c);
    return true;
  }
  removePeer(c: Contact): void {
    this.peers.delete(toHex(c.id));
  }
  hasPeer(id: NodeId): boolean {
    return this.peers.has(toHex(id));
  }
  get peerCount(): number {
    return this.peers.size;
  }
}

function setup(table: Contact[], opts = {}) {
  const clock = new ManualClock();
  const sink = new FakeSink();
  const c = { clock, rng: new SeededRng(3), logger: silentLogger, metrics: noopMetrics };
  const feed = new PubsubPeerFeed({ allContacts: () => [...table] }, sink, c, opts);
  return { clock, sink, feed };
}

describe('PubsubPeerFeed', () => {
  it('feeds routing-table contacts up to the bound, and more as they appear on later refreshes', () => {
    const table = Array.from({ length: 5 }, (_, i) => contact(i + 1));
    const { clock, sink, feed } = setup(table, { maxPeers: 8, refreshIntervalMs: 1000 });
    feed.start();
    expect(sink.peerCount).toBe(5);
    for (let i = 6; i <= 20; i++) table.push(contact(i));
    clock.advance(999);
    expect(sink.peerCount).toBe(5);
    clock.advance(1);
    expect(sink.peerCount).toBe(8);
    expect([...sink.peers.keys()].every((k) => table.some((c) => toHex(c.id) === k))).toBe(true);
    feed.stop();
    table.splice(0);
    clock.advance(10_000);
    expect(sink.peerCount).toBe(8);
  });

  it('removes fed peers the DHT evicted, but not peers that came on their own', () => {
    const table = [contact(1), contact(2), contact(3)];
    const { sink, feed } = setup(table);
    feed.refresh();
    sink.addPeer(contact(9)); // adopted by the router from an inbound message
    table.splice(1, 1);
    expect(feed.refresh()).toEqual({ added: 0, removed: 1 });
    expect(sink.hasPeer(contact(2).id)).toBe(false);
    expect(sink.hasPeer(contact(9).id)).toBe(true);
    expect(feed.size).toBe(2);
  });

  it('holds back a peer the driver dropped for retryAfterMs', () => {
    const table = [contact(1), contact(2)];
    const { clock, sink, feed } = setup(table, { retryAfterMs: 30_000 });
    feed.refresh();
    sink.removePeer(contact(1)); // what the driver does after failed sends
    expect(feed.refresh()).toEqual({ added: 0, removed: 0 });
    expect(sink.hasPeer(contact(1).id)).toBe(false);
    clock.advance(30_000);
    expect(feed.refresh()).toEqual({ added: 1, removed: 0 });
    expect(sink.hasPeer(contact(1).id)).toBe(true);
  });

  it('rejects bad options with a ConfigError naming the field', () => {
    expect(() => setup([], { maxPeers: 0 })).toThrow(ConfigError);
    expect(() => setup([], { maxPeers: 0 })).toThrow(/maxPeers/);
    expect(() => setup([], { refreshIntervalMs: 0 })).toThrow(/refreshIntervalMs/);
  });
});
