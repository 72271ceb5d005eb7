/**
 * `nat reset ROUTER`, on every backend: the router reboots as far as NAT goes — every conntrack entry and
 * every element of its NAT table's sets and maps (mappings, held ports, pinholes, permissions; see
 * cli/nat/rules.ts) forgotten at once. "At once": for the few milliseconds it takes, a table of its own
 * drops every packet before conntrack sees it (as a rebooting router forwards nothing), so no packet can
 * re-create an entry between the conntrack flush and the set flush; one nft transaction then flushes the
 * sets and removes the blocker. The count of conntrack entries is taken just before. The rules themselves, addresses and routes stay, as after a reboot.
 */
import { ConfigError } from '../../../src/errors.js';
import { NAT_TABLE } from '../../nat/rules.js';
import { checkLabName } from '../names.js';
import { nsArgv, requireRoot, requireTools, run, tryRun } from '../exec.js';
import type { NatResetResult } from '../runtime.js';
import { mustState, withLabLock } from '../state.js';

/** The blocker's table: a prerouting chain before conntrack (priority raw − 100) that drops everything. */
export const RESET_TABLE = 'qm_reset';

export const BLOCK_SCRIPT = [
  `table ip ${RESET_TABLE} {`,
  '\tchain prerouting { type filter hook prerouting priority raw - 100; policy drop; }',
  '\tchain output { type filter hook output priority raw - 100; policy drop; }',
  '}',
  '',
].join('\n');

interface NftItem {
  set?: { name: string; elem?: unknown[] };
  map?: { name: string; elem?: unknown[] };
}

/** Block, flush conntrack, then flush the sets and unblock in one transaction ($1: the block, $2: the flush). */
export const RESET_SHELL = 'printf "%s" "$1" | nft -f - && conntrack -F 2>/dev/null && printf "%s" "$2" | nft -f -';

/** The sets and maps of the NAT table and how many elements each holds, from `nft -j list table`. */
export function natTableSets(json: string): Array<{ kind: 'set' | 'map'; name: string; elements: number }> {
  const doc = JSON.parse(json) as { nftables?: NftItem[] };
  const out: Array<{ kind: 'set' | 'map'; name: string; elements: number }> = [];
  for (const item of doc.nftables ?? []) {
    if (item.set) out.push({ kind: 'set', name: item.set.name, elements: item.set.elem?.length ?? 0 });
    else if (item.map) out.push({ kind: 'map', name: item.map.name, elements: item.map.elem?.length ?? 0 });
  }
  return out;
}

/** The transaction that empties every set and map of the NAT table and lifts the blocker. */
export function flushScript(sets: ReadonlyArray<{ kind: 'set' | 'map'; name: string }>): string {
  return [
    ...sets.map((s) => `flush ${s.kind} ip ${NAT_TABLE} ${s.name}`),
    `delete table ip ${RESET_TABLE}`,
    '',
  ].join('\n');
}

/** `conntrack -C` prints the number of entries. */
export function countOf(stdout: string): number {
  const n = Number(stdout.trim());
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export async function resetNat(lab: string, routerName: string): Promise<NatResetResult> {
  const t0 = performance.now();
  requireRoot();
  checkLabName(lab);
  requireTools(['conntrack', 'nft']);
  const state = mustState(lab);
  if (state.phase !== 'up') throw new ConfigError(`lab ${lab} is not up (phase: ${state.phase})`);
  const router = state.nodes.find((n) => n.name === routerName);
  if (!router || router.kind !== 'router') {
    const routers = state.nodes.filter((n) => n.kind === 'router').map((n) => n.name);
    throw new ConfigError(
      `lab ${lab} has no router "${routerName}" (routers: ${routers.join(', ') || 'none'})`,
    );
  }
  const ns = router.namespace;
  return withLabLock(
    lab,
    `nat-${routerName}`,
    async () => {
      const sets = natTableSets(
        (await run(nsArgv(ns, ['nft', '-j', 'list', 'table', 'ip', NAT_TABLE]))).stdout,
      );
      const conntrack = countOf((await run(nsArgv(ns, ['conntrack', '-C']))).stdout);
      try {
        // one shell in the namespace: the router forwards nothing only for as long as conntrack -F and
        // one nft transaction take, not for the start-up of three processes from here
        await run(nsArgv(ns, ['sh', '-c', RESET_SHELL, 'sh', BLOCK_SCRIPT, flushScript(sets)]));
      } finally {
        await tryRun(nsArgv(ns, ['nft', 'delete', 'table', 'ip', RESET_TABLE]));
      }
      const elements = sets.reduce((a, s) => a + s.elements, 0);
      return { router: routerName, conntrack, elements, ms: Math.round(performance.now() - t0) };
    },
    { wait: 30_000 },
  );
}
