/**
 * `move`, on every backend: executes a MovePlan (plan/move-plan.ts) on a running lab, then moves the
 * interface's shaping and records the node's new network in the state file. The node process and
 * mgmt0 are not touched. A failure before the switch-over drops the new pair; a failure after it
 * puts the host back on its old network and address (a fresh pair to the old switch), so a host is
 * never left half-attached. Everything made lives inside the lab's namespaces, so `down` (and its
 * prefix sweep, after a crash) removes it like the rest.
 */
import { join } from 'node:path';
import { ConfigError, QuicmeshError } from '../../../src/errors.js';
import {
  type LabState,
  type NetworkRecord,
  type ProcessRecord,
  labDir,
  readState,
  withLabLock,
  writeState,
} from '../state.js';
import type { MoveOptions, MoveResult, MoveStep } from '../runtime.js';
import { requireRoot, requireTools, run, tryRun } from '../exec.js';
import {
  TEMP_IF,
  attachLines,
  describeShape,
  nextPortName,
  planMove,
  renumberRestoreLines,
  resolveMove,
  type MovePlan,
} from '../plan/move-plan.js';
import { IF, checkLabName } from '../names.js';
import { applyShaping, clearFallbackRules, detectNetem, labShapingMode } from './shaping.js';
import type { ResolvedLink } from '../../topology/model.js';
import { stopRecorded } from './teardown.js';

const batch = (argv: string[], lines: string[]) =>
  lines.length ? run(argv, { input: lines.join('\n') + '\n' }) : Promise.resolve();
const rootBatch = (lines: string[]) => batch(['ip', '-batch', '-'], lines);
const nsBatch = (ns: string, lines: string[]) => batch(['ip', '-n', ns, '-batch', '-'], lines);

/** Interface names in a namespace ("p0@if4" → "p0"). */
async function linkNames(ns: string): Promise<string[]> {
  const { stdout } = await run(['ip', '-n', ns, '-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

/** One move at a time per lab: two would race for the same free address and the state file. */
function withMoveLock<T>(lab: string, fn: () => Promise<T>): Promise<T> {
  return withLabLock(lab, 'move', fn, { busy: `another move is running on lab ${lab}; try again when it is done` });
}


const shaperRole = (ns: string) => `shaper:${ns}:${IF.host}`;

/** Shaping bookkeeping of one move: processes stopped and started, to be written to the state at the end. */
interface ShapingChanges {
  stopped: Set<string>;
  started: ProcessRecord[];
}

/**
 * Drop the fallback shaping of the host's eth0. Its nft and iptables rules match the interface by
 * name, so they would catch the new eth0 too; netem and tbf went with the deleted interface.
 */
async function clearShaping(state: LabState, ns: string, changes: ShapingChanges): Promise<void> {
  if (labShapingMode(state) !== 'fallback') return;
  await clearFallbackRules(ns);
  const all = [...state.processes, ...changes.started];
  await stopRecorded(all.filter((p) => p.role === shaperRole(ns)));
  changes.stopped.add(shaperRole(ns));
  changes.started = changes.started.filter((p) => p.role !== shaperRole(ns));
}

async function shape(
  state: LabState,
  ns: string,
  link: ResolvedLink | null,
  changes: ShapingChanges,
): Promise<void> {
  if (!link) return;
  const mode = labShapingMode(state) ?? ((await detectNetem()) ? 'netem' : 'fallback');
  requireTools(mode === 'fallback' ? ['tc', 'iptables'] : ['tc']);
  const target = {
    namespace: ns,
    iface: IF.host,
    delayMs: link.delayMs,
    jitterMs: link.jitterMs,
    lossPct: link.lossPct,
    rateKbit: link.rateKbit,
  };
  await applyShaping([target], mode, join(labDir(state.lab), 'logs'), (p) => changes.started.push(p));
}

/** Attach the host afresh to its old network and address, from whatever state a failed switch-over left. */
async function restore(
  state: LabState,
  plan: MovePlan,
  from: NetworkRecord,
  changes: ShapingChanges,
): Promise<void> {
  await tryRun(['ip', '-n', plan.hostNs, '-force', '-batch', '-'], {
    input: `link del ${IF.host}\nlink del ${TEMP_IF}\n`,
  });
  await clearShaping(state, plan.hostNs, changes);
  const lines = attachLines(
    plan.hostNs,
    from,
    plan.from.address,
    nextPortName(await linkNames(from.namespace)),
  );
  await rootBatch(lines.root);
  await nsBatch(from.namespace, lines.switchLines);
  await nsBatch(plan.hostNs, [...lines.prepare, ...lines.switchOver]);
  await shape(state, plan.hostNs, plan.shaping.from, changes);
}

export async function moveHost(
  lab: string,
  nodeName: string,
  network: string,
  opts: MoveOptions = {},
): Promise<MoveResult> {
  requireRoot();
  requireTools(['ip']);
  checkLabName(lab);
  const t0 = performance.now();
  if (!readState(lab)) throw new ConfigError(`no lab named "${lab}" is up`);
  return withMoveLock(lab, async () => {
    const state = readState(lab);
    if (!state) throw new ConfigError(`no lab named "${lab}" is up`);
    const { from, to } = resolveMove(state, nodeName, network); // names first: only a known switch is listed
    const switchPorts = from.name === to.name ? [] : await linkNames(to.namespace); // a renumber needs no port
    const plan = planMove(state, { node: nodeName, network, address: opts.address, switchPorts });
    const hook = (step: MoveStep) => {
      if (opts.failAfterStep === step) throw new QuicmeshError(`injected failure after move step "${step}"`);
    };
    const changes: ShapingChanges = { stopped: new Set(), started: [] };

    if (plan.kind === 'move') {
      try {
        await rootBatch(plan.root);
        await nsBatch(plan.switchNs, plan.switchLines);
        await nsBatch(plan.hostNs, plan.prepare);
        hook('attach');
      } catch (err) {
        await tryRun(['ip', '-n', plan.hostNs, '-batch', '-'], { input: plan.abort.join('\n') + '\n' });
        throw failed(plan, err, 'its old attachment was not touched');
      }
    }
    try {
      await nsBatch(plan.hostNs, plan.commit);
      hook('commit');
      if (plan.kind === 'move') {
        if (plan.shaping.from) await clearShaping(state, plan.hostNs, changes);
        await shape(state, plan.hostNs, plan.shaping.to, changes);
      }
      hook('shaping');
    } catch (err) {
      try {
        if (plan.kind === 'move') await restore(state, plan, from, changes);
        else await nsBatch(plan.hostNs, renumberRestoreLines(plan, from));
      } catch (again) {
        record(lab, null, changes);
        throw new QuicmeshError(
          `move of ${plan.node} to ${plan.to.network} failed (${message(err)}) and putting it back on ${plan.from.network} failed too (${message(again)}); ` +
            `the host may be detached: \`quicmesh-lab down ${lab}\` still removes everything`,
          { cause: err },
        );
      }
      record(lab, null, changes);
      throw failed(plan, err, `it is back on ${plan.from.network} ${plan.from.address}`);
    }
    record(lab, plan, changes);
    return {
      node: plan.node,
      from: plan.from,
      to: plan.to,
      shaping: describeShape(plan.shaping.to),
      ms: Math.round((performance.now() - t0) * 10) / 10,
    };
  });
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function failed(plan: MovePlan, err: unknown, outcome: string): QuicmeshError {
  return new QuicmeshError(`move of ${plan.node} to ${plan.to.network} failed; ${outcome}: ${message(err)}`, {
    cause: err,
  });
}

/** Write the node's new attachment (plan null: unchanged) and the shaper processes to the lab's state, if it is still there. */
function record(lab: string, plan: MovePlan | null, changes: ShapingChanges): void {
  const state = readState(lab);
  if (!state) return;
  state.processes = [...state.processes.filter((p) => !changes.stopped.has(p.role)), ...changes.started];
  const node = plan && state.nodes.find((n) => n.name === plan.node);
  if (node && plan) Object.assign(node, plan.record);
  // a new cable: a cut of the node's old one (`link down NET --node N`) does not follow it
  if (plan?.kind === 'move' && state.linkCuts) state.linkCuts = state.linkCuts.filter((c) => c.node !== plan.node);
  writeState(state);
}
