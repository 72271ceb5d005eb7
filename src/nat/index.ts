/** NAT traversal cores: detection, raw packet formats, hole punching, ICE-lite, relays. All sans-IO. */
export * from './addr.js';
export * from './nat-detection.js';
export * from './nat-presets.js';
export * from './nat-model.js';
export * from './raw-packets.js';
export * from './nat-probe-packet.js';
export * from './nat-servers.js';
export * from './hole-punch.js';
export * from './ice.js';
export * from './relay/token-bucket.js';
export * from './relay/relay-info.js';
export * from './relay/relay-server.js';
export * from './relay/relay-client.js';
