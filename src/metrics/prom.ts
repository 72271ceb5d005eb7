/**
 * The Metrics seam over prom-client, with one Registry per node (never prom-client's global
 * default registry), so several nodes in one process keep separate counters. Metrics are
 * memoised by name: asking twice for the same name returns the same instrument; asking for it
 * with another kind or label set is a ConfigError.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type {
  Counter as CounterApi,
  Gauge as GaugeApi,
  Histogram as HistogramApi,
  Labels,
  Metrics,
} from './metrics.js';

/** PromMetrics options: the registry, and whether to collect process metrics. */
export interface PromMetricsOptions {
  /** Use this registry instead of a fresh one. */
  registry?: Registry;
  /** Also collect prom-client's process metrics (CPU, memory, event loop) into the registry. Default false. */
  defaultMetrics?: boolean;
  /** Labels added to every series (e.g. { node: 'a1b2c3d4' }). */
  defaultLabels?: Labels;
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface Memo {
  kind: Kind;
  labelKey: string;
  adapter: CounterApi | GaugeApi | HistogramApi;
}

/** Metrics on a prom-client registry (one per node), exposed by the status server's /metrics. */
export class PromMetrics implements Metrics {
  readonly registry: Registry;
  private readonly memo = new Map<string, Memo>();

  constructor(opts: PromMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    if (opts.defaultLabels) this.registry.setDefaultLabels(opts.defaultLabels);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric in the registry. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type header for `metricsText()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): CounterApi {
    return this.get(name, 'counter', labelNames, () => {
      const c = new Counter({ name, help, labelNames: [...labelNames], registers: [this.registry] });
      return {
        inc: (labels?: Labels, value = 1) => (labels ? c.inc(labels, value) : c.inc(value)),
      };
    }) as CounterApi;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): GaugeApi {
    return this.get(name, 'gauge', labelNames, () => {
      const g = new Gauge({ name, help, labelNames: [...labelNames], registers: [this.registry] });
      return {
        set: (value: number, labels?: Labels) => (labels ? g.set(labels, value) : g.set(value)),
        inc: (labels?: Labels, value = 1) => (labels ? g.inc(labels, value) : g.inc(value)),
        dec: (labels?: Labels, value = 1) => (labels ? g.dec(labels, value) : g.dec(value)),
      };
    }) as GaugeApi;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): HistogramApi {
    return this.get(name, 'histogram', labelNames, () => {
      const h = new Histogram({
        name,
        help,
        labelNames: [...labelNames],
        registers: [this.registry],
        ...(buckets ? { buckets: [...buckets] } : {}),
      });
      return {
        observe: (value: number, labels?: Labels) => (labels ? h.observe(labels, value) : h.observe(value)),
      };
    }) as HistogramApi;
  }

  private get(name: string, kind: Kind, labelNames: readonly string[], make: () => Memo['adapter']): Memo['adapter'] {
    const labelKey = [...labelNames].sort().join(',');
    const existing = this.memo.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new ConfigError(`metric ${name} is already registered as a ${existing.kind}`);
      if (existing.labelKey !== labelKey) {
        throw new ConfigError(`metric ${name} is already registered with labels [${existing.labelKey}]`);
      }
      return existing.adapter;
    }
    const adapter = make();
    this.memo.set(name, { kind, labelKey, adapter });
    return adapter;
  }
}
