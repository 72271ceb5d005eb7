/**
 * NatProbeDriver over a running node: the I/O half of NAT type detection (nat-detection.ts).
 *
 * - Mapping probes to a server's primary address (and to a second server) are WhatIsMyAddr
 *   requests over the node's own QUIC socket, so the reflexive address is that socket's mapping.
 * - The mapping probe to the server's second port is a raw address probe (nat-probe-packet.ts)
 *   sent from the same socket, answered with a raw NAT-test reply.
 * - Filtering tests are NatTest requests; the server (or its partner) answers with a raw NAT-test
 *   reply from a source we never sent to, which arrives — or not — on our raw channel.
 * - Hairpin: an address probe sent to our own reflexive address; it counts when it comes back.
 *
 * Replies are matched by 16-byte nonce. Raw probes are resent every `retransmitMs` (UDP may lose
 * one) until answered; a waiter is dropped after `waitMs`. Timers run on the injected clock. The
 * detector's own per-probe timeout decides "no answer"; `waitMs` only frees memory, so it must be
 * longer than that timeout.
 */
import { STUN_TIMEOUT_MS } from '../constants.js';
import { toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { Components } from '../core/components.js';
import { DecodeError, ProtocolError, TimeoutError, TransportError } from '../errors.js';
import type { TraversalNode } from './host.js';
import { splitAddr } from '../nat/addr.js';
import type { NatProbeDriver, NatServer } from '../nat/nat-detection.js';
import { encodeAddrProbe, isAddrProbe, parseAddrProbe } from '../nat/nat-probe-packet.js';
import { classifyRaw, NAT_TEST_NONCE_BYTES, parseNatTestReply } from '../nat/raw-packets.js';

/** Non-QUIC datagrams on the node's main socket. */
export interface RawChannel {
  send(bytes: Uint8Array, host: string, port: number): void;
  /** Listen to raw datagrams arriving on the main socket; returns the remover. */
  listen(cb: (data: Uint8Array, from: string) => void): () => void;
}

export interface MeshNatDriverOptions {
  node: Pick<TraversalNode, 'contact' | 'request'>;
  raw: RawChannel;
  components: Pick<Components, 'clock' | 'rng' | 'logger'>;
  /** Deadline of one WhatIsMyAddr / NatTest request, ms (default STUN_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  /** Resend period of raw probes, ms (default 500). */
  retransmitMs?: number;
  /** How long a nonce is remembered, ms (default 2 × STUN_TIMEOUT_MS). */
  waitMs?: number;
}

interface Waiter {
  resolve(observedAddr: string | null): void;
  reject(err: Error): void;
}

export class MeshNatDriver implements NatProbeDriver {
  private readonly waiting = new Map<string, Waiter>();
  private readonly unlisten: () => void;
  private closed = false;

  constructor(private readonly opts: MeshNatDriverOptions) {
    this.unlisten = opts.raw.listen((data, from) => this.onRaw(data, from));
  }

  /** Stop listening; pending probes fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    const err = new TransportError('NAT driver closed');
    for (const w of [...this.waiting.values()]) w.reject(err);
    this.waiting.clear();
  }

  async whatIsMyAddr(server: NatServer, dest: string): Promise<string> {
    if (server.altPortAddr !== undefined && dest === server.altPortAddr) {
      const { host, port } = splitAddr(dest);
      const nonce = this.nonce();
      const packet = encodeAddrProbe(nonce);
      const observed = await this.waitFor(nonce, () => this.opts.raw.send(packet, host, port));
      if (observed === null) throw new ProtocolError(`address probe to ${dest} came back without an address`);
      return observed;
    }
    const reply = await this.opts.node.request(
      { addr: dest, nodeId: dest === server.addr ? server.nodeId : undefined },
      { type: 'WhatIsMyAddr', from: this.opts.node.contact },
      { timeoutMs: this.opts.requestTimeoutMs ?? STUN_TIMEOUT_MS },
    );
    if (reply.msg.type !== 'YourAddr') throw new ProtocolError(`WhatIsMyAddr to ${dest} answered with ${reply.msg.type}`);
    return reply.msg.addr;
  }

  async requestReplyFrom(server: NatServer, alternate: 'address' | 'port', accepted: () => void): Promise<'received' | 'unsupported'> {
    const nonce = this.nonce();
    // Listen first: the raw reply may overtake the acknowledgement.
    const arrival = this.waitFor(nonce);
    arrival.catch(() => {}); // settled below or left to the detector's timeout
    let taken = false;
    try {
      const reply = await this.opts.node.request(
        { addr: server.addr, nodeId: server.nodeId },
        { type: 'NatTest', from: this.opts.node.contact, change: alternate, nonce, replyTo: null },
        { timeoutMs: this.opts.requestTimeoutMs ?? STUN_TIMEOUT_MS },
      );
      taken = reply.msg.type === 'NatTestAck' && reply.msg.accepted;
    } catch (err) {
      this.forget(nonce, err as Error);
      throw err;
    }
    if (!taken) {
      this.forget(nonce, new ProtocolError('NatTest refused'));
      return 'unsupported';
    }
    accepted();
    await arrival;
    return 'received';
  }

  async hairpin(reflexive: string): Promise<boolean> {
    const { host, port } = splitAddr(reflexive);
    const nonce = this.nonce();
    const packet = encodeAddrProbe(nonce);
    await this.waitFor(nonce, () => this.opts.raw.send(packet, host, port));
    return true;
  }

  /** Number of nonces still awaited (tests: nothing leaks). */
  get pending(): number {
    return this.waiting.size;
  }

  private nonce(): Uint8Array {
    return this.opts.components.rng.bytes(NAT_TEST_NONCE_BYTES);
  }

  /**
   * Resolve with the observed address of the NAT-test reply carrying `nonce` (null when our own
   * address probe came back, i.e. hairpin). `send`, when given, runs now and every retransmitMs.
   */
  private waitFor(nonce: Uint8Array, send?: () => void): Promise<string | null> {
    if (this.closed) return Promise.reject(new TransportError('NAT driver closed'));
    const key = toHex(nonce);
    const clock = this.opts.components.clock;
    const retransmitMs = this.opts.retransmitMs ?? 500;
    const waitMs = this.opts.waitMs ?? 2 * STUN_TIMEOUT_MS;
    return new Promise<string | null>((resolve, reject) => {
      let resend: TimerHandle | undefined;
      const finish = (): void => {
        expiry.cancel();
        resend?.cancel();
        this.waiting.delete(key);
      };
      const expiry = clock.setTimer(waitMs, () => {
        finish();
        reject(new TimeoutError(`no NAT test reply within ${waitMs} ms`));
      });
      this.waiting.set(key, {
        resolve: (addr) => {
          finish();
          resolve(addr);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      });
      if (send !== undefined) {
        const tick = (): void => {
          if (!this.waiting.has(key)) return;
          try {
            send();
          } catch (err) {
            this.opts.components.logger.debug('raw probe send failed', { error: (err as Error).message });
          }
          resend = clock.setTimer(retransmitMs, tick);
        };
        tick();
      }
    });
  }

  private forget(nonce: Uint8Array, reason: Error): void {
    this.waiting.get(toHex(nonce))?.reject(reason);
  }

  private onRaw(data: Uint8Array, from: string): void {
    try {
      if (classifyRaw(data) === 'nat-test') {
        const r = parseNatTestReply(data);
        this.waiting.get(toHex(r.nonce))?.resolve(r.observedAddr);
      } else if (isAddrProbe(data)) {
        this.waiting.get(toHex(parseAddrProbe(data)))?.resolve(null);
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.opts.components.logger.debug('malformed NAT test datagram', { from, error: err.message });
    }
  }
}
