/**
 * quicmesh's public API. Modules are re-exported whole; each module's own header documents it.
 * (The DHT, storage, pubsub, NAT traversal and simulator are added here as they land.)
 */
// core
export * from './core/types.js';
export * from './core/bytes.js';
export * from './core/clock.js';
export * from './core/rng.js';
export * from './core/logger.js';
export type { Components } from './core/components.js';
export * from './errors.js';
export * from './constants.js';

// identity
export * from './identity/index.js';

// wire
export * from './wire/messages.js';
export { encodeMessage, decodeMessage } from './wire/codec.js';
export * from './wire/framing.js';

// transport
export type * from './transport/transport.js';
export * from './transport/memory/index.js';
export { QuicTransport, type QuicTransportOptions } from './transport/quic/index.js';

// node
export * from './node/index.js';

// metrics
export * from './metrics/metrics.js';
export { PromMetrics, type PromMetricsOptions } from './metrics/prom.js';
export { startStatusServer, type StatusServer, type StatusServerOptions } from './metrics/http.js';
