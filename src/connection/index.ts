/** Connection cores: path probing and selection, smart connections, the per-peer manager. All sans-IO. */
export * from './path-prober.js';
export * from './path-select.js';
export * from './smart-connection.js';
export * from './connection-manager.js';
