/**
 * The NAT-traversal metrics a node records as a party (not as a relay or rendezvous: those are
 * RelayServer's and HolePunchCoordinator's): its own hole-punch attempts, the time a connect took
 * to reach a direct or hole-punched path, and the sessions and bytes it holds through relays as a
 * client. Each helper registers its metrics through `components.metrics` (registration is
 * idempotent per registry) and sets every labelled series to 0 up front, so rate() over them
 * exists from the first scrape.
 */
import { AbortError, IdentityError, TimeoutError } from '../errors.js';
import type { Counter, Gauge, Histogram, Metrics } from '../metrics/metrics.js';

export type PunchAttemptResult = 'success' | 'timeout' | 'failed';
export const PUNCH_ATTEMPT_RESULTS: readonly PunchAttemptResult[] = ['success', 'timeout', 'failed'];

export type RelayDirection = 'in' | 'out';

/** Seconds: a LAN dial takes milliseconds, a punch after a failed direct try a few seconds. */
const TIME_TO_DIRECT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16];

export interface HolePunchAttemptMetrics {
  record(result: PunchAttemptResult): void;
}

export function holePunchAttemptMetrics(metrics: Metrics): HolePunchAttemptMetrics {
  const c: Counter = metrics.counter(
    'quicmesh_holepunch_attempts_total',
    'Hole punches this node tried as a party, by result',
    ['result'],
  );
  for (const result of PUNCH_ATTEMPT_RESULTS) c.inc({ result }, 0);
  return { record: (result) => c.inc({ result }) };
}

/** ok; identity: someone else answered there; timeout: nothing did; failed: refused or broken; cancelled: not needed any more. */
const DIAL_RESULTS = ['ok', 'identity', 'timeout', 'failed', 'cancelled'] as const;

export interface ConnectDialMetrics {
  /** A smart connection's dial ended: `err` null when it was verified; `cancelled` when no longer wanted. */
  record(err: unknown, cancelled: boolean): void;
}

export function connectDialMetrics(metrics: Metrics): ConnectDialMetrics {
  const c: Counter = metrics.counter(
    'quicmesh_connect_dials_total',
    'QUIC dials of smart connections (direct and after a punch), by outcome',
    ['result'],
  );
  for (const result of DIAL_RESULTS) c.inc({ result }, 0);
  return { record: (err, cancelled) => c.inc({ result: dialResult(err, cancelled) }) };
}

function dialResult(err: unknown, cancelled: boolean): (typeof DIAL_RESULTS)[number] {
  if (err === null) return 'ok';
  if (cancelled || err instanceof AbortError) return 'cancelled';
  if (err instanceof IdentityError) return 'identity';
  if (err instanceof TimeoutError) return 'timeout';
  return 'failed';
}

export function timeToDirectMetric(metrics: Metrics): Histogram {
  return metrics.histogram(
    'quicmesh_path_time_to_direct_seconds',
    'From the start of a connect until a direct or hole-punched path answered',
    [],
    TIME_TO_DIRECT_BUCKETS,
  );
}

export interface RelayClientMetrics {
  /** Relayed sessions this node holds open as a client, now. */
  sessions(n: number): void;
  bytes(direction: RelayDirection, n: number): void;
}

export function relayClientMetrics(metrics: Metrics): RelayClientMetrics {
  const g: Gauge = metrics.gauge('quicmesh_relay_client_sessions', 'Sessions this node holds through relays as a client');
  const c: Counter = metrics.counter(
    'quicmesh_relay_client_bytes_total',
    'Payload bytes this node sent (out) or received (in) through relays',
    ['direction'],
  );
  g.set(0);
  for (const direction of ['in', 'out'] as const) c.inc({ direction }, 0);
  return {
    sessions: (n) => g.set(n),
    bytes: (direction, n) => c.inc({ direction }, n),
  };
}
