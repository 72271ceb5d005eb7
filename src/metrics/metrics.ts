/**
 * The metrics seam: protocol modules record through this small interface; the node wires a
 * prom-client adapter with one registry per node (no globals), and the simulator uses the no-op
 * default so thousands of nodes share nothing. Names follow Prometheus conventions: `quicmesh_`
 * prefix, `_total` for counters, `_seconds` / `_bytes` units; label sets stay bounded.
 */
export type Labels = Record<string, string>;

/** A monotonically increasing metric. */
export interface Counter {
  inc(labels?: Labels, value?: number): void;
}
/** A metric that goes up and down. */
export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}
/** A metric of observed values in buckets. */
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

/** Where modules register their metrics (no-op by default, Prometheus with PromMetrics). */
export interface Metrics {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): Histogram;
}

const noopCounter: Counter = { inc() {} };
const noopGauge: Gauge = { set() {}, inc() {}, dec() {} };
const noopHistogram: Histogram = { observe() {} };

/** Metrics that record nothing (the default). */
export const noopMetrics: Metrics = {
  counter: () => noopCounter,
  gauge: () => noopGauge,
  histogram: () => noopHistogram,
};
