/**
 * probePeer: "can this node connect to that peer, how, and how fast?" — what the lab's `test` verb
 * asks every node through POST /connect.
 *
 * With NAT traversal attached (createNode does it on QUIC), the peer's endpoint record is resolved
 * from the DHT when the caller names its identity, and the SmartConnector connects from it: direct
 * dials, a hole punch through the peer's relay, and a relayed connection, in parallel (see
 * smart-connector.ts). `timeToConnectMs` runs from having the record to a verified connection;
 * `resolveMs` is the DHT lookup before it. A connect that ends direct or hole-punched is observed
 * in quicmesh_path_time_to_direct_seconds.
 *
 * On the in-memory transport the same connector runs: "connections" are Ping exchanges and relay
 * sessions carry request tunnels instead of QUIC connections.
 */
import type { Identity } from '../core/types.js';
import type { EndpointRecord, RelayEndpoint } from '../identity/endpoint-record.js';
import { nodeIdOfRecord } from '../identity/endpoint-record.js';
import { bytesEqual } from '../core/bytes.js';
import { errorText } from '../errors.js';
import type { Histogram } from '../metrics/metrics.js';
import { capability } from '../transport/capabilities.js';
import type { Target } from '../transport/transport.js';
import type { TraversalNode } from './host.js';
import type { RelayLink } from './relay-link.js';
import { behindNat, type ConnectPath, type SmartConnector } from './smart-connector.js';
import { timeToDirectMetric } from './traversal-metrics.js';

/** How a probe connected: 'direct', 'hole-punched' or 'relayed'. */
export type ProbePath = ConnectPath;

/** Options of probePeer: a fresh connection, a deadline, relay first with a later upgrade, an abort signal. */
export interface ProbeOptions {
  /** Close any connection to the peer first, so the probe measures a new one. */
  fresh?: boolean;
  /** Deadline of the connect, ms (the transport's default when absent). */
  timeoutMs?: number;
  /** Connect through a relay first and upgrade to direct `upgradeAfterMs` later (SmartConnector). */
  relayFirst?: boolean;
  upgradeAfterMs?: number;
  signal?: AbortSignal;
}

/** What probePeer reports: connected or not, by which path and how fast, with the record lookup and RTT. */
export interface ProbeResult {
  connected: boolean;
  path: ProbePath | null;
  /** From having the peer's record to a verified connection; null when not connected. */
  timeToConnectMs: number | null;
  /** The DHT lookup of the peer's endpoint record, when one was asked for. */
  resolveMs?: number;
  /** Whether that lookup found a valid record. */
  recordFound?: boolean;
  /** Round trip of a Ping over the established connection. */
  rttMs?: number;
  /** "ErrorName: message" when not connected. */
  error?: string;
}

/** NAT traversal attached to a node: how probePeer reaches peers. */
export interface Traversal {
  /** The smart connector (transports with paths: QUIC). */
  connector?: SmartConnector;
  /** Resolve a peer's endpoint record (the DHT). */
  resolve?: (identity: Identity) => Promise<EndpointRecord | null>;
  /** Our relay link: its relays stand in when the peer's record names none. */
  relay?: RelayLink;
}

/** The peer probePeer connects to: address and NodeId, and its identity to connect from its endpoint record. */
export interface ProbeTarget extends Required<Target> {
  /** The peer's Ed25519 public key: its endpoint record is looked up first. */
  identity?: Identity;
}

const traversals = new WeakMap<TraversalNode, Traversal>();
const timeToDirect = new WeakMap<TraversalNode, Histogram>();

/** Let probePeer use `t` for `node` (createNode does this); registers the probe's metric. */
export function attachTraversal(node: TraversalNode, t: Traversal): void {
  traversals.set(node, t);
  timeToDirect.set(node, timeToDirectMetric(node.components.metrics));
}

/** Connect to `target` (its address and expected NodeId) and report the outcome; never rejects. */
export async function probePeer(node: TraversalNode, target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const t = traversals.get(node) ?? {};
  const clock = node.components.clock;
  const result: ProbeResult = { connected: false, path: null, timeToConnectMs: null };
  let record: EndpointRecord | null = null;
  // Before the lookup, which may go to the peer itself: it must not join a dial of ours that a
  // NAT rebinding left stuck in its handshake.
  if (opts.fresh) t.connector?.dropPeer(target.nodeId);
  if (target.identity !== undefined && t.resolve !== undefined) {
    const t0 = clock.now();
    try {
      record = await t.resolve(target.identity);
      if (record !== null && !bytesEqual(nodeIdOfRecord(record), target.nodeId)) record = null;
    } catch {
      record = null;
    }
    result.resolveMs = clock.now() - t0;
    result.recordFound = record !== null;
  }
  const connector = t.connector;
  if (connector === undefined) return plainProbe(node, target, opts);
  try {
    const outcome = await connector.connect(
      {
        nodeId: target.nodeId,
        addrs: candidates(target.addr, record),
        relays: relaysFor(record, t.relay),
        ...(record !== null ? { behindNat: behindNat(record.addrs) } : {}),
      },
      { fresh: opts.fresh, timeoutMs: opts.timeoutMs, signal: opts.signal, relayFirst: opts.relayFirst, upgradeAfterMs: opts.upgradeAfterMs },
    );
    result.path = outcome.path;
    result.timeToConnectMs = outcome.timeToConnectMs;
    result.connected = true;
  } catch (err) {
    result.error = errorText(err);
    return result;
  }
  if (result.path !== 'relayed') {
    let h = timeToDirect.get(node);
    if (h === undefined) timeToDirect.set(node, (h = timeToDirectMetric(node.components.metrics)));
    h.observe(result.timeToConnectMs! / 1000);
  }
  // The RTT is extra information: a failure here does not undo the connection.
  const t1 = clock.now();
  try {
    await connector.request(target.nodeId, { type: 'Ping', from: node.contact }, { timeoutMs: opts.timeoutMs, signal: opts.signal });
    result.rttMs = clock.now() - t1;
    connector.recordRtt(target.nodeId, result.rttMs);
  } catch {
    // leave rttMs out
  }
  return result;
}

/** A node without NAT traversal attached (a bare MeshNode): one direct Ping. */
async function plainProbe(node: TraversalNode, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  if (opts.fresh) capability(node.transport, 'connectionControl')?.disconnect(target.nodeId);
  const clock = node.components.clock;
  const ping = { type: 'Ping' as const, from: node.contact };
  const t0 = clock.now();
  try {
    await node.request(target, ping, { timeoutMs: opts.timeoutMs, signal: opts.signal });
  } catch (err) {
    return { connected: false, path: null, timeToConnectMs: null, error: errorText(err) };
  }
  const result: ProbeResult = { connected: true, path: 'direct', timeToConnectMs: clock.now() - t0 };
  const t1 = clock.now();
  try {
    await node.request(target, ping, { timeoutMs: opts.timeoutMs, signal: opts.signal });
    result.rttMs = clock.now() - t1;
  } catch {
    // leave rttMs out
  }
  return result;
}

/** The peer's record addresses first, then the address the caller gave. */
function candidates(addr: string, record: EndpointRecord | null): string[] {
  return [...new Set([...(record?.addrs ?? []), addr])];
}

/** The peer's relays first, then ours (the peer may be linked to them too; a wrong guess costs one refusal). */
function relaysFor(record: EndpointRecord | null, link: RelayLink | undefined): RelayEndpoint[] {
  const out: RelayEndpoint[] = [...(record?.relays ?? [])];
  for (const r of link?.reachableEndpoints() ?? []) {
    if (!out.some((e) => bytesEqual(e.relayId, r.relayId))) out.push(r);
  }
  return out;
}

