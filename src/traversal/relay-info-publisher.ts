/**
 * RelayInfoPublisher: keeps a relay's signed RelayInfo fresh in the DHT (its own key and its
 * directory slot, through DhtNode.publishRelayInfo). It publishes once on start() — call that
 * after the node joined, or there is nobody to store on — then looks every `checkMs` (default 5 s)
 * and publishes again when `intervalMs` (default 60 s) has passed, or sooner when what clients rank
 * and filter by changed: load by more than `loadDelta` (default 0.1), `accepting`, or the addresses.
 * So it publishes at most once per check, and never two at a time.
 *
 * Each republish deadline is drawn up to `jitter` x intervalMs early (injected Rng), so relays that
 * share a directory slot do not republish in lockstep and take turns there. A publication no node
 * stored (no peers yet, or an error) is retried after checkMs, doubling up to intervalMs.
 * Metric: quicmesh_relay_info_publishes_total{result = ok | failed}.
 */
import type { Components } from '../core/components.js';
import { TimerGroup } from '../core/timer-group.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { RelayInfoPublishResult } from '../dht/relay-directory.js';
import type { Keypair } from '../identity/keypair.js';
import type { Counter } from '../metrics/metrics.js';
import type { RelayInfo } from '../nat/relay/relay-info.js';

/** Default republish period of a relay's RelayInfo, ms. */
export const RELAY_INFO_INTERVAL_MS = 60_000;
/** Default period of comparing the RelayInfo with the last one published, ms. */
export const RELAY_INFO_CHECK_MS = 5_000;
/** Default load change (0..1) that republishes the RelayInfo at the next check. */
export const RELAY_INFO_LOAD_DELTA = 0.1;
/** Default fraction of the republish period a republish may come early, so relays do not move in lockstep. */
export const RELAY_INFO_JITTER = 0.1;

/** What a RelayInfoPublisher publishes, through which DHT, and how often. */
export interface RelayInfoPublisherOptions {
  /** The DHT to publish through (a DhtNode). */
  dht: { publishRelayInfo(keypair: Keypair, info: RelayInfo): Promise<RelayInfoPublishResult> };
  keypair: Keypair;
  /** The info to publish now: the relay server's relayInfo() with its public addresses filled in. */
  info: () => RelayInfo;
  components: Pick<Components, 'clock' | 'rng' | 'logger' | 'metrics'>;
  /** Republish period, ms (default RELAY_INFO_INTERVAL_MS). */
  intervalMs?: number;
  /** How often the info is compared with the last published one, ms (default RELAY_INFO_CHECK_MS). */
  checkMs?: number;
  /** A load change above this republishes at the next check (default RELAY_INFO_LOAD_DELTA). */
  loadDelta?: number;
  /** Fraction 0..1 of intervalMs a republish may come early (default RELAY_INFO_JITTER). */
  jitter?: number;
}

/** A RelayInfoPublisher's status: running, publications stored and failed, the last one's sequence and time. */
export interface RelayInfoPublisherStatus {
  running: boolean;
  /** Publications that some node stored. */
  published: number;
  failed: number;
  /** Sequence and clock time of the last stored publication. */
  lastSequence: string | null;
  lastPublishedAt: number | null;
}

/** What a republish is compared on. */
interface Snapshot {
  load: number;
  accepting: boolean;
  addrs: string;
}

/** Keeps a relay's signed RelayInfo fresh in the DHT: republished on a period, sooner when what clients rank by changes. */
export class RelayInfoPublisher {
  private readonly intervalMs: number;
  private readonly checkMs: number;
  private readonly loadDelta: number;
  private readonly jitter: number;
  private readonly publishes: Counter;
  private timers: TimerGroup | undefined;
  private inFlight: Promise<RelayInfoPublishResult | undefined> | undefined;
  private last: Snapshot | undefined;
  private dueAt = 0;
  private failures = 0;
  private readonly counts = { published: 0, failed: 0 };
  private lastSequence: bigint | null = null;
  private lastPublishedAt: number | null = null;

  constructor(private readonly opts: RelayInfoPublisherOptions) {
    this.intervalMs = opts.intervalMs ?? RELAY_INFO_INTERVAL_MS;
    this.checkMs = opts.checkMs ?? RELAY_INFO_CHECK_MS;
    this.loadDelta = opts.loadDelta ?? RELAY_INFO_LOAD_DELTA;
    this.jitter = opts.jitter ?? RELAY_INFO_JITTER;
    if (!(this.checkMs > 0) || !(this.intervalMs >= this.checkMs)) {
      throw new ConfigError('RelayInfoPublisher: need 0 < checkMs <= intervalMs');
    }
    if (!(this.loadDelta >= 0) || !(this.jitter >= 0 && this.jitter <= 1)) {
      throw new ConfigError('RelayInfoPublisher: need loadDelta >= 0 and jitter in 0..1');
    }
    this.publishes = opts.components.metrics.counter(
      'quicmesh_relay_info_publishes_total',
      'RelayInfo publications to the DHT, by result',
      ['result'],
    );
    for (const result of ['ok', 'failed']) this.publishes.inc({ result }, 0);
  }

  get running(): boolean {
    return this.timers !== undefined;
  }

  /** Publish now and keep publishing; resolves with the first publication (undefined if it failed). */
  start(): Promise<RelayInfoPublishResult | undefined> {
    if (this.timers) return this.inFlight ?? Promise.resolve(undefined);
    const timers = new TimerGroup(this.opts.components.clock, (err) =>
      this.opts.components.logger.warn('relay info check failed', { error: errorMessage(err) }),
    );
    this.timers = timers;
    timers.every(this.checkMs, () => this.check());
    return this.publishNow();
  }

  /** Cancel the timer; a publication in flight still completes. */
  stop(): void {
    this.timers?.cancelAll();
    this.timers = undefined;
  }

  /** Publish right away (e.g. the relay's addresses just changed), unless one is in flight. */
  publishNow(): Promise<RelayInfoPublishResult | undefined> {
    if (this.inFlight) return this.inFlight;
    const p = this.publish().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  status(): RelayInfoPublisherStatus {
    return {
      running: this.running,
      ...this.counts,
      lastSequence: this.lastSequence === null ? null : this.lastSequence.toString(),
      lastPublishedAt: this.lastPublishedAt,
    };
  }

  private check(): void {
    if (this.inFlight) return;
    const now = this.opts.components.clock.now();
    // While failing, only the backoff deadline counts: a moving load must not defeat it.
    if (now >= this.dueAt || (this.failures === 0 && this.changed(this.opts.info()))) void this.publishNow();
  }

  private changed(info: RelayInfo): boolean {
    const last = this.last;
    if (last === undefined) return true;
    return (
      Math.abs(info.load - last.load) > this.loadDelta || info.accepting !== last.accepting || addrsOf(info) !== last.addrs
    );
  }

  private async publish(): Promise<RelayInfoPublishResult | undefined> {
    let info: RelayInfo | undefined;
    let result: RelayInfoPublishResult | undefined;
    try {
      info = this.opts.info();
      result = await this.opts.dht.publishRelayInfo(this.opts.keypair, info);
    } catch (err) {
      this.opts.components.logger.warn('could not publish relay info', { error: errorMessage(err) });
    }
    if (info !== undefined && result !== undefined && storedSomewhere(result)) this.succeeded(info, result);
    else this.failed(result);
    return result;
  }

  private succeeded(info: RelayInfo, result: RelayInfoPublishResult): void {
    const { clock, rng, logger } = this.opts.components;
    const now = clock.now();
    this.failures = 0;
    this.counts.published++;
    this.publishes.inc({ result: 'ok' });
    this.last = { load: info.load, accepting: info.accepting, addrs: addrsOf(info) };
    this.lastSequence = result.info.sequence;
    this.lastPublishedAt = now;
    this.dueAt = now + this.intervalMs * (1 - this.jitter * rng.next());
    logger.debug('relay info published', { sequence: result.info.sequence.toString(), replicas: result.accepted });
  }

  private failed(result: RelayInfoPublishResult | undefined): void {
    this.failures++;
    this.counts.failed++;
    this.publishes.inc({ result: 'failed' });
    this.dueAt = this.opts.components.clock.now() + Math.min(this.intervalMs, this.checkMs * 2 ** (this.failures - 1));
    if (result !== undefined) {
      this.opts.components.logger.debug('relay info reached no node', { sequence: result.info.sequence.toString() });
    }
  }
}

/** Some remote replica accepted it, or we keep a copy ourselves (we are among the closest). */
function storedSomewhere(r: RelayInfoPublishResult): boolean {
  return r.accepted > 0 || r.own.local === null || r.directory.local === null;
}

function addrsOf(info: RelayInfo): string {
  return info.relayAddrs.join(' ');
}

