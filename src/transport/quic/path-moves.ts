/**
 * Two pieces of one QUIC connection's path handling, kept apart from the connection's I/O loop:
 *
 * - PathMigrations: client-side migration (RFC 9000 §9). migrateTo(peer) asks quiche to probe
 *   the path (PATH_CHALLENGE; retried while the peer's spare connection IDs are still on their
 *   way), waits for quiche's Validated event (the far side answered, so it holds our keys), then
 *   makes it the active path. A failed check (FailedValidation; Closed) or the deadline fails the move.
 *   Leaving a dead path: quiche 0.18 keeps loss recovery per path and only declares the old path's
 *   packets lost when that path stops being the active one (on_path_change) or when an ACK also
 *   acknowledges one of its own packets. Packets sent into a path that died (the node moved, the
 *   relay went) would so stay "in flight" there forever, and their stream data never arrive. So
 *   after a switch, once ACKs on the new path have moved past them, we make the old path active
 *   and at once the new one again (nothing is sent in between): quiche then declares them lost
 *   and retransmits their frames on the new path.
 * - PeerMoves: the same dead path when the *peer* moved (its NAT rebinding, a router that rebooted:
 *   quiche follows it, PeerMigrated). Packets sent into its old address since the last ACK from there
 *   would again stay in flight on the old path for ever, and the side that cannot migrate (the
 *   server; quiche refuses `migrate` there) cannot switch back and forth to reap them. Instead it
 *   probes the old path (PATH_CHALLENGE) and sends whatever quiche addresses to the old address to
 *   the peer's current one: the peer answers and acknowledges that probe, and an ACK for a packet of
 *   the old path makes quiche run loss detection there — the stale packets are declared lost and
 *   their frames retransmitted on the active path.
 *   A new peer address is checked again while quiche has not validated it (see arrived()).
 * - StrandedPeer: a peer address quiche gave up on (server side). quiche 0.18 checks a peer's new
 *   address once: when that PATH_CHALLENGE (or its answer) is lost and the server's anti-amplification
 *   credit there is spent — it always is once a path carried data — the path is marked failed for
 *   good and quiche falls back to an older path (often a dead mapping). The peer's next packet from
 *   the failed address then makes that path active, leaves quiche without a usable path and closes
 *   the connection (InvalidState, sent as PROTOCOL_VIOLATION). After a router reboot that address is
 *   the only one the peer has. So packets from an address quiche failed are handed to quiche as if
 *   from its active path, and what quiche sends there goes to the address the peer really sent from,
 *   once a packet from there proved authentic (it decrypted: only the peer holds the keys).
 * - FirstFlight: for hole punching, the dial's first datagrams are resent on a schedule until the
 *   peer answers — every `intervalMs` for REPEAT_BURST copies, then at doubling intervals up to
 *   REPEAT_MAX_INTERVAL_MS — since the first copies may die at the peer's NAT before its own punch
 *   opened it, and quiche itself would wait a full PTO (about a second).
 */
import type { Connection, PathEvent } from '@matrixai/quic/native/index.js';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { TimeoutError, TransportError } from '../../errors.js';
import { formatAddr, type HostPort } from './addr.js';

const REPEAT_BURST = 12;
const REPEAT_MAX_INTERVAL_MS = 250;
/** After a switch: when to make quiche give up the old path's packets (ms), twice to catch late probes. */
const REAP_AFTER_MS = [150, 1_000];

interface Probe {
  peer: HostPort;
  /** False until quiche took the probe (it needs a spare connection ID from the peer first). */
  sent: boolean;
  timer: TimerHandle;
  resolve(): void;
  reject(err: Error): void;
}

export interface MigrationHost {
  readonly native: Connection;
  readonly clock: Clock;
  /** Our end of every path (the one socket). */
  readonly local: HostPort;
  /** quiche switched the active path to `peer`: follow it. */
  switched(peer: HostPort): void;
  /** The peer address of the active path now. */
  activePeer(): HostPort;
  /** Packets are ready to go. */
  wake(): void;
}

const same = (a: HostPort, b: HostPort): boolean => a.host === b.host && a.port === b.port;

/**
 * The peer address of a path whose check quiche failed, or null for any other event. quiche 0.18
 * reports it as FailedValidation; the binding's types know only Closed (a path quiche dropped).
 */
export function failedCheckPeer(ev: PathEvent): HostPort | null {
  const type = ev.type as string;
  return type === 'FailedValidation' || type === 'Closed' ? (ev as { peer: HostPort }).peer : null;
}

/** Hand each path event quiche has queued to `handle`, oldest first. */
export function drainPathEvents(native: Connection, handle: (ev: PathEvent) => void): void {
  for (;;) {
    let ev;
    try {
      ev = native.pathEventNext();
    } catch {
      return;
    }
    if (!ev) return;
    handle(ev);
  }
}

export class PathMigrations {
  private readonly probes: Probe[] = [];
  private readonly reapTimers = new Set<TimerHandle>();

  constructor(private readonly host: MigrationHost) {}

  /** Probes in flight (the connection watches path events while there are any). */
  get pending(): number {
    return this.probes.length;
  }

  migrateTo(peer: HostPort, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const target = formatAddr(peer.host, peer.port);
      const probe: Probe = {
        peer,
        sent: false,
        timer: this.host.clock.setTimer(timeoutMs, () => {
          this.drop(probe);
          reject(new TimeoutError(`path to ${target} not validated within ${timeoutMs} ms`));
        }),
        resolve,
        reject,
      };
      this.probes.push(probe);
      this.send(probe);
      this.host.wake();
    });
  }

  /** Retry the probes quiche could not take yet (after each flush). */
  retry(): void {
    for (const p of this.probes.filter((q) => !q.sent)) {
      this.send(p);
      if (p.sent) this.host.wake();
    }
  }

  /** A path event from quiche: one of our probes validated or failed. */
  onEvent(ev: PathEvent): void {
    if (ev.type === 'Validated') {
      const probe = this.probes.find((p) => same(p.peer, ev.peer));
      if (probe) this.switchTo(probe);
      return;
    }
    const peer = failedCheckPeer(ev);
    if (peer !== null) {
      const failed = this.probes.filter((q) => same(q.peer, peer));
      for (const p of failed) {
        this.drop(p);
        p.reject(new TransportError(`path to ${formatAddr(peer.host, peer.port)} failed validation`));
      }
    }
  }

  failAll(reason: Error): void {
    for (const p of this.probes.splice(0)) {
      p.timer.cancel();
      p.reject(reason);
    }
    for (const t of this.reapTimers) t.cancel();
    this.reapTimers.clear();
  }

  private send(probe: Probe): void {
    const native = this.host.native;
    try {
      // probePath also re-probes a path quiche already knows
      native.probePath(this.host.local, probe.peer);
      probe.sent = true;
    } catch (e) {
      if ((e as Error).message.includes('OutOfIdentifiers')) return;
      this.drop(probe);
      probe.reject(new TransportError(`cannot probe ${formatAddr(probe.peer.host, probe.peer.port)}: ${(e as Error).message}`));
      return;
    }
    // Validated already (e.g. an earlier probe): switch now.
    if (this.validated(probe.peer)) this.switchTo(probe);
  }

  private validated(peer: HostPort): boolean {
    try {
      return this.host.native.isPathValidated(this.host.local, peer); // throws for unknown paths
    } catch {
      return false;
    }
  }

  private drop(probe: Probe): void {
    const i = this.probes.indexOf(probe);
    if (i >= 0) this.probes.splice(i, 1);
    probe.timer.cancel();
  }

  private switchTo(probe: Probe): void {
    this.drop(probe);
    const old = this.host.activePeer();
    try {
      this.host.native.migrate(this.host.local, probe.peer);
    } catch (e) {
      return probe.reject(new TransportError(`migration to ${formatAddr(probe.peer.host, probe.peer.port)} failed: ${(e as Error).message}`));
    }
    this.host.switched({ host: probe.peer.host, port: probe.peer.port });
    this.host.wake();
    probe.resolve();
    for (const ms of REAP_AFTER_MS) {
      const t = this.host.clock.setTimer(ms, () => {
        this.reapTimers.delete(t);
        this.reap(old, probe.peer);
      });
      this.reapTimers.add(t);
    }
  }

  /** Make quiche declare lost what is still in flight on `old` (see the header), staying on `current`. */
  private reap(old: HostPort, current: HostPort): void {
    const native = this.host.native;
    const active = this.host.activePeer();
    if (!same(active, current) || same(old, current)) return; // moved on since: leave it
    try {
      native.migrate(this.host.local, old);
    } catch {
      return; // quiche no longer knows the old path: nothing left there
    }
    try {
      native.migrate(this.host.local, current);
    } catch {
      // cannot happen for a validated path; if it does, the next flush sends on `old` and the
      // connection times out there rather than hanging
    }
    this.host.wake();
  }
}

/** When to check a new peer address again while quiche has not validated it (ms after its first packet). */
const RECHECK_AFTER_MS = [300, 700, 1_500, 3_000];

/** Old peer addresses remembered at most (a peer that keeps moving only needs its latest few). */
const MAX_MOVED_FROM = 4;

export interface PeerMovesHost {
  readonly native: Connection;
  readonly clock: Clock;
  readonly local: HostPort;
  /** The peer address of the active path now. */
  activePeer(): HostPort;
  wake(): void;
  /**
   * May a check go to `peer`? Not to an address quiche failed (StrandedPeer): its anti-amplification
   * credit there is spent and stays so, and a check quiche cannot send holds up everything it sends.
   */
  checkable(peer: HostPort): boolean;
}

export class PeerMoves {
  /** Addresses the peer moved away from, oldest first. */
  private readonly movedFrom: HostPort[] = [];
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly host: PeerMovesHost) {}

  /** quiche followed the peer from `old` to the active path: reap what is left in flight on `old`. */
  moved(old: HostPort): void {
    const i = this.movedFrom.findIndex((a) => same(a, old));
    if (i >= 0) this.movedFrom.splice(i, 1);
    this.movedFrom.push({ host: old.host, port: old.port });
    if (this.movedFrom.length > MAX_MOVED_FROM) this.movedFrom.shift();
    for (const ms of REAP_AFTER_MS) {
      const t = this.host.clock.setTimer(ms, () => {
        this.timers.delete(t);
        this.reap(old);
      });
      this.timers.add(t);
    }
  }

  /**
   * A packet came from `peer`, an address new to quiche (its New event): check it again while it is
   * not validated. quiche sends one PATH_CHALLENGE there and, when it is lost and the loss is found
   * by a later ACK, neither resends it nor gives up: the path then stays unvalidated, its sending
   * capped at 3x what the peer sends (anti-amplification), for as long as the peer stays there.
   */
  arrived(peer: HostPort): void {
    const at = { host: peer.host, port: peer.port };
    for (const ms of RECHECK_AFTER_MS) {
      const t = this.host.clock.setTimer(ms, () => {
        this.timers.delete(t);
        this.recheck(at);
      });
      this.timers.add(t);
    }
  }

  /** Where a packet quiche addressed to `to` goes: an address the peer left stands for where it is now. */
  destination(to: HostPort): HostPort {
    return this.movedFrom.some((a) => same(a, to)) ? this.host.activePeer() : to;
  }

  private recheck(peer: HostPort): void {
    const native = this.host.native;
    if (!this.host.checkable(peer)) return;
    try {
      if (native.isPathValidated(this.host.local, peer)) return; // throws for a path quiche dropped
      native.probePath(this.host.local, peer);
    } catch {
      return;
    }
    this.host.wake();
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  private reap(old: HostPort): void {
    if (same(old, this.host.activePeer())) return; // the peer is back there: nothing stale
    try {
      this.host.native.probePath(this.host.local, old);
    } catch {
      return; // quiche no longer knows that path (or has no spare connection ID): nothing to reap
    }
    this.host.wake();
  }
}

/** Failed peer addresses remembered at most. */
const MAX_FAILED = 4;

export interface StrandedPeerHost {
  /** quiche's active path's peer address. */
  activePeer(): HostPort;
}

export class StrandedPeer {
  /** Addresses of the peer whose path quiche failed, oldest first. */
  private readonly failed: HostPort[] = [];
  /** Where the peer is while quiche sends to its active path instead (undefined: quiche's own view holds). */
  private stranded: HostPort | undefined;

  constructor(private readonly host: StrandedPeerHost) {}

  /** The peer's real address while it differs from quiche's active path's. */
  get at(): HostPort | undefined {
    return this.stranded;
  }

  /** Has quiche failed a path of the peer's (only then do packets need looking at)? */
  get engaged(): boolean {
    return this.failed.length > 0 || this.stranded !== undefined;
  }

  /** quiche failed its check of the path to `peer` (its FailedValidation event). */
  pathFailed(peer: HostPort): void {
    this.validated(peer); // moved to the newest end
    this.failed.push({ host: peer.host, port: peer.port });
    if (this.failed.length > MAX_FAILED) this.failed.shift();
  }

  /** quiche validated `peer` after all (a later check got through): its packets go in as they are again, and quiche follows the peer there. */
  validated(peer: HostPort): void {
    const i = this.failed.findIndex((a) => same(a, peer));
    if (i >= 0) this.failed.splice(i, 1);
  }

  /** quiche followed the peer itself (a validated path, PeerMigrated): its view holds again. */
  followed(peer: HostPort): void {
    this.validated(peer);
    this.stranded = undefined;
  }

  /** Did quiche fail its check of `peer`? */
  failedAt(peer: HostPort): boolean {
    return this.failed.some((a) => same(a, peer));
  }

  /** The source address to give quiche for a packet from `from`: its active path's when quiche failed `from`. */
  source(from: HostPort): HostPort | undefined {
    if (!this.failedAt(from)) return undefined;
    const active = this.host.activePeer();
    return same(active, from) ? undefined : active;
  }

  /** Does a packet from `from` need checking for authenticity (it would change where we send)? */
  watches(from: HostPort): boolean {
    return this.stranded !== undefined ? !same(this.stranded, from) : this.source(from) !== undefined;
  }

  /** An authentic packet came from `from` (handed to quiche as from its active path when `stranded`): true when where we send changed. */
  heard(from: HostPort, stranded: boolean): boolean {
    const before = this.stranded;
    this.stranded = stranded ? { host: from.host, port: from.port } : undefined;
    return before === undefined ? this.stranded !== undefined : this.stranded === undefined || !same(before, this.stranded);
  }

  /** Where a packet quiche addressed to `to` goes: the peer's real address instead of quiche's active path's. */
  destination(to: HostPort): HostPort {
    return this.stranded !== undefined && same(to, this.host.activePeer()) ? this.stranded : to;
  }
}

export interface FirstFlightHost {
  readonly clock: Clock;
  /** Resend one datagram to the peer. */
  resend(packet: Buffer): void;
  /** Still worth repeating (handshake under way, nothing heard from the peer yet). */
  stillNeeded(): boolean;
}

export class FirstFlight {
  private readonly packets: Buffer[] = [];
  private timer: TimerHandle | undefined;
  private sent = 0;
  private readonly until: number;
  private done = false;

  constructor(
    private readonly host: FirstFlightHost,
    private readonly intervalMs: number,
    forMs: number,
  ) {
    this.until = host.clock.now() + forMs;
  }

  /** Keep a copy of a datagram of the first flush (nothing after the schedule started). */
  capture(packet: Uint8Array): void {
    if (this.timer === undefined && !this.done) this.packets.push(Buffer.from(packet));
  }

  /** The datagrams of the first flush, while they are still being repeated. */
  get flight(): readonly Buffer[] {
    return this.packets;
  }

  /** After the first flush: start repeating what it sent. */
  arm(): void {
    if (this.timer === undefined && !this.done && this.packets.length > 0) this.schedule();
  }

  cancel(): void {
    this.stop();
    this.timer?.cancel();
  }

  /** No more repeats: the copies go too (the connection may live on for hours). */
  private stop(): void {
    this.done = true;
    this.packets.length = 0;
  }

  private schedule(): void {
    const backoff = 2 ** Math.floor(this.sent / REPEAT_BURST);
    this.timer = this.host.clock.setTimer(Math.min(this.intervalMs * backoff, REPEAT_MAX_INTERVAL_MS), () => {
      this.sent++;
      if (this.done || !this.host.stillNeeded() || this.host.clock.now() > this.until) return this.stop();
      for (const p of this.packets) this.host.resend(p);
      this.schedule();
    });
  }
}
