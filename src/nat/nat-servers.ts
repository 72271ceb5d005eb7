/**
 * The --nat-detect value: the NAT test servers a node measures its NAT against, written
 * "HOST:PORT[/ALTPORT],HOST:PORT...". Pure parsing; the detection itself runs in
 * src/traversal/nat-service.ts.
 */
import { ConfigError } from '../errors.js';
import { joinAddr, splitAddr } from './addr.js';
import type { NatServer } from './nat-detection.js';

/**
 * Parse "HOST:PORT[/ALTPORT],HOST:PORT..." (the --nat-detect value). The first server's second
 * port defaults to PORT + 1 (the server default); later servers are only asked WhatIsMyAddr.
 */
export function parseNatServers(value: string, flag = '--nat-detect'): NatServer[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new ConfigError(`${flag}: expected HOST:PORT[,HOST:PORT], got "${value}"`);
  return parts.map((part, i) => {
    const slash = part.lastIndexOf('/');
    const addr = slash >= 0 ? part.slice(0, slash) : part;
    let hp: { host: string; port: number };
    try {
      hp = splitAddr(addr);
    } catch (e) {
      throw new ConfigError(`${flag}: ${(e as Error).message}`);
    }
    if (hp.port < 1) throw new ConfigError(`${flag}: port must be within 1-65535 in "${part}"`);
    if (slash >= 0) {
      const alt = part.slice(slash + 1);
      if (!/^\d{1,5}$/.test(alt) || Number(alt) < 1 || Number(alt) > 65535) {
        throw new ConfigError(`${flag}: the alternate port after "/" must be within 1-65535, got "${alt}"`);
      }
      return { addr, altPortAddr: joinAddr(hp.host, Number(alt)) };
    }
    if (i === 0 && hp.port < 65535) return { addr, altPortAddr: joinAddr(hp.host, hp.port + 1) };
    return { addr };
  });
}
