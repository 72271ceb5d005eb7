/** Checks of numeric options, shared by the components that take them (a bad value is a ConfigError naming it). */
import { ConfigError } from '../errors.js';

/** `value` when it is a finite number above zero; else a ConfigError naming `what`. */
export function positiveNumber(what: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${what} must be a positive number, got ${value}`);
  return value;
}
