/** The identity layer: keypairs, NodeIds, TLS certificates and signed endpoint records. */
export * from './keypair.js';
export * from './node-id.js';
export * from './cert.js';
export * from './endpoint-record.js';
