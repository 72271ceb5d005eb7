/**
 * The Grafana dashboards against a live lab (root only): `quicmesh-lab up --prometheus` starts real
 * `bin/quicmesh.js` nodes (two on a public segment, one behind a NAT) and a Prometheus scraping them;
 * once every target is up and the nodes have done some work, every panel query of
 * grafana/dashboards/*.json is run as an instant query and must return at least one series. Queries
 * over metrics the node cannot export yet are listed, not skipped: those marked "planned" in
 * docs/metrics.md (the list must equal the catalogue's planned set), and those of a subsystem the
 * `quicmesh node` binary does not run. A live catalogue check compares one node's /metrics with
 * docs/metrics.md, and `down` is shown to stop a Prometheus whose state record was lost.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/quicmesh-lab.js';
import { captureIO } from '../../cli/lab/io.js';
import { readState, writeState, type PrometheusRecord } from '../../cli/lab/lab-state.js';
import { labPrometheusPids, stopLabPrometheus } from '../../cli/lab/prometheus.js';
import { getRuntime, type LabHandle } from '../../cli/runtime/index.js';
import { readCatalogue, REPO, type CatalogueRow } from '../unit/metrics-catalogue-doc.js';
import { isRootWithTools } from './lab-fixtures.js';

const LAB = 'qmt-prom';
const PROM_PORT = 19090; // not 9090: a distribution's own Prometheus may hold *:9090
const rootWithTools = isRootWithTools(['ip', 'nft']);

const TOPOLOGY = `name: ${LAB}
description: two public nodes and one behind a port-restricted NAT, for the dashboard check
defaults:
  node: { args: [--subscribe, lab] }
networks:
  pub: { kind: public, subnet: 203.0.113.0/24 }
  home: { kind: lan, subnet: 10.0.1.0/24 }
routers:
  r1: { nat: port-restricted-cone, wan: pub, lan: home }
nodes:
  boot: { network: pub, role: bootstrap }
  peer: { network: pub }
  natted: { network: home }
`;

/** Dashboard variables as Grafana would fill them for "All" nodes and a few minutes of data. */
const VARIABLES: Record<string, string> = {
  node: '.*', // the variable's allValue
  __rate_interval: '1m',
  __range: '5m',
  __interval: '1s',
};

// --- small helpers ---------------------------------------------------------------------------

/** Poll `probe` (100 ms apart) until it yields a value; fail naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100)); // poll backoff, bounded by the deadline
  }
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.text();
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastScrape: string;
  lastError: string;
}

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

async function promGet<T>(
  prom: string,
  path: string,
  params: Record<string, string> = {},
): Promise<PromResponse<T>> {
  const res = await fetch(`${prom}${path}?${new URLSearchParams(params)}`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as PromResponse<T>;
}

async function activeTargets(prom: string): Promise<Target[]> {
  const r = await promGet<{ activeTargets: Target[] }>(prom, '/api/v1/targets', { state: 'active' });
  return r.data.activeTargets;
}

/** Every target scraped at least twice after `after` (so rate() over a new series has two samples). */
async function twoScrapesAfter(prom: string, after: number): Promise<void> {
  const first = await until('a scrape of every target after the events', async () => {
    const ts = await activeTargets(prom);
    return (
      ts.every((t) => Date.parse(t.lastScrape) > after) &&
      Math.max(...ts.map((t) => Date.parse(t.lastScrape)))
    );
  });
  await until('a second scrape of every target', async () =>
    (await activeTargets(prom)).every((t) => Date.parse(t.lastScrape) > first),
  );
}

function execOut(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

// --- the catalogue, by section (subsystem) -----------------------------------------------------

interface Section {
  title: string;
  rows: CatalogueRow[];
}

function catalogueSections(): Section[] {
  const text = readFileSync(join(REPO, 'docs', 'metrics.md'), 'utf8');
  const headings = text
    .split('\n')
    .map((l, i) => ({ line: i + 1, title: /^## (.+)$/.exec(l)?.[1] }))
    .filter((h): h is { line: number; title: string } => h.title !== undefined);
  const sections = new Map<string, CatalogueRow[]>();
  for (const row of readCatalogue(text)) {
    const title = headings.filter((h) => h.line < row.line).at(-1)?.title ?? '(no section)';
    sections.set(title, [...(sections.get(title) ?? []), row]);
  }
  return [...sections].map(([title, rows]) => ({ title, rows }));
}

/** Metric names declared in an exposition (its `# TYPE` lines): registered, with or without samples. */
function declaredMetrics(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Label names of every sample line of `name` (histogram series by their base name; `le` left out). */
function sampleLabelSets(exposition: string, name: string): string[][] {
  const re = new RegExp(`^${name}(?:_bucket|_sum|_count)?(?:\\{([^}]*)\\})? `, 'gm');
  return [...exposition.matchAll(re)].map((m) =>
    [...(m[1] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)]
      .map((x) => x[1]!)
      .filter((l) => l !== 'le')
      .sort(),
  );
}

/** Catalogue metrics an expression uses (histogram series count for their base metric). */
function metricsIn(expr: string, rows: CatalogueRow[]): CatalogueRow[] {
  return rows.filter((r) => new RegExp(`(?<![\\w:])${r.name}(?:_bucket|_sum|_count)?(?![\\w:])`).test(expr));
}

// --- dashboards ------------------------------------------------------------------------------

interface PanelQuery {
  where: string;
  expr: string;
}

function dashboardQueries(): PanelQuery[] {
  const dir = join(REPO, 'grafana', 'dashboards');
  const out: PanelQuery[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      panels?: Array<{
        title?: string;
        targets?: Array<{ refId?: string; expr?: string }>;
        panels?: unknown[];
      }>;
    };
    type P = NonNullable<typeof d.panels>[number];
    const panels = (d.panels ?? []).flatMap((p) => [p, ...((p.panels ?? []) as P[])]);
    for (const p of panels) {
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ where: `${file} "${p.title}" ${t.refId}`, expr: t.expr });
    }
  }
  return out;
}

/** The expression with dashboard variables filled in; an unknown variable is an error, not a guess. */
function substitute(expr: string): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (all, a: string | undefined, b: string | undefined) => {
      const name = (a ?? b)!;
      const v = VARIABLES[name];
      if (v === undefined) throw new Error(`unknown dashboard variable ${all} in ${expr}`);
      return v;
    },
  );
}

// --- the test --------------------------------------------------------------------------------

describe.runIf(rootWithTools)('lab Prometheus and the Grafana dashboards (live)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'qm-prom-'));
  const times: Array<[string, number]> = [];
  let handle: LabHandle & { prometheus: PrometheusRecord };
  let prom: string;
  const t0 = performance.now();
  const mark = (what: string, since: number): void =>
    void times.push([what, (performance.now() - since) / 1000]);
  const hosts = () => handle.nodes.filter((n) => n.kind === 'host');
  const baseOf = (node: string) =>
    hosts()
      .find((n) => n.name === node)!
      .statusUrl!.replace(/\/status$/, '');
  const labAddr = (node: string) =>
    hosts()
      .find((n) => n.name === node)!
      .addresses[0]!.split('/')[0]!;

  beforeAll(async () => {
    // a lab left by an interrupted earlier run would make `up` refuse
    if ((await getRuntime('netns').listLabs()).includes(LAB)) await main(['down', LAB], captureIO());
    const file = join(tmp, 'prom-lab.yaml');
    writeFileSync(file, TOPOLOGY);
    const io = captureIO();
    const tUp = performance.now();
    const code = await main(
      ['up', file, '--prometheus', '--prometheus-port', String(PROM_PORT), '--json'],
      io,
    );
    if (code !== 0) throw new Error(`quicmesh-lab up exited ${code}:\n${io.err.join('')}`);
    mark('up --prometheus (3 nodes + Prometheus ready)', tUp);
    handle = JSON.parse(io.out.join('')) as typeof handle;
    prom = handle.prometheus.url;

    // every target up
    const tTargets = performance.now();
    await until('all 3 targets up', async () => {
      const ts = await activeTargets(prom);
      return ts.length === 3 && ts.every((t) => t.health === 'up');
    });
    mark('first scrape of every target up', tTargets);

    // the nodes do some work: the two plain nodes join through boot (ping + whatever else the node runs)
    const tWork = performance.now();
    for (const n of ['peer', 'natted']) {
      const log = hosts().find((h) => h.name === n)!.logFile!;
      await until(
        `${n} to finish bootstrapping`,
        async () => existsSync(log) && readFileSync(log, 'utf8').includes('bootstrap finished'),
      );
    }
    // a request that fails (wrong NodeId at boot's address: an identity error), so failure panels have data
    const res = await fetch(`${baseOf('peer')}/connect`, {
      method: 'POST',
      body: JSON.stringify({ addr: `${labAddr('boot')}:4433`, nodeId: '00'.repeat(32), timeoutMs: 5000 }),
      signal: AbortSignal.timeout(10_000),
    });
    const probe = (await res.json()) as { connected: boolean; error?: string };
    expect(probe.connected).toBe(false);
    expect(probe.error).toMatch(/^IdentityError/);
    // a datagram too short to be QUIC (fixed bit set, 1 byte): boot drops it as "short"
    const peerNs = hosts().find((h) => h.name === 'peer')!.namespace;
    const send = `const s=require('node:dgram').createSocket('udp4');s.send(Buffer.from([0x40]),4433,'${labAddr('boot')}',()=>s.close())`;
    await execOut(['ip', 'netns', 'exec', peerNs, process.execPath, '-e', send]);
    await until('boot to count the short datagram', async () =>
      (await getText(`${baseOf('boot')}/metrics`)).includes(
        'quicmesh_transport_datagrams_dropped_total{reason="short"}',
      ),
    );
    const eventsDone = Date.now();
    mark('bootstrap + failed request + dropped datagram', tWork);
    const tScrape = performance.now();
    await twoScrapesAfter(prom, eventsDone);
    mark('two scrapes of every target after that', tScrape);
  }, 120_000);

  afterAll(async () => {
    if (readState(LAB)) {
      const code = await main(['down', LAB], captureIO());
      if (code !== 0)
        await getRuntime('netns')
          .down(LAB)
          .catch(() => {});
    }
    await stopLabPrometheus(LAB); // in case the state was already gone
    rmSync(tmp, { recursive: true, force: true });
    mark('whole file', t0);
    console.log(['timings (s):', ...times.map(([w, s]) => `  ${s.toFixed(2).padStart(7)}  ${w}`)].join('\n'));
  }, 60_000);

  it('scrapes every node, labelled node, network, nat and role, and listens only on the management bridge', async () => {
    expect(prom).toBe(
      `http://${hosts()[0]!.statusUrl!.replace(/^http:\/\/(\d+\.\d+\.\d+)\.\d+.*$/, '$1')}.1:${PROM_PORT}`,
    );
    const ts = await activeTargets(prom);
    const byNode = Object.fromEntries(ts.map((t) => [t.labels.node, t.labels]));
    expect(Object.keys(byNode).sort()).toEqual(['boot', 'natted', 'peer']);
    expect(byNode.boot).toMatchObject({ job: 'quicmesh', network: 'pub', nat: 'public', role: 'bootstrap' });
    expect(byNode.natted).toMatchObject({
      job: 'quicmesh',
      network: 'home',
      nat: 'port-restricted-cone',
      role: 'plain',
    });
    expect(byNode.peer).toMatchObject({ job: 'quicmesh', network: 'pub', nat: 'public', role: 'plain' });
    const listening = await execOut(['ss', '-Htlnp', `sport = :${PROM_PORT}`]);
    expect(
      listening
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[3]),
    ).toEqual([`${new URL(prom).hostname}:${PROM_PORT}`]);
    const status = captureIO();
    expect(await main(['status', LAB], status)).toBe(0);
    expect(status.out.join('')).toContain(`prometheus: ${prom}\n`);
  });

  it('fills the dashboards node variable with every node', async () => {
    const r = await promGet<string[]>(prom, '/api/v1/label/node/values', {
      'match[]': 'quicmesh_peers_seen',
    });
    expect(r.status).toBe('success');
    expect([...r.data].sort()).toEqual(['boot', 'natted', 'peer']);
  });

  it('answers every panel query with data, except those over planned or not-yet-run metrics (listed)', async () => {
    const sections = catalogueSections();
    const rows = sections.flatMap((s) => s.rows);
    const sectionOf = new Map(sections.flatMap((s) => s.rows.map((r) => [r.name, s.title] as const)));
    const exposition = await getText(`${baseOf('peer')}/metrics`);
    const declared = declaredMetrics(exposition);
    const running = new Set(
      sections
        .filter((s) => s.rows.some((r) => r.status === 'exists' && declared.has(r.name)))
        .map((s) => s.title),
    );

    const failures: string[] = [];
    const plannedSeen = new Set<string>();
    const notRunSeen = new Set<string>();
    const emptyQueries: string[] = [];
    const t = performance.now();
    const queries = dashboardQueries();
    for (const q of queries) {
      const expr = substitute(q.expr);
      const r = await promGet<{ resultType: string; result: Series[] }>(prom, '/api/v1/query', {
        query: expr,
      });
      if (r.status !== 'success') {
        failures.push(`${q.where}: Prometheus rejected ${expr}: ${r.errorType}: ${r.error}`);
        continue;
      }
      const used = metricsIn(q.expr, rows);
      if (used.length === 0) failures.push(`${q.where}: uses no catalogued metric: ${q.expr}`);
      const planned = used.filter((m) => m.status === 'planned');
      const notRun = used.filter((m) => m.status === 'exists' && !running.has(sectionOf.get(m.name)!));
      if (planned.length || notRun.length) {
        planned.forEach((m) => plannedSeen.add(m.name));
        notRun.forEach((m) => notRunSeen.add(m.name));
        emptyQueries.push(
          `${q.where}: ${[...planned, ...notRun].map((m) => `${m.name} (${m.status === 'planned' ? 'planned' : 'not run'})`).join(', ')}`,
        );
        // nothing exports these yet: a series here means the catalogue is stale
        if (r.data.result.length)
          failures.push(
            `${q.where}: returned data although it uses ${[...planned, ...notRun].map((m) => m.name).join(', ')}: update docs/metrics.md`,
          );
        continue;
      }
      if (r.data.result.length === 0) failures.push(`${q.where}: no series for ${expr}`);
    }
    mark(`${queries.length} dashboard queries`, t);

    const plannedInCatalogue = rows
      .filter((r) => r.status === 'planned')
      .map((r) => r.name)
      .sort();
    const notRunInCatalogue = rows
      .filter((r) => r.status === 'exists' && !running.has(sectionOf.get(r.name)!))
      .map((r) => r.name)
      .sort();
    console.log(
      [
        `dashboard queries: ${queries.length}, with data: ${queries.length - emptyQueries.length}, empty by design: ${emptyQueries.length}`,
        `planned metrics (docs/metrics.md), absent from the live nodes (${plannedSeen.size}):`,
        ...[...plannedSeen].sort().map((n) => `  ${n}`),
        `implemented metrics of subsystems \`quicmesh node\` does not run yet (${notRunSeen.size}): ${[...notRunSeen].sort().join(', ') || 'none'}`,
        `subsystems the node runs: ${[...running].join('; ')}`,
        'queries left empty:',
        ...emptyQueries.map((q) => `  ${q}`),
      ].join('\n'),
    );
    expect(failures).toEqual([]);
    // no silent skips: the empty-by-design list is exactly the catalogue's planned set ...
    expect([...plannedSeen].sort()).toEqual(plannedInCatalogue);
    // ... plus implemented metrics of subsystems the node binary does not run, which the dashboards use
    expect([...notRunSeen].sort()).toEqual(
      notRunInCatalogue.filter((n) => queries.some((q) => metricsIn(q.expr, rows).some((m) => m.name === n))),
    );
    // the node always runs its request dispatch and QUIC transport
    expect([...running].filter((s) => /src\/node\/|src\/transport\//.test(s))).toHaveLength(2);
  });

  it('exports only catalogued metrics, and every implemented metric of each subsystem it runs (live catalogue check)', async () => {
    const exposition = await getText(`${baseOf('peer')}/metrics`);
    const declared = declaredMetrics(exposition);
    const sections = catalogueSections();
    const byName = new Map(sections.flatMap((s) => s.rows).map((r) => [r.name, r]));
    const problems: string[] = [];
    for (const [name, type] of declared) {
      if (!name.startsWith('quicmesh_')) continue;
      const row = byName.get(name);
      if (!row) problems.push(`${name} (${type}) is exported but not in docs/metrics.md`);
      else if (row.status !== 'exists')
        problems.push(`${name} is exported but docs/metrics.md marks it ${row.status}`);
      else if (row.type !== type) problems.push(`${name} is a ${type} but docs/metrics.md says ${row.type}`);
      else {
        for (const labels of sampleLabelSets(exposition, name)) {
          if (labels.join(',') !== [...row.labels].sort().join(','))
            problems.push(
              `${name} has a series labelled [${labels.join(', ')}]; docs say [${row.labels.join(', ')}]`,
            );
        }
      }
    }
    const runs = sections.filter((s) => s.rows.some((r) => r.status === 'exists' && declared.has(r.name)));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const s of runs) {
      for (const r of s.rows)
        if (r.status === 'exists' && !declared.has(r.name))
          problems.push(`${r.name} (${s.title}) is documented as exists but the node does not export it`);
    }
    for (const r of sections.flatMap((s) => s.rows).filter((x) => x.status === 'process')) {
      if (!declared.has(r.name)) problems.push(`process metric ${r.name} is documented but not exported`);
    }
    expect(problems).toEqual([]);
  });

  it('down stops the lab Prometheus, also one whose state record was lost (crash sweep)', async () => {
    const state = readState(LAB)!;
    const pid = state.prometheus!.pid;
    expect(labPrometheusPids(LAB)).toEqual([pid]);
    // as if `up` died between starting Prometheus and recording it
    writeState({
      ...state,
      prometheus: null,
      processes: state.processes.filter((p) => p.role !== 'prometheus'),
    });
    const io = captureIO();
    const t = performance.now();
    expect(await main(['down', LAB], io), io.err.join('')).toBe(0);
    mark('down (Prometheus + lab)', t);
    expect(io.out.join('')).toContain(`stopped prometheus (pid ${pid})`);
    expect(labPrometheusPids(LAB)).toEqual([]);
    expect(
      existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '',
    ).not.toContain('prometheus');
    // nothing listens on the port any more (checked locally: the bridge address is gone, so no request is sent to it)
    expect((await execOut(['ss', '-Htln', `sport = :${PROM_PORT}`])).trim()).toBe('');
  });
});
