/**
 * The backend-neutral orchestrator: `up` as timed steps over a backend's primitives (state written first,
 * rollback on any failure), node start-up and readiness, `down` (also of a crashed or half-built lab),
 * `status`, `exec`, `logs`, `move` and forgetting NAT state. One implementation for every backend, so a
 * new backend only brings its primitives (backend.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, QuicmeshError, TimeoutError } from '../../src/errors.js';
import type { ResolvedNode, ResolvedTopology } from '../topology/model.js';
import type { BuildContext, LabBackend, NodeLaunch, NodeRuntime } from './backend.js';
import { commandLaunch, missingProgram } from './plan/command-launch.js';
import { checkReadyOnce, readyWhat } from './ready.js';
import { requireRoot, requireTools } from './exec.js';
import { getJson } from './http.js';
import { readLogFile } from './log-file.js';
import { claimMgmtIndex, releaseMgmtIndex } from './mgmt-claim.js';
import { checkLabName, labTag, nsPrefix } from './names.js';
import { planLab, planNamespaces, type LabPlan } from './plan/lab-plan.js';
import { nodeArgv } from './plan/node-argv.js';
import { planShaping } from './plan/shaping-plan.js';
import type {
  BuildStep,
  DetachedExec,
  ExecOptions,
  ExecResult,
  ForgetResult,
  LabHandle,
  LabNode,
  LabStatus,
  LogOptions,
  HealResult,
  LinkChange,
  LinkSetResult,
  LinkStateResult,
  MoveOptions,
  MoveResult,
  NatResetResult,
  NodeProcessResult,
  NodeStatus,
  PartitionResult,
  Runtime,
  UpOptions,
} from './runtime.js';
import {
  type LabState,
  type NodeRecord,
  STATE_VERSION,
  fileStore,
  labDir,
  listStateLabs,
  machineDataDir,
  mergeNodeChanges,
  mustState,
  readState,
  removeLabDir,
  withLabLock,
  writeState,
} from './state.js';
import { createSwitches, wireMachines } from './wiring/build.js';
import { forgetNatState } from './wiring/forget.js';
import { setLink, setLinkState } from './wiring/link.js';
import { moveHost } from './wiring/move.js';
import { resetNat } from './wiring/nat-reset.js';
import { heal, partition } from './wiring/partition.js';
import { applyShaping, detectNetem, shapingLabel } from './wiring/shaping.js';
import { listNamespaces, stopRecorded, teardownNamespaces } from './wiring/teardown.js';

/** The last `lines` lines of a node's log, or a note saying why there are none. */
export async function logTail(backend: LabBackend, state: LabState, node: NodeRecord, lines = 15): Promise<string> {
  let text = '';
  try {
    for await (const chunk of backend.logs(state, node, { tail: lines })) text += chunk;
  } catch (err) {
    return `(no log: ${err instanceof Error ? err.message : String(err)})`;
  }
  return text.trimEnd() || '(empty log)';
}

export function toLabNode(n: NodeRecord): LabNode {
  return {
    name: n.name,
    kind: n.kind,
    namespace: n.namespace,
    network: n.network,
    addresses: n.addresses,
    nat: n.nat,
    statusUrl: n.statusUrl,
    logFile: n.logFile,
    ...(n.process ? { process: { ...n.process } } : {}),
    ...(isCommandNode(n) ? { program: n.launch!.kind! } : {}),
  };
}

export class LabRuntime implements Runtime {
  constructor(readonly backend: LabBackend) {}

  get name(): string {
    return this.backend.name;
  }

  async up(topo: ResolvedTopology, opts: UpOptions = {}): Promise<LabHandle> {
    requireRoot();
    requireTools(['ip', 'nft']);
    checkLabName(topo.name);
    const lab = topo.name;
    const progress = opts.onProgress ?? (() => {});
    const startNodes = opts.startNodes ?? true;
    if (readState(lab)) throw new ConfigError(`lab "${lab}" is already up (run: quicmesh-lab down ${lab})`);
    if ((await listNamespaces()).some((n) => n.startsWith(nsPrefix(lab)))) {
      throw new ConfigError(`namespaces of lab "${lab}" exist without a state file (run: quicmesh-lab down ${lab})`);
    }
    const mgmtIndex = topo.nodes.length ? await claimMgmtIndex(lab) : null;
    let plan: LabPlan;
    let state: LabState;
    try {
      plan = planLab(topo, mgmtIndex);
      if (planShaping(topo, plan).length) requireTools(['tc']);
      const section = await this.backend.prepare(topo, plan, { startNodes, progress });
      state = {
        version: STATE_VERSION,
        lab,
        backend: this.name,
        topologyFile: topo.sourceFile,
        createdAt: new Date().toISOString(),
        phase: 'building',
        tag: labTag(lab),
        namespaces: planNamespaces(plan),
        mgmtSubnet: plan.mgmt?.subnet ?? null,
        nodes: plan.nodes,
        processes: [],
        shaping: null,
        networks: plan.networks,
        links: topo.links,
        ...section,
      };
    } catch (err) {
      releaseMgmtIndex(lab);
      throw err;
    }
    writeState(state);
    // every machine's own directory (key, data, detached commands' logs; /lab in its containers)
    for (const n of state.nodes) mkdirSync(machineDataDir(lab, n.name), { recursive: true, mode: 0o700 });
    const ctx: BuildContext = { lab, state, save: () => writeState(state), progress };
    const timings: Partial<Record<BuildStep, number>> = {};
    const step = async (name: BuildStep, what: string, fn: () => Promise<void>): Promise<void> => {
      const t0 = performance.now();
      await fn();
      timings[name] = performance.now() - t0;
      progress(`${name}: ${what} (${(timings[name] / 1000).toFixed(2)} s)`);
      if (opts.failAfterStep === name) throw new QuicmeshError(`injected failure after step "${name}"`);
    };

    // the hosts' machines are made while the routers are (containers take a while to start); awaited
    // before the hosts are wired, and before any rollback, so nothing is made behind a teardown's back
    let hostsMade: Promise<void> | null = null;
    const inFlight: Array<Promise<void>> = [];
    try {
      await step('networks', `${plan.switches.length} switch namespace(s)`, () => createSwitches(plan));
      await step('routers', `${plan.routers.length} router(s), NAT rules`, async () => {
        hostsMade = this.backend.createMachines(ctx, 'host', plan.hosts);
        hostsMade.catch(() => {}); // its failure is reported by the hosts step
        inFlight.push(hostsMade);
        await this.backend.createMachines(ctx, 'router', plan.routers);
        await wireMachines(plan, 'routers');
      });
      let staged: Promise<void> | null = null;
      const launches = startNodes && topo.nodes.length ? this.nodeLaunches(ctx, topo, opts.nodeCommand) : [];
      await step('hosts', `${plan.hosts.length} host(s)`, async () => {
        await hostsMade;
        // what a node needs before it starts (its container) is made while the lab is wired further
        if (launches.length && this.backend.stageNodes) {
          staged = this.backend.stageNodes(ctx, launches);
          staged.catch(() => {}); // its failure is reported by the nodes step
          inFlight.push(staged);
        }
        await wireMachines(plan, 'hosts');
      });
      const targets = planShaping(topo, plan);
      let shaping = 'none requested';
      await step('shaping', `${targets.length} shaped interface(s)`, async () => {
        if (!targets.length) return;
        const mode = (await detectNetem()) ? 'netem' : 'fallback';
        if (mode === 'fallback') requireTools(['iptables']);
        shaping = shapingLabel(mode);
        progress(`shaping with ${shaping}`);
        await applyShaping(targets, mode, join(labDir(lab), 'logs'), (p) => {
          state.processes.push(p);
          ctx.save();
        });
      });
      state.shaping = shaping;
      await step('management', plan.mgmt ? `${plan.mgmt.subnet} via ${plan.mgmt.gateway}` : 'none', async () => {
        if (plan.mgmt) await this.backend.connectManagement(ctx, plan);
      });
      if (launches.length) {
        await step('nodes', `${launches.length} node(s)`, async () => {
          await staged;
          await this.startNodes(ctx, launches, opts.readyTimeoutMs ?? 30_000);
        });
      }
      state.phase = 'up';
      ctx.save();
      return { name: lab, backend: this.name, nodes: state.nodes.map(toLabNode), shaping, timings };
    } catch (err) {
      await Promise.allSettled(inFlight);
      progress(`up failed: rolling back lab ${lab}`);
      await this.down(lab, { onProgress: progress }).catch((e: unknown) =>
        progress(`rollback incomplete (${e instanceof Error ? e.message : String(e)}): run quicmesh-lab down ${lab}`),
      );
      throw err;
    }
  }

  /** Every host's node launch (argv as its process sees it, data directory), recorded in the state. */
  private nodeLaunches(ctx: BuildContext, topo: ResolvedTopology, command: string[] | undefined): NodeLaunch[] {
    const rt = this.backend.nodeRuntime(ctx);
    const prefix = command ?? rt.command;
    // quicmesh nodes bootstrap from, and relay through, quicmesh nodes only (node kinds: others run other programs)
    const mesh: ResolvedTopology = { ...topo, nodes: topo.nodes.filter((n) => !n.program) };
    return topo.nodes.map((node) => {
      const rec = ctx.state.nodes.find((r) => r.name === node.name && r.kind === 'host');
      if (!rec?.mgmtAddress || !rec.statusUrl) throw new Error(`node ${node.name} has no management address`);
      const dataDir = machineDataDir(ctx.lab, node.name);
      if (node.program) return commandNodeLaunch(topo, node, rec, rt, dataDir);
      const argv = nodeArgv(mesh, node, { command: prefix, mgmtAddress: rec.mgmtAddress, keyFile: rt.keyFile(dataDir) });
      rec.launch = { argv, dataDir };
      return { name: node.name, namespace: rec.namespace, argv, dataDir };
    });
  }

  /** Start every node and wait until each is ready (failing early, with its log, when one exits). */
  private async startNodes(ctx: BuildContext, launches: NodeLaunch[], readyTimeoutMs: number): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    let ready = 0;
    await Promise.all(
      launches.map(async (launch) => {
        const rec = ctx.state.nodes.find((r) => r.name === launch.name && r.kind === 'host')!;
        try {
          rec.process = await this.backend.startNode(ctx, launch);
        } catch (err) {
          throw isCommandNode(rec) ? cannotStart(rec, err) : err;
        }
        ctx.save();
        await this.waitReady(ctx.state, rec, deadline, readyTimeoutMs);
        ctx.progress(`  node ${launch.name} ready (${++ready}/${launches.length})`);
      }),
    );
  }

  /**
   * Wait until a node is ready — a quicmesh node answers /status (its answer), a command node passes its
   * `ready:` check (an empty answer: it has no /status) — failing at once, with the end of its log, when its
   * process ended.
   */
  async waitReady(state: LabState, rec: NodeRecord, deadline: number, timeoutMs: number): Promise<Record<string, unknown>> {
    if (isCommandNode(rec)) {
      await this.waitCommandReady(state, rec, deadline, timeoutMs);
      return {};
    }
    const url = rec.statusUrl!;
    // /status ten times a second, whether the process still runs once a second: a 50-node up polls
    // all its nodes at once, on the same cores the nodes start on
    let liveAt = 0;
    for (;;) {
      if (Date.now() >= liveAt) {
        const live = await this.backend.nodeLiveness(state, rec);
        if (!live.running) {
          const tail = await logTail(this.backend, state, rec);
          throw new QuicmeshError(`node ${rec.name} exited (code ${live.exitCode ?? '?'}) before answering /status; its log ends:\n${tail}`);
        }
        liveAt = Date.now() + 1000;
      }
      const body = await getJson(url, 500);
      if (body) return body;
      if (Date.now() > deadline) {
        const tail = await logTail(this.backend, state, rec);
        throw new TimeoutError(`node ${rec.name} did not answer ${url} within ${timeoutMs} ms; its log ends:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100)); // retry backoff, bounded by the deadline above
    }
  }

  // ---- node kinds (issue 14): a command node's readiness ----

  /** Poll a command node's `ready:` check (its own timeout, else the lab's) while its process runs. */
  private async waitCommandReady(state: LabState, rec: NodeRecord, deadline: number, timeoutMs: number): Promise<void> {
    const ready = rec.launch?.ready ?? null;
    const own = ready?.timeoutMs ?? null;
    const until = own !== null ? Date.now() + own : deadline;
    const kind = rec.launch?.kind ?? 'command';
    for (;;) {
      const live = await this.backend.nodeLiveness(state, rec);
      if (!live.running) throw await exitedEarly(this.backend, state, rec, live.exitCode);
      if (await checkReadyOnce(this.backend, state, rec, ready)) {
        if (ready) return;
        // no check given: up once it has run for a moment (one that fails at once has ended by then)
        await new Promise((r) => setTimeout(r, NO_READY_GRACE_MS));
        const after = await this.backend.nodeLiveness(state, rec);
        if (!after.running) throw await exitedEarly(this.backend, state, rec, after.exitCode);
        return;
      }
      if (Date.now() > until) {
        const tail = await logTail(this.backend, state, rec);
        throw new TimeoutError(
          `node ${rec.name} (kind ${kind}) was not ready within ${own ?? timeoutMs} ms: waited for ${readyWhat(ready)}; its log ends:\n${tail}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200)); // retry backoff, bounded by the deadline above
    }
  }

  async down(lab: string, opts: { onProgress?: (line: string) => void } = {}): Promise<void> {
    requireRoot();
    checkLabName(lab);
    const progress = opts.onProgress ?? (() => {});
    let state: LabState | null = null;
    try {
      state = readState(lab);
    } catch (err) {
      // an unreadable state must not keep the lab's resources alive: sweep by label and prefix
      progress(`  ${err instanceof Error ? err.message : String(err)}; removing the lab by its labels and names`);
    }
    if (state) {
      state.phase = 'tearing-down';
      writeState(state);
    }
    // the processes the lab recorded go first, while their links still carry their goodbyes (a client's
    // kept-alive connection to a node then sees it close, and is not reused against a later lab's node)
    await stopRecorded(state?.processes ?? []);
    await this.backend.teardown(lab, state, progress);
    await teardownNamespaces(lab, state, progress);
    removeLabDir(lab);
    releaseMgmtIndex(lab);
  }

  async status(lab: string): Promise<LabStatus> {
    const state = mustState(lab);
    const nodes = await Promise.all(
      state.nodes.map(async (n) => {
        if (isCommandNode(n)) return { ...toLabNode(n), live: await this.commandLive(state, n) };
        if (!n.statusUrl) return { ...toLabNode(n), live: null };
        if (n.process && !n.process.running) {
          return { ...toLabNode(n), live: { node: n.name, reachable: false, status: null, error: 'stopped' } };
        }
        const body = await getJson(n.statusUrl, 1500);
        return {
          ...toLabNode(n),
          live: { node: n.name, reachable: body !== null, status: body, error: body ? null : `no answer from ${n.statusUrl}` },
        };
      }),
    );
    return {
      name: lab,
      backend: state.backend,
      phase: state.phase,
      nodes,
      links: state.links ?? [],
      linkCuts: state.linkCuts ?? [],
      partitions: (state.partitions ?? []).map((p) => ({ id: p.id, sides: p.sides })),
    };
  }

  /** node kinds (issue 14): a command node has no /status; its live state is whether its process runs. */
  private async commandLive(state: LabState, n: NodeRecord): Promise<NodeStatus> {
    if (!n.process) return { node: n.name, reachable: false, status: null, error: 'not started' };
    const live = await this.backend.nodeLiveness(state, n).catch(() => ({ running: false, exitCode: null }));
    const kind = n.launch?.kind ?? 'command';
    return live.running
      ? { node: n.name, reachable: true, status: { kind, state: 'running' }, error: null }
      : { node: n.name, reachable: false, status: { kind, state: 'exited' }, error: `exited (code ${live.exitCode ?? '?'})` };
  }

  async exec(lab: string, node: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    requireRoot();
    const state = mustState(lab);
    const rec = findNode(state, node);
    if (!argv.length) throw new ConfigError('exec: no command given (use: exec NODE -- cmd args)');
    return this.backend.exec(state, rec, argv, opts);
  }

  async execDetached(lab: string, node: string, argv: string[]): Promise<DetachedExec> {
    requireRoot();
    const state = mustState(lab);
    const rec = findNode(state, node);
    if (!argv.length) throw new ConfigError('exec --detach: no command given (use: exec NODE --detach -- cmd args)');
    const dir = machineDataDir(lab, rec.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // the next free number: a file made exclusively, so two at once never share one
    for (let id = 1; ; id++) {
      const logFile = join(dir, `exec-${id}.log`);
      try {
        writeFileSync(logFile, '', { flag: 'wx' });
      } catch {
        continue;
      }
      const { pid } = await this.backend.execDetached(state, rec, argv, logFile);
      return { node: rec.name, id, logFile, pid };
    }
  }

  logs(lab: string, node: string, opts: LogOptions = {}): AsyncIterable<string> {
    const state = mustState(lab);
    const rec = findNode(state, node);
    if (opts.exec !== undefined) {
      return readLogFile(join(machineDataDir(lab, rec.name), `exec-${opts.exec}.log`), `command ${opts.exec} started in ${node} with exec --detach`, opts);
    }
    if (rec.kind !== 'host') throw new ConfigError(`"${node}" is a router: it runs no node and has no log (exec --detach logs: --exec ID)`);
    return this.backend.logs(state, rec, opts);
  }

  async listLabs(): Promise<string[]> {
    return [...new Set([...listStateLabs(), ...(await this.backend.listLabs())])].sort();
  }

  moveHost(lab: string, node: string, network: string, opts?: MoveOptions): Promise<MoveResult> {
    return moveHost(lab, node, network, opts);
  }

  forgetNatState(lab: string, nodeA: string, nodeB: string): Promise<ForgetResult> {
    return forgetNatState(lab, nodeA, nodeB);
  }

  setLink(lab: string, change: LinkChange): Promise<LinkSetResult> {
    return setLink(lab, change);
  }

  setLinkState(lab: string, network: string, node: string | null, up: boolean): Promise<LinkStateResult> {
    return setLinkState(lab, network, node, up);
  }

  partition(lab: string, sideA: string[], sideB: string[]): Promise<PartitionResult> {
    return partition(lab, sideA, sideB);
  }

  heal(lab: string): Promise<HealResult> {
    return heal(lab);
  }

  resetNat(lab: string, router: string): Promise<NatResetResult> {
    return resetNat(lab, router);
  }

  async stopNode(lab: string, node: string, opts: { graceMs?: number } = {}): Promise<NodeProcessResult> {
    return this.onNode(lab, node, async (ctx, rec, t0) => {
      if (!rec.process?.running) throw new ConfigError(`node ${node} is already stopped (start it with: quicmesh-lab start ${node})`);
      await this.backend.stopNode(ctx, rec, opts);
      return processResult(rec, t0);
    });
  }

  async startNode(lab: string, node: string, opts: { readyTimeoutMs?: number } = {}): Promise<NodeProcessResult> {
    return this.onNode(lab, node, async (ctx, rec, t0) => {
      if (rec.process?.running && (await this.backend.nodeLiveness(ctx.state, rec)).running) {
        throw new ConfigError(`node ${node} is already running (${describeProcess(rec.process)})`);
      }
      return this.start(ctx, rec, t0, opts.readyTimeoutMs ?? 30_000);
    });
  }

  async restartNode(lab: string, node: string, opts: { graceMs?: number; readyTimeoutMs?: number } = {}): Promise<NodeProcessResult> {
    return this.onNode(lab, node, async (ctx, rec, t0) => {
      if (rec.process?.running) await this.backend.stopNode(ctx, rec, opts);
      return this.start(ctx, rec, t0, opts.readyTimeoutMs ?? 30_000);
    });
  }

  /**
   * Start a host's node as its launch record says (a command node: the same argv, env, image, mounts and data
   * directory), and wait until it is ready (/status, or the command node's `ready:`).
   */
  private async start(ctx: BuildContext, rec: NodeRecord, t0: number, readyTimeoutMs: number): Promise<NodeProcessResult> {
    if (!rec.launch) {
      throw new ConfigError(`node ${rec.name} has no launch record (the lab was started without nodes, or by an older quicmesh-lab)`);
    }
    try {
      rec.process = await this.backend.startNode(ctx, launchOf(rec));
    } catch (err) {
      throw isCommandNode(rec) ? cannotStart(rec, err) : err;
    }
    const tStarted = performance.now();
    const body = await this.waitReady(ctx.state, rec, Date.now() + readyTimeoutMs, readyTimeoutMs);
    const nodeId = typeof body.nodeId === 'string' ? body.nodeId : null;
    return { ...processResult(rec, t0), nodeId, readyMs: Math.round(performance.now() - tStarted) };
  }

  /**
   * Act on one host's node: one verb per node at a time (a lock of its own, so verbs on other nodes run
   * meanwhile), on a state read now; what changed is merged into the lab's current state at the end,
   * also when the action failed half-way.
   */
  private async onNode(
    lab: string,
    node: string,
    fn: (ctx: BuildContext, rec: NodeRecord, t0: number) => Promise<NodeProcessResult>,
  ): Promise<NodeProcessResult> {
    requireRoot();
    checkLabName(lab);
    const t0 = performance.now();
    return withLabLock(
      lab,
      `node-${node}`,
      async () => {
        const state = mustState(lab);
        if (state.phase !== 'up') throw new ConfigError(`lab ${lab} is not up (phase: ${state.phase})`);
        const rec = findNode(state, node);
        if (rec.kind !== 'host') throw new ConfigError(`"${node}" is a router: only nodes are stopped and started (nat reset reboots a router)`);
        if (!rec.process) throw new ConfigError(`node ${node} was never started (the lab was brought up with --no-nodes)`);
        const ctx: BuildContext = { lab, state, save: () => {}, progress: () => {} };
        try {
          return await fn(ctx, rec, t0);
        } finally {
          await fileStore.update(lab, (current) => mergeNodeChanges(current, state, node));
        }
      },
      { wait: 60_000, busy: `node ${node} of lab ${lab} is being stopped or started by another command; try again` },
    );
  }
}

function processResult(rec: NodeRecord, t0: number): NodeProcessResult {
  const p = rec.process!;
  return {
    node: rec.name,
    running: p.running,
    pid: p.pid,
    ...(p.container ? { container: p.container } : {}),
    restarts: p.restarts,
    ...(isCommandNode(rec) ? { program: rec.launch!.kind! } : {}),
    ms: Math.round(performance.now() - t0),
  };
}

/** "pid 1234" or "container qm-lab_alice", for messages. */
export function describeProcess(p: { pid: number | null; container?: string }): string {
  return p.container ? `container ${p.container}` : `pid ${p.pid ?? '?'}`;
}

// ---- node kinds (issue 14) ----

/** A command node without `ready:` counts as up once its process has run this long. */
const NO_READY_GRACE_MS = 500;

/** Whether a node record runs a program (kind command or a named kind) rather than the quicmesh node. */
export function isCommandNode(rec: Pick<NodeRecord, 'launch'>): boolean {
  return rec.launch?.kind !== undefined && rec.launch.kind !== 'quicmesh';
}

/** The launch of a command node: templates filled in for this backend, recorded in the state; no /status. */
function commandNodeLaunch(topo: ResolvedTopology, node: ResolvedNode, rec: NodeRecord, rt: NodeRuntime, dataDir: string): NodeLaunch {
  const launch = commandLaunch(topo, node, { dataDir: rt.dataDir(dataDir) });
  rec.statusUrl = null; // a program answers no /status: status, tui and test look at its process instead
  rec.launch = {
    argv: launch.argv,
    dataDir,
    kind: node.program!.kind,
    env: launch.env,
    ...(launch.image ? { image: launch.image } : {}),
    mounts: launch.mounts,
    ready: launch.ready,
  };
  return launchOf(rec);
}

/** The NodeLaunch a recorded node was started with: what a restart repeats (every kind). */
export function launchOf(rec: NodeRecord): NodeLaunch {
  if (!rec.launch) throw new ConfigError(`node ${rec.name} was never started (no launch recorded)`);
  const { argv, dataDir, env, image, mounts } = rec.launch;
  return { name: rec.name, namespace: rec.namespace, argv, dataDir, ...(env ? { env } : {}), ...(image ? { image } : {}), ...(mounts ? { mounts } : {}) };
}

/** A command node that could not be started (docker: the engine refused the container's command). */
function cannotStart(rec: NodeRecord, err: unknown): Error {
  if (err instanceof ConfigError) return err; // the backend said it clearly already
  const message = err instanceof Error ? err.message : String(err);
  const missing = missingProgram(message);
  const kind = rec.launch?.kind ?? 'command';
  if (missing) return new ConfigError(`node ${rec.name} (kind ${kind}): its command "${missing}" was not found`, { cause: err });
  return new QuicmeshError(`node ${rec.name} (kind ${kind}): its command could not be started: ${message.split('\n')[0]}`, { cause: err });
}

/** A command node whose process ended before it was ready: the cause in one line, then its log. */
async function exitedEarly(backend: LabBackend, state: LabState, rec: NodeRecord, code: number | null): Promise<Error> {
  const tail = await logTail(backend, state, rec);
  const missing = missingProgram(tail);
  const kind = rec.launch?.kind ?? 'command';
  if (missing) return new ConfigError(`node ${rec.name} (kind ${kind}): its command "${missing}" was not found; its log ends:\n${tail}`);
  return new QuicmeshError(`node ${rec.name} (kind ${kind}) exited (code ${code ?? '?'}) before it was ready; its log ends:\n${tail}`);
}

/** A node or router of the lab, or an error listing what there is. */
export function findNode(state: LabState, name: string): NodeRecord {
  const rec = state.nodes.find((n) => n.name === name);
  if (!rec) {
    throw new ConfigError(`lab ${state.lab} has no node or router "${name}" (it has: ${state.nodes.map((n) => n.name).join(', ')})`);
  }
  return rec;
}
