/**
 * QuicTransport: the Transport over real QUIC (quiche through @matrixai/quic's native binding,
 * driven by our own code: see endpoint.ts, connection.ts, streams.ts).
 *
 * - One UDP socket per node for accepting and dialling.
 * - One connection per remote, reused by NodeId and by address. Two nodes dialling each other at
 *   once get two connections; both work. Both sides then prefer the same one (the connection
 *   opened by the node with the smaller NodeId) and only keep that one alive, so the duplicate
 *   idles out on its own.
 * - One bidirectional stream per request; `notify` uses a unidirectional stream.
 * - A handler that throws is answered with `{type:'Error', code, message}` (code: the error's
 *   string `code` property, else its class name). The requesting side returns an Error reply
 *   as an ordinary Reply: the node layer decides what it means.
 * - Requests have a deadline (dial + exchange) and honour an AbortSignal; a dial everybody gave
 *   up on is abandoned.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type dgram from 'node:dgram';
import { QUIC_IDLE_TIMEOUT_MS, QUIC_KEEPALIVE_INTERVAL_MS, REQUEST_TIMEOUT_MS } from '../../constants.js';
import { bytesEqual, shortHex } from '../../core/bytes.js';
import type { TimerHandle } from '../../core/clock.js';
import { SystemClock } from '../../core/clock.js';
import type { Components } from '../../core/components.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { CryptoRng } from '../../core/rng.js';
import type { NodeId } from '../../core/types.js';
import { ConfigError, DecodeError, TransportError } from '../../errors.js';
import { generateEd25519Cert } from '../../identity/cert.js';
import type { Keypair } from '../../identity/keypair.js';
import type { Counter, Gauge, Histogram } from '../../metrics/metrics.js';
import { noopMetrics } from '../../metrics/metrics.js';
import { decodeMessage, encodeMessage } from '../../wire/codec.js';
import { isRequest, type Message, type Request, type Response } from '../../wire/messages.js';
import type { PeerInfo, Reply, RequestOptions, Target, Transport, TransportHandlers } from '../transport.js';
import { formatAddr, parseAddr, type HostPort } from './addr.js';
import { buildQuicheConfig, RELAYED_UDP_PAYLOAD, type CongestionControl } from './config.js';
import { QuicConnection, type ConnectionOwner, type DialOptions } from './connection.js';
import { SILENCE_PROBE_MS } from './silence-probe.js';
import { notifyListeners } from '../../core/listeners.js';
import { ConnectionIndex } from './connection-index.js';
import { onConnection, type Settle } from './on-connection.js';
import { UdpEndpoint } from './endpoint.js';
import { isRelayedHost } from './relayed-paths.js';
import type { CapabilitySet } from '../capabilities.js';
import type { ConnectedPeer, ConnectionChange, ConnectOptions, PacketCarrier, PathInfo, RelayedPathTransport, RelayedPath } from '../paths.js';
import { encodeErrorReply, encodeReply, resultLabel } from './replies.js';
import { APP_ERR, type QuicByteStream, type StreamServices } from './streams.js';
import type { Config } from '@matrixai/quic/native/index.js';

/** Options of a QuicTransport: identity, bind address and QUIC tuning. */
export interface QuicTransportOptions {
  keypair: Keypair;
  /** Address to bind; default 127.0.0.1. Use 0.0.0.0 / :: to listen on every interface. */
  host?: string;
  /** UDP port; 0 (default) picks a free one. */
  port?: number;
  /** Clock, rng, logger, metrics; defaults: SystemClock, CryptoRng, silent logger, no-op metrics. */
  components?: Partial<Components>;
  /** ms without any packet before a connection is dropped (QUIC max_idle_timeout). */
  idleTimeoutMs?: number;
  /** ms between keep-alive PINGs on connections in use; must be below idleTimeoutMs. */
  keepAliveMs?: number;
  /**
   * ms a stream the peer writes to us may go silent before we PING early (our NAT may have forgotten
   * us: see silence-probe.ts); 0 turns it off. Default SILENCE_PROBE_MS.
   */
  silenceProbeMs?: number;
  /** Default deadline (ms) of one request, dial included. */
  requestTimeoutMs?: number;
  /** Most connections held at once; further Initials are dropped, further dials refused. */
  maxConnections?: number;
  /** Congestion controller (quiche's); default bbr (see config.ts for why). */
  congestionControl?: CongestionControl;
}

/** An exchange's result before decoding. */
interface RawReply {
  peer: PeerInfo;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The QUIC transport: one UDP socket for accepting and dialing, mutual TLS bound to NodeIds, a stream per request. */
export class QuicTransport implements Transport, RelayedPathTransport, ConnectionOwner, StreamServices {
  readonly localNodeId: NodeId;
  /** Everything a transport can do (src/transport/capabilities.ts). */
  readonly capabilities: CapabilitySet = { connectionControl: this, datagrams: this, relayedPaths: this, rawDatagrams: this, streams: this, drainingDisconnect: this, peerSilence: this };
  readonly components: Components;
  readonly log: Logger;
  readonly endpoint: UdpEndpoint;
  readonly services: StreamServices = this;
  readonly config: Config;
  readonly relayedConfig: Config;

  private readonly host: string;
  private readonly port: number;
  private readonly idleTimeoutMs: number;
  private readonly keepAliveMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxConnections: number;
  private handlers: TransportHandlers | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  private readonly conns: ConnectionIndex;
  private keepAliveTimer: TimerHandle | undefined;
  private silenceTimer: TimerHandle | undefined;
  /** Early keep-alives of silent streams (ConnectionOwner.silence): the probe delay and the keep-alive period. */
  readonly silence: { afterMs: number; untilMs: number };
  private readonly silentListeners = new Set<(peer: PeerInfo) => void>();
  /** Raw datagram listeners: e.g. the punch driver, and NAT detection while punching runs. */
  private readonly rawListeners = new Set<(data: Buffer, from: HostPort) => void>();
  private streamHandler: ((stream: QuicByteStream) => void) | undefined;
  private readonly datagramListeners = new Set<(peer: PeerInfo, data: Uint8Array) => void>();
  private readonly changeListeners = new Set<(change: ConnectionChange) => void>();
  private readonly releaseListeners = new Set<() => void>();
  private readonly m: {
    connections: Counter;
    open: Gauge;
    requests: Counter;
    duration: Histogram;
    dropped: Counter;
  };

  constructor(opts: QuicTransportOptions) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? QUIC_IDLE_TIMEOUT_MS;
    this.keepAliveMs = opts.keepAliveMs ?? Math.min(QUIC_KEEPALIVE_INTERVAL_MS, Math.floor(this.idleTimeoutMs / 3));
    this.silence = { afterMs: opts.silenceProbeMs ?? SILENCE_PROBE_MS, untilMs: this.keepAliveMs };
    if (!(this.silence.afterMs >= 0)) throw new ConfigError(`silenceProbeMs must be >= 0, got ${this.silence.afterMs}`);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.maxConnections = opts.maxConnections ?? Infinity;
    if (!(this.idleTimeoutMs > 0)) throw new ConfigError(`idleTimeoutMs must be > 0, got ${this.idleTimeoutMs}`);
    if (!(this.keepAliveMs > 0 && this.keepAliveMs < this.idleTimeoutMs)) {
      throw new ConfigError(`keepAliveMs must be > 0 and < idleTimeoutMs (${this.idleTimeoutMs}), got ${this.keepAliveMs}`);
    }
    if (!(this.requestTimeoutMs > 0)) throw new ConfigError(`requestTimeoutMs must be > 0, got ${this.requestTimeoutMs}`);
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    if (isIP(this.host) === 0) throw new ConfigError(`host must be an IP address, got "${this.host}"`);
    const c = opts.components ?? {};
    this.components = {
      clock: c.clock ?? new SystemClock(),
      rng: c.rng ?? new CryptoRng(),
      logger: c.logger ?? silentLogger,
      metrics: c.metrics ?? noopMetrics,
    };
    this.log = this.components.logger.child('quic');
    this.localNodeId = opts.keypair.nodeId;
    this.conns = new ConnectionIndex(this.localNodeId);
    const cert = generateEd25519Cert(opts.keypair);
    this.config = buildQuicheConfig({ cert, idleTimeoutMs: this.idleTimeoutMs, congestionControl: opts.congestionControl });
    this.relayedConfig = buildQuicheConfig({
      cert,
      idleTimeoutMs: this.idleTimeoutMs,
      congestionControl: opts.congestionControl,
      maxSendPayload: RELAYED_UDP_PAYLOAD,
    });
    this.endpoint = new UdpEndpoint(
      {
        accept: (dcid, data, from) => this.accept(dcid, data, from),
        raw: (data, from) => {
          const hp = { host: from.address, port: from.port };
          for (const l of this.rawListeners) l(data, hp);
        },
        dropped: (reason) => this.m.dropped.inc({ reason }),
      },
      this.log,
    );
    const metrics = this.components.metrics;
    this.m = {
      connections: metrics.counter('quicmesh_transport_connections_total', 'QUIC connections opened', ['direction']),
      open: metrics.gauge('quicmesh_transport_connections_open', 'QUIC connections currently open'),
      requests: metrics.counter('quicmesh_transport_requests_total', 'Requests sent, by outcome', ['result']),
      duration: metrics.histogram('quicmesh_transport_request_duration_seconds', 'Request round trip (dial included)'),
      dropped: metrics.counter('quicmesh_transport_datagrams_dropped_total', 'Datagrams refused before any connection', ['reason']),
    };
  }

  get localAddr(): string {
    if (this.state === 'new') throw new TransportError('transport not started');
    const { host, port } = this.endpoint.local;
    return formatAddr(host, port);
  }

  /** Open connections (any state short of closed). */
  get connectionCount(): number {
    return this.conns.all.size;
  }

  async start(handlers: TransportHandlers): Promise<void> {
    if (this.state === 'closed') throw new TransportError('transport is closed');
    if (this.state === 'started') throw new TransportError('transport already started');
    await this.endpoint.bind(this.host, this.port);
    this.handlers = handlers;
    this.state = 'started';
    this.scheduleKeepAlive();
    this.scheduleSilenceProbe();
    this.log.info('listening', { addr: this.localAddr, node: shortHex(this.localNodeId) });
  }

  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply> {
    let payload: Uint8Array;
    try {
      payload = encodeMessage(msg);
    } catch (e) {
      return Promise.reject(e);
    }
    const clock = this.components.clock;
    const t0 = clock.now();
    return this.requestBytes(target, payload, opts).then(
      (raw) => {
        let reply: Message;
        try {
          reply = decodeMessage(raw.payload);
        } catch (e) {
          this.badFrame(raw.peer, e as Error);
          this.m.requests.inc({ result: 'bad_reply' });
          throw e;
        }
        if (isRequest(reply)) {
          this.m.requests.inc({ result: 'bad_reply' });
          throw new DecodeError('type', `reply of type ${reply.type} is a request`);
        }
        this.m.requests.inc({ result: 'ok' });
        this.m.duration.observe((clock.now() - t0) / 1000);
        return { from: raw.peer, msg: reply as Response };
      },
      (err: Error) => {
        this.m.requests.inc({ result: resultLabel(err) });
        throw err;
      },
    );
  }

  notify(target: Target, msg: Message, opts?: RequestOptions): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = encodeMessage(msg);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exchange(target, payload, opts, false).then(() => undefined);
  }

  /**
   * Low level: send one request frame carrying `payload` (not necessarily a valid message) and
   * return the reply frame's payload undecoded. For fuzzing and benchmarks; `request` is built on it.
   */
  requestBytes(target: Target, payload: Uint8Array, opts?: RequestOptions): Promise<RawReply> {
    return this.exchange(target, payload, opts, true);
  }

  /**
   * Make sure there is a verified connection to `target` (reusing one) and return the peer.
   * `repeatInitial` makes a new dial resend its first flight (hole punching).
   */
  connect(target: Target, opts?: ConnectOptions): Promise<ConnectedPeer> {
    return this.withConnection(target, opts, (conn) => ({ ...conn.peer, firstHeardAt: conn.firstHeardAt }));
  }

  // --- relayed paths, datagrams, migration -----------------------------------------------------

  /**
   * A path through a relay session: packets for its stand-in address go to `carrier`, and what the
   * relay delivers comes in through `deliver`. Dial `addr` (with the peer's NodeId) to open a
   * connection over it; the far side opens its own path for the session and just delivers.
   */
  openRelayedPath(carrier: PacketCarrier): RelayedPath {
    if (this.state !== 'started') throw new TransportError('transport not started');
    const ep = this.endpoint;
    const hp = ep.relayed.add(carrier);
    const addr = formatAddr(hp.host, hp.port);
    let open = true;
    return {
      addr,
      deliver: (packet) => {
        if (open) ep.deliverRelayed(packet, hp);
      },
      close: () => {
        if (!open) return;
        open = false;
        ep.relayed.remove(hp.host);
      },
    };
  }

  /** Send one DATAGRAM frame on the preferred connection to `nodeId`; false when there is none or it cannot take it. */
  sendDatagram(nodeId: NodeId, data: Uint8Array): boolean {
    const conn = this.conns.toNode(nodeId);
    return conn !== undefined && conn.state === 'ready' && conn.sendDatagram(data);
  }

  /** Receive DATAGRAM frames from verified peers; returns the remover. */
  onDatagram(listener: (peer: PeerInfo, data: Uint8Array) => void): () => void {
    this.datagramListeners.add(listener);
    return () => this.datagramListeners.delete(listener);
  }

  /**
   * Called when a peer stopped sending in the middle of a stream to us (the first early keep-alive of
   * that silence went out): a hint that our NAT may have forgotten its mapping. Returns the remover.
   */
  onPeerSilent(listener: (peer: PeerInfo) => void): () => void {
    this.silentListeners.add(listener);
    return () => this.silentListeners.delete(listener);
  }

  /** Hear of connections becoming ready, moving (migration, NAT rebinding) and closing; returns the remover. */
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The preferred connection to `nodeId`: where it goes, whether through a relay, who opened it. */
  pathInfo(nodeId: NodeId): PathInfo | undefined {
    const conn = this.conns.toNode(nodeId);
    if (conn === undefined || conn.state !== 'ready') return undefined;
    return { addr: conn.peerAddr, relayed: conn.isRelayed, opener: !conn.isServer, rttMs: conn.rttMs };
  }

  connectedPeers(): NodeId[] {
    return this.conns.readyPeers().map((c) => c.peer.nodeId);
  }

  /**
   * Migrate the preferred connection to `nodeId` onto `addr` (we must have opened it): streams in
   * flight continue. Resolves once quiche validated the new path and switched to it.
   */
  migrate(nodeId: NodeId, addr: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const conn = this.conns.toNode(nodeId);
    if (conn === undefined || conn.state !== 'ready') return Promise.reject(new TransportError(`no connection to ${shortHex(nodeId)}`));
    let hp: HostPort;
    try {
      hp = parseAddr(addr);
    } catch (e) {
      return Promise.reject(e);
    }
    return conn.migrateTo(hp, opts.timeoutMs ?? this.requestTimeoutMs);
  }

  /**
   * Close every connection to `nodeId`, dials still in their handshake included (requests in
   * flight on them fail): a later dial starts afresh rather than joining a handshake that may be
   * stuck (its NAT mapping gone, the server answering the old one).
   */
  disconnect(nodeId: NodeId): void {
    for (const conn of [...this.conns.all]) {
      if (conn.isFor(nodeId)) conn.close(APP_ERR.NO_ERROR, new TransportError(`disconnected from ${conn.peerAddr}`));
    }
  }

  /**
   * Close every connection to `nodeId` and resolve once they are all released: their closing and
   * draining periods are over, so not one more packet of theirs will leave (false at the deadline).
   */
  disconnectAndDrain(nodeId: NodeId, timeoutMs = 2_000): Promise<boolean> {
    this.disconnect(nodeId);
    // Verified connections only: a dial closed in its handshake sends no CONNECTION_CLOSE that
    // could reopen a pinhole, and quiche keeps it ~3 s before releasing it.
    const pending = (): boolean => [...this.conns.unreleased].some((c) => c.verifiedPeer && bytesEqual(c.verifiedPeer.nodeId, nodeId));
    if (!pending()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = this.components.clock.setTimer(timeoutMs, () => finish(false));
      const check = (): void => {
        if (!pending()) finish(true);
      };
      const finish = (ok: boolean): void => {
        timer.cancel();
        this.releaseListeners.delete(check);
        resolve(ok);
      };
      this.releaseListeners.add(check);
    });
  }

  /** Open a raw byte stream to `target` (bulk data); the far side gets it through `onStream`. */
  openStream(target: Target, opts?: RequestOptions): Promise<QuicByteStream> {
    return this.withConnection(target, opts, (conn) => conn.streams.openRaw());
  }

  /** Receive raw byte streams opened by peers (without a handler they are reset). */
  onStream(handler: (stream: QuicByteStream) => void): void {
    this.streamHandler = handler;
  }

  /** Send arbitrary bytes from the node's QUIC socket (hole punching, probes). */
  sendRawDatagram(bytes: Uint8Array, host: string, port: number): void {
    if (this.state !== 'started') throw new TransportError('transport not started');
    if (bytes.length > 0 && (bytes[0]! & 0x40) !== 0) {
      throw new ConfigError('raw datagrams must start with a byte whose 0x40 bit is clear (else peers parse them as QUIC)');
    }
    this.endpoint.send(bytes, host, port);
  }

  /** A peer's first Initial that a rendezvous forwarded (RawDatagrams.acceptForwardedInitial). */
  acceptForwardedInitial(datagram: Uint8Array, host: string, port: number): 'accepted' | 'known' | 'refused' {
    if (this.state !== 'started') return 'refused';
    return this.endpoint.acceptForwarded(datagram, { host, port });
  }

  /** The first flight of our dial to `addr`, to forward in a punch (ConnectionControl.forwardFirstFlight). */
  forwardFirstFlight(addr: string): Uint8Array | undefined {
    if (this.state !== 'started') return undefined;
    const flight = this.conns.atAddr(addr)?.forwardFlight();
    return flight === undefined ? undefined : Uint8Array.from(flight);
  }

  /** Receive the non-QUIC datagrams arriving on the socket (first byte with bit 0x40 clear); returns the remover. */
  onRawDatagram(listener: (data: Buffer, from: HostPort) => void): () => void {
    this.rawListeners.add(listener);
    return () => this.rawListeners.delete(listener);
  }

  /** The connection currently preferred for `nodeId`, if any (for path probing and migration work). */
  connectionTo(nodeId: NodeId): QuicConnection | undefined {
    return this.conns.toNode(nodeId);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.closing = (async () => {
      this.keepAliveTimer?.cancel();
      this.keepAliveTimer = undefined;
      this.silenceTimer?.cancel();
      this.silenceTimer = undefined;
      const conns = [...this.conns.unreleased];
      this.endpoint.beginClose();
      for (const conn of conns) conn.shutdownSend();
      if (wasStarted) await this.endpoint.close();
      // Failing pending requests last lets them settle together with close() itself.
      const reason = new TransportError('transport closed');
      for (const conn of conns) conn.shutdownFinish(reason);
      this.log.info('closed');
    })();
    return this.closing;
  }

  // --- exchanges ---------------------------------------------------------------------------

  private exchange(target: Target, payload: Uint8Array, opts: RequestOptions | undefined, wantReply: boolean): Promise<RawReply> {
    return this.withConnection(target, opts, (conn, settle) => {
      if (!wantReply) {
        conn.streams.notify(payload);
        return { peer: conn.peer, payload: EMPTY };
      }
      const cancel = conn.streams.request(payload, (err, reply) => {
        if (err) settle.fail(err);
        else settle.done({ peer: conn.peer, payload: reply! });
      });
      settle.onCancel(cancel);
      return undefined;
    });
  }

  /** Run `use` on a ready connection to `target` under one deadline and abort signal (see on-connection.ts). */
  private withConnection<T>(
    target: Target,
    opts: RequestOptions | undefined,
    use: (conn: QuicConnection, settle: Settle<T>) => T | undefined,
  ): Promise<T> {
    if (this.state !== 'started') {
      return Promise.reject(new TransportError(this.state === 'closed' ? 'transport is closed' : 'transport not started'));
    }
    return onConnection(
      this.components.clock,
      target,
      { timeoutMs: opts?.timeoutMs ?? this.requestTimeoutMs, signal: opts?.signal },
      () => this.connectionFor(target, opts as DialOptions | undefined),
      use,
    );
  }

  /** A connection to `target` (reused when possible); async only when the host needs DNS. */
  private connectionFor(target: Target, dial?: DialOptions): QuicConnection | Promise<QuicConnection> {
    if (target.nodeId) {
      const byId = this.conns.toNode(target.nodeId);
      if (byId) return byId;
    }
    // Fast path: the address as given is usually already in canonical form.
    const known = this.conns.atAddr(target.addr);
    if (known) return known;
    const hp = parseAddr(target.addr);
    if (isIP(hp.host) === 0) {
      // Resolve to the family our socket speaks (a udp4 socket cannot send to ::1).
      return lookup(hp.host, { family: isIP(this.endpoint.local.host) === 6 ? 6 : 4 }).then(({ address }) => {
        if (this.state !== 'started') throw new TransportError('transport is closed');
        return this.connectionAt({ host: address, port: hp.port }, target.nodeId, dial);
      });
    }
    return this.connectionAt(hp, target.nodeId, dial);
  }

  private connectionAt(hp: HostPort, expected: NodeId | undefined, dial?: DialOptions): QuicConnection {
    const key = formatAddr(hp.host, hp.port);
    const existing = this.conns.atAddr(key);
    if (existing) return existing;
    if (this.conns.unreleased.size >= this.maxConnections) {
      throw new TransportError(`connection limit (${this.maxConnections}) reached, not dialling ${key}`);
    }
    if (isRelayedHost(hp.host) && this.endpoint.relayed.get(hp.host) === undefined) {
      throw new TransportError(`no relayed path ${key}`);
    }
    const conn = QuicConnection.dial(this, hp, expected, dial);
    this.conns.add(conn, key);
    this.m.connections.inc({ direction: 'outbound' });
    this.m.open.inc();
    this.log.debug('dialling', { addr: key });
    return conn;
  }

  private accept(dcid: Buffer, data: Buffer, from: dgram.RemoteInfo): QuicConnection | undefined {
    if (this.state !== 'started' || this.conns.unreleased.size >= this.maxConnections) {
      this.m.dropped.inc({ reason: 'refused' });
      return undefined;
    }
    const conn = QuicConnection.accept(this, dcid, data, from);
    if (!conn) {
      this.m.dropped.inc({ reason: 'bad-initial' });
      return undefined;
    }
    this.conns.add(conn);
    this.m.connections.inc({ direction: 'inbound' });
    this.m.open.inc();
    return conn;
  }

  // --- ConnectionOwner ---------------------------------------------------------------------

  connectionReady(conn: QuicConnection): void {
    this.conns.ready(conn);
    this.log.debug('connection ready', { peer: conn.peerAddr, node: shortHex(conn.peer.nodeId), side: conn.isServer ? 'server' : 'client' });
    this.emitChange('ready', conn);
  }

  datagramReceived(conn: QuicConnection, data: Uint8Array): void {
    const peer = conn.verifiedPeer;
    if (peer === undefined) return;
    notifyListeners(this.datagramListeners, this.log, 'datagram', peer, data);
  }

  private emitChange(kind: ConnectionChange['kind'], conn: QuicConnection, previous?: string): void {
    const peer = conn.verifiedPeer;
    if (peer === undefined || this.changeListeners.size === 0) return;
    const change: ConnectionChange = { kind, nodeId: peer.nodeId, addr: conn.peerAddr, relayed: conn.isRelayed, opener: !conn.isServer };
    if (previous !== undefined) change.previous = previous;
    notifyListeners(this.changeListeners, this.log, 'connection', change);
  }

  connectionClosed(conn: QuicConnection, reason: Error): void {
    if (!this.conns.closed(conn)) return;
    this.m.open.dec();
    this.log.debug('connection closed', { peer: conn.peerAddr, reason: reason.message });
    this.emitChange('closed', conn);
  }

  connectionReleased(conn: QuicConnection): void {
    this.conns.released(conn);
    for (const l of [...this.releaseListeners]) l();
  }

  connectionMoved(conn: QuicConnection, oldAddr: string): void {
    this.conns.moved(conn, oldAddr);
    this.log.debug('peer moved', { from: oldAddr, to: conn.peerAddr });
    this.emitChange('moved', conn, oldAddr);
  }

  // --- StreamServices ----------------------------------------------------------------------

  serveRequest(peer: PeerInfo, payload: Uint8Array): Promise<Uint8Array> | Uint8Array {
    const msg = decodeMessage(payload); // DecodeError: the stream is reset as a bad frame
    if (!isRequest(msg)) throw new DecodeError('type', `${msg.type} is not a request`);
    const handlers = this.handlers!;
    let res: Promise<Response> | Response;
    try {
      res = handlers.onRequest(peer, msg);
    } catch (e) {
      return encodeErrorReply(e);
    }
    if (res instanceof Promise) return res.then(encodeReply, encodeErrorReply);
    return encodeReply(res);
  }

  serveNotify(peer: PeerInfo, payload: Uint8Array): void {
    const msg = decodeMessage(payload);
    try {
      this.handlers?.onNotify?.(peer, msg);
    } catch (e) {
      this.log.warn('notify handler threw', { peer: peer.addr, error: (e as Error).message });
    }
  }

  badFrame(peer: PeerInfo, error: Error): void {
    this.log.debug('bad frame', { peer: peer.addr, error: error.message });
    this.m.dropped.inc({ reason: 'bad-frame' });
    this.handlers?.onBadFrame?.(peer.addr, error);
  }

  rawStream(stream: QuicByteStream): void {
    if (this.streamHandler) this.streamHandler(stream);
    else stream.reset(APP_ERR.CANCELLED);
  }

  // --- internals ---------------------------------------------------------------------------

  /** Look for streams whose peer fell silent, twice per probe delay (see silence-probe.ts). */
  private scheduleSilenceProbe(): void {
    const afterMs = this.silence.afterMs;
    if (afterMs <= 0) return;
    this.silenceTimer = this.components.clock.setTimer(Math.max(1, Math.floor(afterMs / 2)), () => {
      if (this.state !== 'started') return;
      const now = this.components.clock.now();
      for (const conn of this.conns.all) {
        if (conn.probeSilence(now) !== 'first') continue;
        const peer = conn.verifiedPeer;
        if (peer !== undefined) notifyListeners(this.silentListeners, this.log, 'peer-silent', peer);
      }
      this.scheduleSilenceProbe();
    });
  }

  /** PING the connections in use; a duplicate nobody prefers is left to idle out. */
  private scheduleKeepAlive(): void {
    this.keepAliveTimer = this.components.clock.setTimer(this.keepAliveMs, () => {
      if (this.state !== 'started') return;
      for (const conn of this.conns.all) {
        if (conn.state !== 'ready') continue;
        if (this.conns.isPreferred(conn) || conn.streams.activeStreams > 0) conn.keepAlive();
      }
      this.scheduleKeepAlive();
    });
  }
}
