/**
 * The DHT simulation scenario behind `quicmesh-lab sim`: N nodes with seeded ids on a virtual
 * network with heterogeneous latency, joined in growing batches, optionally a fraction taken
 * down, then M lookups for random targets from random live nodes, each judged against brute-force
 * ground truth (the truly XOR-closest live node).
 *
 * Phases, all in virtual time on one SimScheduler:
 *   1. setup: nodes created (keypairs from seeded 32-byte seeds), placed by the latency model;
 *   2. bootstrap: node 0 starts alone; then batches of joiners, each batch about half the size of
 *      the network so far, join concurrently through `bootstrapContacts` random earlier nodes
 *      (the DHT's join: observe them, then a self-lookup). O(log N) batches of virtual time;
 *   3. settle: virtual time runs on long enough for periodic work (latency tier recomputation);
 *   4. churn: a seeded fraction of the nodes stops answering (their packets are dropped);
 *   5. lookups: `concurrency` lookups in flight from distinct origins until M are done, while
 *      optional continuous churn (Poisson leaves and joins per virtual second) goes on.
 * Same options → same result, except `perf` (wall time, memory).
 */
import { bytesEqual } from '../core/bytes.js';
import { SeededRng } from '../core/rng.js';
import { K_DEFAULT, ALPHA_DEFAULT, TIERING_RECOMPUTE_INTERVAL_MS } from '../constants.js';
import { ConfigError } from '../errors.js';
import { ChurnProcess, pickChurned } from './churn.js';
import type { DhtSimConfig, DhtSimResult } from './dht-result.js';
import { ClosestOracle, summarize } from './ground-truth.js';
import { SimDhtHost, type SimPeer } from './dht-host.js';
import { LatencyModel } from './latency.js';
import type { LookupResult } from '../dht/lookup.js';
import { SimScheduler } from './scheduler.js';
import { MemoryPeak } from './memory-peak.js';

export type DhtSimOptions = Partial<DhtSimConfig> & {
  /** Virtual ms run after bootstrap before churn and lookups (default: one tier recomputation interval + 1 s). */
  settleMs?: number;
  /** Called between phases, e.g. for progress output. */
  onPhase?: (phase: string) => void;
  /** Called after each finished lookup, for diagnosis (which lookups missed, and why). */
  onLookup?: (info: LookupInspection) => void;
};

export interface LookupInspection {
  origin: SimPeer;
  target: Uint8Array;
  result: LookupResult;
  /** The truly closest live node. */
  truth: SimPeer;
  success: boolean;
  /** Every live node, for cross-checks. */
  live: readonly SimPeer[];
}

/** Longest virtual time one phase may take before the run is declared stalled. */
const PHASE_LIMIT_MS = 24 * 3_600_000;

function checkConfig(c: DhtSimConfig): void {
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int('nodes', c.nodes, 2);
  int('lookups', c.lookups, 0);
  int('seed', c.seed, 0);
  int('k', c.k, 1);
  int('alpha', c.alpha, 1);
  int('bootstrapContacts', c.bootstrapContacts, 1);
  int('concurrency', c.concurrency, 1);
  int('joinRefresh', c.joinRefresh, 0);
  int('lookupK', c.lookupK, 0);
  if (!(c.churn >= 0 && c.churn < 1)) throw new ConfigError(`churn must be a fraction in [0, 1), got ${c.churn}`);
  for (const [name, v] of [['leaveRate', c.leaveRate], ['joinRate', c.joinRate]] as const) {
    if (!(v >= 0 && Number.isFinite(v))) throw new ConfigError(`${name} must be a finite number >= 0 (per virtual second), got ${v}`);
  }
  if (!(c.loss >= 0 && c.loss < 1)) throw new ConfigError(`loss must be a probability in [0, 1), got ${c.loss}`);
  if (c.stack !== 'lean' && c.stack !== 'mesh') throw new ConfigError(`stack must be 'lean' or 'mesh', got '${String(c.stack)}'`);
  if (c.latency !== 'regions' && c.latency !== 'uniform') {
    throw new ConfigError(`latency must be 'regions' or 'uniform', got '${String(c.latency)}'`);
  }
}

export async function runDhtSimulation(opts: DhtSimOptions = {}): Promise<DhtSimResult> {
  const config: DhtSimConfig = {
    nodes: opts.nodes ?? 1000,
    lookups: opts.lookups ?? 1000,
    churn: opts.churn ?? 0,
    seed: opts.seed ?? 1,
    tiering: opts.tiering ?? true,
    latency: opts.latency ?? 'regions',
    loss: opts.loss ?? 0,
    k: opts.k ?? K_DEFAULT,
    alpha: opts.alpha ?? ALPHA_DEFAULT,
    bootstrapContacts: opts.bootstrapContacts ?? 3,
    concurrency: opts.concurrency ?? 200,
    joinRefresh: opts.joinRefresh ?? 0,
    stack: opts.stack ?? 'lean',
    lookupK: opts.lookupK ?? 0,
    leaveRate: opts.leaveRate ?? 0,
    joinRate: opts.joinRate ?? 0,
  };
  checkConfig(config);
  const phase = opts.onPhase ?? (() => undefined);
  const memory = new MemoryPeak();
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();

  // Independent streams, so e.g. changing the lookup count does not move node ids.
  const root = new SeededRng(config.seed);
  const idRng = root.fork();
  const latencySeed = root.fork().int(2 ** 31);
  const netRng = root.fork();
  const joinRng = root.fork();
  const churnRng = root.fork();
  const lookupRng = root.fork();
  const nodeRngRoot = root.fork();

  // --- 1. setup ---------------------------------------------------------------------------------
  phase('setup');
  const scheduler = new SimScheduler();
  const latency = new LatencyModel({ kind: config.latency, seed: latencySeed });
  const host = new SimDhtHost({
    scheduler,
    latency,
    rng: netRng,
    lossRate: config.loss,
    k: config.k,
    alpha: config.alpha,
    tiering: config.tiering,
    joinRefresh: config.joinRefresh,
    stack: config.stack,
  });
  const peers: SimPeer[] = [];
  for (let i = 0; i < config.nodes; i++) peers.push(await host.addPeer(idRng.bytes(32), nodeRngRoot.fork()));
  const wallSetup = performance.now();
  memory.sample();

  // --- 2. bootstrap -----------------------------------------------------------------------------
  phase('bootstrap');
  const tBoot = scheduler.now();
  const msgBoot = host.requestsSent();
  let bootstrapFailures = 0;
  let joined = 1;
  while (joined < peers.length) {
    const size = Math.min(peers.length - joined, Math.max(1, Math.ceil(joined / 2)));
    const batch = peers.slice(joined, joined + size);
    const joins = batch.map((p) => {
      const contacts = [];
      for (let j = 0; j < Math.min(config.bootstrapContacts, joined); j++) contacts.push(peers[joinRng.int(joined)]!.contact);
      return p.join(contacts).then(
        () => undefined,
        () => {
          bootstrapFailures++;
        },
      );
    });
    await scheduler.run(Promise.all(joins), PHASE_LIMIT_MS);
    joined += size;
    memory.sample();
  }
  const bootstrapVirtualMs = scheduler.now() - tBoot;
  const bootstrapMessages = host.requestsSent() - msgBoot;

  // --- 3. settle --------------------------------------------------------------------------------
  phase('settle');
  await scheduler.runFor(opts.settleMs ?? TIERING_RECOMPUTE_INTERVAL_MS + 1_000);
  const wallBoot = performance.now();

  // --- 4. churn ---------------------------------------------------------------------------------
  phase('churn');
  const churned = pickChurned(peers, config.churn, churnRng);
  for (const p of churned) p.down();
  const live = peers.filter((p) => p.up);
  // Ground truth over the live set; rebuilt only after continuous churn changed it.
  let oracle = new ClosestOracle(live.map((p) => p.id));
  let liveIndex = new Map(live.map((p, i) => [p, i]));
  let truthDirty = false;
  const truthFor = (target: Uint8Array, origin: SimPeer): SimPeer => {
    if (truthDirty) {
      oracle = new ClosestOracle(live.map((p) => p.id));
      liveIndex = new Map(live.map((p, i) => [p, i]));
      truthDirty = false;
    }
    return live[oracle.closestIndex(target, liveIndex.get(origin))]!;
  };
  const busy = new Set<SimPeer>();
  let joinFailures = 0;
  const joining: Promise<void>[] = [];
  const churnProc = new ChurnProcess({
    clock: scheduler.clock,
    rng: churnRng,
    leavesPerSec: config.leaveRate,
    joinsPerSec: config.joinRate,
    leave: (pick) => {
      // A node busy with a measured lookup stays until it is done (its result would be cut short).
      const i = pick(live.length);
      const p = live[i];
      if (p === undefined || busy.has(p) || live.length <= config.concurrency + 1) return false;
      live.splice(i, 1);
      p.down();
      truthDirty = true;
      return true;
    },
    join: () => {
      const contacts = Array.from({ length: Math.min(config.bootstrapContacts, live.length) }, () => live[joinRng.int(live.length)]!.contact);
      joining.push(
        host
          .addPeer(idRng.bytes(32), nodeRngRoot.fork())
          .then(async (p) => {
            peers.push(p);
            await p.join(contacts);
            // Counted as live (a lookup origin, a ground-truth candidate) once it has joined.
            if (p.up) {
              live.push(p);
              truthDirty = true;
            }
          })
          .catch(() => {
            joinFailures++;
          }),
      );
    },
  });

  // --- 5. lookups -------------------------------------------------------------------------------
  phase('lookups');
  const rounds: number[] = [];
  const hops: number[] = [];
  const latencies: number[] = [];
  const messages: number[] = [];
  let succeeded = 0;
  let errors = 0;
  const concurrency = Math.min(config.concurrency, live.length);
  let started = 0;
  const runOne = async (): Promise<void> => {
    while (started < config.lookups) {
      started++;
      let origin: SimPeer;
      do origin = live[lookupRng.int(live.length)]!;
      while (busy.has(origin));
      const target = lookupRng.bytes(32);
      busy.add(origin);
      const sent0 = origin.requestsSent;
      const t0 = scheduler.now();
      try {
        const res = await origin.lookup(target, config.lookupK || undefined);
        // Success: the truly closest node live at the lookup's end (other than the origin, which
        // a lookup never returns) is among the contacts the lookup returned.
        const truth = truthFor(target, origin);
        const success = res.closest.some((c) => bytesEqual(c.id, truth.id));
        if (success) succeeded++;
        opts.onLookup?.({ origin, target, result: res, truth, success, live });
        rounds.push(res.rounds);
        hops.push(res.hopsToClosest);
        latencies.push(scheduler.now() - t0);
        messages.push(origin.requestsSent - sent0);
      } catch {
        errors++;
      } finally {
        busy.delete(origin);
      }
    }
  };
  churnProc.start();
  const workers = Array.from({ length: concurrency }, runOne);
  await scheduler.run(Promise.all(workers), PHASE_LIMIT_MS);
  churnProc.stop();
  // Joins still under way finish (or fail) before the network is torn down.
  await scheduler.run(Promise.all(joining), PHASE_LIMIT_MS);
  const wallEnd = performance.now();
  const cpu = process.cpuUsage(cpu0);
  memory.sample();
  memory.stop();

  const { events, batches } = scheduler.stats();
  await host.close();
  return {
    config,
    nodes: {
      total: peers.length,
      live: live.length,
      churned: churned.length,
      left: churnProc.left,
      joined: churnProc.joined - joinFailures,
      bootstrapFailures: bootstrapFailures + joinFailures,
    },
    bootstrap: { virtualMs: bootstrapVirtualMs, messages: bootstrapMessages },
    lookups: {
      count: config.lookups,
      succeeded,
      errors,
      successRate: config.lookups === 0 ? 1 : succeeded / config.lookups,
      rounds: summarize(rounds),
      hopsToClosest: summarize(hops),
      latencyMs: summarize(latencies),
      messages: summarize(messages),
    },
    events,
    batches,
    perf: {
      wallMs: {
        setup: wallSetup - wall0,
        bootstrap: wallBoot - wallSetup,
        lookups: wallEnd - wallBoot,
        total: wallEnd - wall0,
      },
      cpuMs: (cpu.user + cpu.system) / 1000,
      eventsPerSec: events / ((wallEnd - wall0) / 1000),
      peakRssMb: memory.peakRss / 2 ** 20,
      peakHeapMb: memory.peakHeap / 2 ** 20,
    },
  };
}
