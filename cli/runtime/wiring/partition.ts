/**
 * `partition` and `heal`, on every backend: plan/partition-plan.ts decides which host drops which
 * addresses; here each host namespace gets (or loses) its `netdev qm_partition` table, bound to its data
 * interface. The drops sit at the interface's ingress and egress, so a dropped packet vanishes as it would
 * on a cut cable: a send still succeeds for the node (an nft drop in the output hook would fail its
 * sendmsg with EPERM instead). Partitions are recorded in the state; several may hold at once (their drop
 * lists add up); `heal` removes them all; `down` needs nothing extra, the tables live in lab namespaces.
 */
import { ConfigError } from '../../../src/errors.js';
import { IF, checkLabName } from '../names.js';
import { nsArgv, requireRoot, requireTools, run } from '../exec.js';
import { mergeRules, partitionScript, planPartition } from '../plan/partition-plan.js';
import type { HealResult, PartitionResult } from '../runtime.js';
import { type LabState, type PartitionRecord, fileStore, mustState, withLabLock } from '../state.js';

function upLab(lab: string): LabState {
  requireRoot();
  checkLabName(lab);
  requireTools(['nft']);
  const state = mustState(lab);
  if (state.phase !== 'up') throw new ConfigError(`lab ${lab} is not up (phase: ${state.phase})`);
  return state;
}

/** Install the union of `partitions`' drop lists in every namespace they, or `previous`, touch. */
async function install(
  partitions: readonly PartitionRecord[],
  previous: readonly PartitionRecord[],
): Promise<number> {
  const rules = mergeRules(partitions);
  const touched = new Set([...rules, ...mergeRules(previous)].map((r) => r.namespace));
  await Promise.all(
    [...touched].map((ns) =>
      run(nsArgv(ns, ['nft', '-f', '-']), {
        input: partitionScript(IF.host, rules.find((r) => r.namespace === ns)?.drop ?? []),
      }),
    ),
  );
  return touched.size;
}

/**
 * Run `fn` on the lab's state under its partition lock (one partition or heal at a time); the lab is
 * checked before waiting for the lock, and again once it is held.
 */
function withPartitions<T>(lab: string, fn: (state: LabState) => Promise<T>): Promise<T> {
  upLab(lab);
  return withLabLock(lab, 'partition', () => fn(upLab(lab)), { wait: 30_000 });
}

export async function partition(lab: string, sideA: string[], sideB: string[]): Promise<PartitionResult> {
  const t0 = performance.now();
  return withPartitions(lab, async (state) => {
    const plan = planPartition(state.nodes, sideA, sideB);
    const existing = state.partitions ?? [];
    const record: PartitionRecord = {
      id: Math.max(0, ...existing.map((p) => p.id)) + 1,
      sides: plan.sides,
      rules: plan.rules,
    };
    await install([...existing, record], existing);
    await fileStore.update(lab, (st) => {
      st.partitions = [...(st.partitions ?? []), record];
    });
    return {
      id: record.id,
      sides: plan.sides,
      machines: plan.rules.length,
      ms: Math.round(performance.now() - t0),
    };
  });
}

export async function heal(lab: string): Promise<HealResult> {
  const t0 = performance.now();
  return withPartitions(lab, async (state) => {
    const existing = state.partitions ?? [];
    const machines = existing.length ? await install([], existing) : 0;
    await fileStore.update(lab, (st) => {
      st.partitions = [];
    });
    return { partitions: existing.length, machines, ms: Math.round(performance.now() - t0) };
  });
}
