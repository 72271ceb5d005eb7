/**
 * Peak memory of a simulation run: RSS and V8 heap, sampled on a wall-clock interval (the
 * scheduler yields to the event loop after every batch, so the sampler gets to run) and at
 * explicit points. Measurement only: it never influences the simulated run.
 */
export class MemoryPeak {
  peakRss = 0;
  peakHeap = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.peakRss) this.peakRss = m.rss;
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
