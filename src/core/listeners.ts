/** Calling a set of event listeners, so that one that throws neither stops the others nor the caller. */
import { errorMessage } from '../errors.js';
import type { Logger } from './logger.js';

/** Call every listener with `args`; one that throws is logged at warn as "`what` listener failed". */
export function notifyListeners<A extends unknown[]>(
  listeners: Iterable<(...args: A) => void>,
  log: Logger,
  what: string,
  ...args: A
): void {
  for (const l of listeners) {
    try {
      l(...args);
    } catch (err) {
      log.warn(`${what} listener failed`, { error: errorMessage(err) });
    }
  }
}
