/**
 * What a node knows of other nodes' Vivaldi coordinates: first-hand (the node reported its own
 * coordinate in a request or reply to us) or second-hand (another node relayed it in a Nodes /
 * Value reply). A first-hand report always wins; a relayed one only fills a gap, so a liar can
 * blur what we think of contacts we never talked to, not of those we did.
 *
 * Bounded: past `capacity` entries the oldest written goes (Map insertion order). Invalid
 * coordinates are refused (see isValidCoordinate).
 *
 * Keyed by the id's first 30 bits as a small integer (no hex string per call: this runs for
 * every contact of every reply); each entry keeps the full id, so two ids sharing a prefix never
 * read each other's coordinate, the later one just replaces the earlier. Entries are updated in
 * place: eviction is oldest-inserted first.
 */
import type { NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { isValidCoordinate, type Coordinate } from './vivaldi.js';

/** Default number of coordinates kept: a few routing tables' worth. */
export const COORDINATE_BOOK_CAPACITY = 1024;

interface Entry {
  id: NodeId;
  coord: Coordinate;
  firstHand: boolean;
}

export class CoordinateBook {
  private readonly entries = new Map<number, Entry>();

  constructor(readonly capacity = COORDINATE_BOOK_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new ConfigError(`coordinate book capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The node itself told us its coordinate. Returns false when the coordinate was refused. */
  reported(id: NodeId, coord: Coordinate): boolean {
    if (!isValidCoordinate(coord)) return false;
    const key = keyOf(id);
    const known = this.entries.get(key);
    if (known !== undefined) {
      known.id = id;
      known.coord = coord;
      known.firstHand = true;
      return true;
    }
    this.entries.set(key, { id, coord, firstHand: true });
    this.trim();
    return true;
  }

  /** Another node relayed `id`'s coordinate; kept only when we have nothing first-hand. */
  relayed(id: NodeId, coord: Coordinate): boolean {
    if (!isValidCoordinate(coord)) return false;
    const key = keyOf(id);
    const known = this.entries.get(key);
    if (known !== undefined) {
      if (known.firstHand && sameId(known.id, id)) return false;
      known.id = id;
      known.coord = coord;
      known.firstHand = false;
      return true;
    }
    this.entries.set(key, { id, coord, firstHand: false });
    this.trim();
    return true;
  }

  get(id: NodeId): Coordinate | undefined {
    const e = this.entries.get(keyOf(id));
    return e !== undefined && sameId(e.id, id) ? e.coord : undefined;
  }

  forget(id: NodeId): boolean {
    const key = keyOf(id);
    const e = this.entries.get(key);
    return e !== undefined && sameId(e.id, id) && this.entries.delete(key);
  }

  private trim(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
  }
}

/** First 30 bits of the id (a V8 small integer: cheap to hash); short ids are zero-padded. */
function keyOf(id: NodeId): number {
  return (((id[0] ?? 0) << 22) | ((id[1] ?? 0) << 14) | ((id[2] ?? 0) << 6) | ((id[3] ?? 0) >>> 2)) & 0x3fffffff;
}

function sameId(a: NodeId, b: NodeId): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
