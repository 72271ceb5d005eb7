/**
 * Running a topology's expectations against a live lab: for each `from -> to` pair, ask `from`'s control
 * endpoint to connect to `to` (its data-plane address and NodeId), `repeat` times, each time on a fresh
 * connection. Expectations naming the same pair share one probe per repeat. Probes run with bounded
 * parallelism, but never two at once between the same two nodes: a fresh probe closes the connection
 * between them, which would break the other's.
 */
import { AbortError } from '../../src/errors.js';
import type { Expectation } from '../topology/model.js';
import type { MeshMember } from './mesh-ready.js';
import type { ExpectationResults, Observation, ObservedPath } from './verdicts/index.js';

export interface ConnectOptions {
  fresh: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * One probe: `from` connects to `to`. Must not reject: a failure is an Observation with an error. Members are
 * quicmesh nodes (MeshMember) unless a caller probes other kinds of node (cli/lab/command-probe.ts).
 */
export type ConnectFn<M = MeshMember> = (from: M, to: M, opts: ConnectOptions) => Promise<Observation>;

export interface RunExpectationsOptions<M = MeshMember> {
  repeat: number;
  /** Most probes in flight at once. */
  parallel: number;
  /** Deadline of one connect, ms. */
  connectTimeoutMs: number;
  connect: ConnectFn<M>;
  signal?: AbortSignal;
  /** Called after each probe (progress). */
  onProbe?: (done: number, total: number, pair: string, observation: Observation) => void;
}

interface Job {
  from: string;
  to: string;
  repeat: number;
}

const PATHS: readonly ObservedPath[] = ['direct', 'hole-punched', 'relayed'];

export async function runExpectations<M = MeshMember>(
  expectations: readonly Expectation[],
  members: ReadonlyMap<string, M>,
  opts: RunExpectationsOptions<M>,
): Promise<ExpectationResults[]> {
  const pairKey = (from: string, to: string): string => `${from} -> ${to}`;
  const pairs = new Map<string, { from: string; to: string; observations: Observation[] }>();
  for (const e of expectations) {
    const key = pairKey(e.from, e.to);
    if (!pairs.has(key)) pairs.set(key, { from: e.from, to: e.to, observations: [] });
  }
  const queue: Job[] = [];
  for (let r = 0; r < opts.repeat; r++)
    for (const p of pairs.values()) queue.push({ from: p.from, to: p.to, repeat: r });
  const total = queue.length;
  const busy = new Set<string>();
  const link = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  let done = 0;

  const probe = async (job: Job): Promise<Observation> => {
    const from = members.get(job.from);
    const to = members.get(job.to);
    if (!from || !to) {
      return {
        connected: false,
        path: null,
        timeToConnectMs: null,
        error: `node ${from ? job.to : job.from} is not running`,
      };
    }
    return opts.connect(from, to, { fresh: true, timeoutMs: opts.connectTimeoutMs, signal: opts.signal });
  };

  // Workers take the first queued job whose two nodes are not probing each other already; a worker
  // that finds none waits for any probe to finish.
  let wake: (() => void) | null = null;
  const finished = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      if (opts.signal?.aborted) return;
      const i = queue.findIndex((j) => !busy.has(link(j.from, j.to)));
      if (i < 0) {
        if (queue.length === 0) return;
        await new Promise<void>((resolve) => {
          const prev = wake;
          wake = () => {
            prev?.();
            resolve();
          };
        });
        continue;
      }
      const job = queue.splice(i, 1)[0]!;
      const key = link(job.from, job.to);
      busy.add(key);
      try {
        const observation = await probe(job);
        pairs.get(pairKey(job.from, job.to))!.observations.push(observation);
        opts.onProbe?.(++done, total, pairKey(job.from, job.to), observation);
      } finally {
        busy.delete(key);
        finished();
      }
    }
  };
  const workers = Math.max(1, Math.min(opts.parallel, total));
  await Promise.all(Array.from({ length: workers }, worker));
  if (opts.signal?.aborted) throw new AbortError('interrupted while running expectations');

  return expectations.map((e) => ({
    expectation: e,
    repeats: [...pairs.get(pairKey(e.from, e.to))!.observations],
  }));
}

/**
 * A ConnectFn that first has the lab forget the NAT state between the two nodes (Runtime.forgetNatState),
 * so every probe starts from cold routers. A probe whose forget failed would measure warm state: it is
 * reported as not connected and `onFailure` gets the error (the test verb stops the run with it).
 */
export function forgetFirst<M = MeshMember>(
  connect: ConnectFn<M>,
  forget: (from: M, to: M) => Promise<unknown>,
  onFailure: (err: unknown) => void,
): ConnectFn<M> {
  return async (from, to, opts) => {
    try {
      await forget(from, to);
    } catch (err) {
      onFailure(err);
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return { connected: false, path: null, timeToConnectMs: null, error: `could not forget NAT state: ${why}` };
    }
    return connect(from, to, opts);
  };
}

/**
 * Close the connections the two nodes hold to each other (POST /disconnect on both), so neither
 * keeps sending on an old connection — which would reopen the pinholes a cold repeat just closed.
 */
export async function disconnectPair(
  a: Pick<MeshMember, 'connectUrl' | 'nodeId'>,
  b: Pick<MeshMember, 'connectUrl' | 'nodeId'>,
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  await Promise.all(
    [
      [a, b],
      [b, a],
    ].map(async ([self, other]) => {
      const res = await fetchImpl(self!.connectUrl.replace(/\/connect$/, '/disconnect'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ nodeId: other!.nodeId }),
        signal: AbortSignal.timeout(5_000),
      });
      await res.body?.cancel();
    }),
  );
}

/** An observation of a probe that did not connect, for `error`. */
export function failedObservation(error: string): Observation {
  return { connected: false, path: null, timeToConnectMs: null, error };
}

/** The default ConnectFn: POST /connect on `from`'s management address. */
export function httpConnect(fetchImpl: typeof fetch = fetch): ConnectFn {
  return async (from, to, opts) => {
    const fail = failedObservation;
    // The HTTP exchange gets a margin over the connect deadline the node applies itself.
    const signals = [AbortSignal.timeout(opts.timeoutMs + 5_000), ...(opts.signal ? [opts.signal] : [])];
    let res: Response;
    try {
      res = await fetchImpl(from.connectUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          addr: to.dataAddr,
          nodeId: to.nodeId,
          ...(to.identity ? { identity: to.identity } : {}),
          fresh: opts.fresh,
          timeoutMs: opts.timeoutMs,
        }),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      return fail(
        `control endpoint of ${from.name} unreachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return fail(`control endpoint of ${from.name} answered ${res.status} without JSON`);
    }
    const b = (body ?? {}) as Record<string, unknown>;
    if (!res.ok)
      return fail(`control endpoint of ${from.name} answered ${res.status}: ${String(b.error ?? '')}`);
    return observationOf(b);
  };
}

/** Read a /connect answer defensively: unknown paths count as unknown, times are rounded to 0.1 ms. */
export function observationOf(b: Record<string, unknown>): Observation {
  const connected = b.connected === true;
  const path = PATHS.includes(b.path as ObservedPath) ? (b.path as ObservedPath) : null;
  const t =
    typeof b.timeToConnectMs === 'number' && Number.isFinite(b.timeToConnectMs)
      ? Math.round(b.timeToConnectMs * 10) / 10
      : null;
  const observation: Observation = {
    connected,
    path: connected ? path : null,
    timeToConnectMs: connected ? t : null,
  };
  if (typeof b.error === 'string' && b.error) observation.error = b.error;
  return observation;
}
