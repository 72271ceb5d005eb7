/**
 * "host:port" helpers for the NAT and connection cores: split an address into host and port,
 * compare hosts, tell IPv4 from IPv6. Pure string work (no DNS, no sockets); bad input gets a
 * ConfigError naming the address.
 */
import { ConfigError } from '../errors.js';
import { isHostPort } from '../wire/limits.js';

export interface AddrParts {
  host: string;
  port: number;
}

/** Split "host:port" / "[v6]:port"; throws ConfigError on anything else. */
export function splitAddr(addr: string): AddrParts {
  if (typeof addr !== 'string' || !isHostPort(addr)) {
    throw new ConfigError(`bad address ${JSON.stringify(addr)}: expected host:port ([v6]:port for IPv6)`);
  }
  const colon = addr.lastIndexOf(':');
  const rawHost = addr.slice(0, colon);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { host, port: Number(addr.slice(colon + 1)) };
}

export function joinAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part of an address ("10.0.0.1:4433" → "10.0.0.1"). */
export function hostOf(addr: string): string {
  return splitAddr(addr).host;
}

export function sameHost(a: string, b: string): boolean {
  return hostOf(a).toLowerCase() === hostOf(b).toLowerCase();
}

/** 4 or 6 for IP literals (by syntax), 0 for names. Candidates pair only within one family. */
export function addrFamily(addr: string): 0 | 4 | 6 {
  const host = hostOf(addr);
  if (host.includes(':')) return 6;
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) ? 4 : 0;
}

/** De-duplicate addresses, keeping the first occurrence's position. */
export function uniqueAddrs(addrs: Iterable<string>): string[] {
  return [...new Set(addrs)];
}
