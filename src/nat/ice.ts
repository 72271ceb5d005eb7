/**
 * ICE-lite connectivity checks (spec: IceCandidate, IceAgent, IceRole, CandidatePair,
 * CandidateType, CheckState), after RFC 8445, as a pure agent: it is given candidates and
 * events with `now`, and returns effects (send a check, answer a check, a pair was selected,
 * everything failed). The driver carries checks as datagrams (a proposed IceCheck message,
 * answered by PathReply with the mapped address) from the node's QUIC socket.
 *
 * Kept from RFC 8445: candidate and pair priority formulas, foundations, frozen/waiting
 * ordering with per-foundation unfreezing, pacing one check every Ta, retransmission with
 * doubling RTO, triggered checks for incoming checks, peer-reflexive learning, regular
 * nomination by the controlling agent. Left out: role-conflict repair (the dialer is
 * controlling by convention), multiple components, consent freshness (QUIC keep-alives do it).
 */
import { toHex } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { addrFamily, hostOf } from './addr.js';

/** Where an ICE candidate's address comes from: our interface, a server's view, the peer's view, or a relay. */
export type CandidateType = 'host' | 'server-reflexive' | 'peer-reflexive' | 'relay';
/** The state of a candidate pair's connectivity check (RFC 8445 §6.1.2.6). */
export type CheckState = 'Frozen' | 'Waiting' | 'InProgress' | 'Succeeded' | 'Failed';
/** Which side of an ICE exchange nominates: the controlling one (the initiator here) or the controlled one. */
export type IceRole = 'controlling' | 'controlled';

/** RFC 8445 §5.1.2.2 recommended type preferences. */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = {
  host: 126,
  'peer-reflexive': 110,
  'server-reflexive': 100,
  relay: 0,
};

/** An address a peer may be reached at, with its type, base, priority and foundation (RFC 8445 §5.1). */
export interface IceCandidate {
  type: CandidateType;
  /** Where the peer sends to ("host:port"). */
  addr: string;
  /** Where we send from: the host address behind a reflexive one; a relay candidate is its own base. */
  base: string;
  priority: number;
  /** Same type, same base host, same server → same foundation (unfreezing works per foundation). */
  foundation: string;
  component: number;
  relayId?: NodeId;
}

/** priority = 2^24·type + 2^8·local + (256 − component). */
export function candidatePriority(type: CandidateType, localPreference = 65535, component = 1): number {
  if (!Number.isInteger(localPreference) || localPreference < 0 || localPreference > 65535) {
    throw new ConfigError(`ICE local preference must be 0..65535, got ${localPreference}`);
  }
  if (!Number.isInteger(component) || component < 1 || component > 256) {
    throw new ConfigError(`ICE component must be 1..256, got ${component}`);
  }
  return TYPE_PREFERENCE[type] * 2 ** 24 + localPreference * 2 ** 8 + (256 - component);
}

/** RFC 8445 §6.1.2.3: 2^32·min(G,D) + 2·max(G,D) + (G > D ? 1 : 0), G the controlling side's. Exceeds 2^53: bigint. */
export function pairPriority(controlling: number, controlled: number): bigint {
  const g = BigInt(controlling);
  const d = BigInt(controlled);
  const [min, max] = g < d ? [g, d] : [d, g];
  return (min << 32n) + 2n * max + (g > d ? 1n : 0n);
}

export interface GatherInput {
  /** Local interface addresses, most preferred first. */
  hostAddrs: readonly string[];
  /** Reflexive addresses learned with WhatIsMyAddr: `base` is the local address the request left from. */
  reflexive?: readonly { addr: string; base: string; server?: string }[];
  /** Relay sessions usable as candidates. */
  relays?: readonly { addr: string; relayId: NodeId }[];
  component?: number;
}

/** Candidates from what the node knows, best first, without duplicates or redundant reflexive ones. */
export function gatherCandidates(input: GatherInput): IceCandidate[] {
  const component = input.component ?? 1;
  const out: IceCandidate[] = [];
  const seen = new Set<string>();
  const add = (c: IceCandidate): void => {
    if (seen.has(c.addr)) return; // a reflexive address equal to a host one adds nothing
    seen.add(c.addr);
    out.push(c);
  };
  input.hostAddrs.forEach((addr, i) => {
    add({ type: 'host', addr, base: addr, priority: candidatePriority('host', 65535 - i, component), foundation: `h:${hostOf(addr)}`, component });
  });
  for (const [i, r] of (input.reflexive ?? []).entries()) {
    const foundation = `s:${hostOf(r.base)}:${r.server ? hostOf(r.server) : ''}`;
    add({ type: 'server-reflexive', addr: r.addr, base: r.base, priority: candidatePriority('server-reflexive', 65535 - i, component), foundation, component });
  }
  for (const [i, r] of (input.relays ?? []).entries()) {
    add({
      type: 'relay',
      addr: r.addr,
      base: r.addr,
      priority: candidatePriority('relay', 65535 - i, component),
      foundation: `r:${toHex(r.relayId).slice(0, 16)}`,
      component,
      relayId: r.relayId,
    });
  }
  return out.sort((a, b) => b.priority - a.priority);
}

/** A local and a remote candidate checked together: priority, check state, nomination, our mapped address. */
export interface CandidatePair {
  id: string;
  local: IceCandidate;
  remote: IceCandidate;
  priority: bigint;
  state: CheckState;
  foundation: string;
  nominated: boolean;
  /** Our address as the peer saw it in the successful check. */
  mappedAddr?: string;
}

/** What an IceAgent asks its driver to do: send a check, answer one, use the selected pair, or give up. */
export type IceEffect =
  | {
      kind: 'check';
      pairId: string;
      txId: string;
      from: string;
      to: string;
      /** The priority a peer-reflexive candidate learned from this check would get. */
      priority: number;
      useCandidate: boolean;
      role: IceRole;
    }
  /** Answer a check (echoing its `txId`) with where we saw it come from. */
  | { kind: 'respond'; txId: string; from: string; to: string; mappedAddr: string }
  | { kind: 'selected'; pair: CandidatePair }
  | { kind: 'failed' };

/** Settings of an IceAgent: role, candidates, rng, and the pacing, retransmission and nomination timing. */
export interface IceAgentOptions {
  role: IceRole;
  local: readonly IceCandidate[];
  remote?: readonly IceCandidate[];
  rng: Rng;
  /** ms between new checks (RFC 8445 Ta). Default 50. */
  taMs?: number;
  /** First retransmission timeout, ms; doubles per retry. Default 250. */
  rtoMs?: number;
  /** Retransmissions before a check fails. Default 3. */
  maxRetransmits?: number;
  /** Pairs kept at most (RFC's default 100). */
  maxPairs?: number;
  /** Controlling: ms after the first success to wait for a better pair before nominating. Default 200. */
  nominationWaitMs?: number;
  /**
   * Checks the first round sends at once, before pacing starts (default 1: RFC 8445's one per Ta). A
   * hole punch has a handful of pairs, and its first round is what opens the NATs: pacing it delays
   * the pair that works by Ta per candidate ranked above it.
   */
  firstBurst?: number;
  /** Send triggered checks (answers to the peer's checks) at once, unpaced. Default false (RFC 8445). */
  unpacedTriggered?: boolean;
}

interface Tx {
  pair: CandidatePair;
  sentAt: number;
  retries: number;
  nominate: boolean;
}

/** ICE-lite connectivity checks toward one peer (sans-IO): pairs candidates, paces and retries checks, nominates a pair. */
export class IceAgent {
  readonly role: IceRole;
  private readonly local: IceCandidate[];
  private readonly remote: IceCandidate[] = [];
  private readonly pairs: CandidatePair[] = [];
  private readonly triggered: CandidatePair[] = [];
  private readonly txs = new Map<string, Tx>();
  private readonly nominateOnSuccess = new Set<string>();
  private readonly o: Required<Omit<IceAgentOptions, 'role' | 'local' | 'remote' | 'rng'>>;
  private nextCheckAt = 0;
  private sentAny = false;
  private firstSuccessAt: number | null = null;
  private nominating = false;
  private selected: CandidatePair | null = null;
  private failed = false;

  constructor(private readonly opts: IceAgentOptions) {
    this.role = opts.role;
    this.local = [...opts.local];
    this.o = {
      taMs: opts.taMs ?? 50,
      rtoMs: opts.rtoMs ?? 250,
      maxRetransmits: opts.maxRetransmits ?? 3,
      maxPairs: opts.maxPairs ?? 100,
      nominationWaitMs: opts.nominationWaitMs ?? 200,
      firstBurst: opts.firstBurst ?? 1,
      unpacedTriggered: opts.unpacedTriggered ?? false,
    };
    if (!(this.o.taMs > 0) || !(this.o.rtoMs > 0) || !(this.o.maxPairs > 0) || this.o.maxRetransmits < 0 || !(this.o.firstBurst >= 1)) {
      throw new ConfigError('IceAgent: taMs, rtoMs, maxPairs, firstBurst must be > 0 and maxRetransmits >= 0');
    }
    for (const r of opts.remote ?? []) this.addRemoteCandidate(r);
  }

  get state(): 'running' | 'completed' | 'failed' {
    return this.selected ? 'completed' : this.failed ? 'failed' : 'running';
  }

  get selectedPair(): CandidatePair | null {
    return this.selected;
  }

  /** The check list, highest priority first (copies). */
  checklist(): CandidatePair[] {
    return this.pairs.map((p) => ({ ...p }));
  }

  /** Add a remote candidate (initial or trickled); forms its pairs. */
  addRemoteCandidate(c: IceCandidate): void {
    if (this.remote.some((r) => r.addr === c.addr)) return;
    this.remote.push(c);
    for (const l of this.local) this.addPair(l, c, 'Frozen');
    this.unfreezeFoundations();
  }

  /** Work due at `now`: timeouts, the next paced check, nomination. */
  poll(now: number): IceEffect[] {
    if (this.state !== 'running') return [];
    const out: IceEffect[] = [];
    for (const [txId, tx] of [...this.txs]) {
      if (now < tx.sentAt + this.o.rtoMs * 2 ** tx.retries) continue;
      if (tx.retries < this.o.maxRetransmits) {
        tx.retries++;
        out.push(this.checkEffect(tx.pair, txId, tx.nominate));
      } else {
        this.txs.delete(txId);
        tx.pair.state = 'Failed';
        if (tx.nominate) this.nominating = false; // the path died: nominate the next best, if any
      }
    }
    if (this.o.unpacedTriggered) {
      for (let pair = this.nextTriggered(); pair !== undefined; pair = this.nextTriggered()) out.push(this.send(pair, now, false));
    }
    if (now >= this.nextCheckAt) {
      const burst = this.sentAny ? 1 : this.o.firstBurst;
      for (let i = 0; i < burst; i++) {
        const pair = this.nextPair();
        if (pair === undefined) break;
        out.push(this.send(pair, now, false));
        this.nextCheckAt = now + this.o.taMs;
        this.sentAny = true;
      }
    }
    if (this.role === 'controlling' && !this.nominating && this.firstSuccessAt !== null) {
      const best = this.bestSucceeded();
      const higherPending = this.pairs.some((p) => best && p.priority > best.priority && p.state !== 'Failed' && p.state !== 'Succeeded');
      if (best && (!higherPending || now >= this.firstSuccessAt + this.o.nominationWaitMs)) {
        this.nominating = true;
        out.push(this.send(best, now, true));
      }
    }
    if (!this.selected && this.pairs.length > 0 && this.pairs.every((p) => p.state === 'Failed') && this.txs.size === 0) {
      this.failed = true;
      out.push({ kind: 'failed' });
    }
    return out;
  }

  /** When `poll` next has work (undefined when finished). */
  nextAt(): number | undefined {
    if (this.state !== 'running') return undefined;
    let next = this.pairs.some((p) => p.state === 'Waiting' || p.state === 'Frozen') || this.triggered.length > 0 ? this.nextCheckAt : Infinity;
    if (this.o.unpacedTriggered && this.triggered.length > 0) next = 0; // due now (any time passed)
    for (const tx of this.txs.values()) next = Math.min(next, tx.sentAt + this.o.rtoMs * 2 ** tx.retries);
    if (this.role === 'controlling' && !this.nominating && this.firstSuccessAt !== null) {
      next = Math.min(next, this.firstSuccessAt + this.o.nominationWaitMs);
    }
    return Number.isFinite(next) ? next : undefined;
  }

  /** A response to our check `txId`: the peer saw us at `mappedAddr`. */
  onResponse(txId: string, mappedAddr: string, now: number): IceEffect[] {
    const tx = this.txs.get(txId);
    if (tx === undefined) return [];
    this.txs.delete(txId);
    const pair = tx.pair;
    pair.state = 'Succeeded';
    pair.mappedAddr = mappedAddr;
    if (!this.local.some((l) => l.addr === mappedAddr)) {
      // our address as the peer sees it is new: a peer-reflexive local candidate (RFC 8445 §7.2.5.3.1)
      this.local.push({
        type: 'peer-reflexive',
        addr: mappedAddr,
        base: pair.local.base,
        priority: candidatePriority('peer-reflexive', 65535, pair.local.component),
        foundation: `p:${hostOf(pair.local.base)}`,
        component: pair.local.component,
      });
    }
    this.firstSuccessAt ??= now;
    for (const p of this.pairs) if (p.state === 'Frozen' && p.foundation === pair.foundation) p.state = 'Waiting';
    if (tx.nominate || this.nominateOnSuccess.has(pair.id)) return this.select(pair);
    return [];
  }

  /** A check arrived at our `localBase` from `from`. Answer it and maybe trigger our own check. */
  onRequest(from: string, localBase: string, req: { txId: string; priority: number; useCandidate: boolean }): IceEffect[] {
    const out: IceEffect[] = [{ kind: 'respond', txId: req.txId, from: localBase, to: from, mappedAddr: from }];
    if (this.state !== 'running') return out;
    const local = this.local.find((l) => l.base === localBase && l.type === 'host') ?? this.local.find((l) => l.base === localBase);
    if (local === undefined) return out;
    let remote = this.remote.find((r) => r.addr === from);
    if (remote === undefined) {
      remote = { type: 'peer-reflexive', addr: from, base: from, priority: req.priority, foundation: `p:${from}`, component: local.component };
      this.remote.push(remote);
    }
    const pair = this.pairs.find((p) => p.local.base === local.base && p.remote.addr === remote!.addr) ?? this.addPair(local, remote, 'Waiting');
    if (pair === undefined) return out;
    if (req.useCandidate && this.role === 'controlled') {
      if (pair.state === 'Succeeded') return [...out, ...this.select(pair)];
      this.nominateOnSuccess.add(pair.id);
    }
    if (pair.state !== 'InProgress' && pair.state !== 'Succeeded' && !this.triggered.includes(pair)) {
      pair.state = 'Waiting';
      this.triggered.push(pair);
    }
    return out;
  }

  // --- internals ---------------------------------------------------------------------------

  private addPair(local: IceCandidate, remote: IceCandidate, state: CheckState): CandidatePair | undefined {
    if (local.component !== remote.component) return undefined;
    const fl = addrFamily(local.base);
    const fr = addrFamily(remote.addr);
    if (fl !== 0 && fr !== 0 && fl !== fr) return undefined;
    // checks leave from the base: a reflexive local candidate pairs as its base (RFC 8445 §6.1.2.4)
    const id = `${local.base}|${remote.addr}`;
    if (this.pairs.some((p) => p.id === id)) return undefined;
    const [g, d] = this.role === 'controlling' ? [local.priority, remote.priority] : [remote.priority, local.priority];
    const pair: CandidatePair = {
      id,
      local,
      remote,
      priority: pairPriority(g, d),
      state,
      foundation: `${local.foundation}|${remote.foundation}`,
      nominated: false,
    };
    this.pairs.push(pair);
    this.pairs.sort((a, b) => (b.priority > a.priority ? 1 : b.priority < a.priority ? -1 : 0));
    while (this.pairs.length > this.o.maxPairs) {
      const idx = this.pairs.findLastIndex((p) => p.state === 'Frozen' || p.state === 'Waiting' || p.state === 'Failed');
      if (idx < 0) break;
      this.pairs.splice(idx, 1);
    }
    return this.pairs.includes(pair) ? pair : undefined;
  }

  /** Per foundation, the best frozen pair becomes Waiting if none of that foundation is active. */
  private unfreezeFoundations(): void {
    const active = new Set(this.pairs.filter((p) => p.state !== 'Frozen').map((p) => p.foundation));
    for (const p of this.pairs) {
      if (p.state === 'Frozen' && !active.has(p.foundation)) {
        p.state = 'Waiting';
        active.add(p.foundation);
      }
    }
  }

  private nextTriggered(): CandidatePair | undefined {
    while (this.triggered.length > 0) {
      const p = this.triggered.shift()!;
      if (p.state === 'Waiting' && this.pairs.includes(p)) return p;
    }
    return undefined;
  }

  private nextPair(): CandidatePair | undefined {
    return this.nextTriggered() ?? this.pairs.find((p) => p.state === 'Waiting') ?? this.pairs.find((p) => p.state === 'Frozen');
  }

  private send(pair: CandidatePair, now: number, nominate: boolean): IceEffect {
    const txId = toHex(this.opts.rng.bytes(12));
    if (!nominate) pair.state = 'InProgress';
    this.txs.set(txId, { pair, sentAt: now, retries: 0, nominate });
    return this.checkEffect(pair, txId, nominate);
  }

  private checkEffect(pair: CandidatePair, txId: string, nominate: boolean): IceEffect {
    return {
      kind: 'check',
      pairId: pair.id,
      txId,
      from: pair.local.base,
      to: pair.remote.addr,
      priority: candidatePriority('peer-reflexive', 65535, pair.local.component),
      useCandidate: nominate,
      role: this.role,
    };
  }

  private bestSucceeded(): CandidatePair | undefined {
    return this.pairs.find((p) => p.state === 'Succeeded');
  }

  private select(pair: CandidatePair): IceEffect[] {
    if (this.selected) return [];
    pair.nominated = true;
    this.selected = pair;
    this.txs.clear();
    return [{ kind: 'selected', pair: { ...pair } }];
  }
}
