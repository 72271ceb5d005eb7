/**
 * A connection's own connection IDs beyond the first: the spare ones the peer needs for every
 * extra path (probing, migration, its NAT rebinding), and the ones it has retired.
 */
import type { Connection } from '@matrixai/quic/native/index.js';
import type { Rng } from '../../core/rng.js';
import { CID_LEN } from './config.js';

/** Give the peer as many spare connection IDs as quiche takes; `route` hears each one issued. */
export function issueSpareCids(native: Connection, rng: Rng, route: (cid: Uint8Array) => void): void {
  const left = native.sourceCidsLeft();
  if (left <= 0) return;
  const random = rng.bytes(left * (CID_LEN + 16)); // one draw for all
  for (let i = 0; i < left; i++) {
    const base = i * (CID_LEN + 16);
    const cid = random.slice(base, base + CID_LEN);
    let token = 0n; // stateless reset token (we never send resets, but the peer needs one)
    for (const b of random.subarray(base + CID_LEN, base + CID_LEN + 16)) token = (token << 8n) | BigInt(b);
    try {
      native.newSourceCid(cid, token, false);
    } catch {
      return;
    }
    route(cid);
  }
}

/** The connection IDs of ours the peer retired since the last call. */
export function* retiredCids(native: Connection): Generator<Uint8Array> {
  for (let cid = native.retiredScidNext(); cid; cid = native.retiredScidNext()) yield cid;
}
