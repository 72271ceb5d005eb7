/**
 * The protected store's limits: spec defaults from src/constants.ts, overridable per node, checked
 * once at construction so a bad option fails loudly with its name.
 */
import {
  DEFAULT_TTL_MS,
  EXPIRATION_CHECK_INTERVAL_MS,
  LOCAL_STORE_MAX_ENTRIES,
  MAX_VALUE_SIZE,
  PER_PEER_ENTRY_LIMIT,
  PER_PEER_RATE_LIMIT,
  PER_PEER_STORE_BURST,
  PER_PEER_STORAGE_QUOTA,
  PRESSURE_THRESHOLD,
} from '../constants.js';
import { ConfigError } from '../errors.js';

/** The limits a ProtectedStore enforces (sizes, quotas, rates, pressure). */
export interface StorageLimits {
  /** Largest value accepted (bytes). */
  maxValueSize: number;
  /** Bytes held on behalf of one remote peer. */
  perPeerQuotaBytes: number;
  /** Entries held on behalf of one remote peer. */
  perPeerEntryLimit: number;
  /** Stores accepted per peer per minute, on average (refused attempts do not count). */
  perPeerRatePerMinute: number;
  /** Stores a peer may make at once before that pace applies (token bucket size; default: perPeerRatePerMinute). */
  perPeerBurst: number;
  /** Hard limit on entries held. */
  maxEntries: number;
  /** Hard limit on value bytes held. */
  maxBytes: number;
  /** Lifetime of a stored value; every (re)store refreshes it. */
  ttlMs: number;
  /** Storage pressure (0..1) above which stores evict. */
  pressureThreshold: number;
  /** How often the owner should call sweepExpired(); the store itself schedules nothing. */
  expirationCheckIntervalMs: number;
  /** Requests (put + get) per second that count as full request-rate pressure. */
  maxRequestsPerSecond: number;
}

/** 256 MiB of values: far above 100,000 entries of typical size, so entries usually bind first. */
export const DEFAULT_MAX_STORE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_REQUESTS_PER_SECOND = 1_000;
/** The per-peer rate window ("per minute"). */
export const PEER_RATE_WINDOW_MS = 60_000;

/** The spec's storage limits (src/constants.ts), the defaults of every store. */
export const DEFAULT_STORAGE_LIMITS: Readonly<StorageLimits> = Object.freeze({
  maxValueSize: MAX_VALUE_SIZE,
  perPeerQuotaBytes: PER_PEER_STORAGE_QUOTA,
  perPeerEntryLimit: PER_PEER_ENTRY_LIMIT,
  perPeerRatePerMinute: PER_PEER_RATE_LIMIT,
  perPeerBurst: PER_PEER_STORE_BURST,
  maxEntries: LOCAL_STORE_MAX_ENTRIES,
  maxBytes: DEFAULT_MAX_STORE_BYTES,
  ttlMs: DEFAULT_TTL_MS,
  pressureThreshold: PRESSURE_THRESHOLD,
  expirationCheckIntervalMs: EXPIRATION_CHECK_INTERVAL_MS,
  maxRequestsPerSecond: DEFAULT_MAX_REQUESTS_PER_SECOND,
});

const INTEGER_FIELDS: ReadonlyArray<keyof StorageLimits> = [
  'maxValueSize',
  'perPeerQuotaBytes',
  'perPeerEntryLimit',
  'perPeerRatePerMinute',
  'perPeerBurst',
  'maxEntries',
  'maxBytes',
];

/** Fill in defaults and validate; throws ConfigError naming the bad field. */
export function resolveStorageLimits(options: Partial<StorageLimits> | undefined): StorageLimits {
  const limits: StorageLimits = { ...DEFAULT_STORAGE_LIMITS };
  for (const [name, value] of Object.entries(options ?? {}) as [keyof StorageLimits, unknown][]) {
    if (!(name in DEFAULT_STORAGE_LIMITS)) throw new ConfigError(`storage: unknown option '${name}'`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigError(`storage: ${name} must be a positive finite number, got ${String(value)}`);
    }
    if (INTEGER_FIELDS.includes(name) && !Number.isInteger(value)) {
      throw new ConfigError(`storage: ${name} must be an integer, got ${value}`);
    }
    limits[name] = value;
  }
  // The burst defaults to one minute's worth of whatever rate was chosen.
  if (options?.perPeerBurst === undefined) limits.perPeerBurst = Math.max(1, Math.ceil(limits.perPeerRatePerMinute));
  if (limits.pressureThreshold > 1) {
    throw new ConfigError(`storage: pressureThreshold must be in (0, 1], got ${limits.pressureThreshold}`);
  }
  if (limits.maxValueSize > limits.maxBytes) {
    throw new ConfigError(
      `storage: maxValueSize (${limits.maxValueSize}) exceeds maxBytes (${limits.maxBytes})`,
    );
  }
  return limits;
}
