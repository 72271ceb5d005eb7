/**
 * The store rate-limit scenario (issue 17, item 2): does the per-peer STORE limit cut a flooder
 * off without locking an honest publisher out?
 *
 * Phases, all in virtual time on one SimScheduler, over the lean simulated network:
 *   1. join: `nodes` DHT nodes (node 0 alone, the others through random earlier nodes);
 *   2. burst: an honest writer puts `burst` content values at once (all puts in flight together),
 *      then, `afterBurstMs` later, `later` more; each put should reach its k replicas;
 *   3. flood: `flooders` nodes send raw Store requests (fresh content-addressed 1 KiB values) to
 *      `victims` nodes holding the writer's values, each at `floodFactor` × the per-peer limit,
 *      for `floodMinutes` virtual minutes, while the writer keeps putting one value a minute;
 *   4. resolve: another node looks every honest value up (FIND_VALUE from scratch).
 * Same options → same result.
 */
import { SeededRng } from '../core/rng.js';
import type { Contact } from '../core/types.js';
import { K_DEFAULT, PER_PEER_RATE_LIMIT } from '../constants.js';
import { ConfigError } from '../errors.js';
import { hashContent } from '../identity/node-id.js';
import type { StoreResult } from '../dht/dht-types.js';
import { compareDistance } from '../dht/distance.js';
import type { Request } from '../wire/messages.js';
import { SimDhtHost, type SimPeer } from './dht-host.js';
import { LatencyModel } from './latency.js';
import { SimScheduler } from './scheduler.js';

export interface StoreSimOptions {
  nodes: number;
  k: number;
  seed: number;
  /** Puts the writer starts at once. */
  burst: number;
  /** Puts the writer makes `afterBurstMs` after the burst has finished. */
  later: number;
  afterBurstMs: number;
  flooders: number;
  victims: number;
  /** Flood rate per victim, as a multiple of the per-peer limit (20 stores a minute). */
  floodFactor: number;
  floodMinutes: number;
  /** Writers pace their stores inside the per-peer limit (DhtNode's default); false: send at once. */
  pacing: boolean;
}

export interface StoreSimResult {
  options: StoreSimOptions;
  burst: {
    /** Puts whose value reached every replica asked for (StoreResult.short false). */
    complete: number;
    puts: number;
    /** Virtual ms from the first put to the last put's result. */
    virtualMs: number;
    /** Replicas accepted over replicas asked for, over all burst puts. */
    replicas: number;
    wanted: number;
  };
  later: { complete: number; puts: number };
  flood: { attempts: number; refused: number; accepted: number; honestPutsComplete: number; honestPuts: number };
  resolve: { found: number; values: number };
}

const DEFAULTS: StoreSimOptions = {
  nodes: 25,
  k: K_DEFAULT,
  seed: 1,
  burst: 40,
  later: 5,
  afterBurstMs: 15_000,
  flooders: 1,
  victims: 5,
  floodFactor: 100,
  floodMinutes: 10,
  pacing: true,
};

const PHASE_LIMIT_MS = 3_600_000;
const VALUE_BYTES = 1024;

export async function runStoreSimulation(partial: Partial<StoreSimOptions> = {}): Promise<StoreSimResult> {
  const o: StoreSimOptions = { ...DEFAULTS, ...partial };
  for (const [name, v] of Object.entries(o)) {
    if (name === 'pacing') continue;
    if (!Number.isInteger(v) || v < 0) throw new ConfigError(`store sim: ${name} must be an integer >= 0, got ${String(v)}`);
  }
  if (o.nodes < 3 + o.flooders) throw new ConfigError(`store sim: nodes must be >= flooders + 3, got ${o.nodes}`);
  const root = new SeededRng(o.seed);
  const idRng = root.fork();
  const joinRng = root.fork();
  const valueRng = root.fork();
  const nodeRngs = root.fork();
  const scheduler = new SimScheduler();
  const host = new SimDhtHost({
    scheduler,
    latency: new LatencyModel({ kind: 'uniform', seed: root.fork().int(2 ** 31) }),
    rng: root.fork(),
    lossRate: 0,
    k: o.k,
    alpha: 3,
    tiering: false,
    joinRefresh: 0,
    stack: 'lean',
    ...(o.pacing ? {} : { storePacing: false as const }),
  });
  const peers: SimPeer[] = [];
  for (let i = 0; i < o.nodes; i++) peers.push(await host.addPeer(idRng.bytes(32), nodeRngs.fork()));
  // 1. join: node 0 alone, then one at a time through two random earlier nodes.
  for (let i = 1; i < peers.length; i++) {
    const contacts: Contact[] = [peers[joinRng.int(i)]!.contact, peers[joinRng.int(i)]!.contact];
    await scheduler.run(peers[i]!.join(contacts), PHASE_LIMIT_MS);
  }
  const writer = peers[1]!;
  const reader = peers[2]!;
  const flooders = peers.slice(peers.length - o.flooders);
  const honestValues: Uint8Array[] = [];
  const put = (): Promise<StoreResult> => {
    const value = valueRng.bytes(VALUE_BYTES);
    honestValues.push(value);
    return writer.dht.put(value);
  };
  const complete = (rs: StoreResult[]): number => rs.filter((r) => !r.short).length;

  // 2. burst, then a few more puts a little later.
  const t0 = scheduler.now();
  const burst = await scheduler.run(Promise.all(Array.from({ length: o.burst }, put)), PHASE_LIMIT_MS);
  const burstMs = scheduler.now() - t0;
  await scheduler.runFor(o.afterBurstMs);
  const later = await scheduler.run(Promise.all(Array.from({ length: o.later }, put)), PHASE_LIMIT_MS);

  // 3. flood the nodes holding the writer's first value, while the writer goes on putting.
  const firstKey = hashContent(honestValues[0] ?? valueRng.bytes(VALUE_BYTES));
  const victims = peers
    .filter((p) => p !== writer && !flooders.includes(p))
    .sort((a, b) => compareDistance(firstKey, a.id, b.id))
    .slice(0, o.victims);
  const flood = { attempts: 0, refused: 0, accepted: 0, honestPutsComplete: 0, honestPuts: 0 };
  const intervalMs = 60_000 / (PER_PEER_RATE_LIMIT * o.floodFactor);
  const floodEnd = scheduler.now() + o.floodMinutes * 60_000;
  const pending: Promise<void>[] = [];
  for (const flooder of flooders) {
    for (const victim of victims) {
      const send = (): void => {
        if (scheduler.now() >= floodEnd) return;
        const value = valueRng.bytes(VALUE_BYTES);
        const msg: Request = { type: 'Store', from: flooder.contact, key: hashContent(value), value, kind: 'content' };
        flood.attempts++;
        pending.push(
          flooder.dht.rpc.request({ addr: victim.addr, nodeId: victim.id }, msg).then(
            (reply) => {
              if (reply.msg.type === 'Ack' && reply.msg.rejection === null) flood.accepted++;
              else flood.refused++;
            },
            () => {
              flood.refused++;
            },
          ),
        );
        scheduler.clock.setTimer(intervalMs, send);
      };
      send();
    }
  }
  const honestDuringFlood: Promise<StoreResult>[] = [];
  for (let m = 0; m < o.floodMinutes; m++) {
    honestDuringFlood.push(put());
    await scheduler.runFor(60_000);
  }
  await scheduler.run(Promise.all(pending), PHASE_LIMIT_MS);
  const duringFlood = await scheduler.run(Promise.all(honestDuringFlood), PHASE_LIMIT_MS);
  flood.honestPuts = duringFlood.length;
  flood.honestPutsComplete = complete(duringFlood);

  // 4. resolve every honest value from another node.
  let found = 0;
  for (const value of honestValues) {
    const r = await scheduler.run(reader.dht.findValue(hashContent(value), { checkLocal: false }), PHASE_LIMIT_MS);
    if (r.value !== undefined) found++;
  }
  await host.close();
  return {
    options: o,
    burst: {
      complete: complete(burst),
      puts: burst.length,
      virtualMs: burstMs,
      replicas: burst.reduce((n, r) => n + r.accepted, 0),
      wanted: burst.reduce((n, r) => n + r.wanted, 0),
    },
    later: { complete: complete(later), puts: later.length },
    flood,
    resolve: { found, values: honestValues.length },
  };
}
