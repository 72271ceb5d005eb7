/**
 * IPv4 address and CIDR arithmetic for topology checks and address assignment.
 * Addresses are handled as unsigned 32-bit numbers; every function is pure.
 */

export interface Cidr {
  /** Network address (host bits zero), as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses "a.b.c.d"; null when it is not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Result of parsing a CIDR: the value, or a message saying what is wrong with it. */
export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; message: string };

export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0)
    return { ok: false, message: `"${text}" is not a CIDR: expected address/prefix, e.g. 10.0.1.0/24` };
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === null)
    return {
      ok: false,
      message: `"${text}" is not a CIDR: "${text.slice(0, slash)}" is not an IPv4 address`,
    };
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    return { ok: false, message: `"${text}" is not a CIDR: prefix "${prefixText}" is not 0..32` };
  }
  const prefix = Number(prefixText);
  const base = (address & maskOf(prefix)) >>> 0;
  if (base !== address) {
    return {
      ok: false,
      message: `"${text}" has host bits set; did you mean ${formatIpv4(base)}/${prefix}?`,
    };
  }
  return { ok: true, cidr: { base, prefix } };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/** True when the two ranges share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + cidrSize(a) - 1;
  const bEnd = b.base + cidrSize(b) - 1;
  return a.base <= bEnd && b.base <= aEnd;
}

/** True when `inner` lies entirely within `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && (inner.base & maskOf(outer.prefix)) >>> 0 === outer.base;
}

/** Usable host addresses (network and broadcast excluded); 0 for /31 and /32, which the lab does not use. */
export function usableHosts(cidr: Cidr): number {
  return cidr.prefix >= 31 ? 0 : cidrSize(cidr) - 2;
}

/** The n-th usable host address, 1-based (.1 is host 1 of a /24). */
export function hostAddress(cidr: Cidr, n: number): string {
  if (n < 1 || n > usableHosts(cidr)) throw new RangeError(`host ${n} is outside ${formatCidr(cidr)}`);
  return formatIpv4(cidr.base + n);
}

/** The carrier-grade NAT shared address space (RFC 6598). */
export const CGNAT_SPACE: Cidr = { base: parseIpv4('100.64.0.0') as number, prefix: 10 };
