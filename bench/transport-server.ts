/**
 * The server half of bench/transport.ts, run in its own process so client and server do not
 * share an event loop. It serves, side by side:
 *   - QuicTransport: requests (answers a Store with a Value of the same size) and raw streams
 *     (counts the bytes, answers "<count>" and ends);
 *   - a Node dgram echo (small-request baseline);
 *   - a TLS-over-TCP server with an Ed25519 certificate (handshake baseline);
 *   - a TCP sink that answers "<count>" when the client half-closes (throughput baseline).
 * Prints one JSON line with the ports, then serves until stdin closes; a "cpu" line on stdin
 * is answered with the process's CPU time so the client can charge each phase its server cost.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createInterface } from 'node:readline';
import { generateEd25519Cert } from '../src/identity/cert.js';
import { Keypair } from '../src/identity/keypair.js';
import { QuicTransport } from '../src/transport/quic/index.js';
import { toHex } from '../src/core/bytes.js';

const HOST = '127.0.0.1';
const keypair = Keypair.generate();

const quic = new QuicTransport({ keypair, host: HOST, congestionControl: (process.env.QCC as 'cubic') || undefined });
await quic.start({
  onRequest: (_peer, msg) => {
    const size = msg.type === "Store" ? msg.value.length + 79 : 0;
    return { type: 'Value', value: new Uint8Array(size).fill(7), closer: [] };
  },
});
quic.onStream((s) => {
  let n = 0;
  s.ondata = (chunk) => {
    n += chunk.length;
  };
  s.onend = () => {
    s.write(new TextEncoder().encode(String(n)));
    s.end();
  };
  s.onerror = () => {};
});

const echo = dgram.createSocket('udp4');
echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
await new Promise<void>((r) => echo.bind(0, HOST, () => r()));

const cert = generateEd25519Cert(Keypair.generate());
const tlsServer = tls.createServer({ key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3' }, (sock) => {
  sock.on('error', () => {});
  sock.end();
});
await new Promise<void>((r) => tlsServer.listen(0, HOST, () => r()));

const sink = net.createServer((sock) => {
  let n = 0;
  sock.on('data', (d: Buffer) => {
    n += d.length;
  });
  sock.on('end', () => sock.end(String(n)));
  sock.on('error', () => {});
});
await new Promise<void>((r) => sink.listen(0, HOST, () => r()));

process.stdout.write(
  JSON.stringify({
    quic: quic.localAddr,
    nodeId: toHex(quic.localNodeId),
    echo: (echo.address() as net.AddressInfo).port,
    tls: (tlsServer.address() as net.AddressInfo).port,
    tcp: (sink.address() as net.AddressInfo).port,
  }) + '\n',
);

// Control channel: "cpu" → one JSON line with this process's CPU time (µs); EOF → shut down.
const control = createInterface({ input: process.stdin });
control.on('line', (line) => {
  if (line.trim() === 'cpu') {
    const c = process.cpuUsage();
    process.stdout.write(JSON.stringify({ cpuUs: c.user + c.system }) + '\n');
  }
});
control.on('close', () => {
  void (async () => {
    await quic.close();
    echo.close();
    tlsServer.close();
    sink.close();
    process.exit(0);
  })();
});
