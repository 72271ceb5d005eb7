/**
 * `link set` and `link down/up` on a running lab, on every backend (plan/link-plan.ts says what).
 *
 * set: every machine namespace with an interface on the network (or the node's) is shaped afresh from
 * the lab's link records — with netem, a `tc qdisc replace` per interface; with the fallback stages, the
 * namespace's nft loss table is replaced, its tbf qdiscs set or removed, and its nfq-delay processes
 * restarted with the new delays (the NFQUEUE rules bypass the queue meanwhile, so nothing is dropped).
 *
 * down/up: the switch-side port of each attachment goes down or up. The machine keeps its interface,
 * addresses and routes (as a cable pulled at the switch): its packets are dropped silently at the veth,
 * and everything works again, unchanged, once the port is up.
 */
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { checkLabName } from '../names.js';
import { nsArgv, requireRoot, requireTools, run, tryRun } from '../exec.js';
import {
  changeCuts,
  changeLinks,
  isShaped,
  namespaceShaping,
  resolveLinkTarget,
  type LinkEnd,
} from '../plan/link-plan.js';
import type { ShapeTarget } from '../plan/shaping-plan.js';
import type { LinkChange, LinkSetResult, LinkStateResult } from '../runtime.js';
import { type LabState, type ProcessRecord, fileStore, labDir, mustState, withLabLock } from '../state.js';
import { applyShaping, clearFallbackRules, detectNetem, labShapingMode, shapingLabel, type ShapingMode } from './shaping.js';
import { stopRecorded } from './teardown.js';

/** One link change at a time per lab: two would race for the same namespaces' shaping. */
function withLinkLock<T>(lab: string, fn: () => Promise<T>): Promise<T> {
  return withLabLock(lab, 'links', fn, {
    wait: 60_000,
    busy: `another link change is running on lab ${lab}; try again when it is done`,
  });
}

function upLab(lab: string): LabState {
  requireRoot();
  checkLabName(lab);
  const state = mustState(lab);
  if (state.phase !== 'up') throw new ConfigError(`lab ${lab} is not up (phase: ${state.phase})`);
  return state;
}

const shaperPrefix = (ns: string) => `shaper:${ns}:`;

/**
 * Shape one machine namespace from scratch as `targets` say (all its interfaces). Returns the shaper
 * processes it started; those of the namespace recorded in `processes` are stopped first (fallback).
 */
export async function reshapeNamespace(
  ns: string,
  targets: ShapeTarget[],
  mode: ShapingMode,
  processes: readonly ProcessRecord[],
  logDir: string,
): Promise<ProcessRecord[]> {
  const shaped = targets.filter(isShaped);
  if (mode === 'netem') {
    await Promise.all(
      targets
        .filter((t) => !isShaped(t))
        .map((t) => tryRun(nsArgv(ns, ['tc', 'qdisc', 'del', 'dev', t.iface, 'root']))),
    );
    await applyShaping(shaped, 'netem', logDir, () => {});
    return [];
  }
  await clearFallbackRules(ns);
  await stopRecorded(processes.filter((p) => p.role.startsWith(shaperPrefix(ns))));
  await Promise.all(
    targets
      .filter((t) => t.rateKbit === 0)
      .map((t) => tryRun(nsArgv(ns, ['tc', 'qdisc', 'del', 'dev', t.iface, 'root']))),
  );
  const started: ProcessRecord[] = [];
  await applyShaping(shaped, 'fallback', logDir, (p) => started.push(p));
  return started;
}

export async function setLink(lab: string, change: LinkChange): Promise<LinkSetResult> {
  const t0 = performance.now();
  upLab(lab);
  requireTools(['tc']);
  return withLinkLock(lab, async () => {
    const state = upLab(lab);
    const ends = resolveLinkTarget(state, change.network, change.node ?? null);
    const { links, link } = changeLinks(state.links ?? [], change);
    const mode: ShapingMode = labShapingMode(state) ?? ((await detectNetem()) ? 'netem' : 'fallback');
    if (mode === 'fallback') requireTools(['iptables', 'nft']);
    const next = { ...state, links };
    const namespaces = [...new Set(ends.map((e) => e.namespace))];
    const logDir = join(labDir(lab), 'logs');
    const started = (
      await Promise.all(
        namespaces.map((ns) =>
          reshapeNamespace(ns, namespaceShaping(next, ns), mode, state.processes, logDir),
        ),
      )
    ).flat();
    await fileStore.update(lab, (st) => {
      st.links = links;
      st.shaping = shapingLabel(mode);
      st.processes = [
        ...st.processes.filter((p) => !namespaces.some((ns) => p.role.startsWith(shaperPrefix(ns)))),
        ...started,
      ];
    });
    return {
      network: change.network,
      node: change.node ?? null,
      link,
      interfaces: ends.length,
      mode: shapingLabel(mode),
      ms: Math.round(performance.now() - t0),
    };
  });
}

interface LinkJson {
  ifindex: number;
  ifname: string;
  link_index?: number;
  master?: string;
}

async function links(ns: string): Promise<LinkJson[]> {
  return JSON.parse((await run(['ip', '-n', ns, '-j', 'link', 'show'])).stdout || '[]') as LinkJson[];
}

/** The switch port a machine's interface is plugged into (its veth's other end, found by interface index). */
export async function switchPort(end: LinkEnd, switchNs: string): Promise<string> {
  const mine = (await links(end.namespace)).find((l) => l.ifname === end.iface);
  const port =
    mine &&
    (await links(switchNs)).find((l) => l.ifindex === mine.link_index && l.link_index === mine.ifindex);
  if (!port)
    throw new ConfigError(
      `${end.machine}'s ${end.iface} is not plugged into network ${end.network}'s switch`,
    );
  return port.ifname;
}

/** Every port of a network's switch (the bridge's members). */
export async function switchPorts(switchNs: string): Promise<string[]> {
  return (await links(switchNs)).filter((l) => l.master !== undefined).map((l) => l.ifname);
}

export async function setLinkState(
  lab: string,
  network: string,
  node: string | null,
  up: boolean,
): Promise<LinkStateResult> {
  const t0 = performance.now();
  upLab(lab);
  return withLinkLock(lab, async () => {
    const state = upLab(lab);
    const ends = resolveLinkTarget(state, network, node);
    const cuts = changeCuts(state.linkCuts ?? [], network, node, up);
    const switchNs = state.networks!.find((n) => n.name === network)!.namespace;
    const ports =
      node === null
        ? await switchPorts(switchNs)
        : await Promise.all(ends.map((e) => switchPort(e, switchNs)));
    if (ports.length) {
      await run(['ip', '-n', switchNs, '-batch', '-'], {
        input: ports.map((p) => `link set ${p} ${up ? 'up' : 'down'}`).join('\n') + '\n',
      });
    }
    await fileStore.update(lab, (st) => {
      st.linkCuts = cuts;
    });
    return {
      network,
      node,
      state: up ? 'up' : 'down',
      ports: ports.length,
      ms: Math.round(performance.now() - t0),
    };
  });
}
