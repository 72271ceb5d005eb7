/**
 * The netns backend: machines are network namespaces made with `ip netns add`, nodes are processes started
 * in them (`ip netns exec`), logs are files under the lab's directory, the management network is a bridge in
 * the root namespace. No daemon, root only. Everything else is the shared wiring (../wiring).
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { packagePath, runningCompiled } from '../../shared/package-root.js';
import type { BackendSection, BuildContext, LabBackend, NodeLaunch, NodeLiveness, NodeRuntime } from '../backend.js';
import { findTool } from '../exec.js';
import { readLogFile } from '../log-file.js';
import type { LabPlan } from '../plan/lab-plan.js';
import type { ResolvedTopology } from '../../topology/model.js';
import { registerBackend } from '../registry.js';
import type { ExecOptions, ExecResult, LogOptions } from '../runtime.js';
import { type LabState, type NodeProcessRecord, type NodeRecord, fileStore, labDir } from '../state.js';
import { connectMgmtBridge, rootBatch } from '../wiring/build.js';
import { alive, cmdline, deleteRootLinks, inNamespace, killAll, listNamespaces } from '../wiring/teardown.js';
import { mgmtLines } from '../plan/mgmt-plan.js';

/** The node binary: the compiled one (dist/bin/quicmesh.js), or from the sources the launcher bin/quicmesh.js. */
const quicmeshBin = (): string => packagePath(...(runningCompiled ? ['dist'] : []), 'bin', 'quicmesh.js');

/** Exit codes of node processes this process started (a pid's exit is only seen by its parent). */
const exited = new Map<number, number | null>();
/** Their exits still to come: a process that is gone from /proc may not have been reaped yet. */
const exiting = new Map<number, Promise<number | null>>();

function nodeRole(name: string): string {
  return `node:${name}`;
}

/** The recorded host process of a node, if the pid still runs what was started. */
function liveNodePid(state: LabState, node: NodeRecord): number | null {
  const rec = state.processes.find((p) => p.role === nodeRole(node.name));
  const pid = node.process?.pid ?? rec?.pid ?? null;
  if (pid === null || exited.has(pid) || !alive(pid)) return null;
  // a program may exec another (a command node's `sh -c '… exec prog'`): then it is still ours if it runs in the node's namespace
  return !rec || cmdline(pid).includes(rec.cmdlineMark) || inNamespace(pid, node.namespace) ? pid : null;
}

/** Signal a process group (its leader's pid); gone already is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // no such group: nothing left of it
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function logFileOf(lab: string, node: string): string {
  return join(labDir(lab), 'logs', `${node}.log`);
}

class NetnsBackend implements LabBackend {
  readonly name = 'netns';

  async prepare(topo: ResolvedTopology, plan: LabPlan): Promise<BackendSection> {
    // node kinds (issue 14): programs run on the host's filesystem here, there is no image to run them in
    const imaged = topo.nodes.find((n) => n.program?.image);
    if (imaged) {
      throw new ConfigError(
        `node ${imaged.name}: image: ${imaged.program!.image} needs the docker backend (the netns backend runs programs from the host's filesystem; use --backend docker or drop image:)`,
      );
    }
    return { netns: { rootLinks: plan.mgmt ? mgmtLines(plan.lab, plan.mgmt).rootLinks : [] } };
  }

  async createMachines(_ctx: BuildContext, _kind: 'router' | 'host', namespaces: string[]): Promise<void> {
    await rootBatch(namespaces.map((ns) => `netns add ${ns}`));
  }

  async connectManagement(ctx: BuildContext, plan: LabPlan): Promise<void> {
    if (plan.mgmt) await connectMgmtBridge(ctx.lab, plan.mgmt);
  }

  nodeRuntime(): NodeRuntime {
    return { command: [process.execPath, quicmeshBin()], keyFile: (dir) => join(dir, 'node.key'), dataDir: (dir) => dir };
  }

  async startNode(ctx: BuildContext, launch: NodeLaunch): Promise<NodeProcessRecord> {
    // a program that does not exist would only show as `ip netns exec` failing in the log: say it here
    const program = launch.argv[0]!;
    if (!(program.includes('/') ? isExecutable(program) : findTool(program))) {
      throw new ConfigError(`node ${launch.name}: its command "${program}" was not found${program.includes('/') ? '' : " on the host's PATH (netns nodes run the host's programs)"}`);
    }
    const logFile = logFileOf(ctx.lab, launch.name);
    mkdirSync(dirname(logFile), { recursive: true });
    const fd = openSync(logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', launch.namespace, ...launch.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(launch.env ? { env: { ...process.env, ...launch.env } } : {}),
    });
    closeSync(fd);
    child.unref();
    if (child.pid === undefined) throw new Error(`node ${launch.name}: could not start ${launch.argv[0]}`);
    const pid = child.pid;
    exiting.set(
      pid,
      new Promise((resolve) =>
        child.once('exit', (code) => {
          exited.set(pid, code);
          resolve(code);
        }),
      ),
    );
    const role = nodeRole(launch.name);
    const previous = ctx.state.nodes.find((n) => n.name === launch.name)?.process;
    ctx.state.processes = [
      ...ctx.state.processes.filter((p) => p.role !== role),
      { role, namespace: launch.namespace, pid, cmdlineMark: launch.argv[1] ?? launch.argv[0]! },
    ];
    const node = ctx.state.nodes.find((n) => n.name === launch.name);
    if (node) node.logFile = logFile;
    ctx.save();
    return { pid, running: true, restarts: previous ? previous.restarts + 1 : 0 };
  }

  async stopNode(ctx: BuildContext, node: NodeRecord, opts: { graceMs?: number } = {}): Promise<void> {
    const pid = liveNodePid(ctx.state, node);
    if (pid !== null) {
      // the node leads its own process group (spawned detached): what it started (a program's launcher,
      // a shell's children) is stopped with it, so a restart finds its ports free
      signalGroup(pid, 'SIGTERM');
      await killAll([pid], opts.graceMs ?? 3000);
      signalGroup(pid, 'SIGKILL');
    }
    ctx.state.processes = ctx.state.processes.filter((p) => p.role !== nodeRole(node.name));
    if (node.process) node.process = { ...node.process, pid: null, running: false };
    ctx.save();
  }

  async nodeLiveness(state: LabState, node: NodeRecord): Promise<NodeLiveness> {
    const pid = node.process?.pid ?? null;
    if (pid !== null && exited.has(pid)) return { running: false, exitCode: exited.get(pid) ?? null };
    // our own child runs until its exit event: /proc is no witness while `ip netns exec` execs the node
    // (its cmdline reads empty for a moment)
    if (pid !== null && exiting.has(pid)) return { running: true, exitCode: null };
    if (liveNodePid(state, node) !== null) return { running: true, exitCode: null };
    // ended: our own child's code comes with its exit event, at most a moment later
    const code = pid !== null ? exiting.get(pid) : undefined;
    const late = code ? await Promise.race([code, new Promise<null>((r) => setTimeout(() => r(null), 1000))]) : null;
    return { running: false, exitCode: late };
  }

  exec(_state: LabState, node: NodeRecord, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', node.namespace, ...argv], { stdio: opts.inherit ? 'inherit' : 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        opts.onOutput?.('stdout', d);
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        opts.onOutput?.('stderr', d);
      });
      let killed = false;
      const kill = (): void => {
        killed = true;
        child.kill('SIGKILL'); // `ip netns exec` execs the command: this pid is the command
      };
      if (opts.signal?.aborted) kill();
      else opts.signal?.addEventListener('abort', kill, { once: true });
      child.once('error', reject);
      child.once('close', (code) => {
        opts.signal?.removeEventListener('abort', kill);
        resolve({ code: code ?? (killed ? 137 : 1), stdout, stderr, ...(killed ? { killed } : {}) });
      });
    });
  }

  async execDetached(state: LabState, node: NodeRecord, argv: string[], logFile: string): Promise<{ pid: number | null }> {
    const fd = openSync(logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', node.namespace, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new ConfigError(`exec --detach in ${node.name}: ${err.message}`)));
      child.once('spawn', () => resolve(child.pid!));
    });
    // recorded so `down` ends it (it runs in the machine's namespace, which down sweeps anyway)
    await fileStore.update(state.lab, (st) => {
      st.processes.push({ role: `exec:${node.name}`, namespace: node.namespace, pid, cmdlineMark: argv[0]! });
    });
    return { pid };
  }

  logs(state: LabState, node: NodeRecord, opts: LogOptions = {}): AsyncIterable<string> {
    return readLogFile(node.logFile ?? logFileOf(state.lab, node.name), `node ${node.name} in lab ${state.lab}`, opts);
  }

  async teardown(lab: string, state: LabState | null, progress: (line: string) => void): Promise<void> {
    await deleteRootLinks(lab, state?.netns?.rootLinks ?? [], progress);
  }

  async listLabs(): Promise<string[]> {
    const labs = new Set<string>();
    // labs whose state file is gone but whose namespaces remain (crash): still listed, so they can be downed
    for (const ns of await listNamespaces().catch(() => [])) {
      const m = /^qm-([A-Za-z0-9][A-Za-z0-9.-]*)_[nrh]_/.exec(ns);
      if (m?.[1]) labs.add(m[1]);
    }
    return [...labs].sort();
  }
}

registerBackend(
  'netns',
  () => new NetnsBackend(),
  (env) => (env.platform ?? process.platform) === 'linux' && (env.uid ?? process.getuid?.()) === 0,
);

export { NetnsBackend };
