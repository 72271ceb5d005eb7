/**
 * Internal error for codec field failures. It carries the path relative to where it was raised;
 * composite codecs prefix their field name as it propagates, and the codec entry points turn it
 * into a DecodeError naming the full path (e.g. `Nodes.nodes[3].addr`). Paths are only built on
 * failure, so the happy path allocates no strings.
 */
import { DecodeError } from '../errors.js';

export class WireFault extends Error {
  constructor(
    public path: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Prefix a fault's path with `name` (a field name, or `[i]` for list elements). */
export function prefixFault(e: unknown, name: string): unknown {
  if (e instanceof WireFault) {
    e.path = e.path === '' ? name : e.path.startsWith('[') ? name + e.path : `${name}.${e.path}`;
  }
  return e;
}

/** Turn a fault into the public DecodeError under `root`; anything else becomes an internal DecodeError. */
export function toDecodeError(e: unknown, root: string): DecodeError {
  if (e instanceof DecodeError) return e;
  if (e instanceof WireFault) {
    const path = e.path === '' ? root : e.path.startsWith('[') ? root + e.path : `${root}.${e.path}`;
    return new DecodeError(path, e.detail);
  }
  return new DecodeError(root, `internal codec failure: ${e instanceof Error ? e.message : String(e)}`);
}
