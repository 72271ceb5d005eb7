/**
 * RelayLink: the client side of relaying for a running node. It keeps a connection to each
 * configured relay (a Ping every `keepAliveMs`: the relay learns we are reachable through it, and
 * our NAT keeps the mapping), accepts session offers from those relays, and opens sessions to
 * other nodes through them.
 *
 * A session carries a request/response tunnel: each RelayForward payload is an envelope
 *   [kind u8: 1 request, 2 response][id u32][one encoded wire message]
 * Requests that arrive through a tunnel are served by the node's own router, as from the origin
 * the relay names (the relay authenticated it); their PeerInfo has no public key (zero bytes).
 * Metrics: quicmesh_relay_client_sessions (tunnels open, both those we opened and those we
 * joined) and quicmesh_relay_client_bytes_total{direction} (RelayForward payloads and relay frames).
 *
 * Relayed connections: on a transport with paths (QUIC, src/transport/paths.ts) every session also
 * gets a relayed path. Its packets travel as relay frames (src/nat/relay/relay-datagram.ts) in
 * DATAGRAM frames of the link to the relay; `openConnection` dials the peer over that path, so the
 * result is an ordinary end-to-end encrypted QUIC connection to the peer (every request to its
 * NodeId uses it) that a later hole punch can migrate to a direct path.
 */
import { shortHex, toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { NodeId } from '../core/types.js';
import { DecodeError, RemoteError, TimeoutError, TransportError } from '../errors.js';
import { decodeRelayFrame, encodeRelayFrame } from '../nat/relay/relay-datagram.js';
import { capability } from '../transport/capabilities.js';
import type { RelayedPathTransport, RelayedPath } from '../transport/paths.js';
import type { RelayEndpoint } from '../identity/endpoint-record.js';
import type { PeerInfo } from '../transport/transport.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import type { Message, RelayConnect, RelayForward, Request, Response } from '../wire/messages.js';
import type { TraversalNode } from './host.js';
import { relayClientMetrics, type RelayClientMetrics, type RelayDirection } from './traversal-metrics.js';

/** Settings of a RelayLink: the relays to stay linked to, the keep-alive period, the request deadline. */
export interface RelayLinkOptions {
  /** "host:port" of the relays to keep a connection to. */
  relays: readonly string[];
  /** Ping period per relay, ms. Default 5 000. */
  keepAliveMs?: number;
  /** Deadline of one relay exchange, ms. Default 3 000. */
  requestTimeoutMs?: number;
}

/** One configured relay as status shows it: address, NodeId once it answered, whether it is reachable. */
export interface RelayPeerState {
  addr: string;
  /** Hex NodeId once the relay answered. */
  nodeId: string | null;
  reachable: boolean;
}

interface KnownRelay {
  addr: string;
  nodeId: NodeId | null;
  reachable: boolean;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

const KIND_REQUEST = 1;
const KIND_RESPONSE = 2;

/** The client side of relaying (createNode's `relays`): links to our relays, session offers, relayed sessions and connections. */
export class RelayLink {
  private readonly relays: KnownRelay[];
  private readonly keepAliveMs: number;
  private readonly requestTimeoutMs: number;
  private readonly tunnels = new Map<string, RelayTunnel>();
  /** Sessions we offered, waiting for the target to join (RelayConnected notify). */
  private readonly opening = new Map<string, Waiter<void>>();
  private timer: TimerHandle | undefined;
  private running = false;
  private firstRound: Promise<void> | undefined;
  private readonly metrics: RelayClientMetrics;
  /** The transport when it can carry connections over relays (QUIC). */
  private readonly paths: RelayedPathTransport | undefined;
  private stopFrames: (() => void) | undefined;
  private stopChanges: (() => void) | undefined;
  private readonly reachabilityListeners = new Set<() => void>();

  constructor(
    private readonly node: TraversalNode,
    opts: RelayLinkOptions,
  ) {
    this.metrics = relayClientMetrics(node.components.metrics);
    this.relays = opts.relays.map((addr) => ({ addr, nodeId: null, reachable: false }));
    this.keepAliveMs = opts.keepAliveMs ?? 5_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 3_000;
    this.paths = capability(node.transport, 'relayedPaths');
    node.onNotify('RelayConnect', (peer, msg) => this.onOffer(peer.nodeId, msg));
    node.onNotify('RelayConnected', (_peer, msg) => this.settleOpening(toHex(msg.sessionId), null));
    node.onNotify('RelayForward', (peer, msg) => this.onForward(peer.nodeId, msg));
    node.onNotify('RelayClosed', (_peer, msg) => {
      const key = toHex(msg.sessionId);
      this.settleOpening(key, new TransportError('relay session closed before the peer joined'));
      const tunnel = this.tunnels.get(key);
      if (tunnel === undefined) return;
      // a connection still on the session's path loses its carrier: it times out unless it moved off
      node.components.logger.debug('relay closed a session of ours', { peer: shortHex(tunnel.peer), session: shortHex(msg.sessionId) });
      tunnel.closed(new TransportError('relay session closed'));
    });
  }

  /** Start pinging the relays (the node must be started). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopFrames = this.paths?.onDatagram((peer, data) => this.onFrame(peer, data));
    // A link that closed (idle timeout, a peer's disconnect, a NAT that forgot us) is dialled again
    // at once: it is how the relay reaches us.
    const t = capability(this.node.transport, 'connectionControl');
    if (t !== undefined) {
      this.stopChanges = t.onConnectionChange((c) => {
        if (c.kind !== 'closed' || !this.running || t.pathInfo(c.nodeId) !== undefined) return;
        const relay = this.isRelay(c.nodeId);
        if (relay !== undefined) void this.pingRelay(relay);
      });
    }
    this.firstRound = this.keepAlive();
  }

  /** The first round of Pings, started by start() (or now, when not started): every relay answered or failed. */
  ready(): Promise<void> {
    return this.firstRound ?? this.keepAlive();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.stopFrames?.();
    this.stopChanges?.();
    for (const t of [...this.tunnels.values()]) t.closed(new TransportError('relay link stopped'));
  }

  /** True when sessions carry QUIC connections (the transport has relayed paths). */
  get carriesConnections(): boolean {
    return this.paths !== undefined;
  }

  /**
   * An end-to-end QUIC connection to `target` through the first relay that sets up a session
   * (see `open`). Requests to `target`'s NodeId then use it; `tunnel.close()` ends the session.
   */
  async openConnection(target: NodeId, opts: { timeoutMs?: number } = {}): Promise<RelayTunnel> {
    const paths = this.paths;
    if (paths === undefined) throw new TransportError('this transport cannot carry connections through relays');
    return this.connectOver(await this.open(target, opts), opts.timeoutMs);
  }

  /** Dial the peer of `tunnel` over its relayed path (closing the session when that fails). */
  async connectOver(tunnel: RelayTunnel, timeoutMs?: number): Promise<RelayTunnel> {
    const paths = this.paths;
    if (paths === undefined || tunnel.path === undefined) throw new TransportError('this transport cannot carry connections through relays');
    try {
      await paths.connect({ addr: tunnel.path.addr, nodeId: tunnel.peer }, { timeoutMs: timeoutMs ?? this.requestTimeoutMs });
    } catch (err) {
      await tunnel.close();
      throw err;
    }
    return tunnel;
  }

  /** The open session to `peer` whose relayed path is at `addr`, if any. */
  tunnelAt(peer: NodeId, addr: string): RelayTunnel | undefined {
    const hex = toHex(peer);
    for (const t of this.tunnels.values()) if (t.path?.addr === addr && toHex(t.peer) === hex) return t;
    return undefined;
  }

  /** A relay frame from the relay of one of our sessions: hand its packet to the session's path. */
  private onFrame(peer: PeerInfo, data: Uint8Array): void {
    let frame;
    try {
      frame = decodeRelayFrame(data);
    } catch {
      return;
    }
    const tunnel = this.tunnels.get(toHex(frame.sessionId));
    if (tunnel?.path === undefined || toHex(tunnel.relay.nodeId) !== toHex(peer.nodeId)) return;
    this.metrics.bytes('in', frame.packet.length);
    tunnel.path.deliver(frame.packet);
  }

  /** A relayed path for a session (undefined without transport support): its packets go to the relay as frames. */
  private pathFor(relayId: NodeId, sessionId: Uint8Array): RelayedPath | undefined {
    const paths = this.paths;
    if (paths === undefined) return undefined;
    return paths.openRelayedPath({
      send: (packet) => {
        if (paths.sendDatagram(relayId, encodeRelayFrame(sessionId, packet))) this.metrics.bytes('out', packet.length);
      },
    });
  }

  /** The relays and whether they answered their last Ping. */
  status(): RelayPeerState[] {
    return this.relays.map((r) => ({ addr: r.addr, nodeId: r.nodeId ? toHex(r.nodeId) : null, reachable: r.reachable }));
  }

  /** Ping every relay once now; resolves when all answered or failed. */
  async keepAlive(): Promise<void> {
    await Promise.all(this.relays.map((r) => this.pingRelay(r)));
    if (this.running) {
      this.timer?.cancel();
      this.timer = this.node.components.clock.setTimer(this.keepAliveMs, () => void this.keepAlive());
    }
  }

  /**
   * A tunnel to `target` through the first relay that sets one up (reachable relays first).
   * Rejects with the last relay's refusal when none could.
   */
  async open(target: NodeId, opts: { timeoutMs?: number } = {}): Promise<RelayTunnel> {
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const order = [...this.relays].sort((a, b) => Number(b.reachable) - Number(a.reachable));
    let last: Error = new TransportError('no relay configured');
    for (const relay of order) {
      try {
        if (relay.nodeId === null) await this.pingRelay(relay);
        if (relay.nodeId === null) throw new TransportError(`relay ${relay.addr} did not answer`);
        return await this.openThrough({ addr: relay.addr, nodeId: relay.nodeId }, target, { timeoutMs });
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
      }
    }
    throw last;
  }

  /**
   * A session with `target` through `relay`: one of ours, or any relay `target` keeps a link to
   * (from its endpoint record). Resolves once `target` joined; `onAccepted` fires when the relay
   * took the offer (the session is pending until the peer joins).
   */
  async openThrough(
    relay: { addr: string; nodeId: NodeId },
    target: NodeId,
    opts: { sessionId?: Uint8Array; timeoutMs?: number; onAccepted?: () => void } = {},
  ): Promise<RelayTunnel> {
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const sessionId = opts.sessionId ?? this.node.components.rng.bytes(16);
    const relayId = relay.nodeId;
    const key = toHex(sessionId);
    const joined = this.waitOpening(key, timeoutMs);
    const relayTarget = { addr: relay.addr, nodeId: relayId };
    let reply;
    try {
      reply = await this.node.request(
        relayTarget,
        { type: 'RelayConnect', from: this.node.contact, target, sessionId },
        { timeoutMs },
      );
    } catch (err) {
      this.settleOpening(key, err as Error);
      await joined.catch(() => undefined);
      throw err;
    }
    if (reply.msg.type === 'RelayRejected') {
      this.settleOpening(key, new RemoteError('RelayRejected', reply.msg.reason));
      await joined.catch(() => undefined);
      throw new RemoteError('RelayRejected', `relay ${relay.addr}: ${reply.msg.reason}`);
    }
    if (reply.msg.type === 'RelayConnected') this.settleOpening(key, null);
    else if (reply.msg.type !== 'RelayAccepted') {
      this.settleOpening(key, new TransportError(`unexpected ${reply.msg.type}`));
    } else opts.onAccepted?.();
    const tunnel = new RelayTunnel(this, this.node, relayTarget, target, sessionId, this.pathFor(relayId, sessionId));
    this.track(key, tunnel);
    try {
      await joined;
    } catch (err) {
      this.forget(tunnel);
      void tunnel.close();
      throw err;
    }
    return tunnel;
  }

  /** @internal */
  forget(tunnel: RelayTunnel): void {
    const key = toHex(tunnel.sessionId);
    if (this.tunnels.get(key) === tunnel) this.tunnels.delete(key);
    this.metrics.sessions(this.tunnels.size);
  }

  /** @internal payload bytes a tunnel moved through its relay. */
  countBytes(direction: RelayDirection, n: number): void {
    this.metrics.bytes(direction, n);
  }

  private track(key: string, tunnel: RelayTunnel): void {
    this.tunnels.set(key, tunnel);
    this.metrics.sessions(this.tunnels.size);
  }

  private async pingRelay(relay: KnownRelay): Promise<void> {
    const was = relay.reachable;
    try {
      const reply = await this.node.request(
        relay.nodeId ? { addr: relay.addr, nodeId: relay.nodeId } : { addr: relay.addr },
        { type: 'Ping', from: this.node.contact },
        { timeoutMs: this.requestTimeoutMs },
      );
      relay.nodeId = reply.from.nodeId;
      relay.reachable = true;
    } catch {
      relay.reachable = false;
    }
    if (relay.reachable !== was) for (const l of this.reachabilityListeners) l();
  }

  /** Hear when a relay becomes reachable or stops being so (the endpoint record lists them); returns the remover. */
  onReachabilityChange(listener: () => void): () => void {
    this.reachabilityListeners.add(listener);
    return () => this.reachabilityListeners.delete(listener);
  }

  /** Relays that answered their last Ping, as request targets (rendezvous candidates too). */
  reachableRelays(): { addr: string; nodeId: NodeId }[] {
    return this.relays.filter((r) => r.reachable && r.nodeId !== null).map((r) => ({ addr: r.addr, nodeId: r.nodeId! }));
  }

  /** The same relays as endpoint-record entries (EndpointRecord.relays, a connect target's relays). */
  reachableEndpoints(): RelayEndpoint[] {
    return this.reachableRelays().map((r) => ({ relayId: r.nodeId, addrs: [r.addr] }));
  }

  /** Is `nodeId` one of our relays? */
  isRelayPeer(nodeId: NodeId): boolean {
    return this.isRelay(nodeId) !== undefined;
  }

  private isRelay(nodeId: NodeId): KnownRelay | undefined {
    const hex = toHex(nodeId);
    return this.relays.find((r) => r.nodeId !== null && toHex(r.nodeId) === hex);
  }

  /** A relay offers a session from `msg.from`: join it (one RelayConnect back to the relay). */
  private onOffer(relayId: NodeId, msg: RelayConnect): void {
    const relay = this.isRelay(relayId);
    if (relay === undefined || !this.running) return;
    const relayTarget = { addr: relay.addr, nodeId: relayId };
    const tunnel = new RelayTunnel(this, this.node, relayTarget, msg.from.id, msg.sessionId, this.pathFor(relayId, msg.sessionId));
    this.track(toHex(msg.sessionId), tunnel);
    this.node
      .request(
        relayTarget,
        { type: 'RelayConnect', from: this.node.contact, target: msg.from.id, sessionId: msg.sessionId },
        { timeoutMs: this.requestTimeoutMs },
      )
      .then((reply) => {
        if (reply.msg.type !== 'RelayConnected') tunnel.closed(new TransportError(`relay answered ${reply.msg.type}`));
      })
      .catch((err: unknown) => tunnel.closed(err instanceof Error ? err : new Error(String(err))));
  }

  private onForward(relayId: NodeId, msg: RelayForward): void {
    const tunnel = this.tunnels.get(toHex(msg.sessionId));
    if (tunnel === undefined || toHex(tunnel.relay.nodeId) !== toHex(relayId)) return;
    tunnel.receive(msg);
  }

  private waitOpening(key: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.node.components.clock.setTimer(timeoutMs, () => {
        this.opening.delete(key);
        reject(new TimeoutError(`relay session: the peer did not join within ${timeoutMs} ms`));
      });
      this.opening.set(key, { resolve, reject, timer });
    });
  }

  private settleOpening(key: string, err: Error | null): void {
    const w = this.opening.get(key);
    if (w === undefined) return;
    this.opening.delete(key);
    w.timer.cancel();
    if (err) w.reject(err);
    else w.resolve();
  }
}

/** One relayed session to one peer: request/response over RelayForward. */
export class RelayTunnel {
  private nextId = 1;
  private readonly pending = new Map<number, Waiter<Response>>();
  private open = true;

  constructor(
    private readonly link: RelayLink,
    private readonly node: TraversalNode,
    readonly relay: { addr: string; nodeId: NodeId },
    readonly peer: NodeId,
    readonly sessionId: Uint8Array,
    /** Where a QUIC connection over this session runs (transports with relayed paths only). */
    readonly path?: RelayedPath,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Send `msg` to the peer through the relay and await its answer (an Error reply throws RemoteError). */
  async request(msg: Request, opts: { timeoutMs?: number } = {}): Promise<Response> {
    if (!this.open) throw new TransportError('relay session is closed');
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? 3_000;
    const answer = new Promise<Response>((resolve, reject) => {
      const timer = this.node.components.clock.setTimer(timeoutMs, () => {
        this.pending.delete(id);
        reject(new TimeoutError(`no relayed reply to ${msg.type} within ${timeoutMs} ms`));
      });
      this.pending.set(id, { resolve, reject, timer });
    });
    try {
      await this.forward(KIND_REQUEST, id, msg);
    } catch (err) {
      this.settle(id, err as Error);
    }
    const res = await answer;
    if (res.type === 'Error') throw new RemoteError(res.code, res.message);
    return res;
  }

  /** Close the session at the relay (best effort). */
  async close(): Promise<void> {
    if (!this.open) return;
    this.closed(new TransportError('relay session closed'));
    try {
      await this.node.request(
        this.relay,
        { type: 'RelayClose', from: this.node.contact, sessionId: this.sessionId },
        { timeoutMs: 2_000 },
      );
    } catch {
      // the relay times the session out anyway
    }
  }

  /** @internal the session ended: fail what waits. */
  closed(reason: Error): void {
    this.open = false;
    this.path?.close();
    this.link.forget(this);
    for (const [id] of this.pending) this.settle(id, reason);
  }

  /** @internal a RelayForward from the peer. */
  receive(msg: RelayForward): void {
    const p = msg.payload;
    this.link.countBytes('in', p.length);
    if (p.length < 5) return;
    const kind = p[0]!;
    const id = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(1);
    let inner: Message;
    try {
      inner = decodeMessage(p.subarray(5));
    } catch (err) {
      this.node.components.logger.debug('bad relayed message', { error: (err as DecodeError).message });
      return;
    }
    if (kind === KIND_RESPONSE) {
      const w = this.pending.get(id);
      if (w === undefined) return;
      this.pending.delete(id);
      w.timer.cancel();
      w.resolve(inner as Response);
      return;
    }
    if (kind !== KIND_REQUEST) return;
    const peer = { nodeId: msg.from.id, publicKey: new Uint8Array(0), addr: msg.from.addr };
    void Promise.resolve(this.node.dispatch(peer, inner as Request)).then((res) =>
      this.forward(KIND_RESPONSE, id, res).catch(() => undefined),
    );
  }

  private async forward(kind: number, id: number, msg: Message): Promise<void> {
    const body = encodeMessage(msg);
    const payload = new Uint8Array(5 + body.length);
    payload[0] = kind;
    new DataView(payload.buffer).setUint32(1, id);
    payload.set(body, 5);
    const reply = await this.node.request(
      this.relay,
      { type: 'RelayForward', from: this.node.contact, sessionId: this.sessionId, payload },
      { timeoutMs: 3_000 },
    );
    if (reply.msg.type === 'RelayRejected') {
      throw new RemoteError('RelayRejected', reply.msg.reason);
    }
    this.link.countBytes('out', payload.length);
  }

  private settle(id: number, err: Error): void {
    const w = this.pending.get(id);
    if (w === undefined) return;
    this.pending.delete(id);
    w.timer.cancel();
    w.reject(err);
  }
}
