/**
 * The transport a `quicmesh node` runs on: QUIC on one UDP socket, identity from the keypair.
 * Kept apart so the node command composes against the Transport interface only.
 */
import type { Components } from '../../src/core/components.js';
import type { Keypair } from '../../src/identity/keypair.js';
import { QuicTransport } from '../../src/transport/quic/index.js';
import type { Transport } from '../../src/transport/transport.js';

export interface NodeTransportOptions {
  keypair: Keypair;
  host: string;
  /** 0 picks a free port. */
  port: number;
  components: Components;
}

export function createNodeTransport(opts: NodeTransportOptions): Transport {
  return new QuicTransport({ keypair: opts.keypair, host: opts.host, port: opts.port, components: opts.components });
}
