import { request as httpRequest, Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError, TransportError } from '../../src/errors.js';
import { startStatusServer } from '../../src/metrics/http.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { turnsUntil } from '../support/poll.js';

describe('PromMetrics', () => {
  it('records counters, gauges and histograms in its own registry', async () => {
    const m = new PromMetrics();
    const c = m.counter('quicmesh_test_total', 'test counter', ['kind']);
    c.inc({ kind: 'a' });
    c.inc({ kind: 'a' }, 2);
    c.inc({ kind: 'b' });
    const g = m.gauge('quicmesh_test_gauge', 'test gauge');
    g.set(10);
    g.inc();
    g.dec(undefined, 3);
    const h = m.histogram('quicmesh_test_seconds', 'test histogram', ['op'], [0.1, 1]);
    h.observe(0.05, { op: 'x' });
    h.observe(0.5, { op: 'x' });
    const text = await m.metricsText();
    expect(text).toContain('# HELP quicmesh_test_total test counter');
    expect(text).toContain('# TYPE quicmesh_test_total counter');
    expect(text).toContain('quicmesh_test_total{kind="a"} 3');
    expect(text).toContain('quicmesh_test_total{kind="b"} 1');
    expect(text).toContain('quicmesh_test_gauge 8');
    expect(text).toContain('quicmesh_test_seconds_bucket{le="0.1",op="x"} 1');
    expect(text).toContain('quicmesh_test_seconds_bucket{le="1",op="x"} 2');
    expect(text).toContain('quicmesh_test_seconds_count{op="x"} 2');
    expect(m.contentType).toContain('text/plain');
  });

  it('memoises by name and refuses a conflicting redefinition', () => {
    const m = new PromMetrics();
    const first = m.counter('quicmesh_x_total', 'x', ['a', 'b']);
    expect(m.counter('quicmesh_x_total', 'x', ['b', 'a'])).toBe(first);
    expect(() => m.gauge('quicmesh_x_total', 'x')).toThrow(ConfigError);
    expect(() => m.counter('quicmesh_x_total', 'x', ['a'])).toThrow(/already registered with labels/);
  });

  it('keeps nodes apart: one registry each, nothing global', async () => {
    const a = new PromMetrics();
    const b = new PromMetrics({ defaultLabels: { node: 'b' } });
    a.counter('quicmesh_same_total', 'same').inc();
    b.counter('quicmesh_same_total', 'same').inc(undefined, 5);
    expect(await a.metricsText()).toContain('quicmesh_same_total 1');
    expect(await b.metricsText()).toContain('quicmesh_same_total{node="b"} 5');
    expect(a.registry).not.toBe(b.registry);
  });

  it('adds process metrics only when asked', async () => {
    expect(await new PromMetrics().metricsText()).not.toContain('process_cpu');
    const withDefaults = new PromMetrics({ defaultMetrics: true });
    expect(await withDefaults.metricsText()).toContain('process_cpu_user_seconds_total');
  });
});

interface HttpResult {
  status: number;
  type: string | undefined;
  body: string;
}

function get(url: string, opts: { method?: string; agent?: Agent } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', agent: opts.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function activeServers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
}

describe('startStatusServer', () => {
  it('serves /metrics, /status and /healthz, and closes completely', async () => {
    const metrics = new PromMetrics();
    metrics.counter('quicmesh_requests_total', 'requests', ['type', 'result']).inc({ type: 'Ping', result: 'ok' });
    const serversBefore = activeServers();
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      status: () => ({ nodeId: 'ab', seqno: 12345678901234567890n, key: Uint8Array.of(1, 255) }),
    });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const agent = new Agent({ keepAlive: true });
    const m = await get(`${server.url}/metrics`, { agent });
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(m.body).toContain('quicmesh_requests_total{type="Ping",result="ok"} 1');

    const s = await get(`${server.url}/status?pretty`, { agent });
    expect(s.status).toBe(200);
    expect(s.type).toContain('application/json');
    expect(JSON.parse(s.body)).toEqual({ nodeId: 'ab', seqno: '12345678901234567890', key: '01ff' });

    expect(await get(`${server.url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(`${server.url}/nope`)).status).toBe(404);
    expect((await get(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    const head = await get(`${server.url}/healthz`, { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });

    // A keep-alive connection is still open here; close() must not wait for it.
    await server.close();
    await server.close();
    agent.destroy();
    // libuv releases the listening handle in its close phase, one loop turn after close() resolves.
    await turnsUntil('the listening handle released', () => activeServers() === serversBefore, 10);
    await expect(get(`${server.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('reports a 500 when the status provider throws', async () => {
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PromMetrics(),
      status: () => {
        throw new Error('not ready');
      },
    });
    try {
      expect(await get(`${server.url}/status`)).toMatchObject({ status: 500, body: 'error: not ready\n' });
    } finally {
      await server.close();
    }
  });

  it('fails with a TransportError when the port is taken', async () => {
    const first = await startStatusServer({ host: '127.0.0.1', port: 0, metrics: new PromMetrics(), status: () => ({}) });
    try {
      await expect(
        startStatusServer({ host: '127.0.0.1', port: first.port, metrics: new PromMetrics(), status: () => ({}) }),
      ).rejects.toBeInstanceOf(TransportError);
    } finally {
      await first.close();
    }
  });
});
