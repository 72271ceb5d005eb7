/**
 * PunchDriver: hole punching for a running node, from its one QUIC socket. It drives one sans-IO
 * Puncher per peer: sends the punch rounds as raw datagrams (first byte 0x00, never mistaken for
 * QUIC), feeds the punch datagrams that arrive to the puncher of their sender (peer-reflexive
 * learning included), and resolves with the address that works both ways.
 *
 * Both sides start from a HolePunchReady: the initiator as the reply to its HolePunchStart sent to
 * a rendezvous (a relay it keeps a link to), the other side as a one-way message from that
 * rendezvous (accepted only from `isRendezvous` peers). After success only the initiator dials
 * QUIC to the punched address; the other side's NAT already holds a mapping toward it.
 * Each attempt is counted in quicmesh_holepunch_attempts_total{result}: `success`, `timeout` (the
 * puncher's schedule ended unanswered) or `failed` (the rendezvous refused or was unreachable, or
 * the attempt was superseded or stopped).
 */
import { toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { NodeId } from '../core/types.js';
import { RemoteError, TransportError } from '../errors.js';
import { Puncher, type PunchResult } from '../nat/puncher.js';
import { classifyRaw, parsePunch } from '../nat/raw-packets.js';
import { formatAddr, parseAddr } from '../transport/quic/addr.js';
import type { HolePunchReady } from '../wire/messages.js';
import type { MeshNode } from './mesh-node.js';
import { holePunchAttemptMetrics, type HolePunchAttemptMetrics } from './traversal-metrics.js';

/** The raw-datagram surface of the node's socket (QuicTransport has it). */
export interface RawDatagrams {
  sendRawDatagram(bytes: Uint8Array, host: string, port: number): void;
  onRawDatagram(cb: (data: Uint8Array, from: { host: string; port: number }) => void): void;
}

export function hasRawDatagrams(t: unknown): t is RawDatagrams {
  const o = t as Partial<RawDatagrams>;
  return typeof o.sendRawDatagram === 'function' && typeof o.onRawDatagram === 'function';
}

export interface PunchDriverOptions {
  raw: RawDatagrams;
  /** Is this peer a rendezvous we trust to start punches (our relays)? */
  isRendezvous(nodeId: NodeId): boolean;
  /** How long one punch runs, ms. Default 2 000. */
  durationMs?: number;
}

interface Attempt {
  peer: NodeId;
  puncher: Puncher;
  timer: TimerHandle | undefined;
  /** Set once the attempt is counted: a succeeded attempt lingers (answering punches) but is done. */
  settled: 'success' | 'timeout' | undefined;
  resolve(r: PunchResult): void;
  reject(e: Error): void;
}

export class PunchDriver {
  private readonly attempts = new Map<string, Attempt>();
  private punches = 0;
  private successes = 0;
  private readonly punchedListeners = new Set<(peer: NodeId, result: PunchResult) => void>();
  private readonly metrics: HolePunchAttemptMetrics;

  constructor(
    private readonly node: MeshNode,
    private readonly opts: PunchDriverOptions,
  ) {
    this.metrics = holePunchAttemptMetrics(node.components.metrics);
    opts.raw.onRawDatagram((data, from) => this.onDatagram(data, formatAddr(from.host, from.port)));
    node.onNotify('HolePunchReady', (peer, msg) => {
      if (!this.opts.isRendezvous(peer.nodeId)) return;
      // We are the side asked to punch: the initiator dials once the path is open.
      this.punch(msg).catch((err: unknown) =>
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
   * Initial punches our NAT as well as a raw datagram) and the puncher's outcome, still running.
   * `addrs` are our own candidates for the peer (default: our contact address).
   */
  async start(
    rendezvous: { addr: string; nodeId: NodeId },
    target: NodeId,
    opts: { timeoutMs?: number; addrs?: string[] } = {},
  ): Promise<{ ready: HolePunchReady; result: Promise<PunchResult> }> {
    let reply;
    try {
      reply = await this.node.request(
        rendezvous,
        { type: 'HolePunchStart', from: this.node.contact, target, addrs: opts.addrs ?? [this.node.contact.addr] },
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
    const result = this.punch(reply.msg);
    result.catch(() => {}); // the caller may settle the connect another way
    return { ready: reply.msg, result };
  }

  /** Hear of every punch that succeeded, ours or one a rendezvous asked us to join; returns the remover. */
  onPunched(listener: (peer: NodeId, result: PunchResult) => void): () => void {
    this.punchedListeners.add(listener);
    return () => this.punchedListeners.delete(listener);
  }

  status(): { active: number; punches: number; successes: number } {
    return { active: this.attempts.size, punches: this.punches, successes: this.successes };
  }

  stop(): void {
    for (const [key, a] of this.attempts) {
      a.timer?.cancel();
      if (a.settled === undefined) this.metrics.record('failed');
      a.reject(new TransportError('punch driver stopped'));
      this.attempts.delete(key);
    }
  }

  /** Run one Puncher for the peer in `ready`; a newer punch to the same peer replaces an older one. */
  punch(ready: HolePunchReady): Promise<PunchResult> {
    const clock = this.node.components.clock;
    const key = toHex(ready.peer.id);
    const old = this.attempts.get(key);
    if (old) {
      old.timer?.cancel();
      if (old.settled === undefined) this.metrics.record('failed');
      old.reject(new TransportError('superseded by a newer punch'));
    }
    const peerId = Uint8Array.from(ready.peer.id);
    const puncher = new Puncher({
      localId: this.node.nodeId,
      peerId: ready.peer.id,
      candidates: ready.peerAddrs,
      startAt: clock.now() + ready.delayMs,
      rng: this.node.components.rng,
      durationMs: this.opts.durationMs,
    });
    this.punches++;
    return new Promise<PunchResult>((resolve, reject) => {
      const attempt: Attempt = { peer: peerId, puncher, timer: undefined, settled: undefined, resolve, reject };
      this.attempts.set(key, attempt);
      this.pump(key, attempt);
    });
  }

  private pump(key: string, a: Attempt): void {
    const clock = this.node.components.clock;
    const now = clock.now();
    const { sends, nextAt } = a.puncher.poll(now);
    this.send(sends);
    if (a.puncher.result) return;
    if (nextAt === null || a.puncher.state(now) === 'failed') {
      this.finish(key, a, new TransportError(`hole punch to ${key.slice(0, 12)} got no answer`));
      return;
    }
    a.timer = clock.setTimer(Math.max(0, nextAt - now), () => this.pump(key, a));
  }

  private onDatagram(data: Uint8Array, from: string): void {
    if (classifyRaw(data) !== 'punch') return;
    let sender: string;
    try {
      sender = toHex(parsePunch(data).sender);
    } catch {
      return;
    }
    const a = this.attempts.get(sender);
    if (a === undefined) return;
    const out = a.puncher.onPacket(data, from, this.node.components.clock.now());
    if (out.kind !== 'answered') return;
    this.send(out.replies);
    if (out.succeeded) {
      this.successes++;
      this.finish(sender, a, out.succeeded);
    }
  }

  private finish(key: string, a: Attempt, outcome: PunchResult | Error): void {
    a.timer?.cancel();
    if (a.settled === undefined) {
      a.settled = outcome instanceof Error ? 'timeout' : 'success';
      this.metrics.record(a.settled);
    }
    // Keep answering the peer's punches for a while (its confirm may be lost): the attempt stays
    // registered until the puncher's own schedule ends.
    if (outcome instanceof Error) {
      if (this.attempts.get(key) === a) this.attempts.delete(key);
      a.reject(outcome);
      return;
    }
    a.resolve(outcome);
    for (const l of this.punchedListeners) {
      try {
        l(a.peer, outcome);
      } catch (err) {
        this.node.components.logger.warn('punch listener failed', { error: String(err) });
      }
    }
    a.timer = this.node.components.clock.setTimer(this.opts.durationMs ?? 2_000, () => {
      if (this.attempts.get(key) === a) this.attempts.delete(key);
    });
  }

  private send(sends: { addr: string; bytes: Uint8Array }[]): void {
    for (const s of sends) {
      try {
        const hp = parseAddr(s.addr);
        this.opts.raw.sendRawDatagram(s.bytes, hp.host, hp.port);
      } catch (err) {
        this.node.components.logger.debug('punch send failed', { addr: s.addr, error: String(err) });
      }
    }
  }
}
