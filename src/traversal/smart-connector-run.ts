/** One smart connect's bookkeeping in a SmartConnector: its waiters, dials, punch evidence and relay sessions. */
import { toHex } from '../core/bytes.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { AbortError, TimeoutError } from '../errors.js';
import type { RelayTunnel } from './relay-link.js';
import type { ConnectOptions, ConnectOutcome, ConnectTarget } from './smart-connector-types.js';

/** Peer-reflexive addresses one connect dials at most (forged checks cost bounded dials). */
export const MAX_REFLEXIVE_DIALS = 4;

export interface Waiter {
  /** When this connect began: its time to connect counts from here (a joiner's too). */
  since: number;
  resolve(o: ConnectOutcome): void;
  reject(e: Error): void;
}

/** One peer's connect in progress or done. */
export interface Run {
  target: ConnectTarget;
  startedAt: number;
  waiters: Waiter[];
  /** Aborts the direct and punch dials still in flight. */
  dials: AbortController;
  /** When the rendezvous answered our punch (the peer was told to punch), or null. */
  punchAnsweredAt: number | null;
  /** When the first ICE check from the peer arrived during this connect, or null. */
  firstCheckAt: number | null;
  /** When the peer answered the pre-check beside our plain dial to each address. */
  precheckAnswers: Map<string, number>;
  /** Peer-reflexive addresses dialled at the peer's first check from each (at most MAX_REFLEXIVE_DIALS). */
  reflexiveDials: Set<string>;
  /** The relay session under the connection (or being opened), by hex session id. */
  tunnels: Map<string, RelayTunnel>;
  /** relayFirst: the upgrade to start once relayed (ms after), or null. */
  upgradeAfterMs: number | null;
  /** This connect went to the relays first (ConnectOptions.relayFirst). */
  relayFirst: boolean;
  /** The last dial and relay failures, named when the whole connect fails. */
  lastDialError: string | null;
  lastRelayError: string | null;
  closed: boolean;
}

/** A run for a connect to `target` starting at `now`. */
export function newRun(target: ConnectTarget, opts: ConnectOptions, now: number): Run {
  return {
    target,
    startedAt: now,
    waiters: [],
    dials: new AbortController(),
    punchAnsweredAt: null,
    firstCheckAt: null,
    precheckAnswers: new Map(),
    reflexiveDials: new Set(),
    tunnels: new Map(),
    upgradeAfterMs: opts.relayFirst ? (opts.upgradeAfterMs ?? 0) : null,
    relayFirst: opts.relayFirst === true,
    lastDialError: null,
    lastRelayError: null,
    closed: false,
  };
}

/** The plan's reason, with the last errors behind it. */
export function failureText(reason: string, run: Run): string {
  const why = [run.lastDialError && `last dial ${run.lastDialError}`, run.lastRelayError && `last relay ${run.lastRelayError}`].filter(Boolean);
  return why.length > 0 ? `${reason} (${why.join('; ')})` : reason;
}

/**
 * One caller's wait on `run` (a waiter): the outcome, or the connect's failure, or the caller's own
 * deadline (`timeoutMs`) or abort. When the last waiter gives up before an outcome, `abandoned` is
 * told why (the connector stops a connect nobody waits for).
 */
export function awaitOutcome(
  run: Run,
  since: number,
  opts: { timeoutMs?: number; signal?: AbortSignal },
  clock: Clock,
  abandoned: (err: Error) => void,
): Promise<ConnectOutcome> {
  return new Promise<ConnectOutcome>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    const done = (): void => {
      timer?.cancel();
      opts.signal?.removeEventListener('abort', onAbort);
      const i = run.waiters.indexOf(waiter);
      if (i >= 0) run.waiters.splice(i, 1);
    };
    const giveUp = (err: Error): void => {
      done();
      reject(err);
      if (run.waiters.length === 0) abandoned(err);
    };
    const onAbort = (): void => giveUp(new AbortError('connect aborted'));
    const waiter: Waiter = {
      since,
      resolve: (o) => {
        done();
        resolve(o);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    };
    run.waiters.push(waiter);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) {
      timer = clock.setTimer(opts.timeoutMs, () =>
        giveUp(new TimeoutError(failureText(`no path to ${toHex(run.target.nodeId).slice(0, 8)} within ${opts.timeoutMs} ms`, run))),
      );
    }
  });
}
