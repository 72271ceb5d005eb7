/**
 * Forwarded Initials (a hole punch's HolePunchStart.initial): the address rules that keep such a
 * handshake on track. Pure bookkeeping; the endpoint and the connection apply them.
 *
 * - Server side, `ProvisionalClients`: a connection accepted from a forwarded Initial answers the
 *   address the rendezvous saw the client at. A client behind a symmetric NAT reaches us from
 *   another one: its own copy of that Initial (same connection ID) arriving from elsewhere replaces
 *   the provisional connection, as if the forwarded copy had never come. The first datagram from the
 *   expected address confirms it.
 * - Client side, `AnswerAddress`: the peer answers a forwarded Initial from wherever its NAT maps it
 *   toward us — behind a symmetric NAT, a fresh port rather than the one we dialled. quiche takes
 *   handshake packets from any address onto the dial's one path but keeps sending to the dialled
 *   address, where nothing gets through. So the answer's packets go to quiche as from the dialled
 *   address, and once the handshake completed with every answer from there (the handshake keys
 *   prove it was the peer), what quiche sends to the dialled address goes to the answering one.
 */
import type { HostPort } from './addr.js';

/** What to do with a datagram routed to a connection: process it, drop it, or accept it anew. */
export type AddressVerdict = 'pass' | 'drop' | 'replace';

/** Server side: connections accepted from forwarded Initials, not yet confirmed, and where their client should be. */
export class ProvisionalClients<S> {
  private readonly expected = new Map<S, string>();

  add(sink: S, addr: string): void {
    this.expected.set(sink, addr);
  }

  forget(sink: S): void {
    this.expected.delete(sink);
  }

  get size(): number {
    return this.expected.size;
  }

  /** The verdict on a datagram for `sink` from `from`; `initial`: it is a QUIC v1 Initial. */
  check(sink: S, from: string, initial: boolean): AddressVerdict {
    const addr = this.expected.get(sink);
    if (addr === undefined) return 'pass';
    if (addr === from) {
      this.expected.delete(sink); // the client is where we answered: confirmed
      return 'pass';
    }
    if (!initial) return 'drop';
    this.expected.delete(sink);
    return 'replace';
  }
}

const same = (a: HostPort, b: HostPort): boolean => a.host === b.host && a.port === b.port;

/** Client side: where the peer answered our forwarded Initial from, when not where we dialled. */
export class AnswerAddress {
  private answer: HostPort | undefined;
  private fromDialled = false;
  private adopted = false;

  constructor(private readonly dialled: HostPort) {}

  /** The peer's address once adopted (undefined: the dialled one holds). */
  get at(): HostPort | undefined {
    return this.adopted ? this.answer : undefined;
  }

  /** The source to give quiche for a datagram from `from`: the dialled address for the answering one; undefined: as it is. */
  source(from: HostPort, handshaking: boolean): HostPort | undefined {
    if (same(from, this.dialled)) {
      if (handshaking) this.fromDialled = true;
      return undefined;
    }
    if (this.answer === undefined) {
      if (!handshaking) return undefined;
      this.answer = { host: from.host, port: from.port };
    }
    return same(from, this.answer) && (handshaking || this.adopted) ? this.dialled : undefined;
  }

  /** The handshake completed: adopt the answering address when every answer came from it. */
  established(): void {
    this.adopted = this.answer !== undefined && !this.fromDialled;
  }

  /** Where a packet quiche addressed to `to` goes. */
  destination(to: HostPort): HostPort {
    return this.adopted && same(to, this.dialled) ? this.answer! : to;
  }
}
