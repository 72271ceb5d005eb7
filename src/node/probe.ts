/**
 * probePeer: "can this node connect to that peer, how, and how fast?" — what the lab's `test` verb
 * asks every node through POST /connect. Today a connection is a direct dial: a Ping to the address,
 * expecting the given NodeId, timed from the first packet to the reply (handshake included). NAT
 * traversal replaces the body of `connectOnce` with smartConnect (direct, then hole punch, then relay)
 * and reports the path it took; callers and the HTTP route stay as they are.
 */
import type { NodeId } from '../core/types.js';
import type { Target } from '../transport/transport.js';
import type { MeshNode } from './mesh-node.js';

export type ProbePath = 'direct' | 'hole-punched' | 'relayed';

export interface ProbeOptions {
  /** Close any connection to the peer first, so the probe measures a new one. */
  fresh?: boolean;
  /** Deadline of the connect exchange, ms (the transport's default when absent). */
  timeoutMs?: number;
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
  let path: ProbePath;
  try {
    path = await connectOnce(node, target, opts);
  } catch (err) {
    return { connected: false, path: null, timeToConnectMs: null, error: errorText(err) };
  }
  const timeToConnectMs = clock.now() - t0;
  const result: ProbeResult = { connected: true, path, timeToConnectMs };
  // The RTT is extra information: a failure here does not undo the connection.
  const t1 = clock.now();
  try {
    await node.request(
      target,
      { type: 'Ping', from: node.contact },
      { timeoutMs: opts.timeoutMs, signal: opts.signal },
    );
    result.rttMs = clock.now() - t1;
  } catch {
    // leave rttMs out
  }
  return result;
}

/** One connection attempt; resolves with the path taken. The seam NAT traversal replaces. */
async function connectOnce(node: MeshNode, target: Required<Target>, opts: ProbeOptions): Promise<ProbePath> {
  await node.request(
    target,
    { type: 'Ping', from: node.contact },
    { timeoutMs: opts.timeoutMs, signal: opts.signal },
  );
  return 'direct';
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
