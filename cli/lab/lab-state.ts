/**
 * The lab's state on disk: one directory per lab (state.json, node logs, keys) under a root that
 * defaults to /run/quicmesh-lab (tmpfs: a reboot also forgets the lab, as it forgets namespaces).
 * The state file is written before any resource is created and lists everything `up` plans to make,
 * so `down` can remove a half-built or crashed lab.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import type { ResolvedLink } from '../topology/model.js';
import type { LabNode } from '../runtime/runtime.js';

export const STATE_VERSION = 1;

/** Root of every lab's state; QUICMESH_LAB_STATE_DIR overrides it (tests, non-root experiments). */
export function stateRoot(): string {
  return process.env.QUICMESH_LAB_STATE_DIR ?? '/run/quicmesh-lab';
}

export function labDir(lab: string): string {
  return join(stateRoot(), lab);
}

/** A node as the state file records it: the backend-neutral view plus what the netns backend needs. */
export interface NodeRecord extends LabNode {
  /** The node's topology role (bootstrap, relay, plain), "router" for routers; absent in older state files. */
  role?: string;
  /** Management address (hosts only); `statusUrl` is the node's metrics/status URL on it. */
  mgmtAddress: string | null;
  /**
   * Routers only: preset and both sides, for verbs that act on NAT state (`forgetNatState`). Absent in
   * older state files, which carry the same in `network` ("wan → lan") and `addresses`.
   */
  router?: { preset: string; wan: { network: string; address: string }; lan: { network: string; address: string } };
}

/**
 * A network as a later verb (`move`) needs it: the state file is all it has, the topology file may
 * have changed or not exist. Recorded by the netns backend at `up`.
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
  /** Routes a host here needs besides its subnet: LANs of routers without NAT whose WAN is this network. */
  routes: Array<{ subnet: string; via: string }>;
}

export interface ProcessRecord {
  /** What it is: "node:<name>" or "shaper:<namespace>:<iface>". */
  role: string;
  namespace: string;
  pid: number;
  /** A string found in /proc/<pid>/cmdline, checked before killing so a recycled pid is never hit. */
  cmdlineMark: string;
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
  /** Every namespace up planned (created or not yet). */
  namespaces: string[];
  /** Interfaces in the root namespace (management bridge and veth ends). */
  rootLinks: string[];
  mgmtSubnet: string | null;
  nodes: NodeRecord[];
  processes: ProcessRecord[];
  shaping: string | null;
  /** The lab's networks and link shaping, for `move`; absent in state files of older versions. */
  networks?: NetworkRecord[];
  links?: ResolvedLink[];
  /** The lab's Prometheus server (`up --prometheus`), when one was started; see cli/lab/prometheus.ts. */
  prometheus?: PrometheusRecord | null;
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
  if (s.version !== STATE_VERSION || typeof s.lab !== 'string' || !Array.isArray(s.namespaces)) {
    throw new ConfigError(`lab state ${file} has an unknown format (version ${String(s.version)})`);
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

/** The lab a verb acts on: the one named, else the only one up; a clear error otherwise. */
export function pickLab(requested: string | undefined, labsUp: string[]): string {
  if (requested) return requested;
  if (labsUp.length === 1) return labsUp[0]!;
  if (!labsUp.length) throw new ConfigError('no lab is up (start one with: quicmesh-lab up FILE)');
  throw new ConfigError(`several labs are up (${labsUp.join(', ')}): name one with --lab NAME`);
}

/** The backend a lab was built with (from its state file), or the default. */
export function labBackend(lab: string, fallback = 'netns'): string {
  return readState(lab)?.backend ?? fallback;
}
