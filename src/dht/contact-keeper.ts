/**
 * The DHT's side of every exchange with a peer, what the driver adds to the pure routing table:
 * each request it sends is timed and identity-checked; an answer's RTT feeds tiering, the routing
 * table and (tiering on) the Vivaldi coordinates, a failure marks the contact failed; a requester
 * joins the table when it is reachable at the address it claims; contacts named in replies fill
 * free slots (learnFromReplies); a full bucket's LRU head is pinged before it is evicted.
 */
import { bytesEqual } from '../core/bytes.js';
import type { Components } from '../core/components.js';
import type { Contact } from '../core/types.js';
import { IdentityError, ProtocolError, RemoteError, errorMessage } from '../errors.js';
import type { FindNode, FindValue, NetCoord, Request, Response } from '../wire/messages.js';
import type { DhtTiering, StoreAck } from './dht-types.js';
import type { DhtCoordinates } from './proximity.js';
import type { RoutingTable } from './routing-table.js';
import type { RpcEndpoint } from './rpc.js';

export interface ContactKeeperDeps {
  rpc: RpcEndpoint;
  components: Components;
  table: RoutingTable;
  tiering: DhtTiering;
  coordinates: DhtCoordinates | undefined;
  requestTimeoutMs: number;
  learnFromReplies: boolean;
  /** Our contact as sent in requests. */
  self(): Contact;
  /** True once the DHT stopped: nothing is recorded any more. */
  stopped(): boolean;
}

export class ContactKeeper {
  constructor(private readonly deps: ContactKeeperDeps) {}

  /**
   * We heard from `contact` (optionally with a measured RTT): update the routing table, and when
   * its bucket is full, ping the bucket's LRU head to decide who stays.
   */
  observeContact(contact: Contact, rttMs?: number): void {
    if (this.deps.stopped()) return;
    const now = this.deps.components.clock.now();
    if (rttMs !== undefined) this.deps.tiering.recordRtt(contact.id, rttMs);
    const outcome = this.deps.table.observeContact(contact, now, rttMs);
    if (outcome.kind === 'pending' && outcome.ping) this.pingForEviction(outcome.ping);
  }

  /** One RPC to a known contact: timed, identity-checked, observed on success, marked failed otherwise. */
  async send(contact: Contact, msg: Request): Promise<Response> {
    const clock = this.deps.components.clock;
    const t0 = clock.now();
    let reply;
    try {
      reply = await this.deps.rpc.request({ addr: contact.addr, nodeId: contact.id }, msg, { timeoutMs: this.deps.requestTimeoutMs });
    } catch (err) {
      // An error reply (RemoteError) comes from a live node: it stays in the table.
      if (!(err instanceof RemoteError)) this.contactFailed(contact);
      throw err;
    }
    if (!bytesEqual(reply.from.nodeId, contact.id)) {
      this.contactFailed(contact);
      throw new IdentityError(`reply came from a different node than ${contact.addr} was expected to be`);
    }
    if (reply.msg.type === 'Error') {
      // It is alive but refused: keep it in the table, fail this request.
      throw new ProtocolError(`remote error ${reply.msg.code}: ${reply.msg.message}`);
    }
    const rtt = clock.now() - t0;
    this.observeContact(contact, rtt);
    this.deps.coordinates?.measured(contact.id, replyCoord(reply.msg), rtt, this.deps.table.has(contact.id));
    return reply.msg;
  }

  async sendStore(contact: Contact, msg: Request): Promise<StoreAck> {
    try {
      const resp = await this.send(contact, msg);
      if (resp.type !== 'Ack') return { contact, rejection: null, error: `Store answered with ${resp.type}` };
      return { contact, rejection: resp.rejection };
    } catch (err) {
      return { contact, rejection: null, error: errorMessage(err) };
    }
  }

  /**
   * The requester told us about itself: its contact and (tiering on) its coordinate.
   * A requester joins the routing table only when its packets come from the address it claims:
   * a node behind a NAT claims its private address, which nobody else can dial, so it stays a
   * client of the DHT (as libp2p's DHT does behind NAT). Its records are then kept by reachable
   * nodes, and lookups do not stall on contacts that cannot answer.
   */
  observeRequester(from: Contact, coord: NetCoord | undefined, seenFrom: string): void {
    if (seenFrom !== from.addr) return;
    this.observeContact(from);
    // Only routing-table contacts' coordinates are kept: those are what our replies list.
    if (!this.deps.stopped() && coord !== undefined) this.deps.coordinates?.heard(from.id, coord, this.deps.table.has(from.id));
  }

  /** `{ coord }` to spread into a request (tiering on), else nothing. */
  coordField(): { coord?: NetCoord } {
    return this.deps.coordinates ? { coord: this.deps.coordinates.own } : {};
  }

  /** `msg` with our current coordinate (tiering on; a copy), else `msg` itself. */
  withCoord<M extends FindNode | FindValue>(msg: M): M {
    return this.deps.coordinates ? { ...msg, coord: this.deps.coordinates.own } : msg;
  }

  /** Offer contacts named in a reply to free routing-table slots (see learnFromReplies). */
  learn(contacts: readonly Contact[], coords?: readonly (NetCoord | null)[]): void {
    if (!this.deps.learnFromReplies || this.deps.stopped()) return;
    for (let i = 0; i < contacts.length; i++) {
      const c = contacts[i]!;
      // A contact entering the table with a relayed coordinate keeps it (until it reports its
      // own), so our replies can pass an estimate on for it too.
      if (this.deps.table.offerContact(c) && coords?.[i]) this.deps.coordinates?.book.relayed(c.id, coords[i]!);
    }
  }

  private contactFailed(contact: Contact): void {
    if (this.deps.stopped()) return;
    this.deps.table.markFailed(contact.id, this.deps.components.clock.now());
  }

  private pingForEviction(head: Contact): void {
    const msg: Request = { type: 'Ping', from: this.deps.self() };
    this.deps.rpc.request({ addr: head.addr, nodeId: head.id }, msg, { timeoutMs: this.deps.requestTimeoutMs }).then(
      (reply) => {
        if (this.deps.stopped()) return;
        const alive = reply.msg.type === 'Ack' && bytesEqual(reply.from.nodeId, head.id);
        this.deps.table.onPingResult(head.id, alive, this.deps.components.clock.now());
      },
      () => {
        if (!this.deps.stopped()) this.deps.table.onPingResult(head.id, false, this.deps.components.clock.now());
      },
    );
  }

  /** Ping a seed given as an address (its id learned from the reply) or as a contact. */
  async pingSeed(seed: string | Contact): Promise<boolean> {
    const msg: Request = { type: 'Ping', from: this.deps.self(), ...this.coordField() };
    const clock = this.deps.components.clock;
    const t0 = clock.now();
    const target = typeof seed === 'string' ? { addr: seed } : { addr: seed.addr, nodeId: seed.id };
    try {
      const reply = await this.deps.rpc.request(target, msg, { timeoutMs: this.deps.requestTimeoutMs });
      if (reply.msg.type !== 'Ack' || bytesEqual(reply.from.nodeId, this.deps.table.self)) return false;
      const contact = typeof seed === 'string' ? { id: reply.from.nodeId, addr: seed } : seed;
      const rtt = clock.now() - t0;
      this.observeContact(contact, rtt);
      this.deps.coordinates?.measured(contact.id, replyCoord(reply.msg), rtt, this.deps.table.has(contact.id));
      return true;
    } catch (err) {
      this.deps.components.logger.debug('bootstrap seed did not answer', {
        seed: typeof seed === 'string' ? seed : seed.addr,
        error: errorMessage(err),
      });
      return false;
    }
  }
}

/** The replier's own coordinate, when its reply carries one. */
function replyCoord(msg: Response): NetCoord | undefined {
  return msg.type === 'Nodes' || msg.type === 'Value' || msg.type === 'Ack' ? msg.coord : undefined;
}
