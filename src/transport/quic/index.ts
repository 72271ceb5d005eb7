/** The QUIC transport: QuicTransport plus the pieces later work (NAT traversal, migration) builds on. */
export { QuicTransport, type QuicTransportOptions } from './quic-transport.js';
export { QuicByteStream, APP_ERR, STREAM_TYPE_RAW, STREAM_TYPE_REQUEST } from './streams.js';
export type { QuicConnection } from './connection.js';
export { parseAddr, formatAddr, type HostPort } from './addr.js';
export { isRelayedHost } from './relayed-paths.js';
