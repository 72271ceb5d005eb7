/** The Kademlia DHT: pure cores (distance, routing table, lookup, adaptive k/α) and the DhtNode driver. */
export * from './distance.js';
export { KBucket } from './kbucket.js';
export * from './routing-table.js';
export * from './adaptive.js';
export * from './lookup.js';
export * from './lookup-runner.js';
export * from './rpc.js';
export * from './handlers.js';
export * from './signed-values.js';
export * from './relay-directory.js';
export * from './dht-types.js';
export * from './dht-node.js';
