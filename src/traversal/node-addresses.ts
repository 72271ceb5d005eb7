/**
 * A running node's addresses and what depends on them:
 * - the advertised address (our contact): the transport's, or — when it listens on a wildcard —
 *   the local address the kernel uses toward our bootstrap/relay peers;
 * - the reflexive address, as a bootstrap peer sees us (WhatIsMyAddr: our NAT's mapping);
 * - our signed endpoint record in the DHT: [reflexive, advertised] and the relays we are linked to.
 * With a wildcard listener it also watches the network (NetworkWatch): after a change (another
 * network, a renumbering) it re-learns both addresses, pings its relays from the new address (so
 * rendezvous see it), punches again toward every connected peer (so their connections follow us,
 * SmartConnector.refreshPaths) and republishes its record (a higher sequence).
 */
import { fromHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { Components } from '../core/components.js';
import type { DhtNode } from '../dht/index.js';
import { MAX_RECORD_RELAYS } from '../identity/endpoint-record.js';
import type { Keypair } from '../identity/keypair.js';
import { formatAddr, parseAddr } from '../transport/quic/addr.js';
import type { TraversalNode } from './host.js';
import { interfaceAddressNow, NetworkWatch } from './network-watch.js';
import type { RelayLink } from './relay-link.js';
import type { SmartConnector } from './smart-connector.js';

/** status().extra.nat (its address part). */
export interface NatAddresses {
  /** Our address as a bootstrap peer sees it (WhatIsMyAddr), or null before it answered. */
  reflexiveAddr: string | null;
  /** The bootstrap peer that told us. */
  observedBy: string | null;
  /** Network changes noticed since start. */
  networkChanges: number;
  /** Our endpoint record is in the DHT. */
  recordPublished: boolean;
}

export interface NodeAddressesDeps {
  meshNode: TraversalNode;
  dht: DhtNode;
  keypair: Keypair;
  components: Components;
  relayLink?: RelayLink;
  /** The node's connector, once there is one (it is built after this). */
  connector: () => SmartConnector | undefined;
  /** Publish our endpoint record (default true). */
  publishRecord?: boolean;
  /** Advertise this interface's address instead of the one toward our peers. */
  advertiseInterface?: string;
}

const WILDCARD = /^(0\.0\.0\.0|\[::\]):/;
/** Republish period of a record some other node holds, ms (well inside its 24 h lifetime). */
const REPUBLISH_MS = 30 * 60_000;
/** Retry period while no other node holds it, ms. */
const REPUBLISH_LONELY_MS = 5_000;

export class NodeAddresses {
  readonly nat: NatAddresses = { reflexiveAddr: null, observedBy: null, networkChanges: 0, recordPublished: false };
  private seed: { addr: string; nodeId: string } | undefined;
  private watch: NetworkWatch | undefined;
  private joined = false;
  private stopped = false;
  private republishTimer: TimerHandle | undefined;

  constructor(private readonly d: NodeAddressesDeps) {
    // the record lists the relays we are reachable through: publish again when that changes
    d.relayLink?.onReachabilityChange(() => {
      if (this.joined) void this.publishRecord();
    });
  }

  /** Our direct candidates: the address peers saw us at (our NAT's mapping), then our own. */
  ownAddrs(): string[] {
    const own = this.d.meshNode.contact.addr;
    return [...new Set([...(this.nat.reflexiveAddr ? [this.nat.reflexiveAddr] : []), ...(WILDCARD.test(own) ? [] : [own])])];
  }

  /**
   * After the transport started: pick the advertised address when listening on a wildcard, and
   * start watching the network. `reference` is where our traffic goes ("host:port").
   */
  async start(reference: string | undefined): Promise<void> {
    const listen = this.d.meshNode.transport.localAddr;
    if (!WILDCARD.test(listen)) return;
    const port = parseAddr(listen).port;
    const host = reference !== undefined ? parseAddr(reference).host : '203.0.113.1';
    const iface = this.d.advertiseInterface;
    this.watch = new NetworkWatch({
      clock: this.d.components.clock,
      referenceHost: host,
      onChange: (ip) => void this.networkChanged(ip, port),
      ...(iface !== undefined ? { toward: () => interfaceAddressNow(iface, host) } : {}),
    });
    const ip = await this.watch.current();
    if (ip !== null) this.d.meshNode.setAdvertisedAddr(formatAddr(ip, port));
    this.watch.start();
  }

  stop(): void {
    this.watch?.stop();
    this.republishTimer?.cancel();
    this.stopped = true;
  }

  /** Ask `seed` (a bootstrap peer that answered) for our reflexive address. */
  async learnReflexive(seed: { addr: string; nodeId: string }, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.seed = seed;
    try {
      const reply = await this.d.meshNode.request(
        { addr: seed.addr, nodeId: fromHex(seed.nodeId) },
        { type: 'WhatIsMyAddr', from: this.d.meshNode.contact },
        opts,
      );
      if (reply.msg.type === 'YourAddr') {
        this.nat.reflexiveAddr = reply.msg.addr;
        this.nat.observedBy = seed.addr;
      }
    } catch (err) {
      this.d.components.logger.debug('WhatIsMyAddr failed', { error: String(err) });
    }
  }

  /** Publish our endpoint record (each time with a higher sequence); false when there is nothing to publish. */
  async publishRecord(): Promise<boolean> {
    if (this.d.publishRecord === false || this.stopped) return false;
    const addrs = this.ownAddrs();
    if (addrs.length === 0) return false;
    // The relays that answered us: where peers that cannot dial us find us (EndpointRecord.relays).
    const relays = (this.d.relayLink?.reachableEndpoints() ?? []).slice(0, MAX_RECORD_RELAYS);
    try {
      const r = await this.d.dht.publishAddress(this.d.keypair, addrs, relays);
      this.joined = true;
      // Resolvable once some node holds it (our own copy counts: lookups reach us too).
      this.nat.recordPublished = r.accepted > 0 || r.local === null;
      this.scheduleRepublish(r.accepted > 0);
      return true;
    } catch (err) {
      this.d.components.logger.warn('could not publish endpoint record', { error: String(err) });
      return false;
    }
  }

  /**
   * Records live 24 h on their replicas: publish again every REPUBLISH_MS, or soon (REPUBLISH_LONELY_MS)
   * while no other node took it (a first node, whose peers arrive after it published).
   */
  private scheduleRepublish(replicated: boolean): void {
    this.republishTimer?.cancel();
    this.republishTimer = this.d.components.clock.setTimer(replicated ? REPUBLISH_MS : REPUBLISH_LONELY_MS, () => {
      this.republishTimer = undefined;
      void this.publishRecord();
    });
  }

  private async networkChanged(ip: string | null, port: number): Promise<void> {
    this.nat.networkChanges++;
    const log = this.d.components.logger;
    if (ip === null) {
      log.warn('network changed: no route to our peers now');
      return;
    }
    const addr = formatAddr(ip, port);
    this.d.meshNode.setAdvertisedAddr(addr);
    log.info('network changed', { addr });
    // Relays first: a rendezvous must see our new address before it coordinates punches.
    await this.d.relayLink?.keepAlive();
    this.d.connector()?.refreshPaths();
    if (this.seed !== undefined) await this.learnReflexive(this.seed);
    if (this.joined) await this.publishRecord();
    log.info('addresses renewed', { addr, reflexive: this.nat.reflexiveAddr ?? '' });
  }
}
