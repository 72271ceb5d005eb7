/**
 * Which peers needed a relay last time: a connect whose direct dials and hole punch did not get
 * through before the relay fallback (DIRECT_CONNECT_TIMEOUT_MS) ended relayed, so the next connect
 * to that peer — at the same addresses — starts its relays at once beside the dials and the punch
 * (SmartConnectTarget.relayNow): it waits no longer for what did not work, and still goes direct if
 * a dial wins, or by migration if the punch gets through later. A direct connection or a successful punch to the
 * peer forgets it. Entries expire after `ttlMs` (NATs and networks change) and at most `max` are
 * kept (oldest dropped first). Pure: times are given.
 */
import { toHex } from '../core/bytes.js';
import type { NodeId } from '../core/types.js';

/** How long a peer is remembered as needing a relay, ms. */
export const RELAY_MEMORY_TTL_MS = 5 * 60_000;
/** Peers remembered at most. */
export const RELAY_MEMORY_MAX = 1_024;

interface Entry {
  /** The peer's addresses when it needed the relay: elsewhere, it may not need it. */
  addrs: string;
  at: number;
}

/** Peers whose last connect fell back to a relay, by NodeId and address set. */
export class RelayMemory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = RELAY_MEMORY_TTL_MS,
    private readonly max = RELAY_MEMORY_MAX,
  ) {}

  /** The connect to `peer` at `addrs` ended on a relay with no direct path found. */
  needed(peer: NodeId, addrs: readonly string[], now: number): void {
    const key = toHex(peer);
    this.entries.delete(key); // re-insert: newest last
    this.entries.set(key, { addrs: addrKey(addrs), at: now });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** A direct path to `peer` worked: connect to it directly first again. */
  forget(peer: NodeId): void {
    this.entries.delete(toHex(peer));
  }

  /** Did `peer`, at these same addresses, need a relay within the last `ttlMs`? */
  needsRelay(peer: NodeId, addrs: readonly string[], now: number): boolean {
    const key = toHex(peer);
    const e = this.entries.get(key);
    if (e === undefined) return false;
    if (now - e.at >= this.ttlMs || e.addrs !== addrKey(addrs)) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}

function addrKey(addrs: readonly string[]): string {
  return [...new Set(addrs)].sort().join(',');
}
