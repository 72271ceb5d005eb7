/**
 * PunchDriver: hole punching for a running node, from its one QUIC socket, as ICE-lite
 * connectivity checks (RFC 8445 shape, src/nat/ice.ts). Per peer it runs one IceAgent:
 *
 * - candidates: ours from the node (host: our address, server-reflexive: what a bootstrap peer saw),
 *   the peer's from the rendezvous's HolePunchReady (its observed address first, then the ones it
 *   announced; private-range addresses count as host candidates, the others as server-reflexive);
 * - checks: an encoded `IceCheck` message sent as a raw datagram (first byte 0x01, never taken for
 *   QUIC) to each pair's remote candidate, paced every `taMs` and retransmitted with a doubling
 *   timeout; answered at once by a raw `PathReply` {nonce = txId, observedAddr} — and every answer
 *   triggers a check of our own back (which is what gets through once the other NAT opened);
 * - peer-reflexive learning: a check from an address we did not know (a symmetric NAT's fresh port)
 *   becomes a remote candidate, and a reply naming an address of ours we did not know, a local one;
 * - nomination: the initiator (controlling) nominates its first succeeded pair at once (speed over
 *   the optimal pair: any working path will do, a QUIC connection then runs over it).
 * The attempt resolves with the remote address of the first pair whose check succeeded (a path that
 * works both ways: we do not wait for the nomination round trip, which completes meanwhile). Checks from a peer we have no
 * attempt for are still answered (an ICE-lite agent always answers), which opens our NAT toward it.
 * - early checks: such a check is also kept for a short while (EARLY_CHECK_TTL_MS, at most
 *   MAX_EARLY_CHECKS) and replayed into the agent when our attempt for that peer starts (RFC 8445
 *   §7.3.1.4). Two nodes inside one NAT stack reach each other in ~1 ms but hear the rendezvous
 *   (on the internet) in ~10 ms, so the peer's first check often arrives before the rendezvous's
 *   answer. Its source is the peer's peer-reflexive address — often the only one of its addresses
 *   we can reach — and the peer, its check answered, sends no more: without the replay we never
 *   learn it, every pair fails, and the connection ends up relayed.
 *
 * - checks heard: every IceCheck that arrives is reported to `onCheck` listeners (peer, time), so a
 *   connector can tell whether the peer punched toward us before it answered our dial.
 * - pre-checks: `precheck(addr)` sends one check beside a plain dial's first flight (same socket,
 *   same address, before any rendezvous is asked): the peer answers it only if its NAT let it in
 *   unsolicited. Kept until answered, at most PRECHECK_TTL_MS and MAX_PRECHECKS.
 *   (src/traversal/path-label.ts says what both prove.)
 *
 * Both sides start from a HolePunchReady: the initiator as the reply to its HolePunchStart sent to
 * a rendezvous (a relay it keeps a link to, or the peer's), the other side as a one-way message from
 * that rendezvous (accepted only from `isRendezvous` peers).
 * Each attempt is counted in quicmesh_holepunch_attempts_total{result}: `success`, `timeout` (every
 * pair failed its checks) or `failed` (the rendezvous refused or was unreachable, or the attempt was
 * superseded or stopped). Checks from unknown senders are bounded: at most MAX_PAIRS pairs per agent.
 */
import { toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import { notifyListeners } from '../core/listeners.js';
import type { NodeId } from '../core/types.js';
import { RemoteError, TransportError } from '../errors.js';
import { candidatePriority, gatherCandidates, IceAgent, type CandidatePair, type IceCandidate, type IceEffect } from '../nat/ice.js';
import { classifyRaw } from '../nat/raw-packets.js';
import type { RawDatagrams } from '../transport/capabilities.js';
import { formatAddr, parseAddr } from '../transport/quic/addr.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import type { HolePunchReady, IceCheck, PathReply } from '../wire/messages.js';
import type { TraversalNode } from './host.js';
import { holePunchAttemptMetrics, type HolePunchAttemptMetrics } from './traversal-metrics.js';

/** Where a punch got through. */
export interface PunchResult {
  /** The peer's address that works both ways. */
  addr: string;
  /** Round trip of the check that proved it, ms (the direct path's RTT). */
  rttMs: number;
}

/** What a PunchDriver sends checks with, which rendezvous it trusts, our candidates, and the check timing. */
export interface PunchDriverOptions {
  raw: RawDatagrams;
  /** Is this peer a rendezvous we trust to start punches (our relays)? */
  isRendezvous(nodeId: NodeId): boolean;
  /** Our own candidates: default our contact address only. */
  localCandidates?: () => { host: string; reflexive: string | null };
  /** Pacing of new checks, ms (RFC 8445's Ta). Default 5. */
  taMs?: number;
  /** First retransmission timeout of a check, ms; doubles per retry. Default 20. */
  rtoMs?: number;
  /** Retransmissions of one check before its pair fails. Default 7 (the last about 2.5 s in). */
  maxRetransmits?: number;
}

interface Attempt {
  peer: NodeId;
  agent: IceAgent;
  /** Unanswered checks and when each was (last) sent. */
  txIds: Map<string, number>;
  /** RTT of the latest answered check, ms. */
  lastRttMs: number;
  timer: TimerHandle | undefined;
  /** Set once the attempt is counted: a succeeded attempt lingers (answering checks) but is done. */
  settled: 'success' | 'timeout' | undefined;
  resolve(r: PunchResult): void;
  reject(e: Error): void;
}

/** Pairs one agent keeps at most (remote candidates learned from unknown senders included). */
const MAX_PAIRS = 16;
/** Checks the first round sends at once (one per remote candidate, up to this many). */
const FIRST_BURST = 8;
/** How long a finished attempt keeps answering the peer's checks, ms. */
const LINGER_MS = 2_000;
/** How long a check from a peer we have no attempt for is kept for the attempt that may follow, ms. */
export const EARLY_CHECK_TTL_MS = 3_000;
/** Early checks kept at most (any peers): a flood of checks from strangers costs bounded memory. */
export const MAX_EARLY_CHECKS = 64;

/** How long a pre-check waits for its answer, ms (an answer later than that says nothing of the dial). */
export const PRECHECK_TTL_MS = 3_000;
/** Pre-checks awaiting an answer at most (any peers): a burst of dials costs bounded memory. */
export const MAX_PRECHECKS = 64;

/** A pre-check sent, awaiting its answer. */
interface Precheck {
  sentAt: number;
  onAnswered(at: number): void;
}

/** A check from a peer before our attempt toward it existed. */
interface EarlyCheck {
  from: string;
  at: number;
  txId: string;
  priority: number;
  useCandidate: boolean;
}

/** Hole punching from the node's own socket: ICE-lite checks toward each peer a rendezvous pairs us with. */
export class PunchDriver {
  private readonly attempts = new Map<string, Attempt>();
  private punches = 0;
  private successes = 0;
  private readonly metrics: HolePunchAttemptMetrics;
  private readonly punchedListeners = new Set<(peer: NodeId, result: PunchResult) => void>();
  /** Which attempt sent each check still unanswered (replies carry only the transaction id). */
  private readonly txOwner = new Map<string, Attempt>();
  /** Checks from peers we had no attempt for, by hex NodeId, oldest first (see the module comment). */
  private readonly earlyChecks = new Map<string, EarlyCheck[]>();
  private earlyCount = 0;
  private readonly checkListeners = new Set<(peer: NodeId, at: number, from: string) => void>();
  /** Pre-checks awaiting their answer, by hex transaction id, oldest first. */
  private readonly prechecks = new Map<string, Precheck>();
  /** Forwarded Initials answered, already known (the initiator's own copy came first), refused. */
  private readonly forwarded = { accepted: 0, known: 0, refused: 0 };

  constructor(
    private readonly node: TraversalNode,
    private readonly opts: PunchDriverOptions,
  ) {
    this.metrics = holePunchAttemptMetrics(node.components.metrics);
    opts.raw.onRawDatagram((data, from) => this.onDatagram(data, formatAddr(from.host, from.port)));
    node.onNotify('HolePunchReady', (peer, msg) => {
      if (!this.opts.isRendezvous(peer.nodeId)) return;
      // The initiator's forwarded Initial first: our answer is its handshake, and it opens our NAT
      // toward the initiator's address as the checks would (they go there too, right after).
      if (msg.initial !== undefined) this.answerForwarded(msg.initial, msg.peerAddrs[0]);
      // We are the side asked to punch (controlled): the initiator dials once a path is open.
      this.punch(msg, 'controlled').catch((err: unknown) =>
        node.components.logger.debug('hole punch (responder) failed', { error: String(err) }),
      );
    });
  }

  /** Ask `rendezvous` to start a punch between us and `target`; resolves with the working address. */
  async punchVia(rendezvous: { addr: string; nodeId: NodeId }, target: NodeId, timeoutMs?: number): Promise<PunchResult> {
    return (await this.start(rendezvous, target, { timeoutMs })).result;
  }

  /**
   * Ask `rendezvous` to start a punch between us and `target`. Resolves once it answered, with its
   * HolePunchReady (the peer's candidate addresses, so the caller can dial them at once: a QUIC
   * Initial punches our NAT as well as a check does) and the checks' outcome, still running.
   * `addrs` are our own candidates for the peer (default: our contact address).
   */
  async start(
    rendezvous: { addr: string; nodeId: NodeId },
    target: NodeId,
    opts: { timeoutMs?: number; addrs?: string[]; initial?: Uint8Array } = {},
  ): Promise<{ ready: HolePunchReady; result: Promise<PunchResult> }> {
    let reply;
    try {
      const addrs = opts.addrs ?? [this.node.contact.addr];
      const initial = opts.initial !== undefined ? { initial: opts.initial } : {};
      reply = await this.node.request(
        rendezvous,
        { type: 'HolePunchStart', from: this.node.contact, target, addrs, ...initial },
        { timeoutMs: opts.timeoutMs },
      );
    } catch (err) {
      this.metrics.record('failed');
      throw err;
    }
    if (reply.msg.type !== 'HolePunchReady') {
      // the punch never started: the rendezvous refused it
      this.metrics.record('failed');
      if (reply.msg.type === 'HolePunchFailed') throw new RemoteError('HolePunchFailed', reply.msg.reason);
      throw new TransportError(`rendezvous answered ${reply.msg.type}`);
    }
    const result = this.punch(reply.msg, 'controlling');
    result.catch(() => {}); // the caller may settle the connect another way
    return { ready: reply.msg, result };
  }

  /** Hear of every punch that succeeded, ours or one a rendezvous asked us to join; returns the remover. */
  onPunched(listener: (peer: NodeId, result: PunchResult) => void): () => void {
    this.punchedListeners.add(listener);
    return () => this.punchedListeners.delete(listener);
  }

  /** Hear of every ICE check that arrives (the peer it names, the time, the address it came from); returns the remover. */
  onCheck(listener: (peer: NodeId, at: number, from: string) => void): () => void {
    this.checkListeners.add(listener);
    return () => this.checkListeners.delete(listener);
  }

  /**
   * Send one ICE check to `addr` now, beside a plain dial to it; `onAnswered` hears when the peer
   * answered it (never, when its NAT dropped it). Not sent when MAX_PRECHECKS are still waiting.
   */
  precheck(addr: string, onAnswered: (at: number) => void): void {
    const now = this.node.components.clock.now();
    for (const [tx, p] of this.prechecks) {
      if (now - p.sentAt < PRECHECK_TTL_MS) break;
      this.prechecks.delete(tx);
    }
    if (this.prechecks.size >= MAX_PRECHECKS) return;
    const txId = this.node.components.rng.bytes(12);
    this.prechecks.set(toHex(txId), { sentAt: now, onAnswered });
    this.sendMessage(addr, {
      type: 'IceCheck',
      from: this.node.contact,
      txId,
      priority: candidatePriority('peer-reflexive'),
      useCandidate: false,
      controlling: true,
    });
  }

  status(): {
    active: number;
    punches: number;
    successes: number;
    earlyChecks: number;
    forwardedInitials: { accepted: number; known: number; refused: number };
    pairs: { peer: string; checks: PairView[] }[];
  } {
    this.dropStaleEarly(this.node.components.clock.now());
    return {
      active: [...this.attempts.values()].filter((a) => a.settled === undefined).length,
      punches: this.punches,
      successes: this.successes,
      earlyChecks: this.earlyCount,
      forwardedInitials: { ...this.forwarded },
      pairs: [...this.attempts].map(([peer, a]) => ({ peer, checks: a.agent.checklist().map(pairView) })),
    };
  }

  stop(): void {
    for (const [key, a] of this.attempts) {
      a.timer?.cancel();
      this.release(a);
      if (a.settled === undefined) this.metrics.record('failed');
      a.reject(new TransportError('punch driver stopped'));
      this.attempts.delete(key);
    }
    this.prechecks.clear();
  }

  /** Run one IceAgent for the peer in `ready`; a newer punch to the same peer replaces an older one. */
  punch(ready: HolePunchReady, role: 'controlling' | 'controlled' = 'controlling'): Promise<PunchResult> {
    const key = toHex(ready.peer.id);
    const old = this.attempts.get(key);
    if (old) {
      old.timer?.cancel();
      this.release(old);
      if (old.settled === undefined) this.metrics.record('failed');
      old.reject(new TransportError('superseded by a newer punch'));
    }
    const agent = new IceAgent({
      role,
      local: this.localCandidates(),
      remote: remoteCandidates(ready.peerAddrs),
      rng: this.node.components.rng,
      taMs: this.opts.taMs ?? 5,
      rtoMs: this.opts.rtoMs ?? 20,
      maxRetransmits: this.opts.maxRetransmits ?? 7,
      nominationWaitMs: 0,
      maxPairs: MAX_PAIRS,
      // the first round to every candidate at once, and answers to the peer's checks at once: punching
      // is a race between the two NATs opening, and pacing only delays the pair that gets through
      firstBurst: FIRST_BURST,
      unpacedTriggered: true,
    });
    this.punches++;
    return new Promise<PunchResult>((resolve, reject) => {
      const attempt: Attempt = {
        peer: Uint8Array.from(ready.peer.id),
        agent,
        txIds: new Map(),
        lastRttMs: NaN,
        timer: undefined,
        settled: undefined,
        resolve,
        reject,
      };
      this.attempts.set(key, attempt);
      this.replayEarly(key, attempt);
      this.pump(key, attempt);
    });
  }

  // --- internals ---------------------------------------------------------------------------

  /**
   * The initiator's first QUIC Initial came with the rendezvous's message: take it as from its
   * observed address (`from`, the rendezvous's first candidate), so our QUIC answer goes there at
   * once — opening our NAT toward it like a check, and a round trip before its own next Initial
   * would get through the NAT we just opened.
   */
  private answerForwarded(initial: Uint8Array, from: string | undefined): void {
    if (this.opts.raw.acceptForwardedInitial === undefined || from === undefined) return;
    let verdict: 'accepted' | 'known' | 'refused' = 'refused';
    try {
      const hp = parseAddr(from);
      verdict = this.opts.raw.acceptForwardedInitial(initial, hp.host, hp.port);
    } catch {
      // not an address: refused
    }
    this.forwarded[verdict]++;
    this.node.components.logger.debug('forwarded Initial', { from, verdict });
  }

  private get localBase(): string {
    return this.opts.localCandidates?.().host ?? this.node.contact.addr;
  }

  private localCandidates(): IceCandidate[] {
    const own = this.opts.localCandidates?.() ?? { host: this.node.contact.addr, reflexive: null };
    return gatherCandidates({
      hostAddrs: [own.host],
      reflexive: own.reflexive !== null ? [{ addr: own.reflexive, base: own.host }] : [],
    });
  }

  private pump(key: string, a: Attempt): void {
    const clock = this.node.components.clock;
    a.timer?.cancel();
    a.timer = undefined;
    if (this.attempts.get(key) !== a) return;
    this.apply(key, a, a.agent.poll(clock.now()));
    if (a.settled === 'timeout') return;
    const at = a.agent.nextAt();
    if (at !== undefined) a.timer = clock.setTimer(Math.max(0, at - clock.now()), () => this.pump(key, a));
  }

  private apply(key: string, a: Attempt, effects: IceEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'check':
          a.txIds.set(e.txId, this.node.components.clock.now());
          this.txOwner.set(e.txId, a);
          this.sendMessage(e.to, {
            type: 'IceCheck',
            from: this.node.contact,
            txId: Buffer.from(e.txId, 'hex'),
            priority: e.priority,
            useCandidate: e.useCandidate,
            controlling: e.role === 'controlling',
          });
          break;
        case 'respond':
          this.sendMessage(e.to, { type: 'PathReply', nonce: Buffer.from(e.txId, 'hex'), observedAddr: e.mappedAddr });
          break;
        case 'selected':
          this.succeed(key, a, e.pair);
          break;
        case 'failed':
          this.fail(key, a);
          break;
      }
    }
  }

  private onDatagram(data: Uint8Array, from: string): void {
    if (classifyRaw(data) !== 'message') return;
    let msg;
    try {
      msg = decodeMessage(data);
    } catch {
      return;
    }
    if (msg.type === 'IceCheck') this.handleCheck(msg, from);
    else if (msg.type === 'PathReply') this.onReply(msg);
  }

  private handleCheck(msg: IceCheck, from: string): void {
    const txId = toHex(msg.txId);
    const key = toHex(msg.from.id);
    const now = this.node.components.clock.now();
    notifyListeners(this.checkListeners, this.node.components.logger, 'check', msg.from.id, now, from);
    const a = this.attempts.get(key);
    // No running attempt for this peer (none, or a finished one lingering): keep the check for an
    // attempt that may start soon — the rendezvous's answer may still be on its way, and a new
    // punch to a peer we punched a moment ago replaces the lingering attempt, which would
    // otherwise be the only one to have learnt where this check came from.
    if (a === undefined || a.settled !== undefined) {
      this.keepEarly(key, { from, at: now, txId, priority: msg.priority, useCandidate: msg.useCandidate });
    }
    if (a === undefined) {
      // Answer anyway: our answer opens our NAT toward the peer.
      this.sendMessage(from, { type: 'PathReply', nonce: msg.txId, observedAddr: from });
      return;
    }
    const effects = a.agent.onRequest(from, this.localBase, { txId, priority: msg.priority, useCandidate: msg.useCandidate });
    this.apply(key, a, effects);
    if (a.settled !== 'timeout') this.pump(key, a); // a triggered check is due now
  }

  private onReply(msg: PathReply): void {
    const txId = toHex(msg.nonce);
    const pre = this.prechecks.get(txId);
    if (pre !== undefined) {
      this.prechecks.delete(txId);
      const now = this.node.components.clock.now();
      if (now - pre.sentAt < PRECHECK_TTL_MS) pre.onAnswered(now);
      return;
    }
    const a = this.txOwner.get(txId);
    if (a === undefined) return;
    this.txOwner.delete(txId);
    const sentAt = a.txIds.get(txId);
    if (sentAt !== undefined) a.lastRttMs = this.node.components.clock.now() - sentAt;
    a.txIds.delete(txId);
    const key = toHex(a.peer);
    if (this.attempts.get(key) !== a) return;
    this.apply(key, a, a.agent.onResponse(txId, msg.observedAddr, this.node.components.clock.now()));
    const works = a.agent.checklist().find((p) => p.state === 'Succeeded');
    if (works !== undefined) this.succeed(key, a, works);
    if (a.agent.state === 'running') this.pump(key, a); // nomination may be due now
  }

  private keepEarly(key: string, check: EarlyCheck): void {
    this.dropStaleEarly(check.at);
    const list = this.earlyChecks.get(key) ?? [];
    if (list.some((c) => c.from === check.from)) return; // one per source address is all the agent needs
    if (this.earlyCount >= MAX_EARLY_CHECKS) return;
    list.push(check);
    this.earlyChecks.set(key, list);
    this.earlyCount++;
  }

  private dropStaleEarly(now: number): void {
    for (const [key, list] of this.earlyChecks) {
      const fresh = list.filter((c) => now - c.at < EARLY_CHECK_TTL_MS);
      this.earlyCount -= list.length - fresh.length;
      if (fresh.length === 0) this.earlyChecks.delete(key);
      else if (fresh.length < list.length) this.earlyChecks.set(key, fresh);
    }
  }

  /** Hand the new attempt the checks its peer sent before it existed: it learns their sources and checks back. */
  private replayEarly(key: string, a: Attempt): void {
    this.dropStaleEarly(this.node.components.clock.now());
    const list = this.earlyChecks.get(key);
    if (list === undefined) return;
    this.earlyChecks.delete(key);
    this.earlyCount -= list.length;
    for (const c of list) {
      // Answered already; what matters is the peer-reflexive candidate and the triggered check back.
      const effects = a.agent.onRequest(c.from, this.localBase, { txId: c.txId, priority: c.priority, useCandidate: c.useCandidate });
      this.apply(key, a, effects.filter((e) => e.kind !== 'respond'));
    }
  }

  /** Forget the attempt's unanswered checks. */
  private release(a: Attempt): void {
    for (const tx of a.txIds.keys()) if (this.txOwner.get(tx) === a) this.txOwner.delete(tx);
    a.txIds.clear();
  }

  private succeed(key: string, a: Attempt, pair: CandidatePair): void {
    if (a.settled !== undefined) return;
    a.settled = 'success';
    this.successes++;
    this.metrics.record('success');
    const result: PunchResult = {
      addr: pair.remote.addr,
      rttMs: a.lastRttMs,
    };
    a.resolve(result);
    notifyListeners(this.punchedListeners, this.node.components.logger, 'punch', a.peer, result);
    // Keep answering the peer's checks (and finish the nomination) for a while; then let go.
    this.node.components.clock.setTimer(LINGER_MS, () => {
      a.timer?.cancel();
      this.release(a);
      if (this.attempts.get(key) === a) this.attempts.delete(key);
    });
  }

  private fail(key: string, a: Attempt): void {
    a.timer?.cancel();
    a.timer = undefined;
    if (a.settled === 'success') return; // the nomination of a path that worked timed out: keep the success
    if (a.settled === undefined) {
      a.settled = 'timeout';
      this.metrics.record('timeout');
    }
    this.release(a);
    if (this.attempts.get(key) === a) this.attempts.delete(key);
    a.reject(new TransportError(`hole punch to ${key.slice(0, 12)}: no candidate pair answered`));
  }

  private sendMessage(to: string, msg: IceCheck | PathReply): void {
    try {
      const hp = parseAddr(to);
      this.opts.raw.sendRawDatagram(encodeMessage(msg), hp.host, hp.port);
    } catch (err) {
      this.node.components.logger.debug('ICE check send failed', { addr: to, error: String(err) });
    }
  }
}

/** One candidate pair of a punch as status shows it: addresses, remote candidate type, check state, nomination. */
export interface PairView {
  local: string;
  remote: string;
  remoteType: string;
  state: string;
  nominated: boolean;
}

function pairView(p: CandidatePair): PairView {
  return { local: p.local.addr, remote: p.remote.addr, remoteType: p.remote.type, state: p.state, nominated: p.nominated };
}

const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./, /^127\./, /^169\.254\./];

/** Is `addr` ("host:port") in a private, carrier-NAT, loopback or link-local range? */
export function isPrivateAddr(addr: string): boolean {
  let host: string;
  try {
    host = parseAddr(addr).host;
  } catch {
    return false; // not an address at all: not a private one either
  }
  return PRIVATE.some((re) => re.test(host));
}

/** The peer's addresses as ICE candidates: private-range ones are host candidates, the rest server-reflexive. */
export function remoteCandidates(addrs: readonly string[]): IceCandidate[] {
  return [...new Set(addrs)].map((addr, i) => {
    const host = parseAddr(addr).host;
    const type = isPrivateAddr(addr) ? ('host' as const) : ('server-reflexive' as const);
    return { type, addr, base: addr, priority: candidatePriority(type, 65535 - i), foundation: `${type[0]}:${host}`, component: 1 };
  });
}
