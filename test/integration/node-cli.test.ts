/**
 * The `quicmesh node` binary end to end: real processes on loopback QUIC, the HTTP endpoint,
 * the key file across restarts, bootstrap between two nodes, clean shutdown on SIGTERM, and
 * one-line errors with exit code 2 for bad flags. Every wait is on a log line or process exit.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CliProcess, QUICMESH_BIN as BIN, type Exit } from '../support/cli-process.js';

interface Ready {
  nodeId: string;
  addr: string;
  metricsUrl: string;
}

async function ready(p: CliProcess): Promise<Ready> {
  const m = await p.waitFor(/node ready node_id=([0-9a-f]{64}) addr=(\S+) metrics=(http:\/\/\S+)/);
  return { nodeId: m[1]!, addr: m[2]!, metricsUrl: m[3]! };
}

async function runToExit(args: string[]): Promise<{ exit: Exit; output: string }> {
  const p = new CliProcess(args, { env: { QUICMESH_LOG: 'info' } });
  const exit = await p.exited;
  return { exit, output: p.output };
}

let dir: string;
const running: CliProcess[] = [];

function start(args: string[]): CliProcess {
  const p = new CliProcess(args, { env: { QUICMESH_LOG: 'info' } });
  running.push(p);
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quicmesh-node-cli-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('quicmesh node', () => {
  it('serves /metrics and /status, keeps its identity across restarts, and stops cleanly on SIGTERM', async () => {
    const keyFile = join(dir, 'node-a.key');
    const args = ['node', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--key', keyFile];
    const first = start(args);
    const a = await ready(first);
    expect(a.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first.output).toContain('node started');
    expect(first.output).toContain(`NodeId node_id=${a.nodeId}`);
    expect(first.output).toContain(`Listening address addr=${a.addr}`);

    const key = await readFile(keyFile);
    expect(key.length).toBe(32);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);

    const metrics = await fetch(`${a.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('# TYPE quicmesh_identity_mismatch_total counter');
    expect(text).toContain('quicmesh_peers_seen 0');
    expect(text).toContain('process_cpu_user_seconds_total');

    const status = (await (await fetch(`${a.metricsUrl}/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ nodeId: a.nodeId, addr: a.addr, peersSeen: 0, identityMismatches: 0 });
    expect(await (await fetch(`${a.metricsUrl}/healthz`)).text()).toBe('ok\n');

    const exit = await first.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(first.output).toContain('node stopped');
    expect(first.output).toContain(`created key file path=${keyFile}`);

    const second = start(args);
    const again = await ready(second);
    expect(again.nodeId).toBe(a.nodeId);
    expect(second.output).not.toContain('created key file');
    expect(await readFile(keyFile)).toEqual(key);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });

  it('pings its bootstrap peers over QUIC', async () => {
    const seed = start(['node', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--key', join(dir, 'seed.key')]);
    const s = await ready(seed);
    const joiner = start([
      'node',
      '--listen',
      '127.0.0.1:0',
      '--metrics',
      '127.0.0.1:0',
      '--key',
      join(dir, 'joiner.key'),
      '--bootstrap',
      s.addr,
      '--bootstrap',
      '127.0.0.1:9', // nothing listens there
      '--log-level',
      'info',
    ]);
    const j = await ready(joiner);
    const answered = await joiner.waitFor(/bootstrap peer answered addr=(\S+) node_id=([0-9a-f]+)/);
    expect(answered[1]).toBe(s.addr);
    expect(s.nodeId.startsWith(answered[2]!)).toBe(true);
    await joiner.waitFor(/bootstrap finished reachable=1 configured=2/);

    // The join is the DHT's: a ping, a self-lookup (FindNode) and the joiner's signed endpoint record (Store).
    // (The seed, joining alone, keeps its own record too.)
    const status = (await (await fetch(`${s.metricsUrl}/status`)).json()) as {
      peersSeen: number;
      requestsServed: Record<string, number>;
      extra: { dht: { routingTableSize: number; storedKeys: number } };
    };
    expect(status.peersSeen).toBe(1);
    expect(status.requestsServed.Ping).toBeGreaterThanOrEqual(1);
    expect(status.requestsServed.FindNode).toBeGreaterThanOrEqual(1);
    expect(status.requestsServed.Store).toBe(1);
    expect(status.extra.dht.routingTableSize).toBe(1);
    expect(status.extra.dht.storedKeys).toBe(2); // the joiner's record, and the seed's own
    const seedMetrics = await (await fetch(`${s.metricsUrl}/metrics`)).text();
    expect(seedMetrics).toMatch(/quicmesh_requests_served_total\{type="Ping",result="ok"\} [1-9]/);
    expect(seedMetrics).toContain('quicmesh_requests_served_total{type="Store",result="ok"} 1');
    const joinerMetrics = await (await fetch(`${j.metricsUrl}/metrics`)).text();
    expect(joinerMetrics).toMatch(/quicmesh_requests_total\{type="Ping",result="ok"\} [1-9]/);
    expect(joinerMetrics).toMatch(/quicmesh_request_duration_seconds_count\{type="FindNode"\} [1-9]/);

    expect(await joiner.stop()).toEqual({ code: 0, signal: null });
    expect(await seed.stop()).toEqual({ code: 0, signal: null });
  });

  it('logs telemetry periodically and honours --log-level over QUICMESH_LOG', async () => {
    const p = new CliProcess(
      ['node', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--telemetry-interval', '0.2', '--log-level', 'debug'],
      { env: { QUICMESH_LOG: 'error' } },
    );
    running.push(p);
    await ready(p);
    await p.waitFor(/telemetry snapshot uptime_s=\d+ peers_seen=0 requests_served=0/);
    expect(p.output).toContain('ephemeral identity');
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  });

  it('stops cleanly on SIGINT too', async () => {
    const p = start(['node', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    await ready(p);
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output).toContain('stopping reason=SIGINT');
  });

  it('runs through a symlink, as npm installs the bin', async () => {
    const link = join(dir, 'bin-link', 'quicmesh');
    await mkdir(join(dir, 'bin-link'), { recursive: true });
    await symlink(BIN, link);
    const p = new CliProcess(['--help'], { script: link, cwd: tmpdir() });
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output).toContain('quicmesh node');
  });

  describe('rejects bad input with one line and exit code 2', () => {
    const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
      ['--listen without a port', async () => ['node', '--listen', '127.0.0.1'], /--listen: missing port/],
      ['a port out of range', async () => ['node', '--listen', '127.0.0.1:70000'], /--listen: the port must be within 0-65535/],
      ['a bootstrap address with port 0', async () => ['node', '--bootstrap', '10.0.0.1:0'], /--bootstrap: the port must be within 1-65535/],
      ['an unknown flag', async () => ['node', '--colour'], /Unknown argument: colour/],
      ['a bad log level', async () => ['node', '--log-level', 'loud'], /Invalid values/],
      ['a non-positive telemetry interval', async () => ['node', '--telemetry-interval', '0'], /--telemetry-interval/],
      [
        'a key file of the wrong length',
        async () => {
          const f = join(dir, 'short.key');
          await writeFile(f, new Uint8Array(16));
          return ['node', '--listen', '127.0.0.1:0', '--key', f];
        },
        /key file .*short\.key holds 16 bytes; expected 32/,
      ],
      [
        'a key path that is a directory',
        async () => {
          const d = join(dir, 'a-directory');
          await mkdir(d, { recursive: true });
          return ['node', '--listen', '127.0.0.1:0', '--key', d];
        },
        /cannot read key file .*a-directory: it is a directory/,
      ],
      [
        'a key file in a missing directory',
        async () => ['node', '--listen', '127.0.0.1:0', '--key', join(dir, 'missing', 'k.key')],
        /cannot create key file .*: no such directory/,
      ],
      ['a listen host that is not an IP address', async () => ['node', '--listen', 'localhost:0'], /--listen: the host must be an IP address/],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const { exit, output } = await runToExit(await args());
        expect(exit.code).toBe(2);
        const lines = output.split('\n').filter((l) => l.trim() !== '');
        const errorLines = lines.filter((l) => l.startsWith('quicmesh: '));
        expect(errorLines).toHaveLength(1);
        expect(errorLines[0]).toMatch(message);
        expect(output).not.toMatch(/^\s+at /m); // no stack trace
      });
    }
  });
});
