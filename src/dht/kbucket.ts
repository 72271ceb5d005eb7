/**
 * One Kademlia k-bucket: up to k contacts in least-recently-seen order (index 0 = LRU head) plus a
 * small replacement cache of contacts that arrived while the bucket was full.
 *
 * Memory matters (the simulator holds 10,000 routing tables in one process), so a bucket is a few
 * parallel arrays rather than one object per entry, and ids are the contacts' own Uint8Arrays.
 * The Kademlia policy (when to ping, evict, promote) lives in RoutingTable; this class only keeps
 * the arrays consistent.
 */
import type { Contact, NodeId } from '../core/types.js';

export class KBucket {
  /** Live contacts, least recently seen first. */
  readonly contacts: Contact[] = [];
  /** `lastSeen[i]` is when `contacts[i]` was last heard from (ms). */
  readonly lastSeen: number[] = [];
  /** Last measured round-trip time to `contacts[i]` (ms), NaN when unknown. */
  readonly rtt: number[] = [];
  /** Consecutive failed requests to `contacts[i]`. */
  readonly failures: number[] = [];
  /** Candidates waiting for a slot, most recently seen last. */
  readonly replacements: Contact[] = [];
  /** The LRU head currently being pinged to decide whether it gets evicted, if any. */
  pinging: Contact | null = null;

  get size(): number {
    return this.contacts.length;
  }

  indexOf(id: NodeId): number {
    const cs = this.contacts;
    for (let i = 0; i < cs.length; i++) if (sameId(cs[i]!.id, id)) return i;
    return -1;
  }

  /** Append as most recently seen. */
  append(contact: Contact, now: number, rttMs: number): void {
    this.contacts.push(contact);
    this.lastSeen.push(now);
    this.rtt.push(rttMs);
    this.failures.push(0);
  }

  /** Insert as least recently seen (never heard from: lastSeen -Infinity, so it is pinged first). */
  prepend(contact: Contact): void {
    this.contacts.unshift(contact);
    this.lastSeen.unshift(-Infinity);
    this.rtt.unshift(NaN);
    this.failures.unshift(0);
  }

  /** Move entry `i` to the tail (most recently seen), refreshing its contact, time and RTT. */
  touch(i: number, contact: Contact, now: number, rttMs: number): void {
    const rtt = Number.isNaN(rttMs) ? this.rtt[i]! : rttMs;
    const last = this.contacts.length - 1;
    if (i !== last) {
      // Shift the entries after i down by one in place: no allocation (this runs per message).
      shiftDown(this.contacts, i);
      shiftDown(this.lastSeen, i);
      shiftDown(this.rtt, i);
      shiftDown(this.failures, i);
    }
    this.contacts[last] = contact;
    this.lastSeen[last] = now;
    this.rtt[last] = rtt;
    this.failures[last] = 0;
  }

  removeAt(i: number): Contact {
    const c = this.contacts[i]!;
    shiftDown(this.contacts, i);
    shiftDown(this.lastSeen, i);
    shiftDown(this.rtt, i);
    shiftDown(this.failures, i);
    this.contacts.pop();
    this.lastSeen.pop();
    this.rtt.pop();
    this.failures.pop();
    return c;
  }

  replacementIndexOf(id: NodeId): number {
    const rs = this.replacements;
    for (let i = 0; i < rs.length; i++) if (sameId(rs[i]!.id, id)) return i;
    return -1;
  }

  /** Remember a candidate (most recent last), dropping the oldest beyond `max`. */
  addReplacement(contact: Contact, max: number): void {
    const at = this.replacementIndexOf(contact.id);
    if (at >= 0) this.replacements.splice(at, 1);
    this.replacements.push(contact);
    while (this.replacements.length > max) this.replacements.shift();
  }

  /** The most recently seen candidate, removed from the cache. */
  takeReplacement(): Contact | undefined {
    return this.replacements.pop();
  }
}

/** Id equality with early exit (ids are public: no need for a constant-time compare here). */
export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** arr[i..n-2] = arr[i+1..n-1]; the last slot keeps its old value for the caller to overwrite. */
function shiftDown<T>(arr: T[], i: number): void {
  const n = arr.length - 1;
  for (let j = i; j < n; j++) arr[j] = arr[j + 1]!;
}
