/**
 * What every protocol module is given instead of reaching for globals: time, randomness, logs and
 * metrics. Real nodes pass SystemClock/CryptoRng; tests and the simulator pass ManualClock/SeededRng.
 */
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Rng } from './rng.js';
import type { Metrics } from '../metrics/metrics.js';

/** What every protocol module is given instead of reaching for globals: clock, randomness, logger and metrics. */
export interface Components {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  metrics: Metrics;
}
