/**
 * One QUIC connection: drives a native quiche Connection (sans-IO) with our socket and our
 * clock. recv → process streams → flush (send every ready packet) → re-arm the one timer quiche
 * asks for. After the handshake it binds the peer's NodeId from its TLS certificate and refuses
 * a peer that is not the one dialled for. Path bookkeeping (local/peer address, our connection
 * IDs) lives here, so active migration can be built on `native.probePath/migrate`: we issue the
 * spare connection IDs the peer needs for it as soon as the connection is ready.
 *
 * Time: quiche's deadlines run on the injected clock (components.clock.setTimer). Flushes are
 * not timers: they are scheduled with queueMicrotask (after an application write) or by the
 * endpoint's setImmediate batch (after incoming datagrams), i.e. "as soon as this turn ends".
 * quiche's pacing hints (SendInfo.at) are opaque in this binding, so packets go out at once;
 * the default BBR congestion control keeps bursts near the path's capacity instead.
 */
import type { Connection, PathEvent } from '@matrixai/quic/native/index.js';
import { quiche } from '@matrixai/quic/native/index.js';
import type dgram from 'node:dgram';
import { bytesEqual } from '../../core/bytes.js';
import type { TimerHandle } from '../../core/clock.js';
import type { NodeId } from '../../core/types.js';
import { ConfigError, IdentityError, TransportError } from '../../errors.js';
import type { PeerInfo } from '../transport.js';
import { formatAddr, type HostPort } from './addr.js';
import { CID_LEN } from './config.js';
import { closeReason } from './close-reason.js';
import { issueSpareCids, retiredCids } from './connection-ids.js';
import type { DatagramSink } from './endpoint.js';
import { AnswerAddress } from './forwarded-initials.js';
import { drainDatagrams, maxDatagramLen, peerIdentity, queueDatagram } from './native-ops.js';
import { drainPathEvents, failedCheckPeer, FirstFlight, PathMigrations, PeerMoves, StrandedPeer } from './path-moves.js';
import { isRelayedHost } from './relayed-paths.js';
import { SilenceProbe, type SilenceVerdict } from './silence-probe.js';
import { APP_ERR, StreamTable } from './streams.js';

export type { ConnectionOwner, ConnectionState, DialOptions } from './connection-types.js';
import type { ConnectionOwner, ConnectionState, DialOptions } from './connection-types.js';

type Waiter = (err: Error | null) => void;
const PATH_WATCH_FLUSHES = 16;
/** ms without a datagram from the peer after which the next one is flushed at once (QuicConnection.urgent). */
const QUIET_GAP_MS = 1;

/** One QUIC connection of a QuicTransport (its TLS-verified peer, streams and paths). */
export class QuicConnection implements DatagramSink {
  readonly native: Connection;
  readonly streams: StreamTable;
  readonly isServer: boolean;
  state: ConnectionState = 'handshake';
  closeReason: Error | undefined;
  /** The current path: where quiche sends from and to. */
  readonly path: { local: HostPort; peer: HostPort };
  private peerInfo: PeerInfo | undefined;
  private readonly expected: NodeId | undefined;
  private waiters: Waiter[] = [];
  /** Connection IDs routed to us (ours, plus the client's original DCID on the server side). */
  private readonly routed: Uint8Array[] = [];
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;
  private released = false;
  private wakeQueued = false;
  private readPending = false;
  /** Verified, spare connection IDs not yet issued (the next flush does it, off the connect's path). */
  private sparesDue = false;
  /** Set by shutdownSend: the transport is closing and will finish this connection itself. */
  private frozen = false;
  /** Flushes during which to look for path events (after a packet from a new address). */
  private pathWatch = 0;
  private recvInfo: { from: HostPort; to: HostPort };
  /** Client-side migrations in flight (migrateTo). */
  private readonly migrations: PathMigrations;
  /** The peer's own moves (NAT rebinding): what we sent to its old address is reaped. */
  private readonly peerMoves: PeerMoves;
  /** A peer address quiche failed to validate, where the peer still is (server side). */
  private readonly strandedPeer: StrandedPeer;
  /** Where the peer answered our forwarded first flight from (forwardFlight). */
  private answerAddr: AnswerAddress | undefined;
  /** The dial's first flight, repeated while punching (DialOptions.repeatInitial). */
  private firstFlight: FirstFlight | undefined;
  /** The peer's stream data stopping mid-stream: early keep-alives (see silence-probe.ts). */
  private readonly silence: SilenceProbe;
  /** When the first datagram from the peer arrived (components.clock), or null before (not heard yet). */
  firstHeardAt: number | null = null;
  /** When the last datagram from the peer arrived (components.clock). */
  private lastHeardAt = -Infinity;
  /** The last datagram came QUIET_GAP_MS or more after the one before it (see `urgent`). */
  private afterQuiet = false;

  private constructor(
    private readonly owner: ConnectionOwner,
    native: Connection,
    isServer: boolean,
    peer: HostPort,
    expected: NodeId | undefined,
  ) {
    this.native = native;
    this.isServer = isServer;
    this.expected = expected;
    this.path = { local: owner.endpoint.local, peer };
    this.recvInfo = { from: peer, to: this.path.local };
    this.streams = new StreamTable(this, owner.services);
    this.silence = new SilenceProbe(owner.silence.afterMs, owner.silence.untilMs);
    this.peerMoves = new PeerMoves({
      native,
      clock: owner.components.clock,
      local: this.path.local,
      activePeer: () => this.path.peer,
      wake: () => this.wake(),
      checkable: (peer) => !this.strandedPeer.failedAt(peer),
    });
    this.strandedPeer = new StrandedPeer({ activePeer: () => this.path.peer });
    this.migrations = new PathMigrations({
      native,
      clock: owner.components.clock,
      local: this.path.local,
      switched: (to) => this.follow(to),
      activePeer: () => this.path.peer,
      wake: () => this.wake(),
    });
  }

  /** Start a handshake with `peer`; `expected` is the NodeId we insist on finding there. */
  static dial(owner: ConnectionOwner, peer: HostPort, expected: NodeId | undefined, opts: DialOptions = {}): QuicConnection {
    const scid = owner.components.rng.bytes(CID_LEN);
    const config = isRelayedHost(peer.host) ? owner.relayedConfig : owner.config;
    const native = quiche.Connection.connect(null, scid, owner.endpoint.local, peer, config);
    const conn = new QuicConnection(owner, native, false, peer, expected);
    conn.route(scid);
    const repeat = opts.repeatInitial;
    if (repeat !== undefined && !isRelayedHost(peer.host)) {
      if (!(repeat.intervalMs > 0) || !(repeat.forMs >= 0)) throw new ConfigError('repeatInitial: need intervalMs > 0 and forMs >= 0');
      const ep = owner.endpoint;
      conn.firstFlight = new FirstFlight(
        {
          clock: owner.components.clock,
          stillNeeded: () => conn.firstHeardAt === null && conn.state === 'handshake' && !conn.released,
          resend: (packet) => {
            const buf = ep.packetBuffer();
            packet.copy(buf);
            ep.sendPacket(buf, packet.length, conn.path.peer);
          },
        },
        repeat.intervalMs,
        repeat.forMs,
      );
    }
    // The Initial leaves now, not after the rest of this task: a connect's time runs from here. (A
    // punch's request goes first all the same: the connector starts the dials behind a punch later.)
    owner.endpoint.flushNow(conn);
    return conn;
  }

  /**
   * Accept a client whose first Initial (`first`, addressed to `odcid`) just arrived; no Retry
   * (see endpoint.ts). Undefined when quiche could not use that packet (garbage dressed as an
   * Initial): then nothing is kept and nothing is sent.
   */
  static accept(owner: ConnectionOwner, odcid: Uint8Array, first: Buffer, from: dgram.RemoteInfo): QuicConnection | undefined {
    const scid = owner.components.rng.bytes(CID_LEN);
    const peer = { host: from.address, port: from.port };
    const config = isRelayedHost(peer.host) ? owner.relayedConfig : owner.config;
    const native = quiche.Connection.accept(scid, null, owner.endpoint.local, peer, config);
    try {
      native.recv(first, { from: peer, to: owner.endpoint.local });
    } catch {
      return undefined;
    }
    if (native.stats().recv === 0 || native.isClosed()) return undefined;
    const conn = new QuicConnection(owner, native, true, peer, undefined);
    conn.firstHeardAt = owner.components.clock.now();
    conn.route(scid);
    conn.route(odcid); // the client's retransmitted Initials still carry it
    return conn;
  }

  /** The verified peer; only valid once `state` has been 'ready'. */
  get peer(): PeerInfo {
    if (!this.peerInfo) throw new TransportError('connection not established');
    return this.peerInfo;
  }

  /** The verified peer, or undefined before (or without) a successful identity check. */
  get verifiedPeer(): PeerInfo | undefined {
    return this.peerInfo;
  }

  /** Verified as `nodeId`'s, or still being dialled expecting it. */
  isFor(nodeId: NodeId): boolean {
    const id = this.peerInfo?.nodeId ?? this.expected;
    return id !== undefined && bytesEqual(id, nodeId);
  }

  get peerAddr(): string {
    const at = this.strandedPeer.at ?? this.answerAddr?.at ?? this.path.peer;
    return formatAddr(at.host, at.port);
  }

  /** True while the current path runs through a relay (see relayed-paths.ts). */
  get isRelayed(): boolean {
    return isRelayedHost(this.path.peer.host);
  }

  /** Smoothed RTT of the current path, ms (quiche's estimate), or null before any sample. */
  get rttMs(): number | null {
    try {
      const active = this.native.pathStats().find((p) => p.active);
      // quiche reports it in whole milliseconds
      return active && active.rtt > 0 ? active.rtt : null;
    } catch {
      return null;
    }
  }

  /**
   * Call `cb` once the peer is verified (null) or the connection failed (the error). Returns a
   * function that withdraws the wait; a dial nobody waits for any more is abandoned.
   */
  whenReady(cb: Waiter): () => void {
    if (this.state === 'ready') {
      cb(null);
      return noop;
    }
    if (this.state === 'closed') {
      cb(this.closeReason ?? new TransportError('connection closed'));
      return noop;
    }
    this.waiters.push(cb);
    return () => {
      const i = this.waiters.indexOf(cb);
      if (i < 0) return;
      this.waiters.splice(i, 1);
      if (this.waiters.length === 0 && this.state === 'handshake' && !this.isServer) {
        this.close(APP_ERR.CANCELLED, new TransportError(`dial to ${this.peerAddr} abandoned`));
      }
    };
  }

  // --- DatagramSink ------------------------------------------------------------------------

  /**
   * Flushed right after the current task (UdpEndpoint batches the rest): while the handshake runs,
   * and for a datagram that came after a quiet spell — the head of a burst, usually a whole small
   * message (a request, a punch's rendezvous message) that someone waits on. The datagrams that
   * follow it closely (bulk data) go with the turn's batch.
   */
  get urgent(): boolean {
    return !this.released && (this.state === 'handshake' || this.afterQuiet);
  }

  recv(data: Buffer, from: dgram.RemoteInfo): void {
    if (this.released || this.frozen) return;
    // quiche failed a path of the peer's: a packet from there goes in as from its active path (StrandedPeer)
    const src = this.isServer && this.strandedPeer.engaged ? { host: from.address, port: from.port } : undefined;
    const as = src ? this.strandedPeer.source(src) : this.answerAddr?.source({ host: from.address, port: from.port }, this.state === 'handshake');
    let info = this.recvInfo;
    let newSource = false;
    if (as !== undefined) {
      info = { from: as, to: this.path.local };
    } else if (info.from.host !== from.address || info.from.port !== from.port) {
      info = this.recvInfo = { from: { host: from.address, port: from.port }, to: this.path.local };
      this.pathWatch = PATH_WATCH_FLUSHES;
      newSource = true;
    }
    const watch = src !== undefined && this.strandedPeer.watches(src);
    const heard = watch ? this.native.stats().recv : 0;
    const now = this.owner.components.clock.now();
    this.firstHeardAt ??= now;
    this.afterQuiet = now - this.lastHeardAt >= QUIET_GAP_MS;
    this.lastHeardAt = now;
    try {
      this.native.recv(data, info);
      // authentic (quiche took it): the peer is there
      if (watch && this.native.stats().recv > heard) this.strandedHeard(src, as !== undefined);
      // An authentic packet from a new source: the peer is seen there now (WhatIsMyAddr answers
      // with it, a rendezvous punches toward it) even before quiche has validated the path.
      if (newSource && this.peerInfo) this.peerInfo = { ...this.peerInfo, addr: formatAddr(from.address, from.port) };
    } catch (e) {
      // A TLS failure or protocol violation closes the connection inside quiche (seen in
      // flush); anything else is a packet quiche refused, which it has already dropped.
      this.owner.log.trace('quic recv refused a packet', { peer: this.peerAddr, error: (e as Error).message });
    }
    if (this.state === 'handshake' && this.native.isEstablished()) {
      this.answerAddr?.established();
      this.verifyPeer();
    }
    // Stream data is read once per batch of datagrams, in flush(): one pass over quiche's
    // readable streams instead of one per packet.
    this.readPending = true;
  }

  /** Hand every ready packet to the socket, then update state and the timer. */
  flush(): void {
    if (this.released || this.frozen) return;
    if (this.state === 'ready') {
      if (this.sparesDue) {
        this.sparesDue = false;
        this.issueSpareCids();
      }
      if (this.readPending) {
        this.readPending = false;
        const now = this.owner.components.clock.now();
        if (this.silence.resumed(now, this.streams.sending)) this.keepAlive();
        if (this.streams.processReadable()) this.silence.heard(now);
        drainDatagrams(this.native, (d) => this.owner.datagramReceived(this, d));
      }
      this.streams.pumpAll();
    }
    this.sendPackets();
    this.afterIo();
  }

  private sendPackets(): void {
    const native = this.native;
    const ep = this.owner.endpoint;
    for (;;) {
      const buf = ep.packetBuffer(); // the same view until a packet is written into it
      let r;
      try {
        r = native.send(buf);
      } catch (e) {
        this.owner.log.debug('quic send failed', { peer: this.peerAddr, error: (e as Error).message });
        return;
      }
      if (r === null) break;
      if (this.firstHeardAt === null) this.firstFlight?.capture(buf.subarray(0, r[0]));
      const to = this.strandedPeer.destination(this.peerMoves.destination(r[1].to));
      ep.sendPacket(buf, r[0], this.answerAddr?.destination(to) ?? to);
    }
    this.firstFlight?.arm();
  }

  // --- datagrams (RFC 9221) ----------------------------------------------------------------

  /** Queue one DATAGRAM frame; false when it cannot go (not ready, too big, queue full). */
  sendDatagram(data: Uint8Array): boolean {
    if (this.state !== 'ready' || !queueDatagram(this.native, data)) return false;
    this.wake();
    return true;
  }

  /** Largest DATAGRAM payload the current path takes, or null when the peer has none. */
  get maxDatagramSize(): number | null {
    return maxDatagramLen(this.native);
  }

  // --- migration -----------------------------------------------------------------------------

  /**
   * Move this connection to `peer` (the client side only, as QUIC allows): probe the new path,
   * and once quiche has validated it (PATH_CHALLENGE answered, so the far side holds our keys),
   * make it the active path. Open streams carry on; packets in flight on the old path are
   * retransmitted on the new one. Rejects with TimeoutError when the probe is not answered.
   */
  migrateTo(peer: HostPort, timeoutMs: number): Promise<void> {
    if (this.isServer) return Promise.reject(new TransportError('only the side that opened a connection can migrate it'));
    if (this.state !== 'ready') return Promise.reject(new TransportError(`connection to ${this.peerAddr} is not ready`));
    if (peer.host === this.path.peer.host && peer.port === this.path.peer.port) return Promise.resolve();
    this.pathWatch = Math.max(this.pathWatch, PATH_WATCH_FLUSHES);
    return this.migrations.migrateTo(peer, timeoutMs);
  }

  /** An authentic packet from `from`, handed to quiche as from its active path when `stranded`: we send where the peer is. */
  private strandedHeard(from: HostPort, stranded: boolean): void {
    const old = this.peerAddr;
    if (!this.strandedPeer.heard(from, stranded)) return;
    if (this.peerInfo) this.peerInfo = { ...this.peerInfo, addr: this.peerAddr };
    this.owner.connectionMoved(this, old);
  }

  /** The active path's peer is now `peer` (our migration, or the peer's). */
  private follow(peer: HostPort): void {
    const old = this.peerAddr;
    this.strandedPeer.followed(peer);
    this.path.peer = peer;
    this.recvInfo = { from: peer, to: this.path.local };
    if (old === this.peerAddr) return; // quiche caught up with where we already sent (StrandedPeer)
    if (this.peerInfo) this.peerInfo = { ...this.peerInfo, addr: this.peerAddr };
    this.owner.connectionMoved(this, old);
  }

  /** Schedule a flush right after the current task (application writes). */
  wake(): void {
    if (this.wakeQueued || this.released) return;
    this.wakeQueued = true;
    queueMicrotask(this.wakeFlush);
  }

  private readonly wakeFlush = (): void => {
    this.wakeQueued = false;
    this.owner.endpoint.flushNow(this);
  };

  /** Send a PING so the peer (and any NAT on the way) sees traffic; keeps the idle timer fresh. */
  keepAlive(): void {
    if (this.state !== 'ready') return;
    try {
      this.native.sendAckEliciting();
    } catch {
      return;
    }
    this.wake();
  }

  /**
   * A PING now if the peer stopped sending mid-stream (see silence-probe.ts); `first` for the first
   * probe of a silence, which may mean our NAT forgot us.
   */
  probeSilence(now: number): SilenceVerdict {
    if (this.state !== 'ready') return 'quiet';
    const verdict = this.silence.check(now, this.streams.receiving);
    if (verdict !== 'quiet') this.keepAlive();
    return verdict;
  }

  /**
   * Our dial's first flight, to forward through a rendezvous (HolePunchStart.initial): its one
   * datagram once sent (flushed now if it has not been), while nothing has been heard from the peer.
   * From then on the dial follows the peer's answer to wherever it comes from (AnswerAddress).
   */
  forwardFlight(): Buffer | undefined {
    if (this.isServer || this.state !== 'handshake' || this.firstHeardAt !== null || this.firstFlight === undefined) return undefined;
    if (this.firstFlight.flight.length === 0) this.owner.endpoint.flushNow(this);
    const flight = this.firstFlight?.flight;
    if (flight?.length !== 1) return undefined;
    this.answerAddr ??= new AnswerAddress(this.path.peer);
    return flight[0];
  }

  /** Drop the connection without sending anything (endpoint.ts: a provisional connection replaced). */
  discard(): void {
    this.markClosed(new TransportError('replaced: the client reached us from another address'));
    this.release();
  }

  /** Close with an application error code; pending operations fail with `reason`. */
  close(code: number, reason: Error): void {
    if (this.state === 'closed') return;
    try {
      this.native.close(true, code, Buffer.from(reason.message.slice(0, 100)));
    } catch {
      // already closing
    }
    this.markClosed(reason);
    this.wake();
  }

  /**
   * Transport shutdown, step 1: CONNECTION_CLOSE goes out now. Pending operations are failed in
   * step 2 (`shutdownFinish`), once the socket is closed, so that they settle as close() resolves.
   */
  shutdownSend(): void {
    if (this.released) return;
    // From here on the connection is frozen until step 2: no timer, no flush, no state change.
    this.frozen = true;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.state === 'closed') return;
    try {
      this.native.close(true, APP_ERR.SHUTDOWN, Buffer.from('shutdown'));
    } catch {
      return; // already closing
    }
    this.sendPackets();
  }

  /** Transport shutdown, step 2: fail what is pending and release everything (no draining wait). */
  shutdownFinish(reason: Error): void {
    this.markClosed(reason);
    this.release();
  }

  // --- internals ---------------------------------------------------------------------------

  private route(cid: Uint8Array): void {
    this.routed.push(cid);
    this.owner.endpoint.register(cid, this);
  }

  private verifyPeer(): void {
    const who = peerIdentity(this.native, this.expected, this.peerAddr);
    if (who instanceof IdentityError) return this.close(APP_ERR.IDENTITY, who);
    const { nodeId, publicKey } = who;
    this.peerInfo = { nodeId, publicKey, addr: this.peerAddr };
    this.state = 'ready';
    this.sparesDue = true;
    this.owner.connectionReady(this);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(null);
  }

  /** Give the peer spare connection IDs (it needs one per extra path: probing, migration). */
  private issueSpareCids(): void {
    issueSpareCids(this.native, this.owner.components.rng, (cid) => this.route(cid));
  }

  private afterIo(): void {
    const native = this.native;
    // Path events only follow a packet from a new address; a few flushes of watching covers
    // the validation that follows it. (Skipping the napi call per flush saves real time.)
    if ((this.pathWatch > 0 || this.migrations.pending > 0) && this.state === 'ready') {
      if (this.pathWatch > 0) this.pathWatch--;
      this.migrations.retry();
      this.drainPathEvents();
    }
    if (this.state !== 'closed' && (native.isClosed() || native.isDraining())) this.markClosed(this.describeClose());
    if (native.isClosed()) return this.release();
    this.armTimer();
  }

  private drainPathEvents(): void {
    drainPathEvents(this.native, (ev) => {
      this.migrations.onEvent(ev);
      if (ev.type === 'PeerMigrated') {
        const old = this.path.peer;
        // also quiche falling back to an older path after it failed a new one: no move when that is where it was
        if (old.host === ev.new.host && old.port === ev.new.port) return;
        this.follow({ host: ev.new.host, port: ev.new.port });
        this.peerMoves.moved(old);
      } else if (this.isServer) {
        this.serverPathEvent(ev);
      }
    });
  }

  /** A server's view of its client's paths: where it arrived, which checks quiche passed or failed. */
  private serverPathEvent(ev: PathEvent): void {
    if (ev.type === 'New') this.peerMoves.arrived(ev.peer);
    else if (ev.type === 'Validated') this.strandedPeer.validated(ev.peer);
    else if ((ev.type as string) === 'FailedValidation') {
      const peer = failedCheckPeer(ev)!;
      this.owner.log.debug('quiche failed its check of a peer address', { peer: formatAddr(peer.host, peer.port), active: formatAddr(this.path.peer.host, this.path.peer.port) });
      this.strandedPeer.pathFailed(peer);
    }
  }

  /**
   * Keep one timer at the earliest deadline quiche has asked for. A timer that fires early is
   * harmless (quiche's onTimeout only acts on expired deadlines), so later deadlines never
   * cancel an armed timer: no timer churn per packet.
   */
  private armTimer(): void {
    if (this.frozen) return;
    const ms = this.native.timeout();
    if (ms === null) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerDue = Infinity;
      return;
    }
    const clock = this.owner.components.clock;
    const due = clock.now() + ms;
    if (this.timer && this.timerDue <= due) return;
    this.timer?.cancel();
    this.timerDue = due;
    // +1 ms: our clock and quiche's may round differently; firing a hair late is fine.
    this.timer = clock.setTimer(ms + 1, this.onTimer);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.released || this.frozen) return;
    this.native.onTimeout();
    this.retireCids();
    if (this.state === 'ready') this.pathWatch = Math.max(this.pathWatch, 1);
    this.flush();
  };

  /** Stop routing the connection IDs the peer has retired (rare: checked on timer ticks). */
  private retireCids(): void {
    for (const cid of retiredCids(this.native)) {
      this.owner.endpoint.unregister(cid, this);
      const i = this.routed.findIndex((c) => bytesEqual(c, cid));
      if (i >= 0) this.routed.splice(i, 1);
    }
  }

  private markClosed(reason: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.firstFlight?.cancel();
    this.firstFlight = undefined;
    this.migrations.failAll(reason);
    this.peerMoves.stop();
    this.streams.closeAll(reason);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(reason);
    this.owner.connectionClosed(this, reason);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const cid of this.routed) this.owner.endpoint.unregister(cid, this);
    this.routed.length = 0;
    this.owner.connectionReleased(this);
  }

  private describeClose(): Error {
    return closeReason(this.native, this.peerAddr, this.peerInfo !== undefined);
  }
}

function noop(): void {}
