/** Parsing of the node's HOST:PORT flags, with errors that name the flag. */
import { isIP } from 'node:net';
import { ConfigError } from '../../src/errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * "host:port" or "[v6]:port". `allowPortZero` is for listening flags (0 = pick a free port);
 * addresses to dial need a real port. `requireIp` for sockets that bind by address only (QUIC).
 */
export function parseHostPort(
  value: string,
  flag: string,
  opts: { allowPortZero?: boolean; requireIp?: boolean } = {},
): HostPort {
  const bad = (why: string): ConfigError =>
    new ConfigError(`${flag}: ${why}, got "${value}" (expected HOST:PORT, e.g. 127.0.0.1:4433 or [::1]:4433)`);
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0 || value[end + 1] !== ':') throw bad('an IPv6 host in brackets must be followed by :PORT');
    host = value.slice(1, end);
    portText = value.slice(end + 2);
    if (isIP(host) !== 6) throw bad('not an IPv6 address in brackets');
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw bad('missing port');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) throw bad('an IPv6 host must be written in brackets');
  }
  if (host === '') throw bad('missing host');
  if (opts.requireIp && isIP(host) === 0) throw bad('the host must be an IP address');
  if (!/^\d{1,5}$/.test(portText)) throw bad('the port must be a number');
  const port = Number(portText);
  const min = opts.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) throw bad(`the port must be within ${min}-65535`);
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
