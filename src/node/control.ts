/**
 * The node's control endpoint: JSON routes mounted on the status server (src/metrics/http.ts) so a
 * test harness can make a node act. `POST /connect` {addr, nodeId, identity?, fresh?, timeoutMs?, relayFirst?, upgradeAfterMs?} runs
 * probePeer (with `identity`, the peer's public key, its endpoint record is resolved first) and answers
 * {connected, path, timeToConnectMs, resolveMs?, recordFound?, rttMs?, error?}; a malformed body gets 400 {error}
 * naming the field. A failed connection is a 200 with connected:false: the request itself was fine.
 */
import { fromHex } from '../core/bytes.js';
import type { JsonResponse, JsonRoute } from '../metrics/http.js';
import type { MeshNode } from './mesh-node.js';
import { probePeer, type ProbeOptions, type ProbeResult } from '../traversal/probe.js';
import { capability } from '../transport/capabilities.js';
import { runStreamCheck } from './stream-check.js';

/** Longest connect deadline a caller may ask for, ms. */
export const MAX_CONNECT_TIMEOUT_MS = 120_000;

/** The body of `POST /connect`: the peer's address and NodeId, optionally its identity, and how to connect. */
export interface ConnectRequest {
  /** "host:port" or "[v6]:port". */
  addr: string;
  /** Hex NodeId expected at addr (64 hex digits). */
  nodeId: string;
  /** Hex Ed25519 public key of the peer (64 hex digits): resolve its endpoint record and connect from it. */
  identity?: string;
  fresh?: boolean;
  timeoutMs?: number;
  /** Connect through a relay first, then upgrade to direct after `upgradeAfterMs` (default 0). */
  relayFirst?: boolean;
  upgradeAfterMs?: number;
}

/** The answer to `POST /connect`: probePeer's result. */
export type ConnectResponse = ProbeResult;

/** How the routes reach the node; `probe` is swappable (tests, NAT traversal). */
export interface ControlOptions {
  probe?: (
    node: MeshNode,
    target: { addr: string; nodeId: Uint8Array; identity?: Uint8Array },
    opts: ProbeOptions,
  ) => Promise<ProbeResult>;
}

/** Routes for startStatusServer({ routes }). */
export function controlRoutes(node: MeshNode, opts: ControlOptions = {}): Record<string, JsonRoute> {
  const probe = opts.probe ?? probePeer;
  return {
    'POST /connect': async ({ body }): Promise<JsonResponse> => {
      const parsed = parseConnectRequest(body);
      if (typeof parsed === 'string') return { status: 400, body: { error: parsed } };
      const result = await probe(
        node,
        { addr: parsed.addr, nodeId: fromHex(parsed.nodeId), ...(parsed.identity ? { identity: fromHex(parsed.identity) } : {}) },
        {
          fresh: parsed.fresh ?? false,
          timeoutMs: parsed.timeoutMs,
          ...(parsed.relayFirst ? { relayFirst: true, upgradeAfterMs: parsed.upgradeAfterMs } : {}),
        },
      );
      return { status: 200, body: result };
    },
    'POST /disconnect': async ({ body }): Promise<JsonResponse> => {
      const o = parseObject(body, ['nodeId'], '{nodeId}');
      const wrong = typeof o === 'string' ? o : checkNodeId(o);
      if (wrong !== undefined) return { status: 400, body: { error: wrong } };
      const nodeId = (o as { nodeId: string }).nodeId;
      // Answered once the closed connections have drained (QUIC: no packet of theirs leaves after),
      // so a caller that next makes the NATs forget the pair is not undone by a late close.
      const id = fromHex(nodeId);
      const draining = capability(node.transport, 'drainingDisconnect');
      const drained = draining ? await draining.disconnectAndDrain(id) : (capability(node.transport, 'connectionControl')?.disconnect(id), true);
      return { status: 200, body: { disconnected: true, drained } };
    },
    'POST /stream': async ({ body }): Promise<JsonResponse> => {
      const parsed = parseStreamRequest(body);
      if (typeof parsed === 'string') return { status: 400, body: { error: parsed } };
      const streams = capability(node.transport, 'streams');
      if (streams === undefined) return { status: 501, body: { error: 'this transport has no raw streams' } };
      const result = await runStreamCheck(streams, node.components, { addr: parsed.addr, nodeId: fromHex(parsed.nodeId) }, parsed);
      return { status: 200, body: result };
    },
  };
}

export interface StreamRequest {
  addr: string;
  nodeId: string;
  durationMs: number;
  rateKbps?: number;
}

/** POST /stream {addr, nodeId, durationMs, rateKbps?}: the checked request, or a message naming what is wrong. */
export function parseStreamRequest(body: string): StreamRequest | string {
  const o = parseObject(body, ['addr', 'nodeId', 'durationMs', 'rateKbps'], '{addr, nodeId, durationMs, rateKbps?}');
  if (typeof o === 'string') return o;
  const wrong = checkTarget(o);
  if (wrong !== undefined) return wrong;
  if (typeof o.durationMs !== 'number' || !(o.durationMs > 0) || o.durationMs > MAX_CONNECT_TIMEOUT_MS) {
    return `durationMs: expected a number in (0, ${MAX_CONNECT_TIMEOUT_MS}], got ${JSON.stringify(o.durationMs)}`;
  }
  if (o.rateKbps !== undefined && (typeof o.rateKbps !== 'number' || !(o.rateKbps > 0) || o.rateKbps > 100_000)) {
    return `rateKbps: expected a number in (0, 100000], got ${JSON.stringify(o.rateKbps)}`;
  }
  return {
    addr: o.addr as string,
    nodeId: (o.nodeId as string).toLowerCase(),
    durationMs: o.durationMs,
    ...(o.rateKbps !== undefined ? { rateKbps: o.rateKbps as number } : {}),
  };
}

/** `body` as a JSON object with only `keys`, or a message naming what is wrong (`shape` describes it). */
function parseObject(body: string, keys: readonly string[], shape: string): Record<string, unknown> | string {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    data = undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return `body: expected a JSON object ${shape}`;
  const o = data as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !keys.includes(k));
  return unknownKey !== undefined ? `${unknownKey}: unknown field` : o;
}

/** The `nodeId` field (64 hex digits): undefined when fine, else what is wrong. */
function checkNodeId(o: Record<string, unknown>): string | undefined {
  return typeof o.nodeId === 'string' && NODE_ID.test(o.nodeId) ? undefined : `nodeId: expected 64 hex digits, got ${JSON.stringify(o.nodeId)}`;
}

/** The `addr` ("host:port") and `nodeId` fields of a request naming a peer. */
function checkTarget(o: Record<string, unknown>): string | undefined {
  const m = typeof o.addr === 'string' ? ADDR.exec(o.addr) : null;
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) return `addr: expected "host:port" with a port in 1-65535, got ${JSON.stringify(o.addr)}`;
  return checkNodeId(o);
}

const ADDR = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const NODE_ID = /^[0-9a-f]{64}$/i;

/** The checked request, or a message naming what is wrong. */
export function parseConnectRequest(body: string): ConnectRequest | string {
  const o = parseObject(body, ['addr', 'nodeId', 'identity', 'fresh', 'timeoutMs', 'relayFirst', 'upgradeAfterMs'], '{addr, nodeId, fresh?, timeoutMs?}');
  if (typeof o === 'string') return o;
  const wrong = checkTarget(o);
  if (wrong !== undefined) return wrong;
  if (o.identity !== undefined && (typeof o.identity !== 'string' || !NODE_ID.test(o.identity))) {
    return `identity: expected 64 hex digits (the peer's public key), got ${JSON.stringify(o.identity)}`;
  }
  if (o.relayFirst !== undefined && typeof o.relayFirst !== 'boolean') {
    return `relayFirst: expected a boolean, got ${JSON.stringify(o.relayFirst)}`;
  }
  if (
    o.upgradeAfterMs !== undefined &&
    (typeof o.upgradeAfterMs !== 'number' || !(o.upgradeAfterMs >= 0) || o.upgradeAfterMs > MAX_CONNECT_TIMEOUT_MS)
  ) {
    return `upgradeAfterMs: expected a number in [0, ${MAX_CONNECT_TIMEOUT_MS}], got ${JSON.stringify(o.upgradeAfterMs)}`;
  }
  if (o.fresh !== undefined && typeof o.fresh !== 'boolean')
    return `fresh: expected a boolean, got ${JSON.stringify(o.fresh)}`;
  if (
    o.timeoutMs !== undefined &&
    (typeof o.timeoutMs !== 'number' || !(o.timeoutMs > 0) || o.timeoutMs > MAX_CONNECT_TIMEOUT_MS)
  ) {
    return `timeoutMs: expected a number in (0, ${MAX_CONNECT_TIMEOUT_MS}], got ${JSON.stringify(o.timeoutMs)}`;
  }
  return {
    addr: o.addr as string,
    nodeId: (o.nodeId as string).toLowerCase(),
    ...(o.identity !== undefined ? { identity: (o.identity as string).toLowerCase() } : {}),
    ...(o.relayFirst !== undefined ? { relayFirst: o.relayFirst as boolean } : {}),
    ...(o.upgradeAfterMs !== undefined ? { upgradeAfterMs: o.upgradeAfterMs as number } : {}),
    ...(o.fresh !== undefined ? { fresh: o.fresh as boolean } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs as number } : {}),
  };
}
