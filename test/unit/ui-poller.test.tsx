import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/errors.js';
import { startStatusServer } from '../../src/metrics/http.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { LabPoller } from '../../cli/ui/poller.js';
import type { NodeTarget } from '../../cli/ui/node-view.js';
import { flush } from '../support/virtual-time.js';
import { FakeFetch, metricsText, statusBody } from './ui-fixtures.js';

const A: NodeTarget = { name: 'a1', baseUrl: 'http://10.9.0.2:9464', network: 'lan1', nat: 'symmetric' };
const B: NodeTarget = { name: 'b1', baseUrl: 'http://10.9.0.3:9464', network: 'wan', nat: 'public' };

function setup(targets: NodeTarget[] = [A, B], opts: { intervalMs?: number; timeoutMs?: number; maxEvents?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const fake = new FakeFetch();
  const poller = new LabPoller({ lab: 'demo', targets, fetch: fake.fetch, clock, ...opts });
  return { clock, fake, poller };
}


function view(poller: LabPoller, name: string) {
  const v = poller.getSnapshot().nodes.find((n) => n.target.name === name);
  if (!v) throw new Error(`no view for ${name}`);
  return v;
}

describe('LabPoller', () => {
  it('starts with every node pending and no poll', () => {
    const { poller } = setup();
    const snap = poller.getSnapshot();
    expect(snap.lab).toBe('demo');
    expect(snap.lastPollAt).toBeNull();
    expect(snap.nodes.map((n) => [n.target.name, n.state])).toEqual([
      ['a1', 'pending'],
      ['b1', 'pending'],
    ]);
  });

  it('reads status and metrics of every node and notifies subscribers once per poll', async () => {
    const { fake, poller, clock } = setup();
    fake.node(A.baseUrl, statusBody({ peers: 4, centroids: [3, 30, 90], counts: [2, 2, 1] }), metricsText({ paths: { direct: 2, hole_punched: 1, relayed: 0 } }));
    fake.node(B.baseUrl, statusBody({ peers: 1 }));
    let notified = 0;
    poller.subscribe(() => notified++);
    await poller.pollOnce();
    expect(notified).toBe(1);
    const a = view(poller, 'a1');
    expect(a.state).toBe('up');
    expect(a.lastOkAt).toBe(clock.now());
    expect(a.status?.peers).toBe(4);
    expect(a.status?.dht?.tierCentroidsMs).toEqual([3, 30, 90]);
    expect(a.status?.dht?.k).toBe(20);
    expect(a.status?.dht?.alpha).toBe(3);
    expect(a.metrics?.paths).toEqual({ direct: 2, hole_punched: 1, relayed: 0 });
    expect(a.metrics?.connectionsOpen).toBe(4);
    expect(view(poller, 'b1').metrics?.paths).toBeNull();
    expect(fake.calls.sort()).toEqual([`${A.baseUrl}/metrics`, `${A.baseUrl}/status`, `${B.baseUrl}/metrics`, `${B.baseUrl}/status`]);
    const events = poller.getSnapshot().events.map((e) => `${e.node} ${e.kind}`);
    expect(events).toEqual(['a1 up', 'b1 up']);
  });

  it('marks a node that refuses as down with the error while the others keep updating', async () => {
    const { fake, poller } = setup();
    fake.node(B.baseUrl, statusBody({ peers: 1 }));
    await poller.pollOnce();
    expect(view(poller, 'a1').state).toBe('down');
    expect(view(poller, 'a1').lastError).toMatch(/\/status: connect ECONNREFUSED/);
    expect(view(poller, 'b1').state).toBe('up');
    fake.node(B.baseUrl, statusBody({ peers: 2 }));
    await poller.pollOnce();
    expect(view(poller, 'b1').status?.peers).toBe(2);
    expect(poller.getSnapshot().events.map((e) => `${e.node} ${e.kind} ${e.text}`)).toEqual([
      expect.stringMatching(/^a1 down down: \/status: connect ECONNREFUSED/),
      'b1 up up',
      'b1 peers peers 1 → 2',
    ]);
  });

  it('times out a node that never answers, using the injected clock', async () => {
    const { fake, poller, clock } = setup([A, B], { timeoutMs: 500 });
    fake.node(A.baseUrl, 'hang', 'hang');
    fake.node(B.baseUrl, statusBody());
    const done = poller.pollOnce();
    await flush(); // b1's answers (the fake fetch answers on promise jobs only) are in before the clock moves
    clock.advance(499);
    await flush();
    expect(poller.getSnapshot().lastPollAt).toBeNull();
    clock.advance(1);
    await done;
    expect(view(poller, 'a1').state).toBe('down');
    expect(view(poller, 'a1').lastError).toBe('/status: no answer within 500 ms');
    expect(view(poller, 'b1').state).toBe('up');
    expect(clock.pending).toBe(0);
  });

  it('keeps the last status of a node that goes down, and reports it back up', async () => {
    const { fake, poller } = setup([A]);
    fake.node(A.baseUrl, statusBody({ peers: 5 }));
    await poller.pollOnce();
    fake.node(A.baseUrl, { status: 503, body: 'busy' });
    await poller.pollOnce();
    const down = view(poller, 'a1');
    expect(down.state).toBe('down');
    expect(down.lastError).toBe('/status: HTTP 503');
    expect(down.status?.peers).toBe(5);
    fake.node(A.baseUrl, statusBody({ peers: 5, uptimeMs: 9000 }));
    await poller.pollOnce();
    expect(poller.getSnapshot().events.map((e) => e.text)).toEqual(['up', 'down: /status: HTTP 503', 'back up']);
  });

  it('keeps a node up when only /metrics fails, and says why', async () => {
    const { fake, poller } = setup([A]);
    fake.node(A.baseUrl, statusBody(), { status: 500, body: 'oops' });
    await poller.pollOnce();
    expect(view(poller, 'a1').state).toBe('up');
    expect(view(poller, 'a1').lastError).toBe('/metrics: HTTP 500');
    fake.node(A.baseUrl, statusBody(), 'quicmesh_x{kind="direct" 1\n');
    await poller.pollOnce();
    expect(view(poller, 'a1').lastError).toMatch(/^bad \/metrics: line 1: /);
  });

  it('reports a /status that is not JSON as down', async () => {
    const { fake, poller } = setup([A]);
    fake.node(A.baseUrl, { body: '<html>' });
    await poller.pollOnce();
    expect(view(poller, 'a1').state).toBe('down');
    expect(view(poller, 'a1').lastError).toMatch(/^bad \/status: /);
  });

  it('turns counter deltas into path events and averages RTT over the interval', async () => {
    const { fake, poller } = setup([A]);
    const m = (up: number, fail: number, sum: number, count: number) =>
      metricsText({ upgrades: { direct: up }, failures: { relayed: fail }, rtt: { direct: { sum, count } } });
    fake.node(A.baseUrl, statusBody(), m(1, 0, 0.1, 10));
    await poller.pollOnce();
    expect(view(poller, 'a1').metrics?.rttMs.direct).toBeCloseTo(10);
    fake.node(A.baseUrl, statusBody({ uptimeMs: 6000 }), m(3, 1, 0.14, 12));
    await poller.pollOnce();
    expect(view(poller, 'a1').metrics?.rttMs.direct).toBeCloseTo(20);
    expect(poller.getSnapshot().events.map((e) => `${e.kind}: ${e.text}`)).toEqual([
      'up: up',
      'path-upgrade: path upgraded to direct ×2',
      'path-failure: relayed path failed',
    ]);
  });

  it('reads unlabelled path counters and RTT as over all paths', async () => {
    const { fake, poller } = setup([A]);
    const m = (up: number, fail: number, sum: number, count: number) =>
      [
        'quicmesh_path_state{kind="Direct"} 1',
        'quicmesh_path_state{kind="HolePunched"} 2',
        'quicmesh_path_state{kind="RelayPending"} 5',
        `quicmesh_path_upgrades_total ${up}`,
        `quicmesh_path_failures_total ${fail}`,
        `quicmesh_path_rtt_seconds_sum ${sum}`,
        `quicmesh_path_rtt_seconds_count ${count}`,
      ].join('\n');
    fake.node(A.baseUrl, statusBody(), m(0, 2, 0.5, 5));
    await poller.pollOnce();
    const first = view(poller, 'a1').metrics;
    expect(first?.paths).toEqual({ direct: 1, hole_punched: 2, relayed: null });
    expect(first?.rttMs).toEqual({ all: 100 });
    fake.node(A.baseUrl, statusBody({ uptimeMs: 6000 }), m(1, 3, 0.5, 5));
    await poller.pollOnce();
    expect(view(poller, 'a1').metrics?.rttMs.all).toBe(100);
    expect(poller.getSnapshot().events.map((e) => e.text)).toEqual(['up', 'path upgraded', 'path failed']);
  });

  it('treats a lower uptime as a restart, not as counter deltas', async () => {
    const { fake, poller } = setup([A]);
    fake.node(A.baseUrl, statusBody({ uptimeMs: 50_000 }), metricsText({ upgrades: { direct: 5 } }));
    await poller.pollOnce();
    fake.node(A.baseUrl, statusBody({ uptimeMs: 1000 }), metricsText({ upgrades: { direct: 6 } }));
    await poller.pollOnce();
    expect(poller.getSnapshot().events.map((e) => e.kind)).toEqual(['up', 'restart']);
  });

  it('computes request rates from consecutive polls', async () => {
    const { fake, poller, clock } = setup([A]);
    fake.node(A.baseUrl, statusBody({ served: { FindNode: 10 }, sent: { Ping: 1 } }));
    await poller.pollOnce();
    clock.advance(2000);
    fake.node(A.baseUrl, statusBody({ served: { FindNode: 30 }, sent: { Ping: 5 } }));
    await poller.pollOnce();
    expect(view(poller, 'a1').requests).toEqual([
      { type: 'FindNode', served: 30, sent: 0, servedPerSec: 10, sentPerSec: 0 },
      { type: 'Ping', served: 0, sent: 5, servedPerSec: 0, sentPerSec: 2 },
    ]);
  });

  it('polls every interval once started, and nothing after stop', async () => {
    const { fake, poller, clock } = setup([A], { intervalMs: 1000 });
    fake.node(A.baseUrl, statusBody());
    poller.start();
    await poller.settled();
    expect(fake.calls).toHaveLength(2);
    clock.advance(999);
    expect(fake.calls).toHaveLength(2);
    clock.advance(1);
    await poller.settled();
    expect(fake.calls).toHaveLength(4);
    expect(poller.getSnapshot().lastPollAt).toBe(clock.now());
    poller.stop();
    clock.advance(5000);
    expect(fake.calls).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it('keeps only the most recent events', async () => {
    const { fake, poller } = setup([A], { maxEvents: 3 });
    for (let peers = 1; peers <= 6; peers++) {
      fake.node(A.baseUrl, statusBody({ peers }));
      await poller.pollOnce();
    }
    const events = poller.getSnapshot().events;
    expect(events.map((e) => e.text)).toEqual(['peers 3 → 4', 'peers 4 → 5', 'peers 5 → 6']);
    expect(events.map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('rejects duplicate node names and bad intervals', () => {
    expect(() => new LabPoller({ targets: [A, A] })).toThrow(ConfigError);
    expect(() => new LabPoller({ targets: [A], intervalMs: 0 })).toThrow(/interval must be a positive/);
  });

  it('reads a real status server over HTTP', async () => {
    const metrics = new PromMetrics();
    const state = metrics.gauge('quicmesh_path_state', 'peers by path state', ['kind']);
    state.set(1, { kind: 'Direct' });
    state.set(2, { kind: 'Relayed' });
    state.set(3, { kind: 'Connecting' });
    metrics.histogram('quicmesh_path_rtt_seconds', 'rtt', [], [0.01, 0.1]).observe(0.02);
    const server = await startStatusServer({ host: '127.0.0.1', port: 0, metrics, status: () => statusBody({ peers: 7 }) });
    try {
      const poller = new LabPoller({ targets: [{ name: 'real', baseUrl: server.url }], timeoutMs: 5000 });
      await poller.pollOnce();
      const v = view(poller, 'real');
      expect(v.lastError).toBeNull();
      expect(v.status?.peers).toBe(7);
      expect(v.metrics?.paths).toEqual({ direct: 1, hole_punched: null, relayed: 2 });
      expect(v.metrics?.rttMs.all).toBeCloseTo(20);
    } finally {
      await server.close();
    }
  });
});
