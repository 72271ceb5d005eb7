/**
 * The codec of a signed record a peer stores in the DHT (endpoint records, relay infos): one
 * layout, one signature rule, one set of limits.
 *
 *   encoding:      [version u8][body][signature 64]
 *   signed bytes:  domain || version || body — the domain separates record kinds, so one kind's
 *                  signature cannot be replayed as another's
 *
 * The body is a wire struct; the author (whose Ed25519 key signs) is read from it. Encoding and
 * signing refuse a record over `maxSize`, decoding refuses more bytes than that, and every
 * failure is a DecodeError naming the field under the record's root (e.g. `RelayInfo.signature`).
 */
import type { Identity } from '../core/types.js';
import { DecodeError } from '../errors.js';
import { toDecodeError } from '../wire/fault.js';
import { signature64, type StructCodec } from '../wire/fields.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { verifySignature, type Keypair } from './keypair.js';

const SIGNATURE_BYTES = 64;

export interface SignedRecordSpec<R extends { signature: Uint8Array }> {
  /** Names the record in errors. */
  root: string;
  version: number;
  /** Signature domain, e.g. "quicmesh/endpoint-record/v1". */
  domain: Uint8Array;
  body: StructCodec<Omit<R, 'signature'>>;
  /** Largest encoding, bytes. */
  maxSize: number;
  /** The public key that signs the record. */
  author(body: Omit<R, 'signature'>): Identity;
}

export interface SignedRecordCodec<R extends { signature: Uint8Array }> {
  /** Sign `body` with `keypair` (which must be its author). Throws DecodeError naming the field on a bad one. */
  sign(keypair: Keypair, body: Omit<R, 'signature'>): R;
  /** True when well-formed and signed by its own author. Never throws. */
  verify(record: R): boolean;
  /** The canonical encoding. Throws DecodeError on an invalid record. */
  encode(record: R): Uint8Array;
  /** Strict decoding; throws only DecodeError. Does not check the signature (see verify). */
  decode(bytes: Uint8Array): R;
}

export function signedRecordCodec<R extends { signature: Uint8Array }>(spec: SignedRecordSpec<R>): SignedRecordCodec<R> {
  const { root, version, domain, body, maxSize } = spec;

  /** version || body, validated. */
  const writeBody = (w: Writer, record: Omit<R, 'signature'>): void => {
    w.u8(version);
    try {
      body.write(w, record);
    } catch (e) {
      throw toDecodeError(e, root);
    }
  };

  const signedBytes = (record: Omit<R, 'signature'>): Uint8Array => {
    const w = new Writer(256);
    w.bytes(domain);
    writeBody(w, record);
    if (w.length - domain.length + SIGNATURE_BYTES > maxSize) throw new DecodeError(root, `encoded size exceeds ${maxSize} bytes`);
    return w.finish();
  };

  return {
    sign(keypair, unsigned) {
      return { ...unsigned, signature: keypair.sign(signedBytes(unsigned)) } as R;
    },

    verify(record) {
      try {
        return record.signature instanceof Uint8Array && verifySignature(spec.author(record), signedBytes(record), record.signature);
      } catch {
        return false;
      }
    },

    encode(record) {
      const w = new Writer(256);
      writeBody(w, record);
      try {
        signature64.write(w, record.signature);
      } catch (e) {
        throw toDecodeError(e, `${root}.signature`);
      }
      if (w.length > maxSize) throw new DecodeError(root, `encoded size ${w.length} exceeds ${maxSize} bytes`);
      return w.finish();
    },

    decode(bytes) {
      if (!(bytes instanceof Uint8Array)) throw new DecodeError(root, 'expected bytes');
      if (bytes.length > maxSize) throw new DecodeError(root, `${bytes.length} bytes exceeds ${maxSize}`);
      const r = new Reader(bytes);
      const out: Record<string, unknown> = {};
      try {
        const v = r.u8();
        if (v !== version) throw new DecodeError(`${root}.version`, `unsupported version ${v}`);
        body.readInto(r, out);
      } catch (e) {
        throw toDecodeError(e, root);
      }
      try {
        out.signature = signature64.read(r);
      } catch (e) {
        throw toDecodeError(e, `${root}.signature`);
      }
      if (r.remaining > 0) throw new DecodeError(root, `${r.remaining} trailing bytes`);
      return out as unknown as R;
    },
  };
}
