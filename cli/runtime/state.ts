/**
 * A lab's state: what `up` planned and made, so every later verb (and `down` after a crash) knows the
 * lab as it is now. Common fields for every backend, plus one section per backend. The state is read and
 * written through a `LabStore` (one file per lab under a root that defaults to /run/quicmesh-lab — tmpfs,
 * so a reboot forgets the lab as it forgets namespaces and containers); verbs never build file paths of
 * their own. The state is written before any resource is created and lists everything `up` plans to make.
 */
import type { NatStack } from '../nat/stack.js';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import type { ResolvedLink, ResolvedReady } from '../topology/model.js';
import type { LabNode } from './runtime.js';

/** 2: backend sections (`netns`, `docker`) and per-node process records. 1 is still read. */
export const STATE_VERSION = 2;

/** Root of every lab's state; QUICMESH_LAB_STATE_DIR overrides it (tests, non-root experiments). */
export function stateRoot(): string {
  return process.env.QUICMESH_LAB_STATE_DIR ?? '/run/quicmesh-lab';
}

export function labDir(lab: string): string {
  return join(stateRoot(), lab);
}

/** A node's or router's own directory on the host: key, data, detached commands' logs (/lab in a container). */
export function machineDataDir(lab: string, name: string): string {
  return join(labDir(lab), 'nodes', name);
}

/** Where a node's process runs now: a host process (netns) or a container (docker). */
export interface NodeProcessRecord {
  /** Host pid of the node process (netns), or of the container's main process (docker) while it runs. */
  pid: number | null;
  /** Docker: the node container's name. */
  container?: string;
  /** False once the node was stopped (`quicmesh-lab stop`) or its process is known to have ended. */
  running: boolean;
  /** Starts after the first one. */
  restarts: number;
}

/** A router or host as the state records it: the backend-neutral view plus what verbs need. */
export interface NodeRecord extends LabNode {
  /** The node's topology role (bootstrap, relay, plain), "router" for routers; absent in older state files. */
  role?: string;
  /** Management address (hosts only); `statusUrl` is the node's metrics/status URL on it. */
  mgmtAddress: string | null;
  /**
   * Routers only: preset and both sides, for verbs that act on NAT state (`forgetNatState`). Absent in
   * older state files, which carry the same in `network` ("wan → lan") and `addresses`.
   */
  /** Hosts: the NATs between the node and the internet and what they add up to; absent in older state files. */
  natStack?: NatStack;
  router?: { preset: string; wan: { network: string; address: string }; lan: { network: string; address: string }; hairpin?: boolean };
  /** Which machine (engine or host) it is placed on; "local" on a one-host lab. */
  placement?: string;
  /** Hosts whose node was started: its process now. */
  process?: NodeProcessRecord;
  /** How the node was started (argv as its process sees it, its data directory on the host): a restart repeats it. */
  launch?: NodeLaunchRecord;
  /** Hosts: the topology group it came from (a replica `alice-2` of group `alice`); absent in older state files. */
  group?: string;
}

/** How a node was started; the command-kind fields (issue 14) are absent for a quicmesh node. */
export interface NodeLaunchRecord {
  argv: string[];
  dataDir: string;
  /** "quicmesh" (absent in older states), "command" or the name of the program's kind. */
  kind?: string;
  env?: Record<string, string>;
  image?: string;
  mounts?: string[];
  /** How the lab knows it is up, templates filled in; absent: /status (quicmesh) or once it runs (command). */
  ready?: ResolvedReady | null;
}

/** A link cut with `link down`: the switch-side port(s) of a network, or of one node on it, are down. */
export interface LinkCut {
  network: string;
  /** null: every port of the network's switch. */
  node: string | null;
}

/** A partition made with `partition`: the two sides (node names) and the drop rules installed for it. */
export interface PartitionRecord {
  /** 1, 2, …: the order partitions were made in. */
  id: number;
  sides: [string[], string[]];
  /** Per machine namespace, the addresses its table drops traffic to and from. */
  rules: Array<{ namespace: string; machine: string; drop: string[] }>;
}

/**
 * A network as a later verb (`move`) needs it: the state file is all it has, the topology file may
 * have changed or not exist.
 */
export interface NetworkRecord {
  name: string;
  kind: 'public' | 'lan';
  subnet: string;
  /** The switch namespace (bridge br0). */
  namespace: string;
  /** Default gateway of a host placed here: the LAN's router, null on a public segment (no default route). */
  gateway: string | null;
  /** What `status` shows as a host's NAT here: the LAN router's preset, or "public". */
  nat: string;
  /** The NATs between this network and the internet and what they add up to (cli/nat/stack.ts); absent in older state files. */
  natStack?: NatStack;
  /** Routes a host here needs besides its subnet: LANs of routers without NAT whose WAN is this network. */
  routes: Array<{ subnet: string; via: string }>;
}

/** A process the lab started on the host (node processes on netns, link shapers, Prometheus). */
export interface ProcessRecord {
  /** What it is: "node:<name>", "shaper:<namespace>:<iface>" or "prometheus". */
  role: string;
  namespace: string;
  pid: number;
  /** A string found in /proc/<pid>/cmdline, checked before killing so a recycled pid is never hit. */
  cmdlineMark: string;
}

/** The netns backend's own part: interfaces it made in the root namespace (management bridge, veth ends). */
export interface NetnsSection {
  rootLinks: string[];
}

/** The docker backend's own part: what it made in the engine (all labelled with the lab's name too). */
export interface DockerSection {
  /** The engine, as the user gave it (DOCKER_HOST) or the socket path. */
  engine: string;
  images: { node: string; router: string };
  /** A Docker management network of labs made by older versions (null now: the lab's own bridge, as on netns). */
  network: { name: string; id: string | null } | null;
  /** Containers by role: "router", "pod" (holds a host's network namespace) or "node". */
  containers: Array<{ name: string; machine: string; role: 'router' | 'pod' | 'node'; id: string | null }>;
}

export interface LabState {
  version: number;
  lab: string;
  backend: string;
  topologyFile: string;
  createdAt: string;
  phase: 'building' | 'up' | 'tearing-down';
  /** Short per-lab tag used in root-namespace interface names (≤ 15 chars). */
  tag: string;
  /**
   * Named network namespaces the lab's wiring uses, created or not yet: the networks' switches and every
   * machine's (made by the netns backend, or a container's namespace given a name on docker).
   */
  namespaces: string[];
  mgmtSubnet: string | null;
  nodes: NodeRecord[];
  processes: ProcessRecord[];
  shaping: string | null;
  /** The lab's networks and link shaping, for `move`; `link set` keeps the shaping current. */
  networks?: NetworkRecord[];
  links?: ResolvedLink[];
  /** Links cut with `link down` and not brought up again. */
  linkCuts?: LinkCut[];
  /** Partitions made with `partition` and not healed. */
  partitions?: PartitionRecord[];
  /** The lab's Prometheus server (`up --prometheus`), when one was started; see cli/lab/prometheus.ts. */
  prometheus?: PrometheusRecord | null;
  netns?: NetnsSection;
  docker?: DockerSection;
}

/** A Prometheus server scraping the lab's nodes. Its process is also listed in `processes`. */
export interface PrometheusRecord {
  /** Base URL, e.g. "http://172.31.1.1:9090". */
  url: string;
  pid: number;
  configFile: string;
  dataDir: string;
  logFile: string;
  scrapeIntervalS: number;
}

/** Where lab states live. One implementation today (files); the seam leaves room for a shared store. */
export interface LabStore {
  read(lab: string): LabState | null;
  write(state: LabState): void;
  /** Read, change and write back under the lab's lock, so concurrent verbs never lose each other's change. */
  update<T>(lab: string, change: (state: LabState) => T): Promise<T>;
  list(): string[];
  remove(lab: string): void;
}

export function statePath(lab: string): string {
  return join(labDir(lab), 'state.json');
}

/** Write atomically (rename), so a crash never leaves a torn file. */
export function writeState(state: LabState): void {
  const dir = labDir(state.lab);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.state.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, statePath(state.lab));
}

/** A version-1 state (netns only, root links at the top level) in today's form. */
function fromVersion1(s: LabState & { rootLinks?: string[] }): LabState {
  const { rootLinks, ...rest } = s;
  return { ...rest, version: STATE_VERSION, netns: { rootLinks: rootLinks ?? [] } };
}

export function readState(lab: string): LabState | null {
  const file = statePath(lab);
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`lab state ${file} is not valid JSON`, { cause: err });
  }
  const s = parsed as Partial<LabState>;
  const known = s.version === STATE_VERSION || s.version === 1;
  if (!known || typeof s.lab !== 'string' || typeof s.backend !== 'string' || !Array.isArray(s.nodes) || !Array.isArray(s.namespaces)) {
    throw new ConfigError(`lab state ${file} has an unknown format (version ${String(s.version)})`);
  }
  if (s.version === 1) return fromVersion1(s as LabState);
  if (!(s as Record<string, unknown>)[s.backend]) {
    throw new ConfigError(`lab state ${file} names backend "${s.backend}" but has no section for it`);
  }
  return s as LabState;
}

/** Names of labs with a state directory. */
export function listStateLabs(): string[] {
  const root = stateRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(root, d.name, 'state.json')))
    .map((d) => d.name)
    .sort();
}

export function removeLabDir(lab: string): void {
  rmSync(labDir(lab), { recursive: true, force: true });
}

/** Is the pid in a lock file a live process? A missing or unreadable file counts as no. */
function lockHolder(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && process.kill(pid, 0) ? pid : null;
  } catch {
    return null; // gone, unreadable, or no such process: stale
  }
}

/**
 * Run `fn` holding the lab's lock `name` (a file created exclusively; a holder that died leaves a stale lock,
 * taken over). `wait`: how long to wait for a live holder, ms; 0 fails at once naming the holder.
 */
export async function withLabLock<T>(lab: string, name: string, fn: () => Promise<T>, opts: { wait?: number; busy?: string } = {}): Promise<T> {
  const file = join(labDir(lab), `${name}.lock`);
  mkdirSync(labDir(lab), { recursive: true });
  const deadline = Date.now() + (opts.wait ?? 0);
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(file);
      if (holder === null) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new ConfigError(opts.busy ?? `lab ${lab} is busy (${name} held by pid ${holder}); try again when it is done`);
      }
      await new Promise((r) => setTimeout(r, 20)); // a short critical section on the other side: retry soon
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Copy what a node's stop or start changed (its process record, log file, recorded host process and
 * node container) from `from` into `into`: verbs that act on one node work on a state read before the
 * backend call and merge it into the current one afterwards, so concurrent verbs on other nodes keep
 * their changes.
 */
export function mergeNodeChanges(into: LabState, from: LabState, name: string): void {
  const src = from.nodes.find((n) => n.name === name);
  const dst = into.nodes.find((n) => n.name === name);
  if (src && dst) {
    if (src.process) dst.process = { ...src.process };
    dst.logFile = src.logFile;
  }
  const role = `node:${name}`;
  into.processes = [...into.processes.filter((p) => p.role !== role), ...from.processes.filter((p) => p.role === role)];
  if (into.docker && from.docker) {
    const mine = (c: DockerSection['containers'][number]) => c.machine === name && c.role === 'node';
    into.docker.containers = [...into.docker.containers.filter((c) => !mine(c)), ...from.docker.containers.filter(mine)];
  }
}

/** The file store every verb uses. */
export const fileStore: LabStore = {
  read: readState,
  write: writeState,
  list: listStateLabs,
  remove: removeLabDir,
  update: (lab, change) =>
    withLabLock(lab, 'state', async () => {
      const state = readState(lab);
      if (!state) throw new ConfigError(`no lab named "${lab}" is up`);
      const out = change(state);
      writeState(state);
      return out;
    }, { wait: 10_000 }),
};

/** The lab a verb acts on: the one named, else the only one up; a clear error otherwise. */
export function pickLab(requested: string | undefined, labsUp: string[]): string {
  if (requested) return requested;
  if (labsUp.length === 1) return labsUp[0]!;
  if (!labsUp.length) throw new ConfigError('no lab is up (start one with: quicmesh-lab up FILE)');
  throw new ConfigError(`several labs are up (${labsUp.join(', ')}): name one with --lab NAME`);
}

/** The state of a lab that must be up. */
export function mustState(lab: string): LabState {
  const state = readState(lab);
  if (!state) throw new ConfigError(`no lab named "${lab}" is up`);
  return state;
}
