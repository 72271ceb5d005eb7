/**
 * Interim bootstrap: ping each configured address and report who answered. The DHT's own
 * bootstrap (join + self-lookup) replaces this in create-node.ts once the DHT service exists.
 */
import { shortHex, toHex } from '../core/bytes.js';
import type { MeshNode } from './mesh-node.js';
import { errorText } from '../errors.js';

/** How one bootstrap address answered a Ping: its NodeId and RTT, or the error. */
export interface BootstrapResult {
  addr: string;
  ok: boolean;
  /** Hex NodeId of the peer that answered. */
  nodeId?: string;
  rttMs?: number;
  error?: string;
}

/** Ping every address concurrently; never rejects. Each outcome is logged. */
export async function pingBootstrapPeers(
  node: MeshNode,
  addrs: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BootstrapResult[]> {
  const { clock, logger } = node.components;
  return Promise.all(
    addrs.map(async (addr): Promise<BootstrapResult> => {
      const t0 = clock.now();
      try {
        const reply = await node.request({ addr }, { type: 'Ping', from: node.contact }, opts);
        const rttMs = clock.now() - t0;
        logger.info('bootstrap peer answered', { addr, node_id: shortHex(reply.from.nodeId, 16), rtt_ms: rttMs.toFixed(1) });
        return { addr, ok: true, nodeId: toHex(reply.from.nodeId), rttMs };
      } catch (err) {
        const error = errorText(err);
        logger.warn('bootstrap peer unreachable', { addr, error });
        return { addr, ok: false, error };
      }
    }),
  );
}
