import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO, readCatalogue } from './metrics-catalogue-doc.js';

const GRAFANA = join(REPO, 'grafana');
const DS_UID = 'quicmesh-prom';

// --- a little PromQL reading: enough to check brackets and pull out metric names -----------------

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Null when (), [] and {} balance outside string literals; else what is wrong. */
function bracketProblem(expr: string): string | null {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of withoutStrings(expr)) {
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs) {
      if (stack.pop() !== pairs[c]) return `unexpected "${c}"`;
    }
  }
  return stack.length ? `unclosed "${stack.at(-1)}"` : null;
}

/** Metric names an expression selects (function and aggregation names, labels and variables left out). */
function metricNames(expr: string): string[] {
  let s = withoutStrings(expr)
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_]\w*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const isCall = s.slice(m.index + name.length).trimStart().startsWith('(');
    if (!isCall && !KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

// --- the files -----------------------------------------------------------------------------------

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { uid?: string; type?: string };
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string; type?: string };
  targets?: Target[];
  panels?: Panel[];
}

interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  tags?: string[];
  panels?: Panel[];
  templating?: { list?: Array<{ name: string; type: string; datasource?: { uid?: string }; query?: unknown; definition?: string }> };
}

const files = readdirSync(join(GRAFANA, 'dashboards')).filter((f) => f.endsWith('.json')).sort();
const dashboards = files.map((f) => ({ file: f, d: JSON.parse(readFileSync(join(GRAFANA, 'dashboards', f), 'utf8')) as Dashboard }));

/** Every panel, including those inside collapsed rows. */
function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

const catalogue = new Map(readCatalogue().map((r) => [r.name, r]));

/** The catalogue entry a series name belongs to (histogram series by their base name). */
function catalogued(name: string): boolean {
  if (catalogue.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && catalogue.get(m[1]!)?.type === 'histogram';
}

describe('PromQL helpers', () => {
  it('find metric names and ignore functions, labels, variables and ranges', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le, type) (rate(quicmesh_x_bucket{node=~"$node", a="b(c"}[$__rate_interval])))'),
    ).toEqual(['quicmesh_x_bucket']);
    expect(metricNames('count(up{job="quicmesh"} == 0) or vector(0)')).toEqual(['up']);
    expect(metricNames('sum(rate(a_total[5m])) / ignoring(x) sum(rate(b_total[5m])) offset 1m')).toEqual(['a_total', 'b_total']);
  });

  it('spot unbalanced brackets outside strings', () => {
    expect(bracketProblem('sum(rate(x{a="}"}[5m]))')).toBeNull();
    expect(bracketProblem('sum(rate(x[5m])')).toBe('unclosed "("');
    expect(bracketProblem('x{a="b"]')).toBe('unexpected "]"');
  });
});

describe('grafana dashboards', () => {
  it('are the four expected dashboards with distinct uids', () => {
    expect(files).toEqual(['dht.json', 'gossip.json', 'mesh-overview.json', 'nat-traversal.json']);
    const uids = dashboards.map(({ d }) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  for (const { file, d } of dashboards) {
    describe(file, () => {
      const panels = allPanels(d);

      it('is a valid dashboard model', () => {
        expect(typeof d.uid).toBe('string');
        expect(d.uid!.length).toBeLessThanOrEqual(40);
        expect(typeof d.title).toBe('string');
        expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
        expect(d.tags).toContain('quicmesh');
        expect(panels.length).toBeGreaterThan(5);
        const ids = panels.map((p) => p.id);
        expect(ids.every((id) => Number.isInteger(id))).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        for (const v of d.templating?.list ?? []) {
          if (v.type === 'query') expect(v.datasource?.uid, `variable ${v.name}`).toBe(DS_UID);
        }
      });

      it('lays panels out on the 24-column grid without overlap', () => {
        const problems: string[] = [];
        const boxes = panels.map((p) => ({ p, g: p.gridPos }));
        for (const { p, g } of boxes) {
          if (!g || ![g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n))) problems.push(`${p.title}: gridPos missing`);
          else if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) problems.push(`${p.title}: gridPos ${JSON.stringify(g)} off the grid`);
        }
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!.g;
            const b = boxes[j]!.g;
            if (a && b && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
              problems.push(`${boxes[i]!.p.title} overlaps ${boxes[j]!.p.title}`);
            }
          }
        }
        expect(problems).toEqual([]);
      });

      it('gives every panel targets on the quicmesh datasource with well-formed queries', () => {
        const problems: string[] = [];
        for (const p of panels) {
          if (p.type === 'row') {
            if (p.targets?.length) problems.push(`row ${p.title} has targets`);
            continue;
          }
          if (!p.title) problems.push(`panel ${p.id} has no title`);
          if (p.datasource?.uid !== DS_UID) problems.push(`${p.title}: panel datasource is not ${DS_UID}`);
          if (!p.targets?.length) problems.push(`${p.title}: no targets`);
          const refIds = new Set<string>();
          for (const t of p.targets ?? []) {
            if (!t.refId || refIds.has(t.refId)) problems.push(`${p.title}: missing or repeated refId`);
            refIds.add(t.refId ?? '');
            if (t.datasource?.uid !== DS_UID) problems.push(`${p.title} ${t.refId}: datasource is not ${DS_UID}`);
            if (!t.expr?.trim()) {
              problems.push(`${p.title} ${t.refId}: empty expr`);
              continue;
            }
            const bad = bracketProblem(t.expr);
            if (bad) problems.push(`${p.title} ${t.refId}: ${bad} in ${t.expr}`);
            if (metricNames(t.expr).length === 0) problems.push(`${p.title} ${t.refId}: selects no metric`);
          }
        }
        expect(problems).toEqual([]);
      });

      it('queries only metrics listed in docs/metrics.md', () => {
        const unknown: string[] = [];
        for (const p of panels) {
          for (const t of p.targets ?? []) {
            for (const name of metricNames(t.expr ?? '')) if (!catalogued(name)) unknown.push(`${p.title}: ${name}`);
          }
        }
        for (const v of d.templating?.list ?? []) {
          // label_values(SELECTOR, LABEL): only the selector names metrics
          const selector = (v.definition ?? '').replace(/^label_values\((.*),\s*\w+\s*\)$/, '$1');
          for (const name of metricNames(selector)) if (!catalogued(name)) unknown.push(`variable ${v.name}: ${name}`);
        }
        expect(unknown).toEqual([]);
      });
    });
  }

  it('cover what each dashboard is for', () => {
    const used = (file: string): Set<string> => {
      const d = dashboards.find((x) => x.file === file)!.d;
      return new Set(
        allPanels(d)
          .flatMap((p) => p.targets ?? [])
          .flatMap((t) => metricNames(t.expr ?? ''))
          .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
      );
    };
    const want: Record<string, string[]> = {
      'mesh-overview.json': ['up', 'quicmesh_path_state', 'quicmesh_nat_type', 'quicmesh_requests_total', 'quicmesh_requests_served_total'],
      'dht.json': [
        'quicmesh_dht_tier_centroid_seconds',
        'quicmesh_dht_tier_members',
        'quicmesh_dht_storage_pressure',
        'quicmesh_dht_lookup_rounds',
        'quicmesh_dht_lookup_duration_seconds',
        'quicmesh_dht_k',
        'quicmesh_dht_alpha',
        'quicmesh_dht_routing_table_size',
      ],
      'nat-traversal.json': [
        'quicmesh_holepunch_attempts_total',
        'quicmesh_relay_sessions',
        'quicmesh_relay_bytes_total',
        'quicmesh_path_time_to_direct_seconds',
        'quicmesh_path_rtt_seconds',
        'quicmesh_path_upgrades_total',
      ],
      'gossip.json': [
        'quicmesh_gossip_mesh_peers',
        'quicmesh_gossip_messages_published_total',
        'quicmesh_gossip_messages_delivered_total',
        'quicmesh_gossip_duplicates_total',
        'quicmesh_gossip_ihave_sent_total',
        'quicmesh_gossip_iwant_received_total',
      ],
    };
    for (const [file, names] of Object.entries(want)) {
      const have = used(file);
      expect(names.filter((n) => !have.has(n)), file).toEqual([]);
    }
  });
});

describe('grafana provisioning', () => {
  it('defines the quicmesh-prom datasource with its URL from the environment', () => {
    const y = parseYaml(readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string; access: string }>;
    };
    expect(y.apiVersion).toBe(1);
    expect(y.datasources).toHaveLength(1);
    expect(y.datasources[0]).toMatchObject({ uid: DS_UID, type: 'prometheus', access: 'proxy', url: '${QUICMESH_PROMETHEUS_URL}' });
    const script = readFileSync(join(GRAFANA, 'run-grafana.sh'), 'utf8');
    expect(script).toMatch(/QUICMESH_PROMETHEUS_URL="\$\{QUICMESH_PROMETHEUS_URL:-http:\/\/[^}]+\}"/);
    expect(script).toContain('GF_PATHS_PROVISIONING=');
  });

  it('loads the dashboards folder through a file provider', () => {
    const y = parseYaml(readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'quicmesh.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(y.apiVersion).toBe(1);
    expect(y.providers[0]).toMatchObject({ type: 'file', options: { path: '${QUICMESH_GRAFANA_DASHBOARDS}' } });
    expect(readFileSync(join(GRAFANA, 'run-grafana.sh'), 'utf8')).toContain('QUICMESH_GRAFANA_DASHBOARDS:-$here/dashboards');
  });

  it('ships a scrape config example for job quicmesh that sets the node label', () => {
    const y = parseYaml(readFileSync(join(GRAFANA, 'prometheus.yml.example'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; metrics_path: string; relabel_configs: Array<{ target_label: string }> }>;
    };
    const job = y.scrape_configs.find((j) => j.job_name === 'quicmesh');
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.relabel_configs.map((r) => r.target_label)).toContain('node');
  });
});
