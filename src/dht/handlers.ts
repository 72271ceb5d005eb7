/**
 * Serving side of the DHT: one function per request type, `(context, request) → reply`, all
 * synchronous (the node answers synchronous handlers without a Promise, which the simulator's
 * millions of requests appreciate). The driver registers them and observes every sender first.
 */
import type { Contact, Key, NodeId } from '../core/types.js';
import type { Ack, FindNode, FindValue, NetCoord, Nodes, Store, StoreKind, StoreRejection, Value } from '../wire/messages.js';
import { ID_LENGTH } from './distance.js';
import { ENDPOINT_RECORDS, RELAY_INFOS, storeRejectionFor } from './signed-values.js';
import type { RoutingTable } from './routing-table.js';

/** The part of ProtectedStore (src/storage) the DHT uses. */
export interface DhtStorage {
  put(from: NodeId, key: Key, value: Uint8Array, opts: { verifyContent: boolean; trusted?: boolean }): StoreRejection | null;
  get(key: Key): Uint8Array | undefined;
  has(key: Key): boolean;
  pressure(): number;
  readonly size: number;
  sweepExpired(): unknown;
}

export interface ServeContext {
  readonly table: RoutingTable;
  readonly storage: DhtStorage;
  /** Contacts per Nodes / Value reply (the current k). */
  readonly k: number;
  /**
   * Tiering on: our coordinate and what we know of others', added to every reply (`coord`, and
   * `coords` for the contacts listed). Absent: replies carry no coordinates.
   */
  readonly coordinates?: {
    readonly own: NetCoord;
    coordsFor(contacts: readonly Contact[]): (NetCoord | null)[];
  };
}

export type { StoreKind };

/** The k contacts we know closest to `target`, leaving out the requester itself. */
export function closestExcluding(table: RoutingTable, target: Uint8Array, k: number, exclude: NodeId): Contact[] {
  return table.closest(target, k, exclude);
}

export function serveFindNode(ctx: ServeContext, msg: FindNode): Nodes {
  const nodes = msg.target.length === ID_LENGTH ? closestExcluding(ctx.table, msg.target, ctx.k, msg.from.id) : [];
  const co = ctx.coordinates;
  return co ? { type: 'Nodes', nodes, coord: co.own, coords: co.coordsFor(nodes) } : { type: 'Nodes', nodes };
}

export function serveFindValue(ctx: ServeContext, msg: FindValue): Value {
  const value = msg.key.length === ID_LENGTH ? ctx.storage.get(msg.key) : undefined;
  const co = ctx.coordinates;
  if (value !== undefined) return co ? { type: 'Value', value, closer: [], coord: co.own } : { type: 'Value', value, closer: [] };
  const closer = closestExcluding(ctx.table, msg.key, ctx.k, msg.from.id);
  return co
    ? { type: 'Value', value: null, closer, coord: co.own, coords: co.coordsFor(closer) }
    : { type: 'Value', value: null, closer };
}

export function serveStore(ctx: ServeContext, msg: Store): Ack {
  const rejection = acceptStore(ctx.storage, msg.from.id, msg.key, msg.value, msg.kind);
  return ctx.coordinates ? { type: 'Ack', rejection, coord: ctx.coordinates.own } : { type: 'Ack', rejection };
}

/**
 * Whether to keep `value` under `key` on behalf of `from`, storing it when yes. Content values must
 * hash to their key (checked by the store); records and RelayInfo values must pass
 * their kind's check (signed-values.ts). The store adds its own limits (size, per-peer quota and rate, pressure);
 * `trusted` (our own data) skips the per-peer ones.
 */
export function acceptStore(
  storage: DhtStorage,
  from: NodeId,
  key: Key,
  value: Uint8Array,
  kind: StoreKind,
  trusted = false,
): StoreRejection | null {
  if (key.length !== ID_LENGTH) return 'InvalidKey';
  if (kind === 'content') return storage.put(from, key, value, { verifyContent: true, trusted });
  const held = storage.get(key);
  const check = kind === 'relay-info' ? RELAY_INFOS.check(key, value, held) : ENDPOINT_RECORDS.check(key, value, held);
  if (!check.ok) return storeRejectionFor(check.reason);
  if (check.unchanged) return null;
  return storage.put(from, key, value, { verifyContent: false, trusted });
}
