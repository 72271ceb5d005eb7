/**
 * Waiting for a lab's mesh before testing it: first every node answers GET /status with its NodeId
 * (a hard requirement: the test cannot address a node otherwise), then the bootstrap has settled —
 * every node that should know a peer by now reports at least one. Both under one deadline; an
 * unsettled bootstrap is reported, not fatal, since the expectations say what really matters.
 */
import { AbortError, TimeoutError } from '../../src/errors.js';
import type { ResolvedNode, ResolvedTopology } from '../topology/model.js';
import type { LabHandle } from '../runtime/index.js';

/** What the test needs of one running node. */
export interface MeshMember {
  name: string;
  /** Full URL of GET /status on the management network. */
  statusUrl: string;
  /** Full URL of POST /connect. */
  connectUrl: string;
  /** Hex NodeId from /status. */
  nodeId: string;
  /** Hex public key from /status, when the node reports it: the test then connects from its endpoint record. */
  identity?: string;
  /** Data-plane address other nodes dial, "address:port" from the topology. */
  dataAddr: string;
  /** Peer count from the last /status read. */
  peers: number;
  /** Whether the node has published its endpoint record (true when it does not say). */
  joined: boolean;
}

export type FetchStatus = (url: string) => Promise<Record<string, unknown> | null>;

export interface WaitForMeshOptions {
  /** Deadline for both phases, ms. */
  timeoutMs: number;
  fetchStatus: FetchStatus;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** Pause between polls, ms (default 100). */
  pollMs?: number;
}

export interface MeshReady {
  members: Map<string, MeshMember>;
  /** True when every node that should have a peer has one. */
  settled: boolean;
  /** Nodes still without a peer at the deadline. */
  unsettled: string[];
  /** Time until every node answered /status, and until bootstrap settled (or gave up), ms. */
  answeredMs: number;
  settledMs: number;
}

/**
 * Whether `node` should have a peer once bootstrap is done: it was given bootstrap peers (there is a
 * bootstrap node other than itself), or it is a bootstrap node others join through. Pure.
 */
export function expectsPeers(topology: ResolvedTopology, node: ResolvedNode): boolean {
  const others = topology.nodes.filter((n) => n.name !== node.name);
  if (others.some((n) => n.role === 'bootstrap')) return true;
  return node.role === 'bootstrap' && others.length > 0;
}

/** The peer count a /status body reports: `peersSeen`, else `peers` (a number or a list). */
export function peerCount(status: Record<string, unknown>): number | null {
  const value = status.peersSeen ?? status.peers;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.length;
  return null;
}

const NODE_ID = /^[0-9a-f]{64}$/i;

export async function waitForMesh(
  topology: ResolvedTopology,
  handle: LabHandle,
  opts: WaitForMeshOptions,
): Promise<MeshReady> {
  const t0 = performance.now();
  const deadline = t0 + opts.timeoutMs;
  const pollMs = opts.pollMs ?? 100;
  const say = opts.onProgress ?? (() => {});
  const urls = new Map(handle.nodes.filter((n) => n.kind === 'host').map((n) => [n.name, n.statusUrl]));
  const members = new Map<string, MeshMember>();

  const read = async (node: ResolvedNode): Promise<MeshMember | null> => {
    const url = urls.get(node.name);
    if (!url) throw new TimeoutError(`node ${node.name} has no status URL (was the lab started with nodes?)`);
    const body = await opts.fetchStatus(url);
    if (!body || typeof body.nodeId !== 'string' || !NODE_ID.test(body.nodeId)) return null;
    return {
      name: node.name,
      statusUrl: url,
      connectUrl: url.replace(/\/status$/, '/connect'),
      nodeId: body.nodeId.toLowerCase(),
      ...(typeof body.identity === 'string' && NODE_ID.test(body.identity) ? { identity: body.identity.toLowerCase() } : {}),
      dataAddr: `${node.address}:${node.port}`,
      peers: peerCount(body) ?? 0,
      joined: recordPublished(body),
    };
  };

  // Phase 1: every node answers with its NodeId.
  let missing = [...topology.nodes];
  for (;;) {
    const found = await Promise.all(missing.map(read));
    missing = missing.filter((n, i) => {
      const m = found[i];
      if (m) members.set(n.name, m);
      return !m;
    });
    if (missing.length === 0) break;
    throwIfAborted(opts.signal);
    if (performance.now() > deadline) {
      throw new TimeoutError(
        `no NodeId from /status of ${missing.map((n) => n.name).join(', ')} within ${opts.timeoutMs} ms`,
      );
    }
    await pause(pollMs, opts.signal);
  }
  const answeredMs = performance.now() - t0;
  say(`all ${members.size} node(s) answer /status (${(answeredMs / 1000).toFixed(2)} s)`);

  // Phase 2: bootstrap settled: a peer known and the endpoint record out (the lab's probes start from records).
  const unsettledNode = (m: MeshMember | null | undefined): boolean => (m?.peers ?? 0) < 1 || m?.joined === false;
  let waiting = topology.nodes.filter((n) => expectsPeers(topology, n) && unsettledNode(members.get(n.name)));
  while (waiting.length > 0 && performance.now() <= deadline) {
    throwIfAborted(opts.signal);
    await pause(pollMs, opts.signal);
    const again = await Promise.all(waiting.map(read));
    waiting = waiting.filter((n, i) => {
      const m = again[i];
      if (m) members.set(n.name, m);
      return unsettledNode(m);
    });
  }
  const settledMs = performance.now() - t0;
  const unsettled = waiting.map((n) => n.name);
  if (unsettled.length === 0)
    say(`bootstrap settled: every node knows a peer and published its record (${(settledMs / 1000).toFixed(2)} s)`);
  else
    say(
      `warning: bootstrap not settled after ${(settledMs / 1000).toFixed(2)} s; no peer or record yet: ${unsettled.join(', ')}`,
    );
  return { members, settled: unsettled.length === 0, unsettled, answeredMs, settledMs };
}

/** `extra.nat.recordPublished` of a /status body; true when absent (nodes that do not publish). */
export function recordPublished(status: Record<string, unknown>): boolean {
  const nat = (status.extra as { nat?: { recordPublished?: unknown } } | undefined)?.nat;
  return nat?.recordPublished !== false;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('interrupted');
}

/** Retry pause between polls; ends early on abort. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
