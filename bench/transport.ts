/**
 * Transport benchmark on loopback: QuicTransport against a baseline measured in the same run.
 *   small request  100-byte request/response on an established connection  vs  Node dgram echo
 *   handshake      connect (mutual TLS, identity check) p50 and rate       vs  TLS 1.3 over TCP
 *   bulk           bytes through one raw stream / four streams             vs  Node net TCP
 * The servers run in a child process (bench/transport-server.ts) so the two sides do not share
 * an event loop. Run: `npx tsx bench/transport.ts [--quick]`.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../src/core/bytes.js';
import { Keypair } from '../src/identity/keypair.js';
import { QuicTransport } from '../src/transport/quic/index.js';
import type { QuicByteStream } from '../src/transport/quic/index.js';
import { encodeMessage } from '../src/wire/codec.js';
import type { Request } from '../src/wire/messages.js';

const quick = process.argv.includes('--quick');
const loadBefore = os.loadavg().map((v) => v.toFixed(1)).join(' ');
const N_SMALL = quick ? 2000 : 10000;
const N_HANDSHAKE = quick ? 100 : 300;
const HANDSHAKE_PARALLEL = 4;
const BULK_BYTES = (quick ? 16 : 64) * 1024 * 1024;
const CHUNK = 64 * 1024;
const HOST = '127.0.0.1';

interface Ports {
  quic: string;
  nodeId: string;
  echo: number;
  tls: number;
  tcp: number;
}

const serverPath = fileURLToPath(new URL('./transport-server.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', serverPath], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! });
const lineWaiters: Array<(line: string) => void> = [];
lines.on('line', (line) => lineWaiters.shift()?.(line));
const nextLine = (): Promise<string> => new Promise((resolve) => lineWaiters.push(resolve));
child.once('exit', (code) => {
  if (code !== 0) console.error(`server exited with ${code}`);
});
const ports = JSON.parse(await nextLine()) as Ports;

/** CPU time (µs) used so far by this process and by the server process. */
async function cpuNow(): Promise<{ client: number; server: number }> {
  const reply = nextLine();
  child.stdin!.write('cpu\n');
  const server = (JSON.parse(await reply) as { cpuUs: number }).cpuUs;
  const c = process.cpuUsage();
  return { client: c.user + c.system, server };
}
/** Run `fn`, returning its result and the CPU (µs) both processes spent meanwhile. */
async function withCpu<T>(fn: () => Promise<T>): Promise<{ result: T; client: number; server: number }> {
  const before = await cpuNow();
  const result = await fn();
  const after = await cpuNow();
  return { result, client: after.client - before.client, server: after.server - before.server };
}
const serverId = fromHex(ports.nodeId);
const target = { addr: ports.quic, nodeId: serverId };

// --- helpers ---------------------------------------------------------------------------------

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (v: number): string => `${v.toFixed(3)} ms`;
const mbit = (bytes: number, millis: number): string => `${((bytes * 8) / (millis / 1000) / 1e6).toFixed(0)} Mbit/s`;

async function timeEach(n: number, op: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

async function rate(total: number, parallel: number, op: () => Promise<unknown>): Promise<number> {
  let left = total;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) await op();
    }),
  );
  return total / ((performance.now() - t) / 1000);
}

// --- QUIC ------------------------------------------------------------------------------------

const client = new QuicTransport({ keypair: Keypair.generate(), host: HOST });
await client.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
const from = { id: client.localNodeId, addr: client.localAddr };
// Value sizes chosen so that both encoded messages are 100 bytes (the server answers a Store
// with a Value of value.length + 79 bytes).
const smallReq: Request = { type: 'Store', from, key: new Uint8Array(32), value: new Uint8Array(16), kind: 'content' };
const reqBytes = encodeMessage(smallReq).length;
const first = await client.request(target, smallReq);
const replyBytes = encodeMessage(first.msg).length;

await timeEach(1000, () => client.request(target, smallReq)); // warm-up
const small = await withCpu(() => timeEach(N_SMALL, () => client.request(target, smallReq)));
const quicSmall = small.result;

// Handshakes: connect (handshake + identity check), then drop the connection.
async function quicHandshake(t: QuicTransport): Promise<void> {
  await t.connect(target);
  t.disconnect(serverId);
}
const hsClients = await Promise.all(
  Array.from({ length: HANDSHAKE_PARALLEL }, async () => {
    const t = new QuicTransport({ keypair: Keypair.generate(), host: HOST });
    await t.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
    return t;
  }),
);
await timeEach(20, () => quicHandshake(hsClients[0]!));
const quicHs = await timeEach(N_HANDSHAKE, () => quicHandshake(hsClients[0]!));
let hsIdx = 0;
const hsRate = await withCpu(() =>
  rate(N_HANDSHAKE * 2, HANDSHAKE_PARALLEL, () => quicHandshake(hsClients[hsIdx++ % HANDSHAKE_PARALLEL]!)),
);
const quicHsRate = hsRate.result;

// Bulk over raw streams.
function sendAll(s: QuicByteStream, bytes: number, chunk: Uint8Array): Promise<string> {
  const answer = new Promise<string>((resolve, reject) => {
    const parts: Uint8Array[] = [];
    s.ondata = (c) => parts.push(c);
    s.onend = () => resolve(Buffer.concat(parts).toString());
    s.onerror = reject;
  });
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
      sent += part.length;
      if (!s.write(part)) {
        s.ondrain = pump;
        return;
      }
    }
    s.ondrain = undefined;
    s.end();
  };
  pump();
  return answer;
}
async function quicBulk(streams: number, total: number): Promise<number> {
  const chunk = new Uint8Array(CHUNK).fill(1);
  const per = total / streams;
  const t = performance.now();
  const opened = await Promise.all(Array.from({ length: streams }, () => client.openStream(target)));
  const counts = await Promise.all(opened.map((s) => sendAll(s, per, chunk)));
  const elapsed = performance.now() - t;
  if (counts.some((c) => Number(c) !== per)) throw new Error(`bulk: server counted ${counts.join(',')}, sent ${per} each`);
  return elapsed;
}
await quicBulk(1, 4 * 1024 * 1024); // warm-up (congestion window, JIT)
const bulk1 = await withCpu(() => quicBulk(1, BULK_BYTES));
const quicBulk1 = bulk1.result;
const quicBulk4 = await quicBulk(4, BULK_BYTES);
const stats = client.connectionTo(serverId)?.native.stats();

// --- baselines -------------------------------------------------------------------------------

const echo = dgram.createSocket('udp4');
await new Promise<void>((r) => echo.bind(0, HOST, () => r()));
let echoWaiter: (() => void) | undefined;
echo.on('message', () => echoWaiter?.());
const payload = Buffer.alloc(100, 1);
const udpOnce = (): Promise<void> =>
  new Promise<void>((resolve) => {
    echoWaiter = resolve;
    echo.send(payload, ports.echo, HOST);
  });
await timeEach(1000, udpOnce);
const udpSmall = await timeEach(N_SMALL, udpOnce);
echo.close();

const tlsOnce = (): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const s = tls.connect({ host: HOST, port: ports.tls, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
await timeEach(20, tlsOnce);
const tlsHs = await timeEach(N_HANDSHAKE, tlsOnce);
const tlsRate = await withCpu(() => rate(N_HANDSHAKE * 2, HANDSHAKE_PARALLEL, tlsOnce));
const tlsHsRate = tlsRate.result;

function tcpSend(bytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const chunk = Buffer.alloc(CHUNK, 1);
    const sock = net.connect(ports.tcp, HOST);
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    sock.on('end', () => (Number(answer) === bytes ? resolve() : reject(new Error(`tcp: server counted ${answer}`))));
    sock.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const part = chunk.subarray(0, Math.min(CHUNK, bytes - sent));
        sent += part.length;
        if (!sock.write(part)) return void sock.once('drain', pump);
      }
      sock.end();
    };
    sock.on('connect', pump);
  });
}
async function tcpBulk(conns: number, total: number): Promise<number> {
  const t = performance.now();
  await Promise.all(Array.from({ length: conns }, () => tcpSend(total / conns)));
  return performance.now() - t;
}
await tcpBulk(1, 4 * 1024 * 1024);
const tcp1 = await withCpu(() => tcpBulk(1, BULK_BYTES));
const tcpBulk1 = tcp1.result;
const tcpBulk4 = await tcpBulk(4, BULK_BYTES);

// --- report ----------------------------------------------------------------------------------

await client.close();
await Promise.all(hsClients.map((t) => t.close()));
child.stdin!.end();

const mib = BULK_BYTES / 1024 / 1024;
const us = (v: number): string => `${v.toFixed(0)} µs`;
const perMib = (cpuUs: number): string => `${(cpuUs / 1e6 / mib).toFixed(3)}`;
const nHs = N_HANDSHAKE * 2;
const rows: Array<[string, string, string, string, string]> = [
  ['metric', 'quicmesh QUIC', 'baseline', 'baseline is', 'goal'],
  [`small request p50 (${reqBytes} B / ${replyBytes} B)`, ms(pct(quicSmall, 50)), ms(pct(udpSmall, 50)), 'dgram echo 100 B', '≤ 0.35 ms'],
  ['small request p99', ms(pct(quicSmall, 99)), ms(pct(udpSmall, 99)), 'dgram echo 100 B', ''],
  ['small request CPU client / server', `${us(small.client / N_SMALL)} / ${us(small.server / N_SMALL)}`, '', 'per request', ''],
  ['handshake p50 (sequential)', ms(pct(quicHs, 50)), ms(pct(tlsHs, 50)), 'TLS 1.3/TCP Ed25519', ''],
  [`handshakes/s (${HANDSHAKE_PARALLEL} parallel)`, quicHsRate.toFixed(0), tlsHsRate.toFixed(0), 'TLS 1.3/TCP Ed25519', '≥ 300'],
  [
    'handshake CPU client / server',
    `${us(hsRate.client / nHs)} / ${us(hsRate.server / nHs)}`,
    `${us(tlsRate.client / nHs)} / ${us(tlsRate.server / nHs)}`,
    'per handshake',
    '',
  ],
  [`bulk, 1 stream (${mib} MiB)`, mbit(BULK_BYTES, quicBulk1), mbit(BULK_BYTES, tcpBulk1), 'TCP, 1 connection', '≥ 150 Mbit/s'],
  [`bulk, 4 streams (${mib} MiB)`, mbit(BULK_BYTES, quicBulk4), mbit(BULK_BYTES, tcpBulk4), 'TCP, 4 connections', ''],
  [
    'bulk CPU-s per MiB client / server',
    `${perMib(bulk1.client)} / ${perMib(bulk1.server)}`,
    `${perMib(tcp1.client)} / ${perMib(tcp1.server)}`,
    '1 stream / 1 connection',
    '',
  ],
  [
    'bulk, 1 stream, CPU-bound ceiling',
    mbit(BULK_BYTES, Math.max(bulk1.client, bulk1.server) / 1000),
    '',
    'bytes / busier side CPU',
    '',
  ],
];
if (stats) rows.push(['QUIC packets sent / lost (client, run)', `${stats.sent} / ${stats.lost}`, '', '', '']);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const load = os.loadavg().map((v) => v.toFixed(1)).join(' ');
console.log(`transport benchmark, loopback, ${os.cpus().length} CPUs, load average before/after: ${loadBefore} / ${load}`);
for (const [i, r] of rows.entries()) {
  console.log(r.map((c, j) => c.padEnd(widths[j]!)).join(' | '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
}
