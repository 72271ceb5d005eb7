/**
 * Throughput of the storage and tiering primitives; prints a table.
 *
 *   npx tsx bench/storage.ts
 *
 * Rows: LruMap churn at two sizes (flat per-op cost = O(1)), ProtectedStore put/get at full
 * capacity with eviction, LatencyTiering recordRtt and recompute at 1k / 10k / 50k contacts.
 */
import { ManualClock } from '../src/core/clock.js';
import { toHex } from '../src/core/bytes.js';
import { SeededRng } from '../src/core/rng.js';
import { LruMap } from '../src/storage/lru.js';
import { ProtectedStore } from '../src/storage/protected-store.js';
import { LatencyTiering } from '../src/tiering/latency-tiering.js';

interface Row {
  name: string;
  ops: number;
  ms: number;
}
const rows: Row[] = [];

function time(name: string, ops: number, fn: () => void): void {
  const t0 = performance.now();
  fn();
  rows.push({ name, ops, ms: performance.now() - t0 });
}

for (const n of [10_000, 100_000]) {
  const lru = new LruMap<number, number>();
  for (let i = 0; i < n; i++) lru.set(i, i);
  let next = n;
  time(`LruMap evictOldest+set, n=${n}`, 300_000, () => {
    for (let i = 0; i < 300_000; i++) {
      lru.evictOldest();
      lru.set(next++, i);
      lru.get(next - 1 - (i % 100));
    }
  });
}

{
  const clock = new ManualClock();
  const rng = new SeededRng(1);
  const store = new ProtectedStore({ maxEntries: 100_000, perPeerRatePerMinute: 1_000_000 }, clock);
  const peers = Array.from({ length: 2_000 }, () => toHex(rng.bytes(32)));
  const keys = Array.from({ length: 200_000 }, () => rng.bytes(32));
  const value = rng.bytes(256);
  time('ProtectedStore put (2k peers, filling + evicting)', keys.length, () => {
    for (let i = 0; i < keys.length; i++)
      store.put(peers[i % peers.length]!, keys[i]!, value, { verifyContent: false });
  });
  time('ProtectedStore get (hits and misses)', keys.length, () => {
    for (const k of keys) store.get(k);
  });
  const s = store.stats();
  process.stderr.write(
    `store after run: entries=${s.entries} evictions=${s.evictions} rejections=${JSON.stringify(s.rejections)}\n`,
  );
}

for (const n of [1_000, 10_000, 50_000]) {
  const clock = new ManualClock();
  const rng = new SeededRng(2);
  const tiering = new LatencyTiering(undefined, clock, rng);
  const ids = Array.from({ length: n }, () => toHex(rng.bytes(32)));
  const bases = [1, 10, 40, 120, 300];
  time(`LatencyTiering recordRtt, ${n} contacts`, n * 5, () => {
    for (let s = 0; s < 5; s++)
      for (let i = 0; i < n; i++) tiering.recordRtt(ids[i]!, bases[i % 5]! * (0.8 + 0.4 * rng.next()));
  });
  time(`LatencyTiering recompute, ${n} contacts`, 1, () => tiering.recompute());
  time(`LatencyTiering tierOf, ${n} contacts`, n, () => {
    for (const id of ids) tiering.tierOf(id);
  });
  process.stderr.write(
    `tiers at n=${n}: ${tiering.tierCount} centroids=${tiering
      .snapshot()
      .centroids.map((c) => c.toFixed(1))
      .join(',')}\n`,
  );
}

const pad = (s: string, w: number) => s.padEnd(w);
console.log(
  `${pad('benchmark', 52)} ${'ops'.padStart(9)} ${'total ms'.padStart(10)} ${'ns/op'.padStart(10)}`,
);
for (const r of rows) {
  console.log(
    `${pad(r.name, 52)} ${String(r.ops).padStart(9)} ${r.ms.toFixed(1).padStart(10)} ${((r.ms * 1e6) / r.ops).toFixed(0).padStart(10)}`,
  );
}
