/**
 * What the live UI knows about one node, read from its GET /status (JSON) and GET /metrics
 * (Prometheus text). Reading is tolerant: a field a node does not report yet (an older build, a
 * service not attached) becomes null and the UI shows "–", so the UI works against every node
 * version in a lab. Counters are kept cumulative here; the poller turns them into deltas.
 */
import { select, sumBy, sumOf, type PromSample } from './prom-text.js';

/** A node to watch: its name and the base URL of its status server (`/status`, `/metrics`). */
export interface NodeTarget {
  name: string;
  baseUrl: string;
  /** Lab network and NAT preset, when known (from the lab state). */
  network?: string;
  nat?: string;
  /** A command node (node kinds): the program's kind. It has no status server: the poller asks whether it runs. */
  program?: string;
}

/** A lab node's process as its lab records it (`quicmesh-lab stop/start/restart` change it). */
export interface NodeProcessInfo {
  pid: number | null;
  /** Docker: the node container. */
  container?: string;
  running: boolean;
  restarts: number;
}

/** stopped: its lab stopped it on purpose (`quicmesh-lab stop`), which is not an error. */
export type NodeState = 'pending' | 'up' | 'down' | 'stopped';

/**
 * The path kinds the table counts. quicmesh_path_state{kind} label values are matched loosely
 * ("Direct", "direct"; "hole_punched", "HolePunched", "hole-punched"; "Relayed"); other states the
 * connection manager reports (RelayPending, Connecting, Failed, Idle) are not open paths.
 */
export const PATH_KINDS = ['direct', 'hole_punched', 'relayed'] as const;
export type PathKind = (typeof PATH_KINDS)[number];

/** The PathKind a label value names, if any. */
export function pathKindOf(label: string): PathKind | undefined {
  const k = label.toLowerCase().replace(/[-_ ]/g, '');
  if (k === 'direct') return 'direct';
  if (k === 'holepunched') return 'hole_punched';
  if (k === 'relayed') return 'relayed';
  return undefined;
}

/** Key for series without a `kind` label (a metric over all paths). */
export const ALL_PATHS = 'all';

export interface DhtView {
  /** Tier centroids in ms, fastest first. */
  tierCentroidsMs: number[];
  tierCounts: number[];
  /** 0..1. */
  pressure: number | null;
  storedKeys: number | null;
  k: number | null;
  alpha: number | null;
  routingTableSize: number | null;
}

export interface StatusView {
  nodeId: string;
  addr: string;
  uptimeMs: number | null;
  peers: number | null;
  requestsServed: Record<string, number>;
  requestsSent: Record<string, number>;
  identityMismatches: number | null;
  dht: DhtView | null;
  /** NAT type the node detected itself (extra.nat), once NAT traversal reports one. */
  natType: string | null;
}

export interface MetricsView {
  /**
   * Peers per path kind; null when the node exports no path metrics yet. A kind the node never
   * labels (e.g. no separate hole-punched state) is null.
   */
  paths: Record<PathKind, number | null> | null;
  /** Mean path RTT (ms) over the last interval, else since start: by kind label, or ALL_PATHS. */
  rttMs: Record<string, number>;
  /** Cumulative histogram sums/counts behind rttMs. */
  rttSum: Record<string, number>;
  rttCount: Record<string, number>;
  /** Cumulative quicmesh_path_upgrades_total / _failures_total by kind label (ALL_PATHS unlabelled). */
  upgrades: Record<string, number>;
  failures: Record<string, number>;
  connectionsOpen: number | null;
}

/** Requests by message type: cumulative totals and the rate over the last poll interval. */
export interface RequestRow {
  type: string;
  served: number;
  sent: number;
  servedPerSec: number;
  sentPerSec: number;
}

export interface NodeView {
  target: NodeTarget;
  state: NodeState;
  /** Why the last poll failed (down), or why /metrics could not be read (node still up). */
  lastError: string | null;
  /** Clock time of the last successful /status. */
  lastOkAt: number | null;
  /** The last status read; kept while the node is down so the detail pane still shows it. */
  status: StatusView | null;
  metrics: MetricsView | null;
  requests: RequestRow[];
  /** Its process as the lab records it; null outside a lab (a --nodes list). */
  process: NodeProcessInfo | null;
}

export function initialView(target: NodeTarget): NodeView {
  return { target, state: 'pending', lastError: null, lastOkAt: null, status: null, metrics: null, requests: [], process: null };
}

// --- /status -----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function numArray(v: unknown): number[] {
  return Array.isArray(v) ? v.map(num).filter((x): x is number => x !== null) : [];
}

function counts(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (num(x) !== null) out[k] = num(x)!;
  return out;
}

/** Read a node's /status body (MeshNode.status() as JSON). Throws only when it is not an object. */
export function readStatus(body: unknown): StatusView {
  if (!isObj(body)) throw new TypeError('status is not a JSON object');
  const extra = isObj(body.extra) ? body.extra : {};
  const nat = isObj(extra.nat) ? extra.nat : null;
  const natType = nat ? (nat.natType ?? nat.type) : null;
  return {
    nodeId: typeof body.nodeId === 'string' ? body.nodeId : '',
    addr: typeof body.addr === 'string' ? body.addr : '',
    uptimeMs: num(body.uptimeMs),
    peers: num(body.peersSeen),
    requestsServed: counts(body.requestsServed),
    requestsSent: counts(body.requestsSent),
    identityMismatches: num(body.identityMismatches),
    dht: isObj(extra.dht) && !('error' in extra.dht) ? readDht(extra.dht) : null,
    natType: typeof natType === 'string' ? natType : null,
  };
}

function readDht(d: Obj): DhtView {
  return {
    tierCentroidsMs: numArray(d.tierCentroids),
    tierCounts: numArray(d.tierCounts),
    pressure: num(d.pressure),
    storedKeys: num(d.storedKeys),
    k: num(d.replicationFactor ?? d.k),
    alpha: num(d.concurrency ?? d.alpha),
    routingTableSize: num(d.routingTableSize),
  };
}

// --- /metrics ----------------------------------------------------------------------------------

function byKind(samples: readonly PromSample[], name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of sumBy(samples, name, 'kind')) out[k || ALL_PATHS] = (out[k || ALL_PATHS] ?? 0) + v;
  return out;
}

/**
 * The UI's reading of a /metrics scrape. `prev` (the previous reading) lets RTT be averaged over the
 * last interval instead of since start. quicmesh_path_rtt_seconds is read as a histogram (its _sum and
 * _count, per `kind` label or over all paths); a plain gauge of that name is accepted too.
 */
export function readMetrics(samples: readonly PromSample[], prev: MetricsView | null): MetricsView {
  const state = sumBy(samples, 'quicmesh_path_state', 'kind');
  let paths: MetricsView['paths'] = null;
  if (state.size > 0) {
    paths = { direct: null, hole_punched: null, relayed: null };
    for (const [label, n] of state) {
      const kind = pathKindOf(label);
      if (kind) paths[kind] = (paths[kind] ?? 0) + n;
    }
  }
  const rttSum: Record<string, number> = {};
  const rttCount: Record<string, number> = {};
  const rttMs: Record<string, number> = {};
  const gauge = select(samples, 'quicmesh_path_rtt_seconds');
  for (const [k, v] of sumBy(gauge, 'quicmesh_path_rtt_seconds', 'kind')) {
    const n = gauge.filter((s) => (s.labels.kind ?? '') === k).length;
    rttMs[k || ALL_PATHS] = (v / n) * 1000;
  }
  const sums = byKind(samples, 'quicmesh_path_rtt_seconds_sum');
  const counts = byKind(samples, 'quicmesh_path_rtt_seconds_count');
  for (const [k, sum] of Object.entries(sums)) {
    const count = counts[k];
    if (count === undefined) continue;
    rttSum[k] = sum;
    rttCount[k] = count;
    const dSum = sum - (prev?.rttSum[k] ?? 0);
    const dCount = count - (prev?.rttCount[k] ?? 0);
    if (dCount > 0 && dSum >= 0) rttMs[k] = (dSum / dCount) * 1000;
    else if (dCount === 0 && prev?.rttMs[k] !== undefined) rttMs[k] = prev.rttMs[k];
    else if (count > 0) rttMs[k] = (sum / count) * 1000;
  }
  return {
    paths,
    rttMs,
    rttSum,
    rttCount,
    upgrades: byKind(samples, 'quicmesh_path_upgrades_total'),
    failures: byKind(samples, 'quicmesh_path_failures_total'),
    connectionsOpen: sumOf(samples, 'quicmesh_transport_connections_open'),
  };
}

/** Request rows from two consecutive statuses `dtMs` apart (no previous: rates are 0). */
export function requestRows(now: StatusView, prev: StatusView | null, dtMs: number): RequestRow[] {
  const types = new Set([...Object.keys(now.requestsServed), ...Object.keys(now.requestsSent)]);
  const perSec = (cur: number, before: number | undefined): number =>
    before === undefined || dtMs <= 0 || cur < before ? 0 : ((cur - before) * 1000) / dtMs;
  return [...types]
    .map((type) => {
      const served = now.requestsServed[type] ?? 0;
      const sent = now.requestsSent[type] ?? 0;
      return {
        type,
        served,
        sent,
        servedPerSec: prev ? perSec(served, prev.requestsServed[type] ?? 0) : 0,
        sentPerSec: prev ? perSec(sent, prev.requestsSent[type] ?? 0) : 0,
      };
    })
    .sort((a, b) => b.served + b.sent - (a.served + a.sent) || a.type.localeCompare(b.type));
}
