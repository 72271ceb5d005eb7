/**
 * Wiring a planned lab inside named network namespaces, the same on every backend: the networks' switches,
 * the veths joining machines to them, addresses and routes, the routers' NAT rules and sysctls. Batched:
 * one `ip -batch` in the root namespace per step and one per namespace, run in parallel across namespaces.
 */
import type { LabPlan } from '../plan/lab-plan.js';
import { mgmtLines } from '../plan/mgmt-plan.js';
import { nsArgv, run } from '../exec.js';

export async function rootBatch(lines: string[]): Promise<void> {
  if (lines.length) await run(['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

export async function nsBatches(map: Map<string, string[]>, only?: ReadonlySet<string>): Promise<void> {
  await Promise.all(
    [...map]
      .filter(([ns]) => !only || only.has(ns))
      .map(([ns, lines]) => run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' })),
  );
}

/** The switch namespaces, each with its bridge. */
export async function createSwitches(plan: LabPlan): Promise<void> {
  await rootBatch(plan.root.networks);
  await nsBatches(plan.inNs.networks);
}

/** Join the machines of one step to their switches and configure them (routers: NAT rules, then sysctls). */
export async function wireMachines(plan: LabPlan, kind: 'routers' | 'hosts'): Promise<void> {
  await rootBatch(plan.root[kind]);
  await nsBatches(plan.inNs[kind]);
  if (kind !== 'routers') return;
  await Promise.all(
    plan.routers.map(async (ns) => {
      const sysctls = Object.entries(plan.sysctls.get(ns) ?? {}).map(([k, v]) => `${k}=${v}`);
      // conntrack's sysctls appear once nf_conntrack is in use: load the rules first
      await run(nsArgv(ns, ['nft', '-f', '-']), { input: plan.nft.get(ns) ?? '' });
      if (sysctls.length) await run(nsArgv(ns, ['sysctl', '-q', '-w', ...sysctls]));
    }),
  );
}

/** The management network: the lab's bridge in the root namespace and a veth (mgmt0) into every host. */
export async function connectMgmtBridge(lab: string, mgmt: NonNullable<LabPlan['mgmt']>): Promise<void> {
  const lines = mgmtLines(lab, mgmt);
  await rootBatch(lines.root);
  await nsBatches(lines.inNs);
}
