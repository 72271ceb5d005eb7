/**
 * The DHT's Vivaldi state (tiering on only): our own network coordinate, moved by every RTT the
 * DHT measures against the replier's self-reported coordinate, and a book of other nodes'
 * coordinates as they reported them to us (in their requests and replies): what we relay for our
 * contacts in our own replies. Coordinates relayed to us (the `coords` of a Nodes / Value reply)
 * are not stored here: they ride with the lookup's candidates (LookupQuery), the only place they
 * are needed. With them a node estimates its RTT to candidates it has never measured.
 */
import type { Rng } from '../core/rng.js';
import type { Contact, NodeId } from '../core/types.js';
import { CoordinateBook } from '../tiering/coordinate-book.js';
import { estimateRtt, initialCoordinate, isValidCoordinate, updateCoordinate, type Coordinate } from '../tiering/vivaldi.js';

export class DhtCoordinates {
  private self: Coordinate = initialCoordinate();
  readonly book: CoordinateBook;
  private readonly random: () => number;
  private samples = 0;

  constructor(rng: Rng, capacity?: number) {
    this.book = new CoordinateBook(capacity);
    this.random = () => rng.next();
  }

  /** Our current coordinate (a fresh object per update: safe to put in a message as is). */
  get own(): Coordinate {
    return this.self;
  }

  /** RTT samples that moved our coordinate. */
  get updates(): number {
    return this.samples;
  }

  /**
   * `id` told us its coordinate (in a request it sent us). `keep`: remember it (the driver keeps
   * only its routing-table contacts' coordinates, the ones its replies can list).
   */
  heard(id: NodeId, coord: Coordinate | undefined, keep = true): void {
    if (coord !== undefined && keep) this.book.reported(id, coord);
  }

  /** We measured `rttMs` to `id`, which reported `coord` in its reply: move ours (and remember it if `keep`). */
  measured(id: NodeId, coord: Coordinate | undefined, rttMs: number, keep = true): void {
    if (coord === undefined || !isValidCoordinate(coord)) return;
    if (keep) this.book.reported(id, coord);
    const next = updateCoordinate(this.self, coord, rttMs, this.random);
    if (next !== this.self) {
      this.self = next;
      this.samples++;
    }
  }

  /** What we know of each contact's coordinate, for a reply listing them. */
  coordsFor(contacts: readonly Contact[]): (Coordinate | null)[] {
    return contacts.map((c) => this.book.get(c.id) ?? null);
  }

  /**
   * Estimated RTT (ms) to `id`: from the coordinate it reported to us, else from `relayed` (what
   * another node told us it reported); undefined when we know neither (or `relayed` is invalid).
   */
  estimateRtt(id: NodeId, relayed?: Coordinate): number | undefined {
    const c = this.book.get(id) ?? (isValidCoordinate(relayed) ? relayed : undefined);
    return c === undefined ? undefined : estimateRtt(this.self, c);
  }
}
