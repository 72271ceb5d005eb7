/**
 * What a lab backend must do: a small set of primitives the backend-neutral orchestrator (orchestrator.ts)
 * composes into `up`, `down`, `status`, `exec`, `logs`, stop and start. Everything else — switches, veths,
 * addresses, routes, NAT rules, sysctls, shaping, moving a host, forgetting NAT state — is wired the same way
 * on every backend, inside named network namespaces (wiring/), so every backend gives the same verdicts.
 *
 * A backend makes *machines*: a router or host whose network stack is a named network namespace on the host
 * (made by `ip netns add` on netns; a container's namespace given that name on docker). It starts a host's node
 * (a process in the namespace; a container sharing it), gives the hosts their management addresses, runs
 * commands in a machine as a user would (`exec`), streams logs, and sweeps what it made by label.
 * Multi-host room: every machine record carries a `placement`; exec targets and logs come from the backend,
 * never from a path assumed local.
 */
import type { LabPlan } from './plan/lab-plan.js';
import type { DockerSection, LabState, NetnsSection, NodeProcessRecord, NodeRecord } from './state.js';
import type { ResolvedTopology } from '../topology/model.js';
import type { ExecOptions, ExecResult, LogOptions } from './runtime.js';

/** What the orchestrator hands a backend while it builds or changes a lab. */
export interface BuildContext {
  lab: string;
  /** The lab's state, changed in place by the backend; `save()` writes it (do so after each resource made). */
  state: LabState;
  save(): void;
  progress(line: string): void;
}

/** A node to start: where, with which arguments (after the command prefix), its data directory on the host. */
export interface NodeLaunch {
  name: string;
  /** The host machine's namespace. */
  namespace: string;
  /** Full argv, command prefix included, paths as the node process sees them. */
  argv: string[];
  /** The node's own directory on the host (key, data); mounted into the container on docker. */
  dataDir: string;
  // node kinds (issue 14): what a command node's program needs besides argv
  /** Environment variables added to the program's. */
  env?: Record<string, string>;
  /** docker: the image to run it in instead of the lab's node image (a local one). */
  image?: string;
  /** Host directories the program reads: mounted read-only at the same path on docker. */
  mounts?: string[];
}

/** How a node's process is started and what paths it sees (from the backend: host paths or container paths). */
export interface NodeRuntime {
  /** argv prefix: the node binary. */
  command: string[];
  /** The key file as the node process sees it, given the node's data directory on the host. */
  keyFile(hostDataDir: string): string;
  /** The node's data directory as its process sees it (`{{data}}` of a command node). */
  dataDir(hostDataDir: string): string;
}

export interface NodeLiveness {
  running: boolean;
  /** Exit code once it ended, when known. */
  exitCode: number | null;
}

export type { ExecOptions, LogOptions } from './runtime.js';


export type BackendSection = { netns: NetnsSection } | { docker: DockerSection };

export interface LabBackend {
  readonly name: string;
  /**
   * Everything checked before anything is made (privileges, tools, the engine, images — a missing image is
   * built here); returns this backend's section of the new lab's state.
   */
  prepare(topo: ResolvedTopology, plan: LabPlan, opts: { startNodes: boolean; progress(line: string): void }): Promise<BackendSection>;
  /** Make these machines; afterwards each one's namespace exists under its planned name, with only `lo` up. */
  createMachines(ctx: BuildContext, kind: 'router' | 'host', namespaces: string[]): Promise<void>;
  /** Give every host its management address (interface mgmt0), reachable from the host side at plan.mgmt.gateway. */
  connectManagement(ctx: BuildContext, plan: LabPlan): Promise<void>;
  /** The node binary and the paths its process sees. */
  nodeRuntime(ctx: Pick<BuildContext, 'state'>): NodeRuntime;
  /** Optional: make what the nodes need before they start (docker: their containers), while the lab is still being wired. */
  stageNodes?(ctx: BuildContext, launches: NodeLaunch[]): Promise<void>;
  /** Start a host's node; resolves once the process (or container) runs. */
  startNode(ctx: BuildContext, launch: NodeLaunch): Promise<NodeProcessRecord>;
  /** Stop a host's node (SIGTERM, then SIGKILL after `graceMs`); its machine and network stay. */
  stopNode(ctx: BuildContext, node: NodeRecord, opts?: { graceMs?: number }): Promise<void>;
  /** Whether a host's node still runs. */
  nodeLiveness(state: LabState, node: NodeRecord): Promise<NodeLiveness>;
  /** Run a command in a machine as a user would (its filesystem, its network). */
  exec(state: LabState, node: NodeRecord, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Start a command in a machine in the background: its output appended to `logFile` (a host path inside the
   * machine's data directory, which the docker backend mounts at /lab), ended by `down` at the latest.
   * Resolves once it runs, with its pid on the host when the backend knows it.
   */
  execDetached(state: LabState, node: NodeRecord, argv: string[], logFile: string): Promise<{ pid: number | null }>;
  /** A node's log (stdout and stderr of its process), as text chunks. */
  logs(state: LabState, node: NodeRecord, opts?: LogOptions): AsyncIterable<string>;
  /**
   * Remove what this backend made for the lab (containers, engine networks, root-namespace links), from the
   * state when there is one and by label or name prefix in any case, so a crashed lab goes too. Runs before
   * the orchestrator deletes the lab's namespaces and host processes.
   */
  teardown(lab: string, state: LabState | null, progress: (line: string) => void): Promise<void>;
  /** Labs this backend finds resources of (by label or prefix), with or without a state file. */
  listLabs(): Promise<string[]>;
}

/** A node record's process, or a clear error when the node was never started. */
export function nodeProcess(node: NodeRecord): NodeProcessRecord {
  if (!node.process) throw new Error(`node ${node.name} has no process record (started with --no-nodes?)`);
  return node.process;
}
