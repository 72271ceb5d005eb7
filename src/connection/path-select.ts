/**
 * Path selection: among validated paths, prefer a direct one unless a relay is more than
 * RELAY_PREFERENCE_MARGIN_MS faster (spec), with hysteresis so that RTT noise around a boundary
 * does not flap the connection between paths (every switch is a QUIC migration).
 *
 * Without a current path the plain rule applies. With one, it is kept unless the alternative
 * wins by `hysteresisMs` more: another direct path must be `hysteresisMs` faster; a relay must be
 * faster than direct by margin + hysteresis to be taken, and stays while faster by margin − hysteresis.
 */
import { RELAY_PREFERENCE_MARGIN_MS } from '../constants.js';
import { ConfigError } from '../errors.js';
import type { PathStats } from './path-prober.js';

/** selectPath options: the current path and the margin a better path must win by. */
export interface SelectPathOptions {
  /** The path in use now, if any. */
  current?: string | null;
  marginMs?: number;
  /** Default 10 ms. */
  hysteresisMs?: number;
}

type Usable = PathStats & { rttMs: number };

function fastest(paths: Usable[]): Usable | undefined {
  // ties: keep input order (stable), so the caller's preference decides
  return paths.reduce<Usable | undefined>((best, p) => (best === undefined || p.rttMs < best.rttMs ? p : best), undefined);
}

/** The path to use, or null when none is validated. */
export function selectPath(stats: readonly PathStats[], opts: SelectPathOptions = {}): PathStats | null {
  const margin = opts.marginMs ?? RELAY_PREFERENCE_MARGIN_MS;
  const hyst = opts.hysteresisMs ?? 10;
  if (!(margin >= 0) || !(hyst >= 0) || hyst > margin) {
    throw new ConfigError(`selectPath: need 0 <= hysteresisMs (${hyst}) <= marginMs (${margin})`);
  }
  const usable = stats.filter((s): s is Usable => s.state === 'validated' && s.rttMs !== null);
  const direct = fastest(usable.filter((s) => !s.isRelay));
  const relay = fastest(usable.filter((s) => s.isRelay));
  const cur = usable.find((s) => s.addr === opts.current);

  if (cur === undefined) {
    if (direct && relay) return relay.rttMs < direct.rttMs - margin ? relay : direct;
    return direct ?? relay ?? null;
  }
  if (cur.isRelay) {
    const bestRelay = relay && relay.rttMs < cur.rttMs - hyst ? relay : cur;
    if (direct === undefined) return bestRelay;
    return bestRelay.rttMs < direct.rttMs - (margin - hyst) ? bestRelay : direct;
  }
  const bestDirect = direct && direct.rttMs < cur.rttMs - hyst ? direct : cur;
  if (relay === undefined) return bestDirect;
  return relay.rttMs < bestDirect.rttMs - (margin + hyst) ? relay : bestDirect;
}
