/**
 * Relay selection (spec: RelayClient): known relays ranked by score = rtt + load·100 + tier·20
 * (ms, lower is better; RTT 200 ms when unmeasured), with failover — a relay that failed is
 * skipped for a backoff that doubles with each consecutive failure. Time comes from the
 * injected clock; relays are keyed by NodeId (BLAKE3 of `relayPeer`).
 */
import {
  RELAY_LOAD_WEIGHT_MS,
  RELAY_TIER_WEIGHT_MS,
  RELAY_UNKNOWN_RTT_MS,
} from '../../constants.js';
import type { Clock } from '../../core/clock.js';
import { toHex } from '../../core/bytes.js';
import type { NodeId } from '../../core/types.js';
import { ConfigError } from '../../errors.js';
import type { RelayEndpoint } from '../../identity/endpoint-record.js';
import { nodeIdFromPublicKey } from '../../identity/node-id.js';
import { verifyRelayInfo, type RelayInfo, type SignedRelayInfo } from './relay-info.js';

/** Lower is better. */
export function selectionScore(info: Pick<RelayInfo, 'rttMs' | 'load' | 'tier'>): number {
  return (info.rttMs ?? RELAY_UNKNOWN_RTT_MS) + info.load * RELAY_LOAD_WEIGHT_MS + (info.tier ?? 0) * RELAY_TIER_WEIGHT_MS;
}

/** Settings of a RelayClient: its clock and the bounds of the failover backoff. */
export interface RelayClientOptions {
  clock: Clock;
  /** First failover backoff, ms. Default 5 s. */
  baseBackoffMs?: number;
  /** Backoff cap, ms. Default 5 min. */
  maxBackoffMs?: number;
}

/** A known relay with its info and selection score (ms; lower is better). */
export interface RankedRelay {
  nodeId: NodeId;
  info: RelayInfo;
  score: number;
}

interface Entry {
  nodeId: NodeId;
  info: RelayInfo;
  failures: number;
  retryAt: number;
  /** Sequence of the last signed info taken (updateFromInfos), if any. */
  sequence: bigint | undefined;
}

/** Relay selection (sans-IO): ranks known relays by RTT, load and tier, and skips failed ones for a growing backoff. */
export class RelayClient {
  private readonly relays = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(opts: RelayClientOptions) {
    this.clock = opts.clock;
    this.baseBackoffMs = opts.baseBackoffMs ?? 5_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 300_000;
    if (!(this.baseBackoffMs > 0) || !(this.maxBackoffMs >= this.baseBackoffMs)) {
      throw new ConfigError('RelayClient: need 0 < baseBackoffMs <= maxBackoffMs');
    }
  }

  /**
   * Learn or refresh relays from unsigned infos (e.g. configured ones; for the DHT's signed ones see
   * updateFromInfos). Known RTT/tier measurements survive a refresh that carries none; failure
   * state is kept.
   */
  updateRelays(infos: Iterable<RelayInfo>): void {
    for (const info of infos) this.learn(info, undefined);
  }

  /**
   * Learn or refresh relays from what they signed and published (DhtNode.discoverRelays,
   * resolveRelayInfo). An info whose signature fails is skipped, and so is one not newer (by
   * sequence) than the last taken for that relay, so a stale replica never rolls a relay back.
   * Published rttMs/tier are ignored: those are our own measurements (updateRelayRtt).
   * Returns how many infos were taken.
   */
  updateFromInfos(infos: Iterable<SignedRelayInfo>): number {
    let taken = 0;
    for (const s of infos) {
      if (!verifyRelayInfo(s)) continue;
      const last = this.relays.get(toHex(nodeIdFromPublicKey(s.relayPeer)))?.sequence;
      if (last !== undefined && s.sequence <= last) continue;
      const info: RelayInfo = {
        relayPeer: s.relayPeer,
        relayAddrs: [...s.relayAddrs],
        load: s.load,
        accepting: s.accepting,
        rttMs: null,
        tier: null,
        capabilities: { ...s.capabilities },
      };
      this.learn(info, s.sequence);
      taken++;
    }
    return taken;
  }

  /** Forget a relay. */
  removeRelay(nodeId: NodeId): void {
    this.relays.delete(toHex(nodeId));
  }

  /** Record a measurement (from tiering or a PathProber). Unknown relays are ignored (false). */
  updateRelayRtt(nodeId: NodeId, rttMs: number, tier: number | null = null): boolean {
    if (!Number.isFinite(rttMs) || rttMs < 0) throw new ConfigError(`RelayClient: bad rtt ${rttMs}`);
    const e = this.relays.get(toHex(nodeId));
    if (e === undefined) return false;
    e.info = { ...e.info, rttMs, tier: tier ?? e.info.tier };
    return true;
  }

  selectionScore(info: RelayInfo): number {
    return selectionScore(info);
  }

  /** Usable relays (accepting, not backing off), best first; ties by NodeId for determinism. */
  rankedRelays(): RankedRelay[] {
    const now = this.clock.now();
    return [...this.relays.values()]
      .filter((e) => e.info.accepting && e.retryAt <= now)
      .map((e) => ({ nodeId: e.nodeId, info: e.info, score: selectionScore(e.info) }))
      .sort((a, b) => a.score - b.score || compareHex(a.nodeId, b.nodeId));
  }

  bestRelay(): RankedRelay | undefined {
    return this.rankedRelays()[0];
  }

  /** A connection through `nodeId` failed: skip it for base·2^(failures-1), capped. */
  markFailed(nodeId: NodeId): void {
    const e = this.relays.get(toHex(nodeId));
    if (e === undefined) return;
    e.failures++;
    e.retryAt = this.clock.now() + Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (e.failures - 1));
  }

  /** A session through `nodeId` worked: clear its failure history. */
  markSucceeded(nodeId: NodeId): void {
    const e = this.relays.get(toHex(nodeId));
    if (e === undefined) return;
    e.failures = 0;
    e.retryAt = 0;
  }

  /**
   * Order a peer's advertised relays (EndpointRecord.relays) for connecting: known ones by
   * score, unknown ones after them in the record's order (scored as unmeasured); relays that
   * are backing off or not accepting go last, so they are still tried when nothing else is left.
   */
  rankEndpoints(relays: readonly RelayEndpoint[]): RelayEndpoint[] {
    const now = this.clock.now();
    const scored = relays.map((r, i) => {
      const e = this.relays.get(toHex(r.relayId));
      const usable = e === undefined || (e.info.accepting && e.retryAt <= now);
      const score = e ? selectionScore(e.info) : RELAY_UNKNOWN_RTT_MS + RELAY_LOAD_WEIGHT_MS / 2;
      return { r, i, usable, score };
    });
    scored.sort((a, b) => Number(b.usable) - Number(a.usable) || a.score - b.score || a.i - b.i);
    return scored.map((s) => s.r);
  }

  /** Known RTT/tier measurements survive a refresh that carries none; failure state is kept. */
  private learn(info: RelayInfo, sequence: bigint | undefined): void {
    const nodeId = nodeIdFromPublicKey(info.relayPeer);
    const key = toHex(nodeId);
    const old = this.relays.get(key);
    const merged: RelayInfo = {
      ...info,
      rttMs: info.rttMs ?? old?.info.rttMs ?? null,
      tier: info.tier ?? old?.info.tier ?? null,
    };
    this.relays.set(key, {
      nodeId,
      info: merged,
      failures: old?.failures ?? 0,
      retryAt: old?.retryAt ?? 0,
      sequence: sequence ?? old?.sequence,
    });
  }

  get size(): number {
    return this.relays.size;
  }
}

function compareHex(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
