/**
 * The backend-neutral lab runtime: what `quicmesh-lab up/down/status/exec/logs` need from a
 * backend, and a registry of backends by name (netns now; docker and sim can register later).
 * Every resource a backend makes carries the lab's name, so labs never step on each other.
 */
import { ConfigError } from '../../src/errors.js';
import type { ResolvedTopology } from '../topology/model.js';

export interface UpOptions {
  /** Start the quicmesh node processes (default true). False builds the bare network. */
  startNodes?: boolean;
  /** Progress lines ("routers: 3 namespaces, NAT rules ... 0.12 s"). */
  onProgress?: (line: string) => void;
  /** argv prefix for a node process; default: [node, <repo>/bin/quicmesh.js]. */
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
  logFile: string | null;
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
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
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

export interface Runtime {
  readonly name: string;
  up(topology: ResolvedTopology, opts?: UpOptions): Promise<LabHandle>;
  /** Remove everything the lab made; safe on a half-built or crashed lab. */
  down(lab: string, opts?: { onProgress?: (line: string) => void }): Promise<void>;
  status(lab: string): Promise<LabStatus>;
  exec(lab: string, node: string, argv: string[], opts?: { inherit?: boolean }): Promise<ExecResult>;
  logsPath(lab: string, node: string): string;
  listLabs(): Promise<string[]>;
  /**
   * Optional: attach a running host to another network of its lab (or renumber it on its own),
   * keeping its node process running. Backends that cannot leave it out.
   */
  moveHost?(lab: string, node: string, network: string, opts?: MoveOptions): Promise<MoveResult>;
  /**
   * Optional: delete the NAT state between two hosts in every router on their paths — the pinholes and
   * filter permissions their traffic opened — so their next connection starts from cold NATs. Mappings
   * the hosts share with other traffic stay. Backends without NAT routers leave it out.
   */
  forgetNatState?(lab: string, nodeA: string, nodeB: string): Promise<ForgetResult>;
}

const backends = new Map<string, () => Runtime>();

export function registerRuntime(name: string, factory: () => Runtime): void {
  backends.set(name, factory);
}

export function runtimeNames(): string[] {
  return [...backends.keys()].sort();
}

/**
 * `auto` picks the first backend that can run here, in order of preference: Docker when such a
 * backend is registered and its engine answers (probe given by the backend), else netns as root on
 * Linux. Other names pass through.
 */
export function resolveBackendName(name: string, env: { platform?: string; uid?: number } = {}): string {
  if (name !== 'auto') return name;
  for (const candidate of AUTO_ORDER) {
    const probe = autoProbes.get(candidate);
    if (backends.has(candidate) && probe && probe(env)) return candidate;
  }
  throw new ConfigError(
    `--backend auto: no backend can run here (tried ${AUTO_ORDER.join(', ')}); the netns backend needs root on Linux`,
  );
}

const AUTO_ORDER = ['docker', 'netns'];
const autoProbes = new Map<string, (env: { platform?: string; uid?: number }) => boolean>([
  ['netns', (env) => (env.platform ?? process.platform) === 'linux' && (env.uid ?? process.getuid?.()) === 0],
]);

/** Let a backend say whether `auto` may choose it on this machine. */
export function registerAutoProbe(name: string, probe: (env: { platform?: string; uid?: number }) => boolean): void {
  autoProbes.set(name, probe);
}

export function getRuntime(requested: string): Runtime {
  const name = resolveBackendName(requested);
  const factory = backends.get(name);
  if (!factory) throw new ConfigError(`unknown lab backend "${name}" (known: ${runtimeNames().join(', ') || 'none'})`);
  return factory();
}
