/**
 * probePeer: "can this node connect to that peer, how, and how fast?" — what the lab's `test` verb
 * asks every node through POST /connect. First a direct dial (a Ping to the address, expecting the
 * given NodeId); when the node has a RelayLink (attachTraversal) the direct try gets a short
 * deadline, and on failure the peer is reached through a relay session (a Ping through the
 * tunnel): path 'relayed'. Timed from the first packet to the reply (handshake, failed direct try
 * included). A connect that ends on a direct or hole-punched path is observed in
 * quicmesh_path_time_to_direct_seconds (its time to connect).
 */
import type { NodeId } from '../core/types.js';
import type { Histogram } from '../metrics/metrics.js';
import type { Target } from '../transport/transport.js';
import type { MeshNode } from './mesh-node.js';
import type { PathRecorder } from './path-recorder.js';
import type { PunchDriver } from './punch-driver.js';
import type { RelayLink } from './relay-link.js';
import { timeToDirectMetric } from './traversal-metrics.js';

export type ProbePath = 'direct' | 'hole-punched' | 'relayed';

export interface ProbeOptions {
  /** Close any connection to the peer first, so the probe measures a new one. */
  fresh?: boolean;
  /** Deadline of the connect exchange, ms (the transport's default when absent). */
  timeoutMs?: number;
  /**
   * Keep what the probe opened (a relay session) this long after answering, ms, instead of
   * releasing it at once (default 0): so a session is observable (status, metrics) meanwhile.
   */
  holdMs?: number;
  signal?: AbortSignal;
}

export interface ProbeResult {
  connected: boolean;
  path: ProbePath | null;
  /** From sending to the first reply, handshake included; null when not connected. */
  timeToConnectMs: number | null;
  /** Round trip of a second Ping over the established connection. */
  rttMs?: number;
  /** "ErrorName: message" when not connected. */
  error?: string;
}

/** NAT traversal attached to a node: how probePeer reaches peers it cannot dial. */
export interface Traversal {
  relay?: RelayLink;
  /** Hole punching through the relays as rendezvous (needs `relay`). */
  punch?: PunchDriver;
  /** Where each step's outcome is recorded (path state and metrics). */
  paths?: PathRecorder;
  /** Deadline of the direct try when a fallback exists, ms. Default 1 500. */
  directTimeoutMs?: number;
}

const traversals = new WeakMap<MeshNode, Traversal>();
const timeToDirect = new WeakMap<MeshNode, Histogram>();

/** Let probePeer fall back to `t` for `node` (createNode does this); registers the probe's metric. */
export function attachTraversal(node: MeshNode, t: Traversal): void {
  traversals.set(node, t);
  timeToDirect.set(node, timeToDirectMetric(node.components.metrics));
}

/** A transport that can drop its connections to one peer (QuicTransport, MemoryTransport). */
interface Disconnectable {
  disconnect(nodeId: NodeId): void;
}

function canDisconnect(transport: unknown): transport is Disconnectable {
  return typeof (transport as Partial<Disconnectable>).disconnect === 'function';
}

/** Connect to `target` (its address and expected NodeId) and report the outcome; never rejects. */
export async function probePeer(
  node: MeshNode,
  target: Required<Target>,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  if (opts.fresh && canDisconnect(node.transport)) node.transport.disconnect(target.nodeId);
  const clock = node.components.clock;
  const t0 = clock.now();
  let how: Connected;
  try {
    how = await connectOnce(node, target, opts);
  } catch (err) {
    return { connected: false, path: null, timeToConnectMs: null, error: errorText(err) };
  }
  const timeToConnectMs = clock.now() - t0;
  const result: ProbeResult = { connected: true, path: how.path, timeToConnectMs };
  if (how.path !== 'relayed') {
    let h = timeToDirect.get(node);
    if (h === undefined) {
      h = timeToDirectMetric(node.components.metrics);
      timeToDirect.set(node, h);
    }
    h.observe(timeToConnectMs / 1000);
  }
  // The RTT is extra information: a failure here does not undo the connection.
  const t1 = clock.now();
  try {
    await how.ping();
    result.rttMs = clock.now() - t1;
    traversals.get(node)?.paths?.rtt(target.nodeId, result.rttMs);
  } catch {
    // leave rttMs out
  }
  const holdMs = opts.holdMs ?? 0;
  if (holdMs > 0) clock.setTimer(holdMs, () => void how.done());
  else await how.done();
  return result;
}

interface Connected {
  path: ProbePath;
  /** One more Ping over the same path. */
  ping(): Promise<unknown>;
  /** Release what the probe opened (a relay session). */
  done(): Promise<void>;
}

/** One connection attempt: direct, then through a relay; resolves with the path taken. */
async function connectOnce(node: MeshNode, target: Required<Target>, opts: ProbeOptions): Promise<Connected> {
  const ping = { type: 'Ping' as const, from: node.contact };
  const t = traversals.get(node);
  const relay = t?.relay;
  const directTimeout =
    relay === undefined ? opts.timeoutMs : Math.min(opts.timeoutMs ?? Infinity, t?.directTimeoutMs ?? 1_500);
  const direct = (): Promise<unknown> => node.request(target, ping, { timeoutMs: directTimeout, signal: opts.signal });
  const paths = t?.paths;
  const peer = target.nodeId;
  paths?.begin(peer, target.addr, { relay: relay !== undefined, punch: relay !== undefined && t?.punch !== undefined });
  try {
    await direct();
    paths?.direct(peer, target.addr, true);
    return { path: 'direct', ping: () => node.request(target, ping, { timeoutMs: opts.timeoutMs, signal: opts.signal }), done: async () => {} };
  } catch (err) {
    paths?.direct(peer, target.addr, false);
    if (relay === undefined || opts.signal?.aborted) throw err;
  }
  if (t?.punch !== undefined) {
    const punched = await tryPunch(node, t.punch, relay, target, opts);
    paths?.punched(peer, punched?.addr ?? null);
    if (punched !== undefined) {
      return { path: 'hole-punched', ping: () => node.request(punched, ping, { timeoutMs: opts.timeoutMs, signal: opts.signal }), done: async () => {} };
    }
  }
  let tunnel;
  try {
    tunnel = await relay.open(peer, { timeoutMs: opts.timeoutMs });
    try {
      await tunnel.request(ping, { timeoutMs: opts.timeoutMs });
    } catch (err) {
      await tunnel.close();
      throw err;
    }
  } catch (err) {
    paths?.relayed(peer, false);
    throw err;
  }
  paths?.relayed(peer, true);
  const open = tunnel;
  return {
    path: 'relayed',
    ping: () => open.request(ping, { timeoutMs: opts.timeoutMs }),
    done: async () => {
      await open.close();
      paths?.released(peer);
    },
  };
}

/** Punch through the first relay that coordinates one, then Ping the punched address; undefined on failure. */
async function tryPunch(
  node: MeshNode,
  punch: PunchDriver,
  relay: RelayLink,
  target: Required<Target>,
  opts: ProbeOptions,
): Promise<Required<Target> | undefined> {
  for (const rendezvous of relay.reachableRelays()) {
    try {
      const result = await punch.punchVia(rendezvous, target.nodeId, opts.timeoutMs);
      const punched = { addr: result.addr, nodeId: target.nodeId };
      await node.request(punched, { type: 'Ping', from: node.contact }, { timeoutMs: opts.timeoutMs, signal: opts.signal });
      return punched;
    } catch (err) {
      node.components.logger.debug('hole punch failed', { via: rendezvous.addr, error: errorText(err) });
      if (opts.signal?.aborted) throw err;
    }
  }
  return undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
