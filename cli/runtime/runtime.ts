/**
 * The lab runtime as the verbs see it: what `quicmesh-lab up/down/status/exec/logs/move/…` ask of a lab,
 * whatever its backend. Implemented once, by the orchestrator over a backend's primitives (backend.ts);
 * registry.ts finds the runtime for a backend name or for a lab. Every resource a backend makes carries the
 * lab's name, so labs never step on each other.
 */
import type { ResolvedLink, ResolvedTopology } from '../topology/model.js';

export interface UpOptions {
  /** Start the quicmesh node processes (default true). False builds the bare network. */
  startNodes?: boolean;
  /** Progress lines ("routers: 3 namespaces, NAT rules ... 0.12 s"). */
  onProgress?: (line: string) => void;
  /** argv prefix for a node process (netns); default: the bundled node binary, else [node, <repo>/bin/quicmesh.js]. */
  nodeCommand?: string[];
  /** How long to wait for every node's /status, ms (default 30 000). */
  readyTimeoutMs?: number;
  /** Test hook: throw after the named build step, to exercise rollback. */
  failAfterStep?: BuildStep;
}

export type BuildStep = 'networks' | 'routers' | 'hosts' | 'shaping' | 'management' | 'nodes';

export interface LabNode {
  name: string;
  kind: 'host' | 'router';
  namespace: string;
  network: string;
  /** Lab addresses (mesh traffic), "addr/prefix". */
  addresses: string[];
  nat: string;
  statusUrl: string | null;
  /** Where the node's log is on the host, when it is a file (netns); `quicmesh-lab logs` reads every backend. */
  logFile: string | null;
  /** A host's node process: pid or container, whether it runs, how often it was restarted. */
  process?: { pid: number | null; container?: string; running: boolean; restarts: number };
  /** A command node's kind (node kinds, issue 14): "command" or its program's name; absent for a quicmesh node. */
  program?: string;
}

export interface LabHandle {
  name: string;
  backend: string;
  nodes: LabNode[];
  /** How link shaping is done ("netem", "nft-loss+tbf+nfqueue", or "none requested"). */
  shaping: string;
  /** Milliseconds per build step, for reports. */
  timings: Partial<Record<BuildStep, number>>;
}

export interface NodeStatus {
  node: string;
  reachable: boolean;
  /** The node's /status JSON when it answered. */
  status: Record<string, unknown> | null;
  error: string | null;
}

export interface LabStatus {
  name: string;
  backend: string;
  phase: string;
  nodes: Array<LabNode & { live: NodeStatus | null }>;
  /** The lab's link shaping now (as `up` made it, changed by `link set`). */
  links?: ResolvedLink[];
  /** Links cut with `link down`. */
  linkCuts?: Array<{ network: string; node: string | null }>;
  /** Partitions in force: their sides. */
  partitions?: Array<{ id: number; sides: [string[], string[]] }>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when `signal` aborted it and it was killed (node kinds, issue 14: a probe past its timeout). */
  killed?: boolean;
}

export type MoveStep = 'attach' | 'commit' | 'shaping';

export interface MoveOptions {
  /** The node's new address (default: the lowest free one on the target network). */
  address?: string;
  /** Test hook: throw after the named step, to exercise the restore of the old attachment. */
  failAfterStep?: MoveStep;
}

export interface MoveResult {
  node: string;
  from: { network: string; address: string };
  /** gateway: the default route's next hop, null on a public segment (no default route there). */
  to: { network: string; address: string; gateway: string | null };
  /** The shaping on the node's new attachment ("none", or what and from which link). */
  shaping: string;
  ms: number;
}

/** What `forgetNatState` removed: routers examined on the two paths, conntrack entries and set elements deleted. */
export interface ForgetResult {
  routers: number;
  entries: number;
}

/** What `stop`, `start` or `restart` did to a node's process. */
export interface NodeProcessResult {
  node: string;
  running: boolean;
  /** Host pid of the node process (netns) or of its container's main process (docker); null once stopped. */
  pid: number | null;
  /** Docker: the node container. */
  container?: string;
  /** Starts after the first one. */
  restarts: number;
  /** A command node (node kinds): the program's kind; absent for a quicmesh node. */
  program?: string;
  /** start/restart: the NodeId its /status gives (the same key gives the same NodeId); null for a command node. */
  nodeId?: string | null;
  /** start/restart: from the start of the process until it was ready (its first answer on /status, or its `ready:`), ms. */
  readyMs?: number;
  ms: number;
}

/** `link set`: the fields given replace the link's current ones; the others stay as they are. */
export interface LinkChange {
  network: string;
  /** Only this node's interface on the network. */
  node?: string;
  delayMs?: number;
  jitterMs?: number;
  lossPct?: number;
  rateKbit?: number;
}

export interface LinkSetResult {
  network: string;
  node: string | null;
  /** The link's shaping now. */
  link: ResolvedLink;
  /** Interfaces whose shaping changed. */
  interfaces: number;
  /** How it is shaped: tc netem, or the fallback stages. */
  mode: string;
  ms: number;
}

export interface LinkStateResult {
  network: string;
  node: string | null;
  state: 'up' | 'down';
  /** Switch ports set up or down. */
  ports: number;
  ms: number;
}

export interface PartitionResult {
  id: number;
  sides: [string[], string[]];
  /** Machines that got drop rules. */
  machines: number;
  ms: number;
}

export interface HealResult {
  /** Partitions removed. */
  partitions: number;
  machines: number;
  ms: number;
}

/** `nat reset`: what the router forgot. */
export interface NatResetResult {
  router: string;
  /** Conntrack entries flushed. */
  conntrack: number;
  /** Elements of the NAT table's sets and maps (mappings, pinholes, permissions) flushed. */
  elements: number;
  ms: number;
}

export interface ExecOptions {
  /** Attach the caller's terminal (stdio inherited). */
  inherit?: boolean;
  /** Each chunk of output as it comes (besides the buffered result). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /** Kill the command (SIGKILL) when this aborts; the result then says `killed`. */
  signal?: AbortSignal;
}

/** A command started with `exec --detach`. */
export interface DetachedExec {
  node: string;
  /** Its number among the node's detached commands: `logs NODE --exec ID`. */
  id: number;
  /** Its log on the host. */
  logFile: string;
  pid: number | null;
}

export interface LogOptions {
  /** A detached command's log (its id) instead of the node's. */
  exec?: number;
  follow?: boolean;
  /** Only the last N lines before following. */
  tail?: number;
  signal?: AbortSignal;
}

export interface Runtime {
  readonly name: string;
  up(topology: ResolvedTopology, opts?: UpOptions): Promise<LabHandle>;
  /** Remove everything the lab made; safe on a half-built or crashed lab, and twice. */
  down(lab: string, opts?: { onProgress?: (line: string) => void }): Promise<void>;
  status(lab: string): Promise<LabStatus>;
  /** Run a command in a node or router; `onOutput` sees its output as it comes. */
  exec(lab: string, node: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Start a command in a node or router in the background; its log is `logs(lab, node, { exec: id })`. */
  execDetached(lab: string, node: string, argv: string[]): Promise<DetachedExec>;
  /** A node's log (its process's stdout and stderr), as text chunks; with `follow`, until the signal aborts. */
  logs(lab: string, node: string, opts?: LogOptions): AsyncIterable<string>;
  listLabs(): Promise<string[]>;
  /** Attach a running host to another network of its lab (or renumber it on its own), its node still running. */
  moveHost(lab: string, node: string, network: string, opts?: MoveOptions): Promise<MoveResult>;
  /**
   * Delete the NAT state between two hosts in every router on their paths — the pinholes and filter
   * permissions their traffic opened — so their next connection starts from cold NATs. Mappings the hosts
   * share with other traffic stay.
   */
  forgetNatState(lab: string, nodeA: string, nodeB: string): Promise<ForgetResult>;
  /** Stop a node's process (its container on docker); its machine, links and key stay. */
  stopNode(lab: string, node: string, opts?: { graceMs?: number }): Promise<NodeProcessResult>;
  /** Start a stopped node again as it was started first (same key, so the same NodeId; a command node: the same argv, env and data directory); resolves once it is ready (/status, or its `ready:`). */
  startNode(lab: string, node: string, opts?: { readyTimeoutMs?: number }): Promise<NodeProcessResult>;
  /** Stop, then start. */
  restartNode(lab: string, node: string, opts?: { graceMs?: number; readyTimeoutMs?: number }): Promise<NodeProcessResult>;
  /** Change the shaping of a network's interfaces (or one node's) on a running lab. */
  setLink(lab: string, change: LinkChange): Promise<LinkSetResult>;
  /** Cut (`up` false) or restore a network's switch ports, or one node's port on it. */
  setLinkState(lab: string, network: string, node: string | null, up: boolean): Promise<LinkStateResult>;
  /** Drop all traffic between two sides (node names) in both directions until `heal`. */
  partition(lab: string, sideA: string[], sideB: string[]): Promise<PartitionResult>;
  /** Remove every partition. */
  heal(lab: string): Promise<HealResult>;
  /** Reboot a router's NAT: every conntrack entry and NAT table element of it forgotten at once. */
  resetNat(lab: string, router: string): Promise<NatResetResult>;
}
