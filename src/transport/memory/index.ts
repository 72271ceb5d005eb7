/** In-process transport: a MemoryNetwork and the MemoryTransports created on it. */
export {
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
  type CreateMemoryTransportOptions,
} from './network.js';
export { MemoryTransport } from './transport.js';
