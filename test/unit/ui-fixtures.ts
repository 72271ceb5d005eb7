/** Shared fixtures for the live-UI tests: node status bodies, /metrics text, views and a fake fetch. */
import type { FetchLike, HttpResponseLike } from '../../cli/ui/poller.js';
import { initialView, readMetrics, readStatus, requestRows, type NodeTarget, type NodeView } from '../../cli/ui/node-view.js';
import { parsePromText } from '../../cli/ui/prom-text.js';

export interface StatusFixture {
  nodeId?: string;
  peers?: number;
  uptimeMs?: number;
  served?: Record<string, number>;
  sent?: Record<string, number>;
  centroids?: number[];
  counts?: number[];
  pressure?: number;
  storedKeys?: number;
  k?: number;
  alpha?: number;
}

/** A /status body shaped like MeshNode.status() with the DHT's telemetry section. */
export function statusBody(f: StatusFixture = {}): Record<string, unknown> {
  return {
    nodeId: f.nodeId ?? 'ab'.repeat(32),
    addr: '10.0.0.2:4433',
    startedAt: 1000,
    uptimeMs: f.uptimeMs ?? 5000,
    peersSeen: f.peers ?? 3,
    requestsServed: f.served ?? { Ping: 4, FindNode: 10 },
    requestsSent: f.sent ?? { FindNode: 6 },
    identityMismatches: 0,
    extra: {
      dht: {
        tierCentroids: f.centroids ?? [4, 40],
        tierCounts: f.counts ?? [3, 2],
        pressure: f.pressure ?? 0.25,
        storedKeys: f.storedKeys ?? 17,
        replicationFactor: f.k ?? 20,
        concurrency: f.alpha ?? 3,
        routingTableSize: 5,
      },
    },
  };
}

export interface MetricsFixture {
  paths?: { direct: number; hole_punched: number; relayed: number };
  upgrades?: Record<string, number>;
  failures?: Record<string, number>;
  rtt?: Record<string, { sum: number; count: number }>;
}

/** /metrics text as prom-client writes it (HELP/TYPE lines, labelled samples). */
export function metricsText(f: MetricsFixture = {}): string {
  const lines = [
    '# HELP quicmesh_requests_total Requests sent, by type and result',
    '# TYPE quicmesh_requests_total counter',
    'quicmesh_requests_total{type="Ping",result="ok"} 3',
    '# HELP quicmesh_transport_connections_open QUIC connections currently open',
    '# TYPE quicmesh_transport_connections_open gauge',
    'quicmesh_transport_connections_open 4',
  ];
  if (f.paths) {
    lines.push('# TYPE quicmesh_path_state gauge');
    for (const [kind, n] of Object.entries(f.paths)) lines.push(`quicmesh_path_state{kind="${kind}"} ${n}`);
  }
  if (f.upgrades) {
    lines.push('# TYPE quicmesh_path_upgrades_total counter');
    for (const [kind, n] of Object.entries(f.upgrades)) lines.push(`quicmesh_path_upgrades_total{kind="${kind}"} ${n}`);
  }
  if (f.failures) {
    lines.push('# TYPE quicmesh_path_failures_total counter');
    for (const [kind, n] of Object.entries(f.failures)) lines.push(`quicmesh_path_failures_total{kind="${kind}"} ${n}`);
  }
  if (f.rtt) {
    lines.push('# TYPE quicmesh_path_rtt_seconds histogram');
    for (const [kind, { sum, count }] of Object.entries(f.rtt)) {
      lines.push(`quicmesh_path_rtt_seconds_bucket{kind="${kind}",le="+Inf"} ${count}`);
      lines.push(`quicmesh_path_rtt_seconds_sum{kind="${kind}"} ${sum}`);
      lines.push(`quicmesh_path_rtt_seconds_count{kind="${kind}"} ${count}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A NodeView as the poller would hold it for an answering node. */
export function upView(target: NodeTarget, s: StatusFixture = {}, m: MetricsFixture = {}, at = 1000): NodeView {
  const status = readStatus(statusBody(s));
  return {
    ...initialView(target),
    state: 'up',
    lastOkAt: at,
    status,
    metrics: readMetrics(parsePromText(metricsText(m)).samples, null),
    requests: requestRows(status, null, 0),
  };
}

export function downView(target: NodeTarget, error: string): NodeView {
  return { ...initialView(target), state: 'down', lastError: error };
}

type Answer = { status?: number; body: string } | Error | 'hang';

/**
 * A fetch over a table of answers by URL. 'hang' never answers but honours the abort signal;
 * `calls` records every URL asked.
 */
export class FakeFetch {
  readonly answers = new Map<string, Answer>();
  readonly calls: string[] = [];

  set(url: string, answer: Answer): void {
    this.answers.set(url, answer);
  }

  /** Both endpoints of a node. */
  node(base: string, status: Record<string, unknown> | Answer, metrics: string | Answer = metricsText()): void {
    this.set(`${base}/status`, isAnswer(status) ? status : { body: JSON.stringify(status) });
    this.set(`${base}/metrics`, typeof metrics === 'string' ? { body: metrics } : metrics);
  }

  readonly fetch: FetchLike = (url, init) => {
    this.calls.push(url);
    const a = this.answers.get(url);
    if (a === undefined) return Promise.reject(new TypeError('fetch failed', { cause: new Error(`connect ECONNREFUSED ${url}`) }));
    if (a instanceof Error) return Promise.reject(a);
    if (a === 'hang') {
      return new Promise<HttpResponseLike>((_resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(new Error('This operation was aborted')), { once: true });
      });
    }
    const code = a.status ?? 200;
    return Promise.resolve({ ok: code >= 200 && code < 300, status: code, text: () => Promise.resolve(a.body) });
  };
}

function isAnswer(x: unknown): x is Answer {
  return x === 'hang' || x instanceof Error || (typeof x === 'object' && x !== null && 'body' in x && typeof (x as { body: unknown }).body === 'string');
}
