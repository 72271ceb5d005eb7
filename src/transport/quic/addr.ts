/** "host:port" strings ↔ {host, port}, with IPv6 in brackets ("[::1]:4433"). */
import { isIP } from 'node:net';
import { ConfigError } from '../../errors.js';

/** A parsed "host:port" address. */
export interface HostPort {
  host: string;
  port: number;
}

/** Parse "host:port" or "[v6]:port"; throws ConfigError naming the bad address. */
export function parseAddr(addr: string): HostPort {
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':') throw new ConfigError(`bad address "${addr}": expected [v6]:port`);
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon <= 0) throw new ConfigError(`bad address "${addr}": expected host:port`);
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(':')) throw new ConfigError(`bad address "${addr}": IPv6 hosts go in brackets`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new ConfigError(`bad address "${addr}": port must be 1-65535`);
  }
  return { host, port };
}

export function formatAddr(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
