/**
 * The node's control endpoint: JSON routes mounted on the status server (src/metrics/http.ts) so a
 * test harness can make a node act. `POST /connect` {addr, nodeId, identity?, fresh?, timeoutMs?} runs
 * probePeer (with `identity`, the peer's public key, its endpoint record is resolved first) and answers
 * {connected, path, timeToConnectMs, resolveMs?, recordFound?, rttMs?, error?}; a malformed body gets 400 {error}
 * naming the field. A failed connection is a 200 with connected:false: the request itself was fine.
 */
import { fromHex } from '../core/bytes.js';
import type { JsonResponse, JsonRoute } from '../metrics/http.js';
import type { MeshNode } from './mesh-node.js';
import { probePeer, type ProbeOptions, type ProbeResult } from './probe.js';

/** Longest connect deadline a caller may ask for, ms. */
export const MAX_CONNECT_TIMEOUT_MS = 120_000;

export interface ConnectRequest {
  /** "host:port" or "[v6]:port". */
  addr: string;
  /** Hex NodeId expected at addr (64 hex digits). */
  nodeId: string;
  /** Hex Ed25519 public key of the peer (64 hex digits): resolve its endpoint record and connect from it. */
  identity?: string;
  fresh?: boolean;
  timeoutMs?: number;
}

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
        { fresh: parsed.fresh ?? false, timeoutMs: parsed.timeoutMs },
      );
      return { status: 200, body: result };
    },
  };
}

const ADDR = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const NODE_ID = /^[0-9a-f]{64}$/i;

/** The checked request, or a message naming what is wrong. */
export function parseConnectRequest(body: string): ConnectRequest | string {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return 'body: expected a JSON object {addr, nodeId, fresh?, timeoutMs?}';
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return 'body: expected a JSON object {addr, nodeId, fresh?, timeoutMs?}';
  }
  const o = data as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['addr', 'nodeId', 'identity', 'fresh', 'timeoutMs'].includes(k));
  if (unknownKey !== undefined) return `${unknownKey}: unknown field`;
  const m = typeof o.addr === 'string' ? ADDR.exec(o.addr) : null;
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
    return `addr: expected "host:port" with a port in 1-65535, got ${JSON.stringify(o.addr)}`;
  }
  if (typeof o.nodeId !== 'string' || !NODE_ID.test(o.nodeId)) {
    return `nodeId: expected 64 hex digits, got ${JSON.stringify(o.nodeId)}`;
  }
  if (o.identity !== undefined && (typeof o.identity !== 'string' || !NODE_ID.test(o.identity))) {
    return `identity: expected 64 hex digits (the peer's public key), got ${JSON.stringify(o.identity)}`;
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
    ...(o.fresh !== undefined ? { fresh: o.fresh as boolean } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs as number } : {}),
  };
}
