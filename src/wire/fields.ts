/**
 * Field codecs: small composable encoders/decoders for the building blocks of messages (fixed ids,
 * length-prefixed bytes and lists, bounded strings, strict booleans and enums, nullable values,
 * structs). Each validates on write as strictly as on read, so anything we send we would accept.
 * Failures throw WireFault with a path relative to the codec; structs and lists prefix it.
 */
import type { Contact } from '../core/types.js';
import type { NetCoord } from './messages.js';
import { WireFault, prefixFault } from './fault.js';
import { isHostPort, MAX_ADDR_BYTES, MAX_COORD_ERROR, MAX_COORD_MS } from './limits.js';
import type { Reader } from './reader.js';
import { utf8Length, type Writer } from './writer.js';

export interface FieldCodec<T> {
  write(w: Writer, v: T): void;
  read(r: Reader): T;
}

function fail(detail: string): never {
  throw new WireFault('', detail);
}

function checkLength(len: number, min: number, max: number, unit: string): void {
  if (len > max) fail(`${len} ${unit} exceeds the limit of ${max}`);
  if (len < min) fail(`${len} ${unit} is below the minimum of ${min}`);
}

function asBytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`expected bytes, got ${describe(v)}`);
  return v;
}

// String.prototype.isWellFormed is in Node 20 but not in the ES2023 lib typings.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v;
}

/** Exactly `n` bytes, no length prefix (ids, keys, signatures). */
export function fixedBytes(n: number): FieldCodec<Uint8Array> {
  return {
    write(w, v) {
      const b = asBytes(v);
      if (b.length !== n) fail(`must be ${n} bytes, got ${b.length}`);
      w.bytes(b);
    },
    read(r) {
      return r.bytes(n);
    },
  };
}

/** Varint-length-prefixed bytes with `min..max` length. */
export function bytes(min: number, max: number): FieldCodec<Uint8Array> {
  return {
    write(w, v) {
      const b = asBytes(v);
      checkLength(b.length, min, max, 'bytes');
      w.varint(b.length);
      w.bytes(b);
    },
    read(r) {
      const len = r.varint();
      checkLength(len, min, max, 'bytes');
      return r.bytes(len);
    },
  };
}

/** Varint-length-prefixed UTF-8 of `min..max` bytes, optionally checked by `valid`. */
export function string(
  min: number,
  max: number,
  valid?: (s: string) => boolean,
  what?: string,
): FieldCodec<string> {
  const check = (s: string): void => {
    if (valid && !valid(s)) fail(`${JSON.stringify(s)} is not ${what ?? 'valid'}`);
  };
  return {
    write(w, v) {
      if (typeof v !== 'string') fail(`expected a string, got ${describe(v)}`);
      if (!isWellFormed(v)) fail('string has lone surrogates (not encodable as UTF-8)');
      checkLength(utf8Length(v), min, max, 'bytes');
      check(v);
      w.utf8(v);
    },
    read(r) {
      const len = r.varint();
      checkLength(len, min, max, 'bytes');
      const s = r.utf8(len);
      check(s);
      return s;
    },
  };
}

/** A "host:port" address. */
export const addr: FieldCodec<string> = string(1, MAX_ADDR_BYTES, isHostPort, 'host:port');

/** Varint-count-prefixed list of at most `max` items. */
export function list<T>(item: FieldCodec<T>, max: number): FieldCodec<T[]> {
  return {
    write(w, v) {
      if (!Array.isArray(v)) fail(`expected a list, got ${describe(v)}`);
      checkLength(v.length, 0, max, 'items');
      w.varint(v.length);
      for (let i = 0; i < v.length; i++) {
        try {
          item.write(w, v[i] as T);
        } catch (e) {
          throw prefixFault(e, `[${i}]`);
        }
      }
    },
    read(r) {
      const n = r.varint();
      checkLength(n, 0, max, 'items');
      const out: T[] = new Array<T>(n);
      for (let i = 0; i < n; i++) {
        try {
          out[i] = item.read(r);
        } catch (e) {
          throw prefixFault(e, `[${i}]`);
        }
      }
      return out;
    },
  };
}

/** Strictly 0 or 1. */
export const bool: FieldCodec<boolean> = {
  write(w, v) {
    if (typeof v !== 'boolean') fail(`expected a boolean, got ${describe(v)}`);
    w.u8(v ? 1 : 0);
  },
  read(r) {
    const b = r.u8();
    if (b > 1) fail(`boolean must be 0 or 1, got ${b}`);
    return b === 1;
  },
};

/** Unsigned 32-bit integer, big-endian. */
export const u32: FieldCodec<number> = {
  write(w, v) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      fail(`expected an integer in 0..2^32-1, got ${String(v)}`);
    }
    w.u32(v);
  },
  read(r) {
    return r.u32();
  },
};

/** Unsigned 64-bit bigint, big-endian. */
export const u64: FieldCodec<bigint> = {
  write(w, v) {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
      fail(`expected a bigint in 0..2^64-1, got ${describe(v)}`);
    }
    w.u64(v);
  },
  read(r) {
    return r.u64();
  },
};

/** Unsigned 64-bit on the wire, a safe-integer number in memory (e.g. a millisecond timestamp). */
export const u64Number: FieldCodec<number> = {
  write(w, v) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      fail(`expected a non-negative safe integer, got ${String(v)}`);
    }
    w.u64(BigInt(v));
  },
  read(r) {
    const v = r.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${v} exceeds Number.MAX_SAFE_INTEGER`);
    return Number(v);
  },
};

/** One of `values`, as its index in a byte. Never reorder `values`; append only. */
export function enumeration<T extends string>(values: readonly T[]): FieldCodec<T> {
  const index = new Map<string, number>(values.map((v, i) => [v, i]));
  return {
    write(w, v) {
      const i = typeof v === 'string' ? index.get(v) : undefined;
      if (i === undefined) fail(`expected one of ${values.join('|')}, got ${JSON.stringify(v) ?? String(v)}`);
      w.u8(i);
    },
    read(r) {
      const i = r.u8();
      const v = values[i];
      if (v === undefined) fail(`unknown enum value ${i}`);
      return v;
    },
  };
}

/** A presence byte (0 = null, 1 = present) then the value. */
export function nullable<T>(inner: FieldCodec<T>): FieldCodec<T | null> {
  return {
    write(w, v) {
      if (v === null) {
        w.u8(0);
        return;
      }
      if (v === undefined) fail('expected a value or null, got undefined');
      w.u8(1);
      inner.write(w, v);
    },
    read(r) {
      const p = r.u8();
      if (p === 0) return null;
      if (p !== 1) fail(`presence byte must be 0 or 1, got ${p}`);
      return inner.read(r);
    },
  };
}

/**
 * Bounded float: a float32 on the wire, finite and within `min..max`. Encoding rounds to float32,
 * so only float32 values round-trip exactly; NaN, infinities and out-of-range values are refused.
 */
export function float32(min: number, max: number): FieldCodec<number> {
  const check = (v: number): void => {
    if (!Number.isFinite(v)) fail(`expected a finite number, got ${String(v)}`);
    if (v < min || v > max) fail(`${v} is outside ${min}..${max}`);
  };
  return {
    write(w, v) {
      if (typeof v !== 'number') fail(`expected a number, got ${describe(v)}`);
      check(Math.fround(v));
      w.f32(v);
    },
    read(r) {
      const v = r.f32();
      check(v);
      return v;
    },
  };
}

/**
 * Marks an optional field at the END of a message body: absent, it takes no bytes at all (so a
 * sender without it produces exactly the older encoding); present, it is `inner`'s encoding. On
 * read it is present iff bytes remain. Only for top-level message fields, after every required
 * one; a later optional field requires the earlier ones (else the encoding is ambiguous).
 */
export interface TrailingCodec<T> extends FieldCodec<T | undefined> {
  readonly trailing: true;
}

export function trailing<T>(inner: FieldCodec<T>): TrailingCodec<T> {
  return {
    trailing: true,
    write(w, v) {
      if (v !== undefined) inner.write(w, v);
    },
    read(r) {
      return r.remaining > 0 ? inner.read(r) : undefined;
    },
  };
}

function isTrailing(c: FieldCodec<unknown>): boolean {
  return (c as Partial<TrailingCodec<unknown>>).trailing === true;
}

export type StructFields<T> = { readonly [K in keyof T]-?: FieldCodec<T[K]> };

/** Codec of an object whose fields are written in the declared order. */
export interface StructCodec<T> extends FieldCodec<T> {
  /** Read the fields into `target` (lets callers fix the first key, e.g. `type`). */
  readInto(r: Reader, target: Record<string, unknown>): void;
}

export function struct<T>(fields: StructFields<T>, check?: (v: T) => void): StructCodec<T> {
  const entries = Object.entries(fields) as [string, FieldCodec<unknown>][];
  const firstTrailing = entries.findIndex(([, c]) => isTrailing(c));
  if (firstTrailing >= 0 && entries.slice(firstTrailing).some(([, c]) => !isTrailing(c))) {
    throw new Error('struct: trailing fields must come last');
  }
  const readInto = (r: Reader, target: Record<string, unknown>): void => {
    for (const [name, codec] of entries) {
      let v: unknown;
      try {
        v = codec.read(r);
      } catch (e) {
        throw prefixFault(e, name);
      }
      // An absent trailing field stays absent (no `key: undefined`), so decode(encode(m)) is m.
      if (v !== undefined) target[name] = v;
    }
    check?.(target as T);
  };
  return {
    write(w, v) {
      if (typeof v !== 'object' || v === null) fail(`expected an object, got ${describe(v)}`);
      const obj = v as Record<string, unknown>;
      let absent: string | undefined;
      for (const [name, codec] of entries) {
        const value = obj[name];
        if (isTrailing(codec)) {
          if (value === undefined) absent ??= name;
          else if (absent !== undefined) throw prefixFault(new WireFault('', `present, so ${absent} must be too`), name);
        }
        try {
          codec.write(w, value);
        } catch (e) {
          throw prefixFault(e, name);
        }
      }
      check?.(obj as T);
    },
    read(r) {
      const out: Record<string, unknown> = {};
      readInto(r, out);
      return out as T;
    },
    readInto,
  };
}

/** 32-byte NodeId / Key / Identity. */
export const id32 = fixedBytes(32);
/** 64-byte Ed25519 signature. */
export const signature64 = fixedBytes(64);
export const contact: StructCodec<Contact> = struct<Contact>({ id: id32, addr });

/** A Vivaldi coordinate: four bounded float32s. */
export const netCoord: StructCodec<NetCoord> = struct<NetCoord>({
  x: float32(-MAX_COORD_MS, MAX_COORD_MS),
  y: float32(-MAX_COORD_MS, MAX_COORD_MS),
  height: float32(0, MAX_COORD_MS),
  error: float32(0, MAX_COORD_ERROR),
});
