/**
 * DhtNode: the Kademlia driver. It wires the pure pieces (RoutingTable, LookupQuery, AdaptiveK,
 * AdaptiveAlpha) to an RpcEndpoint, a ProtectedStore and a LatencyTiering, and does all the I/O.
 *
 * How to construct and drive one:
 *
 *   const dht = new DhtNode({ rpc, components, options: { k: 20, alpha: 3 } });
 *   dht.attach();                         // serve Ping/FindNode/FindValue/Store, start timers
 *   await dht.bootstrap(['10.0.0.1:4433']); // or Contact[]; [] for the first node of a network
 *   const r = await dht.iterativeFindNode(target);  // r.closest, r.rounds, r.hopsToClosest, ...
 *   const { key } = await dht.put(bytes);           // content-addressed store to the k closest
 *   const v = await dht.findValue(key);             // v.value (verified against the key)
 *   await dht.publishAddress(keypair, ['1.2.3.4:4433']);
 *   const rec = await dht.resolvePeer(identity);     // EndpointRecord | null
 *   await dht.publishRelayInfo(keypair, relayServer.relayInfo());  // a relay: own key + directory slot
 *   const relays = await dht.discoverRelays();      // SignedRelayInfo[], newest first
 *   dht.stop();                           // cancels every timer and in-flight lookup
 *
 * `rpc` is anything shaped like RpcEndpoint (MeshNode is; tests and the simulator may pass their
 * own). `components` supplies clock, rng, logger and metrics: with a ManualClock everything,
 * including per-peer lookup deadlines and maintenance, runs in virtual time. Pass
 * `options.maintenance = false` to run no timers at all (the simulator may drive refreshes itself
 * through `refreshBuckets()`, `sweepExpired` via `storage`, `tiering.recompute()`).
 *
 * Large simulations: `bootstrap(seeds)` by default does the classic join (self-lookup, then one
 * refresh lookup per bucket above the closest neighbour: ~14 lookups per node at 10,000 nodes).
 * With `learnFromReplies` (default on) the self-lookup alone already gives tables that find the
 * true closest node in every lookup, so a 10k-node simulation should call
 * `bootstrap(seeds, { refresh: false })` (or cap `maxRefreshLookups`): about 20 RPCs per join
 * instead of ~350. Drive virtual time so that promise callbacks run between timer instants (fire
 * the timers due at one instant, then let microtasks settle), or per-peer deadlines fire before
 * answers that already arrived are processed.
 *
 * What the driver adds to the pure cores:
 * - every request it sends is timed (contact-keeper.ts); the RTT feeds tiering and the routing table; a failure marks
 *   the contact failed (evicted after FAILURES_BEFORE_EVICT, replaced from the cache);
 * - every request it serves observes the sender (`msg.from`, already verified by the node layer);
 *   a full bucket answers with a ping of its LRU head, which the driver sends (ping-before-evict);
 * - contacts named in replies fill free bucket slots as never-seen entries (learnFromReplies);
 * - with tiering on (`tierAware`, the default), latency shapes lookups and the table: candidates
 *   are queried fast tiers first (within the k closest, a closer one passed over at most α times);
 *   a query unanswered after SLOT_RELEASE_FACTOR x the fastest tier's RTT yields its parallelism
 *   slot (it is still awaited: the result is the same k closest); and a full bucket swaps its
 *   slowest measured member for a newcomer measured in a faster tier (proximity neighbour
 *   selection). Candidates never measured are ranked by the tier of the RTT our Vivaldi
 *   coordinates predict for them (proximity.ts): every request and reply carries its sender's
 *   coordinate, every measured RTT moves ours, and Nodes / Value replies relay, per contact, the
 *   coordinate the replier knows for it. With tiering off the DHT is plain Kademlia, and its
 *   messages carry no coordinates;
 * - spill: when our own storage pressure is at or above `spillPressure`, we do not keep a copy of
 *   what we store and we send the k replicas preferably to slower-tier nodes among the 2k closest
 *   that answered (Coral's idea: fast nodes serve lookups, slow ones carry storage). A replica
 *   refused with 'Pressure' (or lost to an error) is re-sent to the next unused candidate.
 * - store pacing: every node takes a burst then 20 stores a minute from one peer; our Store
 *   requests to each node are paced inside that limit and a RateLimited one is retried at the next
 *   slot (store-pacer.ts), so a burst of puts is stored on every replica, later. A put that still
 *   reaches fewer replicas than `wanted` says so (`short`, and quicmesh_dht_puts_total).
 */
import type { Components } from '../core/components.js';
import type { Contact, Identity, Key, NodeId } from '../core/types.js';
import {
  EXPIRATION_CHECK_INTERVAL_MS,
  PRESSURE_THRESHOLD,
  REQUEST_TIMEOUT_MS,
  TIERING_FIRST_RECOMPUTE_MS,
  TIERING_RECOMPUTE_INTERVAL_MS,
} from '../constants.js';
import { ConfigError, ProtocolError, TransportError, errorMessage } from '../errors.js';
import { positiveNumber } from '../core/checks.js';
import type { EndpointRecord, RelayEndpoint } from '../identity/endpoint-record.js';
import type { Keypair } from '../identity/keypair.js';
import { hashContent, verifyKeyValuePair } from '../identity/node-id.js';
import type { RelayInfo, SignedRelayInfo } from '../nat/relay/relay-info.js';
import { createDhtMetrics, type DhtMetrics } from './dht-metrics.js';
import { ProtectedStore } from '../storage/protected-store.js';
import { LatencyTiering } from '../tiering/latency-tiering.js';
import type { FindNode, FindValue, NetCoord, Request, Response } from '../wire/messages.js';
import { AdaptiveAlpha, AdaptiveK } from './adaptive.js';
import { compareDistance, randomIdInBucket } from './distance.js';
import { acceptStore, serveFindNode, serveFindValue, serveStore, type DhtStorage, type ServeContext, type StoreKind } from './handlers.js';
import { LookupQuery, UNKNOWN_TIER_RANK, type LookupMode, type LookupResult } from './lookup.js';
import { LookupRun, type LookupAnswer } from './lookup-runner.js';
import { DhtCoordinates } from './proximity.js';
import { RoutingTable } from './routing-table.js';
import { EndpointPublisher } from './endpoint-publisher.js';
import { RelayDirectory, type DiscoverRelaysOptions, type RelayInfoPublishResult } from './relay-directory.js';
import { ENDPOINT_RECORDS, RELAY_INFOS } from './signed-values.js';
import { TimerGroup } from '../core/timer-group.js';
import { ContactKeeper } from './contact-keeper.js';
import { StorePacer } from './store-pacer.js';
import { toHex } from '../core/bytes.js';
import {
  MAINTENANCE_INTERVAL_MS,
  MAX_REFRESH_LOOKUPS_PER_TICK,
  type BootstrapOptions,
  type BootstrapResult,
  type DhtNodeInit,
  type DhtTiering,
  type FindValueOptions,
  type LookupOverrides,
  type PublishResult,
  type StoreAck,
  type StoreResult,
  type TelemetrySnapshot,
} from './dht-types.js';
import type { RpcEndpoint } from './rpc.js';

export * from './dht-types.js';

/** A lookup query yields its slot after this many times the fastest tier's RTT (tiering on). */
export const SLOT_RELEASE_FACTOR = 2;
/** ...but never sooner than this (ms). */
export const SLOT_RELEASE_MIN_MS = 10;
/** Before a tier model exists, PNS swaps a member only for a newcomer faster by at least this (ms) and 2x. */
export const PNS_MIN_GAIN_MS = 10;
/** Early clusterings (every TIERING_FIRST_RECOMPUTE_MS) a node without RTT samples tries before the regular interval. */
const MAX_EARLY_CLUSTERINGS = 29;

/** The Kademlia DHT of one node: joins, lookups, storing and finding values, endpoint records and the relay directory. */
export class DhtNode {
  readonly rpc: RpcEndpoint;
  readonly components: Components;
  readonly table: RoutingTable;
  readonly storage: DhtStorage;
  readonly tiering: DhtTiering;
  /** Vivaldi coordinates (tiering on only): ours, and what we know of others'. */
  readonly coordinates: DhtCoordinates | undefined;
  private readonly adaptiveK: AdaptiveK | undefined;
  private readonly adaptiveAlpha: AdaptiveAlpha;
  private readonly useAdaptiveAlpha: boolean;
  private readonly requestTimeoutMs: number;
  private readonly lookupPeerTimeoutMs: number | undefined;
  private readonly tierAware: boolean;
  private readonly tierSlotRelease: boolean;
  private readonly learnFromReplies: boolean;
  private readonly maintenance: boolean;
  private readonly maintenanceIntervalMs: number;
  private readonly spillPressure: number;
  private readonly tierOf: (id: NodeId, relayed: NetCoord | undefined) => number | undefined;
  private readonly contacts: ContactKeeper;
  private readonly serveCtx: ServeContext;
  private me: Contact | undefined;
  private readonly timers: TimerGroup;
  private readonly runs = new Set<LookupRun>();
  private readonly records: EndpointPublisher;
  private readonly relays: RelayDirectory;
  private refreshing = false;
  private attached = false;
  private stopped = false;
  private readonly m: DhtMetrics;
  /** Paces our Store requests inside each remote node's limit (undefined: storePacing false). */
  private readonly pacer: StorePacer | undefined;

  constructor(init: DhtNodeInit) {
    this.timers = new TimerGroup(init.components.clock, (err) =>
      init.components.logger.warn('dht maintenance task failed', { error: errorMessage(err) }),
    );
    this.records = new EndpointPublisher({
      clock: init.components.clock,
      store: (key, value) => this.store(key, value, 'record'),
      findValue: (key, validate) => this.findValue(key, { validate }),
    });
    this.relays = new RelayDirectory({
      clock: init.components.clock,
      store: (key, value) => this.store(key, value, 'relay-info'),
      findValue: (key, validate) => this.findValue(key, { validate }),
    });
    const o = init.options ?? {};
    const { clock, rng, metrics } = init.components;
    this.rpc = init.rpc;
    this.components = init.components;
    const now = clock.now();
    const tierAware = o.tierAware !== false;
    this.table = new RoutingTable(init.rpc.nodeId ?? init.rpc.contact.id, now, {
      k: o.k,
      replacementCacheSize: o.replacementCacheSize,
      pingFreshnessMs: o.pingFreshnessMs,
      refreshIntervalMs: o.refreshIntervalMs,
      faster: tierAware ? (a, b) => this.clearlyFaster(a, b) : undefined,
    });
    this.adaptiveK = o.adaptiveK === false ? undefined : new AdaptiveK(now, { initial: this.table.k });
    this.adaptiveAlpha = new AdaptiveAlpha({ initial: o.alpha });
    if (o.alpha !== undefined && this.adaptiveAlpha.value !== o.alpha) {
      throw new ConfigError(`alpha must be an integer in 2..5, got ${o.alpha}`);
    }
    this.useAdaptiveAlpha = o.adaptiveAlpha !== false;
    this.requestTimeoutMs = positiveNumber('requestTimeoutMs', o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    this.lookupPeerTimeoutMs = o.lookupPeerTimeoutMs === undefined ? undefined : positiveNumber('lookupPeerTimeoutMs', o.lookupPeerTimeoutMs);
    this.tierAware = tierAware;
    this.tierSlotRelease = o.tierSlotRelease !== false;
    this.learnFromReplies = o.learnFromReplies !== false;
    this.maintenance = o.maintenance !== false;
    this.maintenanceIntervalMs = positiveNumber('maintenanceIntervalMs', o.maintenanceIntervalMs ?? MAINTENANCE_INTERVAL_MS);
    this.spillPressure = o.spillPressure ?? PRESSURE_THRESHOLD;
    this.storage = o.storage ?? new ProtectedStore(o.storageLimits, clock);
    this.pacer = o.storePacing === false ? undefined : new StorePacer(clock, o.storePacing);
    this.tiering = o.tiering ?? new LatencyTiering(o.tieringOptions ?? {}, clock, rng);
    this.coordinates = tierAware ? new DhtCoordinates(rng) : undefined;
    // Measured tier first; else the tier of the RTT the coordinates predict (tiering on): from
    // the coordinate the contact reported to us, else the one a reply relayed for it.
    this.tierOf = (id, relayed) => this.tiering.tierOf(id) ?? this.estimatedTier(id, relayed);
    const table = this.table;
    const storage = this.storage;
    const coordinates = this.coordinates;
    this.serveCtx = {
      table,
      storage,
      get k() {
        return table.k;
      },
      ...(coordinates ? { coordinates } : {}),
    };
    this.contacts = new ContactKeeper({
      rpc: init.rpc,
      components: init.components,
      table,
      tiering: this.tiering,
      coordinates,
      requestTimeoutMs: this.requestTimeoutMs,
      learnFromReplies: this.learnFromReplies,
      self: () => this.contact,
      stopped: () => this.stopped,
    });
    this.m = createDhtMetrics(metrics);
    this.updateGauges();
  }

  /** Our contact as sent in requests (the RpcEndpoint's, kept while its address stays the same). */
  get contact(): Contact {
    const c = this.rpc.contact;
    if (this.me !== undefined && this.me.addr === c.addr) return this.me;
    if (c.addr) this.me = c;
    return c;
  }

  get id(): NodeId {
    return this.table.self;
  }

  get k(): number {
    return this.table.k;
  }

  get alpha(): number {
    return this.adaptiveAlpha.value;
  }

  /** Register the request handlers and start the maintenance timers. Idempotent. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.me = undefined;
    const rpc = this.rpc;
    rpc.handle('Ping', (peer, msg) => {
      this.contacts.observeRequester(msg.from, msg.coord, peer.addr);
      return this.coordinates ? { type: 'Ack', rejection: null, coord: this.coordinates.own } : ACK_OK;
    });
    rpc.handle('FindNode', (peer, msg) => {
      this.contacts.observeRequester(msg.from, msg.coord, peer.addr);
      return serveFindNode(this.serveCtx, msg);
    });
    rpc.handle('FindValue', (peer, msg) => {
      this.contacts.observeRequester(msg.from, msg.coord, peer.addr);
      return serveFindValue(this.serveCtx, msg);
    });
    rpc.handle('Store', (peer, msg) => {
      this.contacts.observeRequester(msg.from, msg.coord, peer.addr);
      return serveStore(this.serveCtx, msg);
    });
    if (this.maintenance) {
      this.timers.every(this.maintenanceIntervalMs, () => this.maintain());
      this.timers.every(EXPIRATION_CHECK_INTERVAL_MS, () => this.storage.sweepExpired());
      // A first clustering soon after start, so tiers show before the first full interval; a node
      // that has measured no one yet (a seed only answers) tries again until it has a model.
      let early = 0;
      const firstClustering = (): void => {
        this.tiering.recompute();
        if (this.tiering.tierCount === 0 && ++early < MAX_EARLY_CLUSTERINGS) {
          this.timers.once(TIERING_FIRST_RECOMPUTE_MS, firstClustering);
        }
      };
      this.timers.once(TIERING_FIRST_RECOMPUTE_MS, firstClustering);
      this.timers.every(TIERING_RECOMPUTE_INTERVAL_MS, () => {
        this.tiering.recompute();
        this.tiering.dropStale();
      });
    }
  }

  /** Cancel every timer and finish in-flight lookups with what they know. Handlers stay registered but idle. */
  stop(): void {
    this.stopped = true;
    this.timers.cancelAll();
    this.pacer?.stop();
    for (const run of [...this.runs]) run.cancel();
  }

  /**
   * We heard from `contact` (optionally with a measured RTT): update the routing table, and when
   * its bucket is full, ping the bucket's LRU head to decide who stays.
   */
  observeContact(contact: Contact, rttMs?: number): void {
    this.contacts.observeContact(contact, rttMs);
  }

  /**
   * Join: ping the seeds (addresses or contacts), look ourselves up, then refresh the buckets
   * above our closest neighbour. Throws TransportError when seeds were given and none answered.
   */
  async bootstrap(seeds: ReadonlyArray<string | Contact>, opts: BootstrapOptions = {}): Promise<BootstrapResult> {
    const answered = await Promise.all(seeds.map((s) => this.contacts.pingSeed(s)));
    const contacted = answered.filter(Boolean).length;
    if (seeds.length > 0 && contacted === 0) {
      throw new TransportError(`bootstrap: none of the ${seeds.length} seed(s) answered`);
    }
    if (this.table.size === 0) {
      return { contacted, selfLookup: undefined, refreshLookups: 0, routingTableSize: 0 };
    }
    const selfLookup = await this.iterativeFindNode(this.id);
    let refreshLookups = 0;
    if (opts.refresh !== false) {
      const from = this.table.lowestOccupied() + 1;
      const max = opts.maxRefreshLookups ?? Infinity;
      for (let i = 255; i >= from && refreshLookups < max && !this.stopped; i--) {
        await this.iterativeFindNode(randomIdInBucket(this.id, i, this.components.rng));
        refreshLookups++;
      }
    }
    this.updateGauges();
    return { contacted, selfLookup, refreshLookups, routingTableSize: this.table.size };
  }

  /** Iterative FIND_NODE: the k closest live nodes to `target`. */
  iterativeFindNode(target: NodeId, opts: LookupOverrides = {}): Promise<LookupResult> {
    const msg: FindNode = { type: 'FindNode', from: this.contact, target };
    return this.lookup(target, 'node', opts, (contact) =>
      this.contacts.send(contact, this.contacts.withCoord(msg)).then((resp) => {
        if (resp.type !== 'Nodes') throw new ProtocolError(`FindNode answered with ${resp.type}`);
        this.contacts.learn(resp.nodes, resp.coords);
        return resp.coords && this.coordinates ? { contacts: resp.nodes, coords: resp.coords } : { contacts: resp.nodes };
      }),
    );
  }

  /**
   * Iterative FIND_VALUE. `result.value` is the first value a node returned that passes `validate`
   * (default: content whose BLAKE3 is the key, or a genuine endpoint record or RelayInfo stored
   * under it; values that fail are ignored, their senders' closer contacts still used). When we
   * hold the key ourselves the answer is immediate: no query, `valueFrom` is our own contact.
   */
  findValue(key: Key, opts: FindValueOptions = {}): Promise<LookupResult> {
    const validate = opts.validate ?? ((v: Uint8Array) => believable(key, v));
    if (opts.checkLocal !== false) {
      const held = this.storage.get(key);
      if (held !== undefined && validate(held)) return Promise.resolve(this.localHit(key, held));
    }
    const msg: FindValue = { type: 'FindValue', from: this.contact, key };
    return this.lookup(key, 'value', opts, (contact) =>
      this.contacts.send(contact, this.contacts.withCoord(msg)).then((resp): LookupAnswer => {
        if (resp.type !== 'Value') throw new ProtocolError(`FindValue answered with ${resp.type}`);
        this.contacts.learn(resp.closer, resp.coords);
        const coords = resp.coords && this.coordinates ? { coords: resp.coords } : {};
        if (resp.value !== null && validate(resp.value)) return { contacts: resp.closer, value: resp.value, ...coords };
        return { contacts: resp.closer, ...coords };
      }),
    );
  }

  /** Store `value` under `key` on the k closest nodes (see the module comment for spill). */
  async store(key: Key, value: Uint8Array, kind: StoreKind): Promise<StoreResult> {
    if (key.length !== 32) throw new ConfigError(`store: key must be 32 bytes, got ${key.length}`);
    const k = this.table.k;
    const spilled = this.storage.pressure() >= this.spillPressure;
    // Spilling picks among the 2k closest, so the lookup must confirm that many.
    const lookup = await this.iterativeFindNode(key, spilled ? { k: 2 * k } : {});
    const answered = lookup.closest.concat(lookup.spare);
    const kth = answered[k - 1];
    const selfAmongClosest = kth === undefined || compareDistance(key, this.id, kth.id) < 0;
    const local = !spilled && selfAmongClosest ? acceptStore(this.storage, this.id, key, value, kind, true) : undefined;
    const candidates = spilled ? this.slowFirst(answered.slice(0, 2 * k)) : answered;

    const acks: StoreAck[] = [];
    const msg: Request = { type: 'Store', from: this.contact, key, value, kind, ...this.contacts.coordField() };
    let cursor = 0;
    const worker = async (): Promise<void> => {
      while (cursor < candidates.length && !this.stopped) {
        const contact = candidates[cursor++]!;
        const ack = await this.sendPacedStore(contact, msg);
        acks.push(ack);
        if (ack.error !== undefined || ack.rejection !== null) this.m.storeRefusals.inc({ reason: ack.error !== undefined ? 'error' : ack.rejection! });
        // Only a full node or a lost request is worth another replica elsewhere.
        if (ack.error === undefined && ack.rejection !== 'Pressure') return;
      }
    };
    await Promise.all(Array.from({ length: Math.min(k, candidates.length) }, worker));
    const accepted = acks.filter((a) => a.error === undefined && a.rejection === null).length;
    const wanted = Math.min(k, candidates.length);
    const short = accepted < wanted;
    this.m.puts.inc({ kind, result: !short ? 'complete' : accepted > 0 ? 'short' : 'none' });
    return { key, acks, accepted, wanted, short, local, spilled, lookup };
  }

  /** One replica, paced to `contact`'s per-peer limit and retried when refused as RateLimited (store-pacer.ts). */
  private async sendPacedStore(contact: Contact, msg: Request): Promise<StoreAck> {
    if (!this.pacer) return this.contacts.sendStore(contact, msg);
    const ack = await this.pacer.send(toHex(contact.id), () => this.contacts.sendStore(contact, msg), () => this.m.storeRetries.inc());
    return ack ?? { contact, rejection: null, error: 'stopped' };
  }

  /** Content-addressed store: the key is BLAKE3(value). */
  put(value: Uint8Array): Promise<StoreResult> {
    return this.store(hashContent(value), value, 'content');
  }

  /**
   * Sign and store our endpoint record under endpointRecordKey(identity), with a sequence above any
   * published before (see EndpointPublisher).
   */
  publishAddress(keypair: Keypair, addrs: string[], relays: RelayEndpoint[] = []): Promise<PublishResult> {
    return this.records.publish(keypair, addrs, relays);
  }

  /** Publish a fresh record (higher sequence) after our addresses changed. */
  republishOnNetworkChange(keypair: Keypair, addrs: string[], relays: RelayEndpoint[] = []): Promise<PublishResult> {
    return this.records.publish(keypair, addrs, relays);
  }

  /** The endpoint record of `identity` from the DHT (signature and key verified), or null. */
  resolvePeer(identity: Identity): Promise<EndpointRecord | null> {
    return this.records.resolve(identity);
  }

  /** A relay: sign `info` (fresh sequence) and store it under our relay key and directory slot. */
  publishRelayInfo(keypair: Keypair, info: RelayInfo): Promise<RelayInfoPublishResult> {
    return this.relays.publish(keypair, info);
  }

  /** The RelayInfo the relay `relayNodeId` published (signature and key verified), or null. */
  resolveRelayInfo(relayNodeId: NodeId): Promise<SignedRelayInfo | null> {
    return this.relays.resolve(relayNodeId);
  }

  /** The relays of the DHT's relay directory (every slot read), one per relay, newest first. */
  discoverRelays(opts?: DiscoverRelaysOptions): Promise<SignedRelayInfo[]> {
    return this.relays.discover(opts);
  }

  /** Run refresh lookups for the buckets no lookup touched within the refresh interval. */
  async refreshBuckets(max = MAX_REFRESH_LOOKUPS_PER_TICK): Promise<number> {
    const due = this.table.bucketsNeedingRefresh(this.components.clock.now());
    let n = 0;
    for (let j = due.length - 1; j >= 0 && n < max && !this.stopped; j--, n++) {
      await this.iterativeFindNode(randomIdInBucket(this.id, due[j]!, this.components.rng));
    }
    return n;
  }

  telemetrySnapshot(): TelemetrySnapshot {
    const tiers = this.tiering.snapshot();
    this.updateGauges();
    return {
      tierCentroids: tiers.centroids.slice(),
      tierCounts: tiers.counts.slice(),
      pressure: this.storage.pressure(),
      storedKeys: this.storage.size,
      replicationFactor: this.table.k,
      concurrency: this.adaptiveAlpha.value,
      routingTableSize: this.table.size,
    };
  }

  // --- internals ---------------------------------------------------------------------------------

  private lookup(
    target: Uint8Array,
    mode: LookupMode,
    opts: LookupOverrides,
    ask: (contact: Contact) => Promise<LookupAnswer>,
  ): Promise<LookupResult> {
    const clock = this.components.clock;
    const now = clock.now();
    const k = opts.k ?? this.table.k;
    this.table.touchBucketFor(target, now);
    const query = new LookupQuery({
      target,
      self: this.id,
      k,
      alpha: opts.alpha ?? this.adaptiveAlpha.value,
      seeds: opts.seeds ?? this.table.closest(target, k),
      now,
      mode,
      tierOf: this.tierAware && (this.tiering.tierCount ?? 2) > 1 ? this.tierOf : undefined,
      slotReleaseMs: this.slotReleaseMs(),
      peerTimeoutMs: this.lookupPeerTimeoutMs,
    });
    const run = new LookupRun(query, { clock, ask });
    this.runs.add(run);
    return run.start().then((result) => {
      this.runs.delete(run);
      this.recordLookup(result);
      return result;
    });
  }

  /**
   * With tiering on: a lookup query not answered within SLOT_RELEASE_FACTOR times the fastest
   * tier's RTT is from a slower tier; it yields its parallelism slot (it is still awaited).
   */
  private slotReleaseMs(): number | undefined {
    if (!this.tierAware || !this.tierSlotRelease || (this.tiering.tierCount ?? 2) < 2) return undefined;
    const fast = this.tiering.fastestTierMs;
    return fast === undefined ? undefined : Math.max(SLOT_RELEASE_MIN_MS, Math.ceil(SLOT_RELEASE_FACTOR * fast));
  }

  /** PNS rule: `a` ms is a faster tier than `b` ms (before a tier model exists: at least twice as fast). */
  private clearlyFaster(a: number, b: number): boolean {
    const ta = this.tiering.tierOfRtt?.(a);
    const tb = this.tiering.tierOfRtt?.(b);
    if (ta !== undefined && tb !== undefined && (this.tiering.tierCount ?? 0) >= 2) return ta < tb;
    return b > 2 * a + PNS_MIN_GAIN_MS;
  }

  private recordLookup(r: LookupResult): void {
    const result = r.mode === 'value' ? (r.value !== undefined ? 'found' : 'not_found') : r.closest.length > 0 ? 'ok' : 'empty';
    this.m.lookups.inc({ kind: r.mode, result });
    this.m.rounds.observe(r.rounds);
    this.m.duration.observe((r.finishedAt - r.startedAt) / 1000);
    if (this.useAdaptiveAlpha) {
      const before = this.adaptiveAlpha.value;
      if (this.adaptiveAlpha.record(r.responses, r.failures) !== before) this.m.alpha.set(this.adaptiveAlpha.value);
    }
  }

  private localHit(key: Key, value: Uint8Array): LookupResult {
    const now = this.components.clock.now();
    return {
      target: key,
      mode: 'value',
      closest: [],
      spare: [],
      value,
      valueFrom: this.contact,
      rounds: 0,
      hopsToClosest: 0,
      queried: 0,
      responses: 0,
      failures: 0,
      timeouts: 0,
      startedAt: now,
      finishedAt: now,
    };
  }

  /** Tier of the RTT our coordinates predict to `id` (undefined without a model or a coordinate). */
  private estimatedTier(id: NodeId, relayed: NetCoord | undefined): number | undefined {
    const est = this.coordinates?.estimateRtt(id, relayed);
    return est === undefined ? undefined : this.tiering.tierOfRtt?.(est);
  }

  /** Spill order: slowest tier first (unmeasured counts as fast), then by distance (input order). */
  private slowFirst(contacts: Contact[]): Contact[] {
    const rank = contacts.map((c) => this.tiering.tierOf(c.id) ?? UNKNOWN_TIER_RANK);
    return contacts
      .map((_, i) => i)
      .sort((a, b) => rank[b]! - rank[a]! || a - b)
      .map((i) => contacts[i]!);
  }

  private maintain(): void {
    const now = this.components.clock.now();
    if (this.adaptiveK) {
      const k = this.adaptiveK.update(now, this.table.evictions, this.table.size);
      if (k !== this.table.k) this.table.setK(k, now);
    }
    this.updateGauges();
    if (this.refreshing) return;
    this.refreshing = true;
    this.refreshBuckets().then(
      () => {
        this.refreshing = false;
      },
      (err: unknown) => {
        this.refreshing = false;
        this.components.logger.warn('bucket refresh failed', { error: errorMessage(err) });
      },
    );
  }

  private updateGauges(): void {
    this.m.k.set(this.table.k);
    this.m.alpha.set(this.adaptiveAlpha.value);
    this.m.tableSize.set(this.table.size);
  }
}

const ACK_OK: Response = { type: 'Ack', rejection: null };

/** Content whose BLAKE3 is `key`, or a genuine signed value for it (endpoint record, RelayInfo). */
function believable(key: Key, v: Uint8Array): boolean {
  return verifyKeyValuePair(key, v) || ENDPOINT_RECORDS.validFor(key, v) !== undefined || RELAY_INFOS.validFor(key, v) !== undefined;
}
