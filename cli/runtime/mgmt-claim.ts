/**
 * Claiming a management subnet 172.31.<k>.0/24 for a lab, on every backend: not claimed by a live lab, not
 * routed in the root namespace (Docker's networks and other labs' bridges are routed there). The claim is a
 * file created exclusively under the state root, so two concurrent `up`s never share k; a claim whose lab has
 * no state file any more is stale and reused.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { run } from './exec.js';
import { readState, stateRoot } from './state.js';

/** Indexes k of 172.31.k.0/24 that something routes in the root namespace; throws if the whole /16 is taken. */
export async function routedMgmtIndexes(): Promise<Set<number>> {
  const { stdout } = await run(['ip', '-4', 'route', 'show', 'table', 'all']);
  if (/(^|\s)(172\.(1[6-9]|2\d|3[01])\.0\.0\/12|172\.31\.0\.0\/16)/m.test(stdout)) {
    throw new ConfigError('172.31.0.0/16 is routed in the root namespace; the lab management network cannot use it');
  }
  return new Set([...stdout.matchAll(/172\.31\.(\d+)\.\d+/g)].map((m) => Number(m[1])));
}

/** Claim the lowest free k (skipping `skip` too: e.g. subnets an engine refused). */
export async function claimMgmtIndex(lab: string, skip: ReadonlySet<number> = new Set()): Promise<number> {
  const routed = await routedMgmtIndexes();
  const dir = join(stateRoot(), '.mgmt');
  mkdirSync(dir, { recursive: true });
  for (let k = 1; k <= 254; k++) {
    if (routed.has(k) || skip.has(k)) continue;
    const claim = join(dir, String(k));
    if (existsSync(claim)) {
      const owner = readFileSync(claim, 'utf8').trim();
      if (owner === lab || readState(owner)) continue;
      rmSync(claim, { force: true });
    }
    try {
      writeFileSync(claim, lab, { flag: 'wx' });
      return k;
    } catch {
      // claimed by a concurrent up: try the next one
    }
  }
  throw new ConfigError('no free management subnet in 172.31.0.0/16');
}

/** Drop the management-subnet claims of a lab (all of them, or only index k). */
export function releaseMgmtIndex(lab: string, k?: number): void {
  const dir = join(stateRoot(), '.mgmt');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (k !== undefined && name !== String(k)) continue;
    const claim = join(dir, name);
    try {
      if (readFileSync(claim, 'utf8').trim() === lab) rmSync(claim, { force: true });
    } catch {
      // removed meanwhile
    }
  }
}
