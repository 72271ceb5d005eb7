/**
 * Child process for quic-lifecycle.test.ts: two nodes talk, then close. The process must then
 * exit by itself: any socket, timer or handle left running would keep it alive.
 */
import { Keypair } from '../../src/identity/keypair.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

const a = new QuicTransport({ keypair: Keypair.generate() });
const b = new QuicTransport({ keypair: Keypair.generate() });
await a.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
await b.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
const reply = await a.request({ addr: b.localAddr }, { type: 'Ping', from: { id: a.localNodeId, addr: a.localAddr } });
await b.request({ addr: a.localAddr }, { type: 'Ping', from: { id: b.localNodeId, addr: b.localAddr } });
// A request left pending at close must be failed, not left hanging.
const pending = a.request({ addr: '127.0.0.1:9' }, { type: 'Ping', from: { id: a.localNodeId, addr: a.localAddr } }).catch((e: Error) => e.name);
await a.close();
await b.close();
process.stdout.write(`reply=${reply.msg.type} pending=${await pending}\n`);
