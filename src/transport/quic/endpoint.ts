/**
 * The node's one UDP socket, shared by every QUIC connection in both directions (hole punching
 * needs the dial and the listen port to be the same). It routes each datagram by its destination
 * connection ID, hands unknown Initials to the accept policy, hands non-QUIC datagrams to the
 * raw hook, and batches sends: connections mark themselves dirty and are flushed once per turn
 * of the event loop, so a burst of incoming datagrams is acknowledged together — except an urgent
 * sink (a connection in its handshake, or one whose datagram ended a quiet spell), flushed right
 * after the current task: see DatagramSink.urgent.
 *
 * Datagram classification (RFC 9000 §17): QUIC v1 packets always have the fixed bit (0x40) of
 * the first byte set. A datagram that is empty or whose first byte has 0x40 clear is "raw" and
 * goes to `onRawDatagram` (punch and probe payloads must start with a byte in 0x00–0x3f or
 * 0x80–0xbf). Every other datagram is QUIC: a long header (0x80 set) carries its DCID length,
 * a short header carries our fixed CID_LEN-byte DCID.
 *
 * Accepting: a new connection starts only from a QUIC v1 Initial of at least 1,200 bytes
 * (QUIC_MIN_INITIAL_SIZE), so a spoofed small datagram never draws a bigger answer; quiche then
 * caps what it sends to an unvalidated address at 3× what it received. We send no stateless
 * Retry: it would cost every handshake a round trip, and these two limits already bound the
 * amplification a spoofed source can get. Unknown short headers are dropped silently (no
 * stateless reset).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { quiche } from '@matrixai/quic/native/index.js';
import { QUIC_MIN_INITIAL_SIZE } from '../../constants.js';
import type { Logger } from '../../core/logger.js';
import { TransportError } from '../../errors.js';
import { formatAddr, type HostPort } from './addr.js';
import { CID_LEN, MAX_UDP_PAYLOAD } from './config.js';
import { ProvisionalClients } from './forwarded-initials.js';
import { isRelayedHost, RelayedPaths } from './relayed-paths.js';

/** Where a routed datagram goes: a connection. */
export interface DatagramSink {
  /** Process one datagram from `from` (the buffer is ours to keep and will be decrypted in place). */
  recv(data: Buffer, from: dgram.RemoteInfo): void;
  /** Produce and send every packet that is ready; called once per batch. */
  flush(): void;
  /**
   * True when someone waits on this sink's next flush (a handshake; a lone message): it is flushed
   * right after the current task instead of with the turn's batch, which on a loaded host waits
   * behind every other I/O callback of the turn (in the NAT lab with busy CPUs: 5-10 ms per connect
   * toward a symmetric NAT). Such flushes are few, so batching gains nothing there.
   */
  readonly urgent?: boolean;
  /** Drop the connection without a word (a provisional one replaced: forwarded-initials.ts). */
  discard?(): void;
}

export interface EndpointHooks {
  /**
   * A QUIC v1 Initial for an unknown connection ID, at least QUIC_MIN_INITIAL_SIZE bytes: feed it
   * to a new connection and return that (registered under its IDs), or undefined to drop it.
   */
  accept(dcid: Buffer, data: Buffer, from: dgram.RemoteInfo): DatagramSink | undefined;
  /** A datagram that is not QUIC (see the classification rule above). */
  raw(data: Buffer, from: dgram.RemoteInfo): void;
  /** A datagram was dropped; `reason` is a short bounded label for metrics. */
  dropped(reason: string): void;
}

/** Bytes per send slab: packets are carved from it so a send never allocates on its own. */
const SLAB_BYTES = 256 * 1024;
/** Kernel socket buffer we ask for (capped by net.core.{r,w}mem_max): bursts on loopback otherwise overflow. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class UdpEndpoint {
  /** Paths through relays: packets to their stand-in addresses go to a carrier, not the socket. */
  readonly relayed = new RelayedPaths();
  private socket: dgram.Socket | undefined;
  private readonly routes = new Map<string, DatagramSink>();
  /** Connections accepted from forwarded Initials, until their client is heard where expected (forwarded-initials.ts). */
  private readonly provisional = new ProvisionalClients<DatagramSink>();
  private lastCid: Buffer | undefined;
  private lastSink: DatagramSink | undefined;
  private readonly dirty = new Set<DatagramSink>();
  private urgentQueued = false;
  private flushScheduled = false;
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private slabOffset = 0;
  /** packetBuffer()'s current view, reused until a packet is sent from it. */
  private packetView: Buffer | undefined;
  private inflightSends = 0;
  private drainWaiters: Array<() => void> = [];
  private closing = false;
  private closeStarted = false;
  private boundAddr: HostPort = { host: '0.0.0.0', port: 0 };

  constructor(
    private readonly hooks: EndpointHooks,
    private readonly log: Logger,
  ) {}

  /** Local address as passed to quiche (the bound address). */
  get local(): HostPort {
    return this.boundAddr;
  }

  async bind(host: string, port: number): Promise<void> {
    const type = isIP(host) === 6 ? 'udp6' : 'udp4';
    // IP literals only past this point: a synchronous lookup saves dgram's per-send DNS tick.
    const socket = dgram.createSocket({
      type,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
      lookup: (hostname, _opts, cb) => cb(null, hostname, isIP(hostname) || (type === 'udp6' ? 6 : 4)),
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new TransportError(`cannot bind UDP ${formatAddr(host, port)}: ${err.message}`, { cause: err }));
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', (err) => this.log.warn('udp socket error', { error: err.message }));
    socket.on('message', this.onMessage);
    const a = socket.address();
    this.boundAddr = { host: a.address, port: a.port };
    this.socket = socket;
  }

  register(cid: Uint8Array, sink: DatagramSink): void {
    this.routes.set(cidKey(cid), sink);
  }

  unregister(cid: Uint8Array, sink: DatagramSink): void {
    const key = cidKey(cid);
    if (this.routes.get(key) === sink) this.routes.delete(key);
    this.provisional.forget(sink);
    if (this.lastSink === sink) {
      this.lastCid = undefined;
      this.lastSink = undefined;
    }
  }

  get routeCount(): number {
    return this.routes.size;
  }

  /** Flush `sink` on this turn of the event loop, together with every other dirty sink. */
  markDirty(sink: DatagramSink): void {
    this.dirty.add(sink);
    if (sink.urgent === true) {
      if (!this.urgentQueued) {
        this.urgentQueued = true;
        queueMicrotask(this.flushUrgent);
      }
      return;
    }
    this.scheduleBatch();
  }

  /** Flush the dirty sinks with this turn's batch (once per turn). */
  private scheduleBatch(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushAll);
  }

  /** Flush `sink` now (used for application writes, where latency matters more than batching). */
  flushNow(sink: DatagramSink): void {
    this.dirty.delete(sink);
    this.flushOne(sink);
  }

  /** A writable packet buffer of MAX_UDP_PAYLOAD bytes carved from the current slab. */
  packetBuffer(): Buffer {
    let view = this.packetView;
    if (view) return view;
    if (this.slabOffset + MAX_UDP_PAYLOAD > SLAB_BYTES) {
      // The old slab stays alive as long as sends still reference it.
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabOffset = 0;
    }
    view = this.packetView = this.slab.subarray(this.slabOffset, this.slabOffset + MAX_UDP_PAYLOAD);
    return view;
  }

  /** Send the first `len` bytes of the buffer last returned by packetBuffer(). */
  sendPacket(buf: Buffer, len: number, to: HostPort): void {
    this.slabOffset += (len + 7) & ~7;
    this.packetView = undefined;
    const socket = this.socket;
    if (!socket) return; // closed: a late timer's packet has nowhere to go
    const packet = buf.subarray(0, len);
    if (isRelayedHost(to.host)) {
      this.relayed.get(to.host)?.send(packet);
      return;
    }
    // No completion callback in the hot path (it costs a nextTick per packet); only the last
    // packets before close are tracked, so close() can wait for them.
    if (this.closing) {
      this.inflightSends++;
      socket.send(packet, to.port, to.host, this.onSent);
    } else {
      socket.send(packet, to.port, to.host);
    }
  }

  /**
   * A packet that arrived over the relayed path `from` (a stand-in address from `relayed`): routed
   * exactly like a datagram from the socket.
   */
  deliverRelayed(data: Uint8Array, from: HostPort): void {
    if (this.closing || !this.socket || this.relayed.get(from.host) === undefined) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.onMessage(buf, remoteInfo(from, buf.length));
  }

  /**
   * A client's first Initial that a rendezvous forwarded to us (HolePunchStart.initial), taken as if
   * it had come from `from`, where the rendezvous saw the client: our answer punches our NAT toward
   * it. Only a QUIC v1 Initial of at least QUIC_MIN_INITIAL_SIZE bytes for a connection ID we do not
   * know yet ('known': the client's own copy got here first) starts a connection, a provisional one.
   */
  acceptForwarded(data: Uint8Array, from: HostPort): 'accepted' | 'known' | 'refused' {
    if (this.closing || !this.socket || isRelayedHost(from.host)) return 'refused';
    const buf = Buffer.from(data);
    const head = quicHeader(buf);
    if (typeof head === 'string' || !head.long || !isInitialV1(buf)) return 'refused';
    if (this.routes.has(cidKey(head.dcid))) return 'known';
    const created = this.hooks.accept(Buffer.from(head.dcid), buf, remoteInfo(from, buf.length));
    if (created === undefined) return 'refused';
    this.provisional.add(created, formatAddr(from.host, from.port));
    this.markDirty(created);
    return 'accepted';
  }

  /** Send arbitrary bytes from the shared socket (hole punching, probes). */
  send(bytes: Uint8Array, host: string, port: number): void {
    const socket = this.socket;
    if (!socket) throw new TransportError('UDP socket is not open');
    if (isRelayedHost(host)) return; // raw datagrams never go through relays
    this.inflightSends++;
    socket.send(bytes, port, host, this.onSent);
  }

  /** Ignore incoming datagrams from now on and track every send, so close() can wait for them. */
  beginClose(): void {
    this.closing = true;
  }

  /** Stop accepting, wait for queued sends (e.g. CONNECTION_CLOSE packets), close the socket. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closeStarted) return;
    this.closeStarted = true;
    this.beginClose();
    this.flushAll();
    if (this.inflightSends > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.routes.clear();
    this.relayed.clear();
    this.lastCid = undefined;
    this.lastSink = undefined;
    this.dirty.clear();
    socket.off('message', this.onMessage);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    // 'close' fires before libuv has released the handle; two turns of the loop let it go, so
    // that nothing of ours is left once close() resolves.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.socket = undefined;
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) this.log.debug('udp send failed', { error: err.message });
    if (--this.inflightSends === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  };

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    // Flushing may mark sinks dirty again (e.g. a reply written synchronously): loop until quiet.
    for (let round = 0; round < 4 && this.dirty.size > 0; round++) {
      const sinks = [...this.dirty];
      this.dirty.clear();
      for (const s of sinks) this.flushOne(s);
    }
  };

  private readonly flushUrgent = (): void => {
    this.urgentQueued = false;
    for (const s of [...this.dirty]) {
      if (s.urgent !== true) continue;
      this.dirty.delete(s);
      this.flushOne(s);
    }
    // a sink that stopped being urgent on the way (its handshake completed) goes with the batch
    if (this.dirty.size > 0) this.scheduleBatch();
  };

  private flushOne(sink: DatagramSink): void {
    try {
      sink.flush();
    } catch (e) {
      this.log.warn('connection flush failed', { error: (e as Error).message });
    }
  }

  private readonly onMessage = (data: Buffer, from: dgram.RemoteInfo): void => {
    if (this.closing) return;
    try {
      this.route(data, from);
    } catch (e) {
      // Never let one datagram take the node down.
      this.log.warn('datagram handling failed', { from: `${from.address}:${from.port}`, error: (e as Error).message });
      this.hooks.dropped('error');
    }
  };

  private route(data: Buffer, from: dgram.RemoteInfo): void {
    const head = quicHeader(data);
    if (head === 'raw') return this.hooks.raw(data, from);
    if (typeof head === 'string') return this.hooks.dropped(head);
    const { long, dcid } = head;
    // Bulk traffic is one connection's packets back to back: remember the last route.
    let sink: DatagramSink | undefined;
    const last = this.lastCid;
    if (last !== undefined && last.length === dcid.length && last.equals(dcid)) sink = this.lastSink;
    else {
      sink = this.routes.get(cidKey(dcid));
      if (sink) {
        this.lastCid = Buffer.from(dcid);
        this.lastSink = sink;
      }
    }
    if (sink && this.provisional.size > 0) {
      const verdict = this.provisional.check(sink, formatAddr(from.address, from.port), long && isInitialV1(data));
      if (verdict === 'drop') return this.hooks.dropped('unexpected-address');
      if (verdict === 'replace') {
        sink.discard?.();
        sink = undefined; // accepted anew below, from where the client really is
      }
    }
    if (sink) {
      sink.recv(data, from);
      this.markDirty(sink);
      return;
    }
    if (!long) return this.hooks.dropped('unknown-cid');
    const version = data.readUInt32BE(1);
    // No amplification: nothing is sent in answer to a datagram under the minimum Initial size.
    if (data.length < QUIC_MIN_INITIAL_SIZE) return this.hooks.dropped('small-initial');
    if (version !== quiche.PROTOCOL_VERSION) {
      if (version !== 0) this.sendVersionNegotiation(data, from);
      else this.hooks.dropped('version-negotiation');
      return;
    }
    if (!isInitialV1(data)) return this.hooks.dropped('unknown-cid'); // not an Initial
    const created = this.hooks.accept(Buffer.from(dcid), data, from);
    if (created) this.markDirty(created);
  }

  private sendVersionNegotiation(data: Buffer, from: dgram.RemoteInfo): void {
    let header;
    try {
      header = quiche.Header.fromSlice(data, CID_LEN);
    } catch {
      return this.hooks.dropped('malformed');
    }
    const out = Buffer.allocUnsafe(MAX_UDP_PAYLOAD);
    const len = quiche.negotiateVersion(header.scid, header.dcid, out);
    this.send(out.subarray(0, len), from.address, from.port);
  }
}

/**
 * A datagram's QUIC header as far as routing needs it: 'raw' (not QUIC, see the classification rule
 * above), a drop reason, or the header form and destination connection ID.
 */
function quicHeader(data: Buffer): 'raw' | 'short' | 'malformed' | { long: boolean; dcid: Buffer } {
  const b0 = data.length > 0 ? data[0]! : 0;
  if ((b0 & 0x40) === 0) return 'raw';
  if ((b0 & 0x80) !== 0) {
    // flags(1) version(4) dcid_len(1) dcid
    if (data.length < 7) return 'short';
    const dcidLen = data[5]!;
    if (dcidLen > quiche.MAX_CONN_ID_LEN || data.length < 6 + dcidLen) return 'malformed';
    return { long: true, dcid: data.subarray(6, 6 + dcidLen) };
  }
  if (data.length < 1 + CID_LEN) return 'short';
  return { long: false, dcid: data.subarray(1, 1 + CID_LEN) };
}

/** A long-header datagram that is a QUIC v1 Initial big enough to start a connection. */
function isInitialV1(data: Buffer): boolean {
  return data.length >= QUIC_MIN_INITIAL_SIZE && (data[0]! & 0x30) === 0 && data.readUInt32BE(1) === quiche.PROTOCOL_VERSION;
}

/** `from` as dgram reports a sender: how a datagram that did not come from the socket is routed like one. */
function remoteInfo(from: HostPort, size: number): dgram.RemoteInfo {
  return { address: from.host, port: from.port, family: 'IPv4', size };
}

/** Map key for a connection ID (latin1 keeps one char per byte: cheap and collision-free). */
export function cidKey(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.byteLength).toString('latin1');
}
