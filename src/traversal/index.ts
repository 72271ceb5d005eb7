/**
 * NAT traversal drivers: the I/O halves of the sans-IO cores in src/nat and src/connection, run
 * on a node (TraversalNode) and its transport. createNode (src/node) wires them together.
 */
export * from './host.js';
export * from './traversal-metrics.js';
export * from './smart-connector.js';
export * from './relay-link.js';
export * from './relay-service.js';
export * from './relay-info-publisher.js';
export * from './relay-ranking.js';
export * from './rendezvous-service.js';
export * from './punch-driver.js';
export * from './probe.js';
export * from './node-addresses.js';
export * from './network-watch.js';
export * from './nat-test-server.js';
export * from './nat-driver.js';
export * from './nat-service.js';
export * from './udp-alt-socket.js';
