/**
 * Latency models for the simulated network: how long a message takes from one node to another.
 *
 * - `regions`: nodes are placed (seeded) in a few world regions. The round-trip time between two
 *   nodes is the base RTT of their region pair (a fixed matrix, 65..250 ms between regions,
 *   5 ms inside one) plus each node's own access-link RTT (seeded per node, 0..7.5 ms by
 *   default), so two nodes in the same region see 5..20 ms. This is the structure latency tiering is meant to exploit.
 * - `uniform`: every pair has the same base RTT: no structure for tiering to find.
 *
 * One-way latency = RTT / 2, plus per-message jitter up to the two nodes' jitter amplitudes
 * (seeded per node, drawn per message). Loss is a per-message probability.
 * Nodes are registered by address because that is what the network layer knows.
 */
import { ConfigError } from '../errors.js';
import type { Rng } from '../core/rng.js';
import { SeededRng } from '../core/rng.js';
import { checkLossRate } from '../transport/memory/network.js';

export type LatencyKind = 'regions' | 'uniform';

export interface Region {
  name: string;
  /** Share of the nodes placed here (weights need not sum to 1). */
  weight: number;
}

/** Five regions with rough real-world RTTs (ms) between their hubs. */
export const DEFAULT_REGIONS: readonly Region[] = [
  { name: 'us-east', weight: 0.25 },
  { name: 'us-west', weight: 0.15 },
  { name: 'europe', weight: 0.3 },
  { name: 'asia', weight: 0.2 },
  { name: 'south-america', weight: 0.1 },
];

/** Symmetric inter-region base RTT in ms, indexed like DEFAULT_REGIONS; the diagonal is intra-region. */
export const DEFAULT_RTT_MATRIX: readonly (readonly number[])[] = [
  [5, 65, 80, 200, 120],
  [65, 5, 140, 110, 170],
  [80, 140, 5, 230, 200],
  [200, 110, 230, 5, 250],
  [120, 170, 200, 250, 5],
];

export interface LatencyModelOptions {
  kind?: LatencyKind;
  /** Seed for placement, per-node access RTT and jitter amplitude, and per-message jitter. */
  seed?: number;
  regions?: readonly Region[];
  rttMatrixMs?: readonly (readonly number[])[];
  /** Per-node access-link RTT is drawn in [min, max] ms; it adds to every path of that node. */
  accessRttMs?: readonly [number, number];
  /** `uniform` model: the base RTT of every pair, ms. */
  uniformRttMs?: number;
  /** Per-node jitter amplitude is drawn in [0, maxJitterMs]; a message gets up to the sum of both ends'. */
  maxJitterMs?: number;
  /** Probability in [0, 1) that a message is lost. */
  lossRate?: number;
  /**
   * Delays are rounded to this grid (ms; 0 = exact). Default 1: messages due within the same
   * millisecond then share one scheduler batch, which makes big runs several times cheaper,
   * and a ±0.5 ms error is far below what any measured quantity resolves.
   */
  resolutionMs?: number;
}

interface Placement {
  region: number;
  accessRtt: number;
  jitter: number;
}

export class LatencyModel {
  readonly kind: LatencyKind;
  readonly lossRate: number;
  private readonly regions: readonly Region[];
  private readonly matrix: readonly (readonly number[])[];
  private readonly access: readonly [number, number];
  private readonly uniformRtt: number;
  private readonly maxJitter: number;
  private readonly resolution: number;
  private readonly placeRng: SeededRng;
  private readonly msgRng: Rng;
  private readonly nodes = new Map<string, Placement>();
  private readonly cumulative: number[];

  constructor(opts: LatencyModelOptions = {}) {
    this.kind = opts.kind ?? 'regions';
    if (this.kind !== 'regions' && this.kind !== 'uniform') {
      throw new ConfigError(`latency model must be 'regions' or 'uniform', got '${String(this.kind)}'`);
    }
    this.regions = opts.regions ?? DEFAULT_REGIONS;
    this.matrix = opts.rttMatrixMs ?? DEFAULT_RTT_MATRIX;
    this.access = opts.accessRttMs ?? [0, 7.5];
    this.uniformRtt = opts.uniformRttMs ?? 100;
    this.maxJitter = opts.maxJitterMs ?? 2;
    this.lossRate = checkLossRate(opts.lossRate ?? 0, 'loss rate');
    this.resolution = opts.resolutionMs ?? 1;
    if (!(this.resolution >= 0)) throw new ConfigError(`latency resolution must be >= 0 ms, got ${this.resolution}`);
    if (this.regions.length === 0) throw new ConfigError('latency model needs at least one region');
    if (this.matrix.length !== this.regions.length || this.matrix.some((row) => row.length !== this.regions.length)) {
      throw new ConfigError(`RTT matrix must be ${this.regions.length}x${this.regions.length} (one row and column per region)`);
    }
    const [lo, hi] = this.access;
    if (!(lo >= 0 && hi >= lo)) throw new ConfigError(`access RTT range must satisfy 0 <= min <= max, got [${lo}, ${hi}]`);
    if (!(this.uniformRtt >= 0)) throw new ConfigError(`uniform RTT must be >= 0, got ${this.uniformRtt}`);
    if (!(this.maxJitter >= 0)) throw new ConfigError(`max jitter must be >= 0, got ${this.maxJitter}`);
    let acc = 0;
    this.cumulative = this.regions.map((r) => (acc += r.weight));
    if (!(acc > 0)) throw new ConfigError('region weights must sum to more than 0');
    const root = new SeededRng(opts.seed ?? 1);
    this.placeRng = root.fork();
    this.msgRng = root.fork();
  }

  /** Place a node (seeded, in registration order). Registering the same address again keeps its placement. */
  addNode(addr: string): void {
    if (this.nodes.has(addr)) return;
    const rng = this.placeRng;
    const total = this.cumulative[this.cumulative.length - 1]!;
    const x = rng.next() * total;
    let region = this.cumulative.findIndex((c) => x < c);
    if (region < 0) region = this.regions.length - 1;
    const [lo, hi] = this.access;
    this.nodes.set(addr, {
      region,
      accessRtt: lo + rng.next() * (hi - lo),
      jitter: rng.next() * this.maxJitter,
    });
  }

  /** Region name of a registered node (for reports). */
  regionOf(addr: string): string {
    return this.regions[this.placement(addr).region]!.name;
  }

  /** Deterministic base RTT between two nodes, without jitter (ms). */
  rttMs(from: string, to: string): number {
    const a = this.placement(from);
    const b = this.placement(to);
    const base = this.kind === 'uniform' ? this.uniformRtt : this.matrix[a.region]![b.region]!;
    return base + a.accessRtt + b.accessRtt;
  }

  /** One-way delay of one message (ms): RTT/2 plus a fresh jitter draw, on the resolution grid. */
  oneWayMs(from: string, to: string): number {
    const a = this.placement(from);
    const b = this.placement(to);
    const base = this.kind === 'uniform' ? this.uniformRtt : this.matrix[a.region]![b.region]!;
    const ms = (base + a.accessRtt + b.accessRtt) / 2 + this.msgRng.next() * (a.jitter + b.jitter);
    const res = this.resolution;
    return res > 0 ? Math.max(res, Math.round(ms / res) * res) : ms;
  }

  /** True when this message should be dropped. */
  drop(): boolean {
    return this.lossRate > 0 && this.msgRng.next() < this.lossRate;
  }

  private placement(addr: string): Placement {
    const p = this.nodes.get(addr);
    if (!p) throw new ConfigError(`latency model: unknown node address '${addr}' (call addNode first)`);
    return p;
  }
}
