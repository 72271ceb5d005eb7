/** Shared identifier types. All ids are raw bytes; use `toHex` for map keys and logs. */

/** 32-byte node identifier: BLAKE3 of the node's Ed25519 public key. */
export type NodeId = Uint8Array;
/** 32-byte content key: BLAKE3 of a stored value (or a derived record key). */
export type Key = Uint8Array;
/** 32-byte Ed25519 public key: a peer's address in the spec's sense. */
export type Identity = Uint8Array;

/** A peer as the DHT knows it: its id and the address it can be dialed at ("host:port"). */
export interface Contact {
  id: NodeId;
  addr: string;
}

/** Bytes in a NodeId or Key (256 bits). */
export const ID_BYTES = 32;
