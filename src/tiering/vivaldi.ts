/**
 * Vivaldi network coordinates (Dabek, Cox, Kaashoek, Morris, SIGCOMM 2004): each node keeps a
 * point in 2-D Euclidean space plus a height (the access-link share of every path), chosen so the
 * distance between two nodes' coordinates predicts their RTT. Every RTT a node measures moves its
 * own coordinate a little along the spring between it and the remote's reported coordinate, with
 * the adaptive timestep of the paper: the step is cc · w where w = e_local / (e_local + e_remote)
 * weighs how much we trust ourselves against the remote (e = relative error estimate, 1 = know
 * nothing, lower is better), and the local error follows an exponentially weighted average of
 * the sample errors with weight ce · w.
 *
 * Pure: `updateCoordinate` returns a new coordinate and never mutates its inputs; the only
 * randomness (a direction when two coordinates coincide) comes from the caller's `random`.
 *
 * Robustness: a remote coordinate that is not finite or lies outside the bounds the wire accepts
 * (COORD_LIMIT_MS, MAX_COORD_ERROR) is ignored; RTTs outside (0, MAX_VIVALDI_RTT_MS] are ignored;
 * the spring's residual is clamped to ±RESIDUAL_CLAMP × rtt, so one lying peer can move us by at
 * most the RTT it was measured at, and the results are clamped into the same bounds.
 */
import { MAX_COORD_ERROR as WIRE_MAX_COORD_ERROR, MAX_COORD_MS } from '../wire/limits.js';

export interface Coordinate {
  /** Euclidean part (ms). */
  x: number;
  y: number;
  /** Height (ms, >= MIN_HEIGHT_MS): added to every distance, models the access link. */
  height: number;
  /** Relative error estimate in [MIN_COORD_ERROR, MAX_COORD_ERROR]; starts at MAX_COORD_ERROR. */
  error: number;
}

/** Paper's c_c: fraction of the spring's residual applied per sample (scaled by w). */
export const VIVALDI_CC = 0.25;
/** Paper's c_e: weight of one sample's error in the local error average (scaled by w). */
export const VIVALDI_CE = 0.25;
/** Bound on |x|, |y| and height (ms): a minute is far beyond any real RTT. Mirrors the wire limit. */
export const COORD_LIMIT_MS = MAX_COORD_MS;
/** Largest error a coordinate may carry (also the error of a fresh coordinate). */
export const MAX_COORD_ERROR = WIRE_MAX_COORD_ERROR;
/** Smallest local error kept (a self-reported 0 would make w = 1 for everyone who trusts it). */
export const MIN_COORD_ERROR = 0.01;
/** Heights never go below this (ms): keeps the height term alive. */
export const MIN_HEIGHT_MS = 0.1;
/** RTT samples above this (ms) are ignored as outliers. */
export const MAX_VIVALDI_RTT_MS = 10_000;
/** |rtt - distance| used for the spring is at most this many times the RTT. */
export const RESIDUAL_CLAMP = 4;

/** A fresh node's coordinate: at the origin, knowing nothing. */
export function initialCoordinate(): Coordinate {
  return { x: 0, y: 0, height: MIN_HEIGHT_MS, error: MAX_COORD_ERROR };
}

/** True when `c` is a well-formed coordinate within the bounds the wire accepts. */
export function isValidCoordinate(c: Coordinate | null | undefined): c is Coordinate {
  if (c === null || c === undefined || typeof c !== 'object') return false;
  const { x, y, height, error } = c;
  return (
    Number.isFinite(x) && Math.abs(x) <= COORD_LIMIT_MS &&
    Number.isFinite(y) && Math.abs(y) <= COORD_LIMIT_MS &&
    Number.isFinite(height) && height >= 0 && height <= COORD_LIMIT_MS &&
    Number.isFinite(error) && error >= 0 && error <= MAX_COORD_ERROR
  );
}

/** Predicted RTT (ms) between two coordinates: Euclidean distance plus both heights. */
export function estimateRtt(a: Coordinate, b: Coordinate): number {
  return Math.hypot(a.x - b.x, a.y - b.y) + a.height + b.height;
}

/**
 * One Vivaldi step: we measured `rttMs` to a node reporting `remote`. Returns our new coordinate
 * (`self` unchanged when the sample or the remote coordinate is unusable).
 */
export function updateCoordinate(
  self: Coordinate,
  remote: Coordinate,
  rttMs: number,
  random: () => number,
): Coordinate {
  if (!(rttMs > 0 && rttMs <= MAX_VIVALDI_RTT_MS) || !isValidCoordinate(remote) || !isValidCoordinate(self)) return self;
  const localErr = Math.max(self.error, MIN_COORD_ERROR);
  const remoteErr = Math.max(remote.error, MIN_COORD_ERROR);
  const w = localErr / (localErr + remoteErr);
  const dist = estimateRtt(self, remote);
  const sampleErr = Math.abs(dist - rttMs) / rttMs;
  const error = clamp(sampleErr * VIVALDI_CE * w + localErr * (1 - VIVALDI_CE * w), MIN_COORD_ERROR, MAX_COORD_ERROR);
  const residual = clamp(rttMs - dist, -RESIDUAL_CLAMP * rttMs, RESIDUAL_CLAMP * rttMs);
  const force = VIVALDI_CC * w * residual;

  // The paper's unit vector of [x_i - x_j] = (planar difference, h_i + h_j), whose length is the
  // predicted distance: the planar part takes ‖v‖/dist of the force, the height hs/dist. Two
  // coinciding points (every fresh node) split along a random direction with the whole force.
  let dx = self.x - remote.x;
  let dy = self.y - remote.y;
  const mag = Math.hypot(dx, dy);
  let planar: number;
  let heightStep: number;
  if (mag < 1e-6) {
    const angle = random() * 2 * Math.PI;
    dx = Math.cos(angle);
    dy = Math.sin(angle);
    planar = force;
    heightStep = 0;
  } else {
    dx /= mag;
    dy /= mag;
    planar = (force * mag) / dist;
    heightStep = (force * (self.height + remote.height)) / dist;
  }
  return {
    x: clamp(self.x + planar * dx, -COORD_LIMIT_MS, COORD_LIMIT_MS),
    y: clamp(self.y + planar * dy, -COORD_LIMIT_MS, COORD_LIMIT_MS),
    height: clamp(self.height + heightStep, MIN_HEIGHT_MS, COORD_LIMIT_MS),
    error,
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
