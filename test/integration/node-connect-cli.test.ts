/**
 * The `quicmesh node` binary's control endpoint end to end: two real processes on loopback QUIC;
 * POST /connect on one reaches the other (direct, timed), and a wrong NodeId at the right address is
 * refused with an identity error. Every wait is on a log line, an HTTP answer or process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'quicmesh.js');

interface RunningNode {
  child: ChildProcess;
  nodeId: string;
  addr: string;
  url: string;
  exited: Promise<number | null>;
}

const running: RunningNode[] = [];

/** Start `quicmesh node` on loopback and resolve on its "node ready" line. */
function startNode(): Promise<RunningNode> {
  const child = spawn(
    process.execPath,
    [BIN, 'node', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0'],
    {
      cwd: ROOT,
      env: { ...process.env, QUICMESH_LOG: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  let output = '';
  let ready = false;
  return new Promise((resolveReady, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = ready
        ? null
        : /node ready node_id=([0-9a-f]{64}) addr=(\S+) metrics=(http:\/\/\S+)/.exec(output);
      if (m) {
        ready = true;
        const node = { child, nodeId: m[1]!, addr: m[2]!, url: m[3]!, exited };
        running.push(node);
        resolveReady(node);
      }
    });
    void exited.then((code) => reject(new Error(`quicmesh node exited (${code}) before ready:\n${output}`)));
  });
}

async function connect(from: RunningNode, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${from.url}/connect`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

afterAll(async () => {
  for (const n of running) n.child.kill('SIGTERM');
  expect(await Promise.all(running.map((n) => n.exited))).toEqual(running.map(() => 0));
});

describe('quicmesh node: POST /connect', () => {
  it('connects to a peer by address and NodeId, and refuses a wrong NodeId', async () => {
    const [a, b] = await Promise.all([startNode(), startNode()]);

    const first = await connect(a, { addr: b.addr, nodeId: b.nodeId, fresh: true, timeoutMs: 5000 });
    expect(first).toMatchObject({ connected: true, path: 'direct' });
    expect(first.timeToConnectMs).toBeTypeOf('number');
    expect(first.rttMs).toBeTypeOf('number');

    // A fresh repeat dials a new connection: b counts a second inbound one.
    const again = await connect(a, { addr: b.addr, nodeId: b.nodeId, fresh: true });
    expect(again).toMatchObject({ connected: true, path: 'direct' });
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/quicmesh_transport_connections_total\{direction="inbound"\} 2/);

    const wrong = await connect(a, { addr: b.addr, nodeId: 'ab'.repeat(32), fresh: true, timeoutMs: 5000 });
    expect(wrong).toMatchObject({ connected: false, path: null, timeToConnectMs: null });
    expect(wrong.error).toMatch(/IdentityError: expected node abababab/);

    const status = (await (await fetch(`${a.url}/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ nodeId: a.nodeId, addr: a.addr, peersSeen: 1 });
  });
});
