/**
 * The lab Prometheus' process handling without a lab (no root needed): a lab state in a temporary
 * state root whose one "node" is a status server on 127.0.0.1, and Prometheus listening on loopback.
 * Start records the process in the state and waits for /-/ready; the node becomes an up target;
 * stop finds it by record and by its command-line mark; a binary that exits early is reported with
 * its log; a second start is refused.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_VERSION, readState, writeState, type LabState } from '../../cli/runtime/state.js';
import { findPrometheusBinary, labPrometheusPids, startLabPrometheus, stopLabPrometheus } from '../../cli/lab/prometheus.js';
import { startStatusServer, type StatusServer } from '../../src/metrics/http.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { pollUntil } from '../support/poll.js';

const root = mkdtempSync(join(tmpdir(), 'qm-promstate-'));
const previousRoot = process.env.QUICMESH_LAB_STATE_DIR;

function hasPrometheus(): boolean {
  try {
    findPrometheusBinary();
    return true;
  } catch {
    return false;
  }
}

/** A free loopback TCP port (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function fakeLab(lab: string, statusUrl: string): LabState {
  const state: LabState = {
    version: STATE_VERSION,
    lab,
    backend: 'netns',
    topologyFile: '(test)',
    createdAt: new Date().toISOString(),
    phase: 'up',
    tag: '000000',
    namespaces: [],
    netns: { rootLinks: [] },
    mgmtSubnet: '172.31.250.0/24',
    nodes: [
      {
        name: 'n1',
        kind: 'host',
        namespace: 'none',
        network: 'pub',
        addresses: ['203.0.113.2/24'],
        nat: 'public',
        role: 'plain',
        mgmtAddress: '127.0.0.1',
        statusUrl,
        logFile: null,
      },
    ],
    processes: [],
    shaping: null,
  };
  writeState(state);
  return state;
}

describe('lab Prometheus process', () => {
  let node: StatusServer;

  beforeAll(async () => {
    process.env.QUICMESH_LAB_STATE_DIR = root;
    const metrics = new PromMetrics();
    metrics.gauge('quicmesh_peers_seen', 'peers').set(3);
    node = await startStatusServer({ host: '127.0.0.1', port: 0, metrics, status: () => ({ ok: true }) });
  });

  afterAll(async () => {
    for (const lab of ['qmt-p-real', 'qmt-p-fake']) await stopLabPrometheus(lab);
    await node.close();
    if (previousRoot === undefined) delete process.env.QUICMESH_LAB_STATE_DIR;
    else process.env.QUICMESH_LAB_STATE_DIR = previousRoot;
    rmSync(root, { recursive: true, force: true });
  });

  it('reports a binary that exits before it is ready, with its log', async () => {
    fakeLab('qmt-p-fake', `${node.url}/status`);
    const bin = join(root, 'fake-prometheus');
    writeFileSync(bin, '#!/bin/sh\necho "fake prometheus refuses: $1" >&2\nexit 3\n');
    chmodSync(bin, 0o755);
    await expect(startLabPrometheus('qmt-p-fake', { host: '127.0.0.1', port: await freePort(), binary: bin })).rejects.toThrow(
      /prometheus exited \(code 3\) before it was ready; log .*prometheus\.log:\n.*fake prometheus refuses: --config\.file=/s,
    );
    // recorded before it died, so down would have looked for it
    expect(readState('qmt-p-fake')!.processes.map((p) => p.role)).toEqual(['prometheus']);
  });

  it.runIf(hasPrometheus())('starts on loopback, scrapes the node, refuses a second start, and stops by record and by mark', async () => {
    fakeLab('qmt-p-real', `${node.url}/status`);
    const port = await freePort();
    const rec = await startLabPrometheus('qmt-p-real', { host: '127.0.0.1', port });
    expect(rec.url).toBe(`http://127.0.0.1:${port}`);
    expect(readState('qmt-p-real')!.prometheus).toEqual(rec);
    await expect(startLabPrometheus('qmt-p-real', { host: '127.0.0.1', port })).rejects.toThrow(/already has a Prometheus/);

    // the node becomes an up target (Prometheus hands new targets to the scraper within ~5 s)
    const target = await pollUntil('the node as an up target', async () => {
      const r = (await (await fetch(`${rec.url}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ health: string; labels: Record<string, string> }> };
      };
      const t = r.data.activeTargets[0];
      if (t?.health !== 'up') throw new Error(`last health "${t?.health ?? ''}"`);
      return t;
    });
    expect(target.labels).toMatchObject({ job: 'quicmesh', node: 'n1', network: 'pub', nat: 'public', role: 'plain' });

    // lose the record: the mark still finds it
    const state = readState('qmt-p-real')!;
    writeState({ ...state, prometheus: null, processes: [] });
    expect(labPrometheusPids('qmt-p-real')).toEqual([rec.pid]);
    expect(await stopLabPrometheus('qmt-p-real')).toEqual([rec.pid]);
    expect(labPrometheusPids('qmt-p-real')).toEqual([]);
    await expect(fetch(`${rec.url}/-/ready`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
