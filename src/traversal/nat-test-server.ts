/**
 * The server side of NAT type detection: a node that answers NatTest (filtering tests) and, on a
 * second UDP port, raw address probes (the "same server, other port" mapping test).
 *
 * - NatTest change 'port': send a NAT-test reply datagram to the requester's reflexive address
 *   (the address its authenticated request came from) from another port of ours.
 * - NatTest change 'address': forward the test to the partner (a NAT test server on another IP),
 *   which sends the reply from its own address; the partner's acceptance is our answer. Until
 *   `partnerReady` settles (the partner answered once), address tests are refused at once: servers
 *   and clients start together, and a forward to a partner not listening yet only waits on a dial
 *   whose resends space out (1 s, 2 s, ...) — kept alive by every client's forward, it outlasted
 *   the clients' probe time in the lab. A refused client asks again.
 *
 * Filtering replies leave from the `replySocket` (a port no client ever sends to) when there is
 * one. Why: a reply a NAT lets in opens a session for its source; had it come from the second port
 * or the partner's main port — where the client's later mapping probes go — those probes would
 * reuse that session, and an address-dependent or symmetric NAT with open filtering would look
 * endpoint-independent (seen in the lab with adm-eif, apdm-eif and apdm-adf).
 * - A forwarded NatTest (replyTo set) is honoured only from the configured partner's host: the
 *   reply goes to an address nobody authenticated, so only a trusted server may name it.
 * - An address probe on the second port is answered with a NAT-test reply carrying the source
 *   address the probe came from (probes are padded, so an answer is never larger than its probe).
 *
 * Sockets are injected: `sendRaw` is the node's main (QUIC) socket, `altSocket` the second one.
 */
import type { Components } from '../core/components.js';
import { DecodeError } from '../errors.js';
import type { PeerInfo, RequestHandler } from '../transport/transport.js';
import type { NatTest, NatTestAck } from '../wire/messages.js';
import type { TraversalNode } from './host.js';
import { joinAddr, sameHost, splitAddr } from '../nat/addr.js';
import { isAddrProbe, parseAddrProbe } from '../nat/nat-probe-packet.js';
import { encodeNatTestReply } from '../nat/raw-packets.js';

/** A plain UDP socket beside the node's QUIC one (see udp-alt-socket.ts). */
export interface AltSocket {
  /** "host:port" it is bound to. */
  readonly localAddr: string;
  send(bytes: Uint8Array, host: string, port: number): void;
  /** Every datagram received, with its source "host:port". One listener. */
  onDatagram(cb: (data: Uint8Array, from: string) => void): void;
  close(): Promise<void>;
}

/** What the server needs of the node (a MeshNode fits). */
export interface NatTestNode extends Pick<TraversalNode, 'contact' | 'request'> {
  handle(type: 'NatTest', handler: RequestHandler<'NatTest'>): void;
}

/** What a NatTestServer is built from: the node, its sockets (main, second port, reply), the partner, a deadline. */
export interface NatTestServerOptions {
  node: NatTestNode;
  /** Send from the node's main socket (QuicTransport.sendRawDatagram). */
  sendRaw(bytes: Uint8Array, host: string, port: number): void;
  /** The second port (address probes); without it and `replySocket`, port tests are refused. */
  altSocket?: AltSocket;
  /** Where filtering replies leave from (see above); default: port tests from `altSocket`, forwarded ones from `sendRaw`. */
  replySocket?: Pick<AltSocket, 'send' | 'localAddr'>;
  /** "host:port" of the partner server on another IP; without it address tests are refused. */
  partner?: string;
  components: Pick<Components, 'logger'>;
  /** Deadline of the forward to the partner, ms (default 2 000: below the detector's probe timeout). */
  forwardTimeoutMs?: number;
  /** Settles once the partner has answered (or we stopped waiting); address tests are refused until then. Default: forward from the start. */
  partnerReady?: Promise<unknown>;
}

/** A NAT test server's status section: its addresses and partner, and counts of the tests answered or refused. */
export interface NatTestServerStatus {
  altAddr: string | null;
  replyAddr: string | null;
  partner: string | null;
  /** Whether address tests are forwarded (the partner answered, or we stopped waiting for it). */
  partnerUp: boolean;
  portTests: number;
  addressTests: number;
  forwardedServed: number;
  addrProbes: number;
  refused: number;
}

/** The server side of NAT type detection: answers filtering tests (NatTest) and address probes on a second port. */
export class NatTestServer {
  private readonly counts = { portTests: 0, addressTests: 0, forwardedServed: 0, addrProbes: 0, refused: 0 };
  private readonly log;
  /** False while `partnerReady` is pending. */
  private partnerUp: boolean;

  constructor(private readonly opts: NatTestServerOptions) {
    this.log = opts.components.logger.child('nat-server');
    if (opts.partner !== undefined) splitAddr(opts.partner); // ConfigError on a bad address
    this.partnerUp = opts.partnerReady === undefined;
    const up = (): void => {
      this.partnerUp = true;
    };
    opts.partnerReady?.then(up, up);
  }

  /** Serve NatTest on the node and address probes on the second port. */
  start(): void {
    this.opts.node.handle('NatTest', (peer, msg) => this.onNatTest(peer, msg));
    this.opts.altSocket?.onDatagram((data, from) => this.onAltDatagram(data, from));
  }

  status(): NatTestServerStatus {
    return {
      altAddr: this.opts.altSocket?.localAddr ?? null,
      replyAddr: this.opts.replySocket?.localAddr ?? null,
      partner: this.opts.partner ?? null,
      partnerUp: this.opts.partner !== undefined && this.partnerUp,
      ...this.counts,
    };
  }

  private async onNatTest(peer: PeerInfo, msg: NatTest): Promise<NatTestAck> {
    const ack = (accepted: boolean): NatTestAck => {
      if (!accepted) this.counts.refused++;
      return { type: 'NatTestAck', nonce: msg.nonce, accepted };
    };
    if (msg.replyTo !== null) return ack(this.serveForwarded(peer, msg, msg.replyTo));
    if (msg.change === 'port') {
      const from = this.opts.replySocket ?? this.opts.altSocket;
      if (from === undefined) return ack(false);
      const { host, port } = splitAddr(peer.addr);
      from.send(encodeNatTestReply({ nonce: msg.nonce, observedAddr: peer.addr }), host, port);
      this.counts.portTests++;
      return ack(true);
    }
    const partner = this.opts.partner;
    if (partner === undefined) return ack(false);
    if (!this.partnerUp) {
      this.log.debug('address test refused: the partner has not answered yet', { partner });
      return ack(false);
    }
    try {
      const reply = await this.opts.node.request(
        { addr: partner },
        { type: 'NatTest', from: this.opts.node.contact, change: 'address', nonce: msg.nonce, replyTo: peer.addr },
        { timeoutMs: this.opts.forwardTimeoutMs ?? 2_000 },
      );
      const accepted = reply.msg.type === 'NatTestAck' && reply.msg.accepted;
      if (accepted) this.counts.addressTests++;
      return ack(accepted);
    } catch (err) {
      this.log.debug('partner did not take the address test', { partner, error: (err as Error).message });
      return ack(false);
    }
  }

  /** A test forwarded by our partner: reply from our address to the one it names. */
  private serveForwarded(peer: PeerInfo, msg: NatTest, replyTo: string): boolean {
    const partner = this.opts.partner;
    if (partner === undefined || !sameHost(peer.addr, partner)) {
      this.log.warn('forwarded NatTest from a host that is not our partner', { from: peer.addr });
      return false;
    }
    if (msg.change !== 'address') return false;
    const { host, port } = splitAddr(replyTo);
    const reply = encodeNatTestReply({ nonce: msg.nonce, observedAddr: replyTo });
    if (this.opts.replySocket) this.opts.replySocket.send(reply, host, port);
    else this.opts.sendRaw(reply, host, port);
    this.counts.forwardedServed++;
    return true;
  }

  private onAltDatagram(data: Uint8Array, from: string): void {
    if (!isAddrProbe(data)) return;
    let nonce: Uint8Array;
    try {
      nonce = parseAddrProbe(data);
    } catch (err) {
      if (err instanceof DecodeError) return; // malformed: dropped silently, like any stray datagram
      throw err;
    }
    const { host, port } = splitAddr(from);
    this.opts.altSocket!.send(encodeNatTestReply({ nonce, observedAddr: joinAddr(host, port) }), host, port);
    this.counts.addrProbes++;
  }
}
