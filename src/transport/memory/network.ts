/**
 * An in-process network for tests and the simulator: transports register under an address, and
 * every packet is delivered through the injected clock after a per-link latency, or dropped
 * (loss rate, unreachable address, nobody bound). With a ManualClock the whole network runs in
 * virtual time; with a SystemClock in real time.
 *
 * The network plays the role TLS plays for QUIC: the receiver learns the sender's registered
 * NodeId and public key, which cannot be forged from inside the network.
 *
 * Cost per packet is one timer closure and one small object; the simulator pushes millions of
 * messages through here with `encode: false`.
 */
import type { Clock } from '../../core/clock.js';
import type { Rng } from '../../core/rng.js';
import type { NodeId } from '../../core/types.js';
import { ConfigError, TransportError } from '../../errors.js';
import { REQUEST_TIMEOUT_MS } from '../../constants.js';
import { MemoryTransport } from './transport.js';
import type { Packet } from './packet.js';

/** MemoryNetwork options: clock, randomness for loss, and link defaults. */
export interface MemoryNetworkOptions {
  clock: Clock;
  /** Drives packet loss; nothing else draws from it, so a seeded run is reproducible. */
  rng: Rng;
  /** One-way delay in ms for a packet from `fromAddr` to `toAddr`. Default: 0. */
  latencyMs?: (fromAddr: string, toAddr: string) => number;
  /** Probability in [0, 1) that any one packet is lost. Default: 0. */
  lossRate?: number;
  /**
   * Whether a packet from `fromAddr` may reach `toAddr` now (a firewall or NAT stand-in: tests let
   * a "NATed" node be reached only from addresses it has sent to). Default: everything passes.
   */
  filter?: (fromAddr: string, toAddr: string) => boolean;
  /**
   * Default true: every message goes through the binary codec, as on the wire (catches
   * unencodable messages). false: the message object itself is handed over (no copy), for
   * simulator speed; receivers must then treat messages as read-only.
   */
  encode?: boolean;
  /** ms; request deadline when the caller gives none. Default REQUEST_TIMEOUT_MS. */
  defaultTimeoutMs?: number;
}

/** Options of MemoryNetwork.createTransport: identity and address. */
export interface CreateMemoryTransportOptions {
  nodeId: NodeId;
  publicKey: Uint8Array;
  /** "host:port"; assigned from 10.0.0.0/8 when omitted. */
  addr?: string;
}

/** Packet counters since the network was created. `dropped` includes `lost`. */
export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  /** Dropped by the loss rate. */
  lost: number;
  /** Encoded bytes sent (0 with `encode: false`). */
  bytes: number;
}

const HOST_PORT = /^[^\s]+:\d{1,5}$/;

/** A per-message loss probability, checked: in [0, 1) — a network that loses every message delivers nothing. */
export function checkLossRate(rate: number, name = 'lossRate'): number {
  if (!(rate >= 0 && rate < 1)) throw new ConfigError(`${name} must be in [0, 1), got ${rate}`);
  return rate;
}

/** The default request deadline of an in-memory network (this one or the simulator's), checked. */
export function defaultDeadline(ms: number | undefined): number {
  const deadline = ms ?? REQUEST_TIMEOUT_MS;
  if (!(deadline > 0)) throw new ConfigError(`defaultTimeoutMs must be positive, got ${deadline}`);
  return deadline;
}

/** Message loss at a checked rate, drawn from `rng` (not at all when the rate is 0, so a loss-free run draws nothing). */
export class MessageLoss {
  readonly rate: number;

  constructor(
    rate: number,
    private readonly rng: Rng,
  ) {
    this.rate = checkLossRate(rate);
  }

  /** Is the next message lost? */
  lost(): boolean {
    return this.rate > 0 && this.rng.next() < this.rate;
  }
}

/** An in-memory network of MemoryTransports with per-link latency and loss, on an injected clock. */
export class MemoryNetwork {
  readonly clock: Clock;
  readonly encode: boolean;
  readonly defaultTimeoutMs: number;
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0, lost: 0, bytes: 0 };

  private readonly loss: MessageLoss;
  private readonly latency: ((fromAddr: string, toAddr: string) => number) | undefined;
  private readonly filter: ((fromAddr: string, toAddr: string) => boolean) | undefined;
  private readonly bound = new Map<string, MemoryTransport>();
  private readonly unreachable = new Set<string>();
  private nextHost = 1;

  constructor(opts: MemoryNetworkOptions) {
    this.clock = opts.clock;
    this.loss = new MessageLoss(opts.lossRate ?? 0, opts.rng);
    this.defaultTimeoutMs = defaultDeadline(opts.defaultTimeoutMs);
    this.latency = opts.latencyMs;
    this.filter = opts.filter;
    this.encode = opts.encode ?? true;
  }

  /** A transport for one node; it becomes reachable once started, and stops being so when closed. */
  createTransport(opts: CreateMemoryTransportOptions): MemoryTransport {
    let addr = opts.addr;
    if (addr === undefined) {
      const n = this.nextHost++;
      addr = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:4433`;
    } else if (!HOST_PORT.test(addr)) {
      throw new ConfigError(`memory transport address must be "host:port", got "${addr}"`);
    }
    return new MemoryTransport(this, opts.nodeId, opts.publicKey, addr);
  }

  /** Mark an address down (false) or up again (true): packets to or from a down address are dropped. */
  setReachable(addr: string, reachable: boolean): void {
    if (reachable) this.unreachable.delete(addr);
    else this.unreachable.add(addr);
  }

  isReachable(addr: string): boolean {
    return this.bound.has(addr) && !this.unreachable.has(addr);
  }

  /** The started transport bound at `addr`, if any. */
  transportAt(addr: string): MemoryTransport | undefined {
    return this.bound.get(addr);
  }

  /** Number of started, not yet closed transports. */
  get size(): number {
    return this.bound.size;
  }

  /** @internal called by MemoryTransport.start(). */
  bind(t: MemoryTransport): void {
    const existing = this.bound.get(t.localAddr);
    if (existing && existing !== t) throw new TransportError(`address ${t.localAddr} is already in use`);
    this.bound.set(t.localAddr, t);
  }

  /** @internal called by MemoryTransport.close(). */
  unbind(t: MemoryTransport): void {
    if (this.bound.get(t.localAddr) === t) this.bound.delete(t.localAddr);
  }

  /** @internal queue a packet: dropped now, or delivered after the link latency. */
  send(pkt: Packet): void {
    const stats = this.stats;
    stats.sent++;
    if (pkt.bytes) stats.bytes += pkt.bytes.length;
    if (this.unreachable.size > 0 && this.unreachable.has(pkt.from.localAddr)) {
      stats.dropped++;
      return;
    }
    if (this.filter !== undefined && !this.filter(pkt.from.localAddr, pkt.toAddr)) {
      stats.dropped++;
      return;
    }
    if (this.loss.lost()) {
      stats.dropped++;
      stats.lost++;
      return;
    }
    let delay = this.latency ? this.latency(pkt.from.localAddr, pkt.toAddr) : 0;
    if (!(delay > 0)) delay = 0; // also maps NaN to 0, which would corrupt timer order
    this.clock.setTimer(delay, () => this.deliver(pkt));
  }

  private deliver(pkt: Packet): void {
    const dest = this.bound.get(pkt.toAddr);
    if (dest === undefined || (this.unreachable.size > 0 && this.unreachable.has(pkt.toAddr))) {
      this.stats.dropped++;
      return;
    }
    this.stats.delivered++;
    dest.receive(pkt);
  }
}
