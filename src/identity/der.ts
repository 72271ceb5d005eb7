/**
 * A tiny DER (ASN.1 Distinguished Encoding Rules) encoder and reader: just enough to build and
 * parse our self-signed Ed25519 certificates without an X.509 library. Only definite lengths,
 * single-byte tags and the universal types we use are supported.
 */
import { DecodeError } from '../errors.js';

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  BOOLEAN: 0x01,
} as const;

// --- encoding ------------------------------------------------------------------------------

function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV: tag, length, contents (the contents may be several concatenated TLVs). */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of contents) len += c.length;
  const lenBytes = encodeLength(len);
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let off = 1 + lenBytes.length;
  for (const c of contents) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export const seq = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...items);
/** Context-specific constructed tag [n] (EXPLICIT tagging). */
export const explicit = (n: number, ...items: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...items);
export const octets = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const utf8 = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(s));
export const bool = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0));
/** BIT STRING with zero unused bits. */
export const bits = (b: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), b);

/** Non-negative INTEGER from big-endian magnitude bytes (adds a 0x00 when the top bit is set). */
export function uint(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const m = magnitude.subarray(start);
  if (m.length === 0) return tlv(TAG.INTEGER, Uint8Array.of(0));
  return (m[0]! & 0x80) !== 0 ? tlv(TAG.INTEGER, Uint8Array.of(0), m) : tlv(TAG.INTEGER, m);
}

/** OBJECT IDENTIFIER from dotted form, e.g. "1.3.101.112". */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    body.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(body));
}

/** UTCTime (years 1950–2049) or GeneralizedTime otherwise, as RFC 5280 requires. */
export function time(date: Date): Uint8Array {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = date.getUTCFullYear();
  const rest =
    p(date.getUTCMonth() + 1) + p(date.getUTCDate()) + p(date.getUTCHours()) + p(date.getUTCMinutes()) + p(date.getUTCSeconds()) + 'Z';
  const enc = new TextEncoder();
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, enc.encode(p(y % 100) + rest));
  return tlv(TAG.GENERALIZED_TIME, enc.encode(p(y, 4) + rest));
}

// --- reading -------------------------------------------------------------------------------

/** One decoded TLV: `contents` views the value bytes, `raw` the whole element. */
export interface DerElement {
  tag: number;
  contents: Uint8Array;
  raw: Uint8Array;
}

/** Read the TLV at `offset` of `buf`; `field` names it in errors. */
export function readElement(buf: Uint8Array, offset: number, field: string): DerElement {
  if (offset + 2 > buf.length) throw new DecodeError(field, 'truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(field, 'multi-byte DER tags are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len === 0x80) throw new DecodeError(field, 'indefinite DER length is not allowed');
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new DecodeError(field, `DER length of ${n} bytes is too large`);
    if (pos + n > buf.length) throw new DecodeError(field, 'truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > buf.length) throw new DecodeError(field, `DER element of ${len} bytes overruns its container`);
  return { tag, contents: buf.subarray(pos, pos + len), raw: buf.subarray(offset, pos + len) };
}

/** Read an element and require its tag. */
export function expect(buf: Uint8Array, offset: number, tag: number, field: string): DerElement {
  const el = readElement(buf, offset, field);
  if (el.tag !== tag) {
    throw new DecodeError(field, `expected DER tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  }
  return el;
}

/** Split the contents of a constructed element into its children. */
export function children(el: DerElement, field: string): DerElement[] {
  const out: DerElement[] = [];
  let off = 0;
  while (off < el.contents.length) {
    const child = readElement(el.contents, off, `${field}[${out.length}]`);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}
