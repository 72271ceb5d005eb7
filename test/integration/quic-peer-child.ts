/**
 * Child process for quic-lifecycle.test.ts: a QUIC node that answers Pings and prints
 * "<addr> <nodeIdHex>", then serves until killed (SIGKILL: it gets no chance to say goodbye).
 */
import { toHex } from '../../src/core/bytes.js';
import { Keypair } from '../../src/identity/keypair.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

const t = new QuicTransport({ keypair: Keypair.generate() });
await t.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
process.stdout.write(`${t.localAddr} ${toHex(t.localNodeId)}\n`);
process.stdin.resume(); // keeps the process alive until the parent kills it
