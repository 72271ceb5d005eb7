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
 * Behind a NAT it also watches the mapping (every `mappingCheckMs`, WhatIsMyAddr to the bootstrap peer
 * that told us): a router that rebooted maps us anew without any local sign, and the connections our
 * peers opened to us (QUIC: only the opener migrates) would die at the old mapping. On a change it does
 * the same renewal — relays pinged, punches toward every peer so they migrate, record republished.
 * A stream whose peer falls silent mid-way (the QUIC transport's onPeerSilent) is the one early sign of
 * such a reboot: the mapping is then checked at once, not at the next period.
 */
import { fromHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { Components } from '../core/components.js';
import type { DhtNode } from '../dht/index.js';
import { MAX_RECORD_RELAYS } from '../identity/endpoint-record.js';
import type { Keypair } from '../identity/keypair.js';
import { capability } from '../transport/capabilities.js';
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
  /** Changes of our NAT's mapping noticed since start (a router reboot), our own address unchanged. */
  mappingChanges: number;
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
  /** Period of the NAT mapping check while behind a NAT, ms; 0 turns it off. Default DEFAULT_MAPPING_CHECK_MS. */
  mappingCheckMs?: number;
}

/** Default period of the NAT mapping check, ms: a router reboot is noticed within about this long. */
export const DEFAULT_MAPPING_CHECK_MS = 2_000;
/** Checks brought forward by silent peers come at most this often, ms (many streams may stop at once). */
const EARLY_CHECK_GAP_MS = 500;

const WILDCARD = /^(0\.0\.0\.0|\[::\]):/;
/** Republish period of a record some other node holds, ms (well inside its 24 h lifetime). */
const REPUBLISH_MS = 30 * 60_000;
/** Retry period while no other node holds it, ms. */
const REPUBLISH_LONELY_MS = 5_000;

export class NodeAddresses {
  readonly nat: NatAddresses = { reflexiveAddr: null, observedBy: null, networkChanges: 0, mappingChanges: 0, recordPublished: false };
  private seed: { addr: string; nodeId: string } | undefined;
  private watch: NetworkWatch | undefined;
  private joined = false;
  private stopped = false;
  private republishTimer: TimerHandle | undefined;
  private mappingTimer: TimerHandle | undefined;
  private checking = false;
  private lastEarlyAt = -Infinity;
  private readonly unsubscribeSilence: () => void;

  constructor(private readonly d: NodeAddressesDeps) {
    this.unsubscribeSilence = capability(d.meshNode.transport, 'peerSilence')?.onPeerSilent(() => this.checkMappingNow()) ?? (() => {});
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
    this.unsubscribeSilence();
    this.watch?.stop();
    this.republishTimer?.cancel();
    this.mappingTimer?.cancel();
    this.stopped = true;
  }

  /** Ask `seed` (a bootstrap peer that answered) for our reflexive address. */
  async learnReflexive(seed: { addr: string; nodeId: string }, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.seed = seed;
    const addr = await this.askReflexive(seed, opts);
    if (addr !== null) {
      this.nat.reflexiveAddr = addr;
      this.nat.observedBy = seed.addr;
    }
    this.scheduleMappingCheck();
  }

  private async askReflexive(seed: { addr: string; nodeId: string }, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string | null> {
    try {
      const reply = await this.d.meshNode.request(
        { addr: seed.addr, nodeId: fromHex(seed.nodeId) },
        { type: 'WhatIsMyAddr', from: this.d.meshNode.contact },
        opts,
      );
      return reply.msg.type === 'YourAddr' ? reply.msg.addr : null;
    } catch (err) {
      this.d.components.logger.debug('WhatIsMyAddr failed', { error: String(err) });
      return null;
    }
  }

  /** Behind a NAT (a peer sees us at another address than our own): look at the mapping again soon. */
  private scheduleMappingCheck(): void {
    const period = this.d.mappingCheckMs ?? DEFAULT_MAPPING_CHECK_MS;
    if (this.stopped || period <= 0 || this.mappingTimer !== undefined) return;
    this.mappingTimer = this.d.components.clock.setTimer(period, () => void this.checkMapping(period));
  }

  /** A peer fell silent mid-stream: check the mapping now (unless one is under way or just was). */
  private checkMappingNow(): void {
    const period = this.d.mappingCheckMs ?? DEFAULT_MAPPING_CHECK_MS;
    if (this.stopped || period <= 0 || this.checking || this.mappingTimer === undefined) return;
    const now = this.d.components.clock.now();
    if (now - this.lastEarlyAt < EARLY_CHECK_GAP_MS) return;
    this.lastEarlyAt = now;
    this.mappingTimer.cancel();
    void this.checkMapping(period);
  }

  private async checkMapping(period: number): Promise<void> {
    this.checking = true;
    const seed = this.seed;
    const before = this.nat.reflexiveAddr;
    const behindNat = before !== null && before !== this.d.meshNode.contact.addr;
    try {
      if (seed !== undefined && behindNat && !this.stopped) {
        const now = await this.askReflexive(seed, { timeoutMs: period });
        // a network change re-learns on its own meanwhile; only a change the mapping alone made counts here
        if (now !== null && now !== before && this.nat.reflexiveAddr === before && !this.stopped) await this.mappingChanged(now);
      }
    } finally {
      this.checking = false;
      this.mappingTimer = undefined;
      this.scheduleMappingCheck();
    }
  }

  /** Our NAT maps us anew (a router reboot): renew as after a network change, our own address unchanged. */
  private async mappingChanged(addr: string): Promise<void> {
    this.nat.reflexiveAddr = addr;
    this.nat.mappingChanges++;
    const log = this.d.components.logger;
    log.info('NAT mapping changed', { reflexive: addr });
    await this.d.relayLink?.keepAlive();
    this.d.connector()?.refreshPaths();
    if (this.joined) await this.publishRecord();
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
