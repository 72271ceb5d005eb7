/**
 * Names of everything the netns backend creates. Namespaces are `qm-<lab>_<kind>_<name>`: lab names
 * may not contain "_", so the prefix `qm-<lab>_` belongs to exactly one lab and a sweep by prefix is
 * safe. Root-namespace interfaces (management network only) are `qm<tag>…`, tag = 6 hex digits of the
 * lab name's hash, to stay within the kernel's 15-character limit.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../src/errors.js';

const LAB_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,39}$/;

export function checkLabName(lab: string): void {
  if (!LAB_NAME.test(lab)) {
    throw new ConfigError(
      `lab name "${lab}" is not usable: 1-40 characters, letters, digits, "." and "-" (no "_", no "/")`,
    );
  }
}

export type NsKind = 'n' | 'r' | 'h';

export function nsPrefix(lab: string): string {
  return `qm-${lab}_`;
}

/** kind: n = a network's switch, r = router, h = host. */
export function nsName(lab: string, kind: NsKind, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new ConfigError(`name "${name}" cannot be used in a namespace name`);
  return `${nsPrefix(lab)}${kind}_${name}`;
}

export function labTag(lab: string): string {
  return createHash('sha256').update(lab).digest('hex').slice(0, 6);
}

/** Prefix of every root-namespace interface of the lab. */
export function rootIfPrefix(lab: string): string {
  return `qm${labTag(lab)}`;
}

export function mgmtBridgeName(lab: string): string {
  return `${rootIfPrefix(lab)}br`;
}

export function mgmtVethName(lab: string, index: number): string {
  const name = `${rootIfPrefix(lab)}m${index}`;
  if (name.length > 15) throw new ConfigError(`too many hosts for the management network (index ${index})`);
  return name;
}

/** Interface names inside namespaces: fixed and short, since each namespace has its own. */
export const IF = { host: 'eth0', wan: 'wan0', lan: 'lan0', mgmt: 'mgmt0', bridge: 'br0' } as const;

/** The port metrics and /status listen on, on each node's management address. */
export const METRICS_PORT = 9464;
