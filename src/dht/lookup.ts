/**
 * One iterative Kademlia lookup (FIND_NODE or FIND_VALUE) as a pure state machine, after the idea
 * of rust-libp2p's ClosestPeersIter: the driver calls `next(now)` and gets back which contacts to
 * query, or "wait", or "done"; it reports each answer with `onResponse` / `onFailure`. No I/O, no
 * clock, no timers: the same object runs in the simulator and over QUIC.
 *
 * Candidates are kept sorted by XOR distance to the target (binary-search insertion, no hashing).
 * States: not contacted → waiting → succeeded | failed; a waiting query whose per-peer deadline
 * passes becomes "unresponsive": it no longer holds a parallelism slot nor blocks termination, but a
 * late answer is still taken.
 *
 * Termination: done when the k closest candidates that have not failed have all answered, or when
 * nothing is left to query and nothing is outstanding (or, in value mode, when a value arrives).
 * Queries only ever go to those k closest live candidates (outstanding ones count as live until
 * they fail or time out), so a lookup costs about k + (hops × α) queries.
 *
 * Parallelism: at most α queries outstanding. When α consecutive answers brought nothing closer
 * (stalled), up to k may be outstanding: Kademlia's "query all of the k closest not yet queried".
 *
 * Rounds (our definition): a query's round is 1 + the round in which its contact was first learned;
 * seeds (the routing table's closest) are learned in round 0. So round r is the batch of queries
 * made possible by answers of round r - 1, the causal depth of the lookup whatever the timing.
 * `rounds` is the deepest round queried; `hopsToClosest` is the round whose answer first named the
 * final closest contact (0 = we knew it from the start).
 *
 * Tier awareness: when `tierOf` is given, each free slot goes to the best unqueried candidate by
 * (tier, distance) among the k closest live ones, except that a closer unqueried candidate passed
 * over `maxSkips` times (default α) goes next: bounded lookahead, so a slow but close contact is
 * delayed, never starved. Only the order of queries changes, never which contacts have to answer
 * before termination. With `slotReleaseMs`, a query unanswered after that long becomes "slow": it
 * frees its parallelism slot but, unlike an unresponsive one, still has to answer (or fail, or
 * pass the per-peer deadline) before the lookup ends. `tierOf` also gets the network coordinate
 * the answer that named a candidate relayed for it (onResponse's `coords`), so the driver can
 * rank a candidate it never measured by its estimated RTT; each rank is computed once per lookup.
 */
import type { Contact, NodeId } from '../core/types.js';
import type { NetCoord } from '../wire/messages.js';
import { K_MAX } from '../constants.js';
import { ConfigError } from '../errors.js';
import { compareDistance, ID_LENGTH } from './distance.js';

/** ms after which an outstanding query stops holding a parallelism slot (its answer is still accepted). */
export const LOOKUP_PEER_TIMEOUT_MS = 3_000;
/** Rank given to contacts with no tier yet: between the fastest tier (0) and the next. */
export const UNKNOWN_TIER_RANK = 0.5;
/**
 * Unqueried candidates beyond this many times k from the target are forgotten: they could only
 * matter if more than 2k closer ones failed, and keeping them costs every insertion.
 */
export const CANDIDATE_LIMIT_FACTOR = 3;

/** A lookup for the closest nodes to a target, or for a value under a key. */
export type LookupMode = 'node' | 'value';

export interface LookupOptions {
  target: Uint8Array;
  self: NodeId;
  /** Result size: the lookup ends once the k closest live candidates answered. */
  k: number;
  /** Parallelism. */
  alpha: number;
  /** Starting contacts, normally the routing table's k closest to the target. */
  seeds: readonly Contact[];
  now: number;
  mode: LookupMode;
  /**
   * Latency tier of a contact (0 = fastest), undefined when unknown. `coord` is the network
   * coordinate the reply that named the contact relayed for it, if any (for an estimate when the
   * contact was never measured).
   */
  tierOf?: (id: NodeId, coord: NetCoord | undefined) => number | undefined;
  /** Tier-aware picking considers this many of the closest unqueried candidates (default k: the whole frame). */
  tierWindow?: number;
  /** A closer unqueried candidate may be passed over this many times, then it goes (default alpha). */
  maxSkips?: number;
  /** After this (ms) an outstanding query yields its parallelism slot but is still awaited (default: never). */
  slotReleaseMs?: number;
  peerTimeoutMs?: number;
}

/** What a lookup wants next: query contacts, wait, or it is done. */
export type LookupStep =
  | { kind: 'query'; contacts: Contact[] }
  /** Nothing to send now; `until` is the next per-peer deadline, if any query is outstanding. */
  | { kind: 'wait'; until: number | undefined }
  | { kind: 'done'; result: LookupResult };

/** The outcome of an iterative lookup: the closest contacts that answered (and the value, for a value lookup). */
export interface LookupResult {
  target: Uint8Array;
  mode: LookupMode;
  /** Up to k contacts that answered, closest first. */
  closest: Contact[];
  /** Further contacts that answered, beyond the k closest (spill candidates), closest first. */
  spare: Contact[];
  /** Value mode: the first value reported, and who reported it. */
  value?: Uint8Array;
  valueFrom?: Contact;
  rounds: number;
  hopsToClosest: number;
  /** Queries sent. */
  queried: number;
  /** Answers received. */
  responses: number;
  /** Queries that failed (error or transport timeout). */
  failures: number;
  /** Queries that passed their per-peer deadline (some may have answered late). */
  timeouts: number;
  startedAt: number;
  finishedAt: number;
}

const NOT_CONTACTED = 0;
const WAITING = 1;
const UNRESPONSIVE = 2;
const SUCCEEDED = 3;
const FAILED = 4;
/** Outstanding past its slot deadline: no longer holds a parallelism slot, still awaited for termination. */
const SLOW = 5;

interface Candidate {
  contact: Contact;
  state: number;
  deadline: number;
  /** When the query yields its parallelism slot (slotReleaseMs). */
  release: number;
  /** Round in which this contact was first named (0 = seed). */
  learned: number;
  /** Round of the query sent to it. */
  round: number;
  /** Times a farther candidate was picked before this one (tier-aware picking). */
  passed: number;
  /** Network coordinate relayed for this contact by the reply that named it first, if any. */
  coord: NetCoord | undefined;
  /** Tier rank, computed when first needed and kept for the lookup (NaN: not yet). */
  rank: number;
}

export class LookupQuery {
  readonly target: Uint8Array;
  readonly mode: LookupMode;
  private readonly self: NodeId;
  private readonly k: number;
  private readonly alpha: number;
  private readonly tierOf: ((id: NodeId, coord: NetCoord | undefined) => number | undefined) | undefined;
  private readonly peerTimeoutMs: number;
  private readonly tierWindow: number;
  private readonly maxSkips: number;
  private readonly slotReleaseMs: number;
  private readonly startedAt: number;
  private readonly candidates: Candidate[] = [];
  private readonly limit: number;
  private waiting = 0;
  private noProgress = 0;
  private rounds = 0;
  private queried = 0;
  private responses = 0;
  private failures = 0;
  private timeouts = 0;
  private value: Uint8Array | undefined;
  private valueFrom: Contact | undefined;
  private result: LookupResult | undefined;

  constructor(options: LookupOptions) {
    if (!Number.isInteger(options.k) || options.k < 1) throw new ConfigError(`lookup k must be a positive integer, got ${options.k}`);
    if (!Number.isInteger(options.alpha) || options.alpha < 1) {
      throw new ConfigError(`lookup alpha must be a positive integer, got ${options.alpha}`);
    }
    if (options.target.length !== ID_LENGTH) throw new ConfigError(`lookup target must be ${ID_LENGTH} bytes`);
    if (options.tierWindow !== undefined && !(Number.isInteger(options.tierWindow) && options.tierWindow >= 1)) {
      throw new ConfigError(`lookup tierWindow must be a positive integer, got ${options.tierWindow}`);
    }
    if (options.maxSkips !== undefined && !(Number.isInteger(options.maxSkips) && options.maxSkips >= 0)) {
      throw new ConfigError(`lookup maxSkips must be an integer >= 0, got ${options.maxSkips}`);
    }
    if (options.slotReleaseMs !== undefined && !(options.slotReleaseMs > 0)) {
      throw new ConfigError(`lookup slotReleaseMs must be a positive number of ms, got ${options.slotReleaseMs}`);
    }
    this.target = options.target;
    this.mode = options.mode;
    this.self = options.self;
    this.k = options.k;
    this.alpha = options.alpha;
    this.tierOf = options.tierOf;
    this.peerTimeoutMs = options.peerTimeoutMs ?? LOOKUP_PEER_TIMEOUT_MS;
    this.tierWindow = options.tierWindow ?? this.k;
    this.maxSkips = options.maxSkips ?? this.alpha;
    this.slotReleaseMs = options.slotReleaseMs ?? Infinity;
    this.startedAt = options.now;
    this.limit = this.k * CANDIDATE_LIMIT_FACTOR;
    for (const c of options.seeds) this.insert(c, 0);
  }

  get finished(): boolean {
    return this.result !== undefined;
  }

  /** Number of queries outstanding and still within their deadline. */
  get inFlight(): number {
    return this.waiting;
  }

  /** Advance: expire deadlines, decide termination, or hand out the next contacts to query. */
  next(now: number): LookupStep {
    if (this.result) return { kind: 'done', result: this.result };
    const cs = this.candidates;
    for (const c of cs) {
      if ((c.state === WAITING || c.state === SLOW) && now >= c.deadline) {
        if (c.state === WAITING) this.waiting--;
        c.state = UNRESPONSIVE;
        this.timeouts++;
      } else if (c.state === WAITING && now >= c.release) {
        c.state = SLOW;
        this.waiting--;
      }
    }
    if (this.value !== undefined) return this.finish(now);

    const capacity = this.noProgress >= this.alpha ? Math.max(this.k, this.alpha) : this.alpha;
    const slots = capacity - this.waiting;
    const window = this.tierOf ? Math.max(slots, this.tierWindow) : slots;
    const eligible: Candidate[] = [];
    // Walk the k closest live candidates (failed and unresponsive ones do not count): the frame
    // fills with answered, outstanding and then unqueried ones. Only the frame is ever queried, so
    // no query goes past the k-th closest unless a closer one failed.
    let framed = 0;
    let open = false; // something within the frame is still unanswered
    for (let i = 0; i < cs.length && framed < this.k; i++) {
      const c = cs[i]!;
      if (c.state === SUCCEEDED) framed++;
      else if (c.state === WAITING || c.state === SLOW) {
        framed++;
        open = true;
      } else if (c.state === NOT_CONTACTED) {
        framed++;
        open = true;
        if (eligible.length < window) eligible.push(c);
      }
    }
    if (!open) return this.finish(now);
    if (slots <= 0 || eligible.length === 0) return { kind: 'wait', until: this.nextDeadline() };

    const picked = this.pick(eligible, slots);
    const contacts: Contact[] = [];
    for (const c of picked) {
      c.state = WAITING;
      c.deadline = now + this.peerTimeoutMs;
      c.release = now + this.slotReleaseMs;
      c.round = c.learned + 1;
      if (c.round > this.rounds) this.rounds = c.round;
      this.waiting++;
      this.queried++;
      contacts.push(c.contact);
    }
    return { kind: 'query', contacts };
  }

  /**
   * `id` answered with `contacts` (and, for FIND_VALUE, possibly a value the driver has already
   * verified; with coordinates, `coords[i]` is what `id` knew of `contacts[i]`'s coordinate).
   * Returns false when the answer was not expected (unknown peer, duplicate, finished).
   */
  onResponse(
    id: NodeId,
    contacts: readonly Contact[],
    _now: number,
    value?: Uint8Array,
    coords?: readonly (NetCoord | null)[],
  ): boolean {
    if (this.result) return false;
    const c = this.find(id);
    if (!c) return false;
    if (c.state === WAITING) this.waiting--;
    else if (c.state !== UNRESPONSIVE && c.state !== SLOW) return false;
    c.state = SUCCEEDED;
    this.responses++;

    let progress = this.candidates.length < this.k;
    const limit = Math.min(contacts.length, Math.max(this.k, K_MAX));
    for (let i = 0; i < limit; i++) {
      const pos = this.insert(contacts[i]!, c.round, coords?.[i] ?? undefined);
      if (pos === 0) progress = true;
    }
    this.noProgress = progress ? 0 : this.noProgress + 1;
    if (value !== undefined && this.mode === 'value' && this.value === undefined) {
      this.value = value;
      this.valueFrom = c.contact;
    }
    return true;
  }

  /** The query to `id` failed. Returns false when no query to `id` was outstanding. */
  onFailure(id: NodeId, _now: number): boolean {
    if (this.result) return false;
    const c = this.find(id);
    if (!c) return false;
    if (c.state === WAITING) this.waiting--;
    else if (c.state !== UNRESPONSIVE && c.state !== SLOW) return false;
    c.state = FAILED;
    this.failures++;
    return true;
  }

  /** Earliest per-peer deadline among outstanding queries. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const c of this.candidates) {
      if (c.state !== WAITING && c.state !== SLOW) continue;
      const at = c.state === WAITING ? Math.min(c.release, c.deadline) : c.deadline;
      if (min === undefined || at < min) min = at;
    }
    return min;
  }

  /** Stop now with what is known (e.g. the driver is shutting down). */
  cancel(now: number): LookupResult {
    return this.result ?? this.finish(now).result;
  }

  private pick(eligible: Candidate[], slots: number): Candidate[] {
    if (eligible.length <= slots || !this.tierOf) return eligible.slice(0, slots);
    const n = eligible.length;
    // A lookup lasts a few RTTs, far less than a tier model lives: each rank is computed once.
    const rank = eligible.map((c) => (Number.isNaN(c.rank) ? (c.rank = this.tierOf!(c.contact.id, c.coord) ?? UNKNOWN_TIER_RANK) : c.rank));
    const taken = new Array<boolean>(n).fill(false);
    const out: Candidate[] = [];
    for (let s = 0; s < slots; s++) {
      let first = 0;
      while (taken[first]) first++;
      let best = first;
      if (eligible[first]!.passed < this.maxSkips) {
        for (let i = first + 1; i < n; i++) if (!taken[i] && rank[i]! < rank[best]!) best = i;
      }
      for (let i = first; i < best; i++) if (!taken[i]) eligible[i]!.passed++;
      taken[best] = true;
      out.push(eligible[best]!);
    }
    return out;
  }

  private finish(now: number): { kind: 'done'; result: LookupResult } {
    const closest: Contact[] = [];
    const spare: Contact[] = [];
    let hopsToClosest = 0;
    for (const c of this.candidates) {
      if (c.state !== SUCCEEDED) continue;
      if (closest.length === 0) hopsToClosest = c.learned;
      if (closest.length < this.k) closest.push(c.contact);
      else spare.push(c.contact);
    }
    const result: LookupResult = {
      target: this.target,
      mode: this.mode,
      closest,
      spare,
      rounds: this.rounds,
      hopsToClosest,
      queried: this.queried,
      responses: this.responses,
      failures: this.failures,
      timeouts: this.timeouts,
      startedAt: this.startedAt,
      finishedAt: now,
    };
    if (this.value !== undefined) {
      result.value = this.value;
      result.valueFrom = this.valueFrom!;
    }
    this.result = result;
    return { kind: 'done', result };
  }

  /** Binary search for the first candidate not closer than `id`. */
  private lowerBound(id: Uint8Array): number {
    const cs = this.candidates;
    let lo = 0;
    let hi = cs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDistance(this.target, cs[mid]!.contact.id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private find(id: NodeId): Candidate | undefined {
    if (id.length !== ID_LENGTH) return undefined;
    const at = this.lowerBound(id);
    const c = this.candidates[at];
    return c && compareDistance(this.target, c.contact.id, id) === 0 ? c : undefined;
  }

  /** Add a contact learned in `round`; returns its position, or -1 when ignored or already known. */
  private insert(contact: Contact, round: number, coord?: NetCoord): number {
    const id = contact.id;
    if (id.length !== ID_LENGTH || compareDistance(this.self, id, this.self) === 0) return -1;
    const cs = this.candidates;
    const last = cs[cs.length - 1];
    // Cheap reject when the list is full and this one is farther than all of it.
    if (cs.length >= this.limit && last && compareDistance(this.target, id, last.contact.id) > 0) return -1;
    const at = this.lowerBound(id);
    const existing = cs[at];
    if (existing && compareDistance(this.target, existing.contact.id, id) === 0) {
      if (round < existing.learned) existing.learned = round;
      existing.coord ??= coord;
      return -1;
    }
    const fresh: Candidate = { contact, state: NOT_CONTACTED, deadline: 0, release: 0, learned: round, round: 0, passed: 0, coord, rank: NaN };
    if (at === cs.length) cs.push(fresh);
    else cs.splice(at, 0, fresh);
    // Forget the farthest only if it was never asked (asked ones are still being tracked).
    if (cs.length > this.limit && cs[cs.length - 1]!.state === NOT_CONTACTED) cs.pop();
    return at;
  }
}
