/**
 * The Grafana dashboards against a live lab (root only): `quicmesh-lab up --prometheus` starts real
 * `bin/quicmesh.js` nodes and a Prometheus scraping them. The lab runs every subsystem a dashboard
 * shows: a bootstrap and a plain public node (both NAT test servers), a relay (role relay: relay
 * sessions and hole-punch rendezvous; every other node keeps a link to it), a node behind a
 * port-restricted NAT that detects its NAT type (--nat-detect), one behind a symmetric NAT, and a
 * gossip topic every node subscribes to. The test drives the events — a direct, a
 * hole-punched and a relayed connect (the relayed session held open over the scrapes), a connect
 * the relay refuses, a datagram too short for QUIC — waits for two fresh scrapes, then runs every
 * panel query of grafana/dashboards/*.json as an instant query: each must return at least one
 * series, with no exemptions (docs/metrics.md has no planned rows left). A live catalogue check
 * compares every node's /metrics with docs/metrics.md, and `down` is shown to stop a Prometheus
 * whose state record was lost.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/quicmesh-lab.js';
import { captureIO } from '../../cli/lab/io.js';
import { readState, writeState, type PrometheusRecord } from '../../cli/runtime/state.js';
import { labPrometheusPids, stopLabPrometheus } from '../../cli/lab/prometheus.js';
import { getRuntime, type LabHandle } from '../../cli/runtime/index.js';
import { readCatalogue, REPO, type CatalogueRow } from '../unit/metrics-catalogue-doc.js';
import { isRootWithTools, labBackends, labName } from './lab-fixtures.js';
import { pollUntil } from '../support/poll.js';

/** This run's lab: set per backend in the suite's first hook (the helpers read it when they run). */
let LAB = 'qmt-prom';
const PROM_PORT = 19090; // not 9090: a distribution's own Prometheus may hold *:9090
const rootWithTools = isRootWithTools(['ip', 'nft']);

// Addresses are assigned in file order (cli/topology/resolve.ts): the routers' WAN ends take
// 203.0.113.1 and .2, then boot .3, peer .4, relay .5; checked in beforeAll.
const BOOT_ADDR = '203.0.113.3';
const PEER_ADDR = '203.0.113.4';
const NODES = ['boot', 'natted', 'peer', 'relay', 'symm'];

const topologyText = () => `name: ${LAB}
description: public nodes (NAT test servers), a relay, a node behind a port-restricted NAT (detecting it) and one behind a symmetric NAT
defaults:
  node: { args: [--subscribe, lab] }
networks:
  pub: { kind: public, subnet: 203.0.113.0/24 }
  home: { kind: lan, subnet: 10.0.1.0/24 }
  corp: { kind: lan, subnet: 10.0.2.0/24 }
routers:
  r1: { nat: port-restricted-cone, wan: pub, lan: home }
  r2: { nat: symmetric, wan: pub, lan: corp }
nodes:
  boot: { network: pub, role: bootstrap, args: [--subscribe, lab, --nat-server, --nat-partner, '${PEER_ADDR}:4433'] }
  peer: { network: pub, args: [--subscribe, lab, --nat-server, --nat-partner, '${BOOT_ADDR}:4433'] }
  relay: { network: pub, role: relay }
  natted: { network: home, args: [--subscribe, lab, --nat-detect, '${BOOT_ADDR}:4433,${PEER_ADDR}:4433'] }
  symm: { network: corp }
`;

interface ConnectAnswer {
  connected: boolean;
  path: string | null;
  error?: string;
}

/** Dashboard variables as Grafana would fill them for "All" nodes and a few minutes of data. */
const VARIABLES: Record<string, string> = {
  node: '.*', // the variable's allValue
  __rate_interval: '1m',
  __range: '5m',
  __interval: '1s',
};

// --- small helpers ---------------------------------------------------------------------------

/** Poll `probe` (100 ms apart) until it yields a value; fail naming `what` after `timeoutMs`. */
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> =>
  pollUntil(what, probe, { timeoutMs });

interface NodeStatus {
  nodeId: string;
  extra: {
    nat?: { reflexiveAddr: string | null; relays: { reachable: boolean }[]; natType?: string };
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
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

describe.runIf(rootWithTools).each(labBackends())('lab Prometheus and the Grafana dashboards, live (%s)', (backend) => {
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
  const connectTo = async (
    from: string,
    addr: string,
    nodeId: string,
    timeoutMs: number,
  ): Promise<ConnectAnswer> => {
    const res = await fetch(`${baseOf(from)}/connect`, {
      method: 'POST',
      body: JSON.stringify({ addr, nodeId, fresh: true, timeoutMs }),
      signal: AbortSignal.timeout(30_000),
    });
    return (await res.json()) as ConnectAnswer;
  };
  const connect = async (from: string, to: string): Promise<ConnectAnswer> => {
    const { nodeId } = await getJson<NodeStatus>(`${baseOf(to)}/status`);
    return connectTo(from, `${labAddr(to)}:4433`, nodeId, 4000);
  };

  beforeAll(async () => {
    LAB = labName('qmt-prom', backend);
    // a lab left by an interrupted earlier run would make `up` refuse
    if ((await getRuntime(backend).listLabs()).includes(LAB)) await main(['down', LAB], captureIO());
    const file = join(tmp, 'prom-lab.yaml');
    writeFileSync(file, topologyText());
    const io = captureIO();
    const tUp = performance.now();
    const code = await main(
      ['up', file, '--backend', backend, '--prometheus', '--prometheus-port', String(PROM_PORT), '--json'],
      io,
    );
    if (code !== 0) throw new Error(`quicmesh-lab up exited ${code}:\n${io.err.join('')}`);
    mark('up --prometheus (5 nodes + Prometheus ready)', tUp);
    handle = JSON.parse(io.out.join('')) as typeof handle;
    prom = handle.prometheus.url;
    // the NAT test server addresses written into the topology's args
    expect([labAddr('boot'), labAddr('peer')]).toEqual([BOOT_ADDR, PEER_ADDR]);

    // every target up
    const tTargets = performance.now();
    await until('all 5 targets up', async () => {
      const ts = await activeTargets(prom);
      return ts.length === NODES.length && ts.every((t) => t.health === 'up');
    });
    mark('first scrape of every target up', tTargets);

    // the nodes join through boot; the NATed ones learn their reflexive address and reach the relay,
    // and natted finishes its NAT type detection (it joins only after that)
    const tWork = performance.now();
    const logOf = async (node: string): Promise<string> => {
      let text = '';
      for await (const chunk of getRuntime(backend).logs(LAB, node)) text += chunk;
      return text;
    };
    for (const n of ['peer', 'relay', 'natted', 'symm']) {
      await until(`${n} to finish bootstrapping`, async () => (await logOf(n)).includes('bootstrap finished'));
    }
    for (const n of ['peer', 'natted', 'symm']) {
      await until(`${n} to know its reflexive address and reach the relay`, async () => {
        const nat = (await getJson<NodeStatus>(`${baseOf(n)}/status`)).extra.nat;
        return !!nat?.reflexiveAddr && nat.relays.length === 1 && nat.relays.every((r) => r.reachable);
      });
    }
    const natType = (await getJson<NodeStatus>(`${baseOf('natted')}/status`)).extra.nat?.natType;
    expect(natType).toBe('PortRestrictedCone');
    mark('bootstrap, reflexive addresses, relay links, NAT detection', tWork);

    const tEvents = performance.now();
    // a public node dials out directly; a public node reaches the port-restricted one by a hole
    // punch (the relay as rendezvous); the symmetric one is reached through a relay session, held
    // open over the scrapes so the relay's session gauges are non-zero when scraped
    expect(await connect('natted', 'peer')).toMatchObject({ connected: true, path: 'direct' });
    expect(await connect('peer', 'natted')).toMatchObject({ connected: true, path: 'hole-punched' });
    // the relayed connection stays open (and keeps its session at the relay) after the answer
    expect(await connect('natted', 'symm')).toMatchObject({ connected: true, path: 'relayed' });
    // a connect that fails everywhere: wrong NodeId at boot's address (an identity error on the
    // direct try), no punch, and the relay refuses the session (Unknown target)
    const refused = await connectTo('peer', `${labAddr('boot')}:4433`, '00'.repeat(32), 3000);
    expect(refused.connected).toBe(false);
    expect(refused.error).toMatch(/Unknown target/);
    // a datagram too short to be QUIC (fixed bit set, 1 byte): boot drops it as "short"
    const peerNs = hosts().find((h) => h.name === 'peer')!.namespace;
    const send = `const s=require('node:dgram').createSocket('udp4');s.send(Buffer.from([0x40]),4433,'${labAddr('boot')}',()=>s.close())`;
    await execOut(['ip', 'netns', 'exec', peerNs, process.execPath, '-e', send]);
    await until('boot to count the short datagram', async () =>
      (await getText(`${baseOf('boot')}/metrics`)).includes(
        'quicmesh_transport_datagrams_dropped_total{reason="short"}',
      ),
    );
    const peerMetrics = await getText(`${baseOf('peer')}/metrics`);
    expect(peerMetrics).toMatch(/^quicmesh_connect_dials_total\{result="identity"\} [1-9]/m);
    expect(await getText(`${baseOf('relay')}/metrics`)).toMatch(/^quicmesh_relay_sessions [1-9]/m);
    const eventsDone = Date.now();
    mark('direct, hole-punched, relayed (held) and refused connects + dropped datagram', tEvents);
    const tScrape = performance.now();
    await twoScrapesAfter(prom, eventsDone);
    mark('two scrapes of every target after that', tScrape);
  }, 150_000);

  afterAll(async () => {
    if (readState(LAB)) {
      const code = await main(['down', LAB], captureIO());
      if (code !== 0)
        await getRuntime(backend)
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
    expect(Object.keys(byNode).sort()).toEqual(NODES);
    expect(byNode.boot).toMatchObject({ job: 'quicmesh', network: 'pub', nat: 'public', role: 'bootstrap' });
    expect(byNode.natted).toMatchObject({
      job: 'quicmesh',
      network: 'home',
      nat: 'port-restricted-cone',
      role: 'plain',
    });
    expect(byNode.peer).toMatchObject({ job: 'quicmesh', network: 'pub', nat: 'public', role: 'plain' });
    expect(byNode.relay).toMatchObject({ job: 'quicmesh', network: 'pub', nat: 'public', role: 'relay' });
    expect(byNode.symm).toMatchObject({ job: 'quicmesh', network: 'corp', nat: 'symmetric', role: 'plain' });
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
    expect([...r.data].sort()).toEqual(NODES);
  });

  it('answers every panel query of every dashboard with data (no exemptions)', async () => {
    const rows = catalogueSections().flatMap((s) => s.rows);
    // nothing is left for a later part: every catalogued node metric exists
    expect(rows.filter((r) => r.status === 'planned').map((r) => r.name)).toEqual([]);
    const failures: string[] = [];
    const t = performance.now();
    const queries = dashboardQueries();
    let withData = 0;
    for (const q of queries) {
      const expr = substitute(q.expr);
      const r = await promGet<{ resultType: string; result: Series[] }>(prom, '/api/v1/query', {
        query: expr,
      });
      if (r.status !== 'success') {
        failures.push(`${q.where}: Prometheus rejected ${expr}: ${r.errorType}: ${r.error}`);
        continue;
      }
      if (metricsIn(q.expr, rows).length === 0) failures.push(`${q.where}: uses no catalogued metric: ${q.expr}`);
      if (r.data.result.length === 0) failures.push(`${q.where}: no series for ${expr}`);
      else withData++;
    }
    mark(`${queries.length} dashboard queries`, t);
    console.log(`dashboard queries: ${queries.length}, with data: ${withData}`);
    expect(failures).toEqual([]);
    expect(withData).toBe(queries.length);
  });

  it('shows the driven NAT traversal events in Prometheus, not just zero series', async () => {
    const value = async (expr: string): Promise<number> => {
      const r = await promGet<{ result: Series[] }>(prom, '/api/v1/query', { query: expr });
      expect(r.status, expr).toBe('success');
      expect(r.data.result, expr).toHaveLength(1);
      return Number(r.data.result[0]!.value[1]);
    };
    // peer and natted both punched successfully (initiator and responder)
    expect(await value('sum(quicmesh_holepunch_attempts_total{result="success"})')).toBeGreaterThanOrEqual(2);
    // natted -> peer (direct) and peer -> natted (hole-punched)
    expect(await value('sum(quicmesh_path_time_to_direct_seconds_count)')).toBeGreaterThanOrEqual(2);
    // the held session: one at the relay, one on each client, bytes both ways
    expect(await value('sum(quicmesh_relay_sessions{node="relay"})')).toBe(1);
    expect(await value('sum(quicmesh_relay_client_sessions{node=~"natted|symm"})')).toBe(2);
    expect(await value('sum(quicmesh_relay_client_bytes_total{direction="out"})')).toBeGreaterThan(0);
    expect(await value('sum(quicmesh_relay_client_bytes_total{direction="in"})')).toBeGreaterThan(0);
    expect(await value('sum(quicmesh_path_state{node="natted", kind="Relayed"})')).toBe(1);
    expect(await value('sum(quicmesh_relay_rejections_total{reason="Unknown target"})')).toBeGreaterThanOrEqual(1);
    expect(await value('quicmesh_nat_type{node="natted", type="PortRestrictedCone"}')).toBe(1);
  });

  it('exports only catalogued metrics, and every implemented metric from some node (live catalogue check)', async () => {
    const byName = new Map(catalogueSections().flatMap((s) => s.rows).map((r) => [r.name, r]));
    const problems: string[] = [];
    const declaredAnywhere = new Set<string>();
    for (const node of NODES) {
      const exposition = await getText(`${baseOf(node)}/metrics`);
      const declared = declaredMetrics(exposition);
      for (const [name, type] of declared) {
        declaredAnywhere.add(name);
        if (!name.startsWith('quicmesh_')) continue;
        const row = byName.get(name);
        if (!row) problems.push(`${node}: ${name} (${type}) is exported but not in docs/metrics.md`);
        else if (row.status !== 'exists')
          problems.push(`${node}: ${name} is exported but docs/metrics.md marks it ${row.status}`);
        else if (row.type !== type) problems.push(`${node}: ${name} is a ${type} but docs/metrics.md says ${row.type}`);
        else {
          for (const labels of sampleLabelSets(exposition, name)) {
            if (labels.join(',') !== [...row.labels].sort().join(','))
              problems.push(
                `${node}: ${name} has a series labelled [${labels.join(', ')}]; docs say [${row.labels.join(', ')}]`,
              );
          }
        }
      }
      for (const r of byName.values()) {
        if (r.status === 'process' && !declared.has(r.name))
          problems.push(`${node}: process metric ${r.name} is documented but not exported`);
      }
    }
    // the lab runs every subsystem: each implemented metric is exported by at least one node
    for (const r of byName.values()) {
      if (r.status === 'exists' && !declaredAnywhere.has(r.name))
        problems.push(`${r.name} is documented as exists but no lab node exports it`);
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
