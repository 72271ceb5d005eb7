/** The unit the memory network moves: one message (or its encoding) between two transports. */
import type { NodeId } from '../../core/types.js';
import type { Message } from '../../wire/messages.js';
import type { MemoryTransport } from './transport.js';

export const PACKET_REQUEST = 0;
export const PACKET_RESPONSE = 1;
export const PACKET_NOTIFY = 2;
/** The receiver is not the expected node: the "handshake" fails and the request is not served. */
export const PACKET_HANDSHAKE_REJECT = 3;

/** One packet in flight. `msg` is set with `encode: false`, `bytes` otherwise. */
export interface Packet {
  kind: number;
  from: MemoryTransport;
  toAddr: string;
  /** Request id (echoed by the response); 0 for notifications. */
  id: number;
  /** The NodeId the sender expects at `toAddr` (Target.nodeId). */
  expected: NodeId | undefined;
  msg: Message | undefined;
  bytes: Uint8Array | undefined;
}
