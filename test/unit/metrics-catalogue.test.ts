import { describe, expect, it } from 'vitest';
import { readCatalogue, scanRegistrations } from './metrics-catalogue-doc.js';

const TYPES = new Set(['counter', 'gauge', 'histogram']);
const STATUSES = new Set(['exists', 'planned', 'scrape', 'process']);

describe('docs/metrics.md', () => {
  const rows = readCatalogue();
  const byName = new Map(rows.map((r) => [r.name, r]));
  const registered = scanRegistrations();

  it('has well-formed rows following the naming conventions', () => {
    expect(rows.length).toBeGreaterThan(20);
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const at = `docs/metrics.md:${r.line} ${r.name}`;
      if (seen.has(r.name)) problems.push(`${at}: listed twice`);
      seen.add(r.name);
      if (!/^[a-z_:][a-z0-9_:]*$/.test(r.name)) problems.push(`${at}: not a Prometheus metric name`);
      if (!TYPES.has(r.type)) problems.push(`${at}: type "${r.type}" is not counter/gauge/histogram`);
      if (!STATUSES.has(r.status)) problems.push(`${at}: status "${r.status}" is not one of ${[...STATUSES].join(', ')}`);
      if (!r.unit || !r.meaning) problems.push(`${at}: unit and meaning are required`);
      if (r.status === 'exists' || r.status === 'planned') {
        if (!r.name.startsWith('quicmesh_')) problems.push(`${at}: node metrics start with quicmesh_`);
        if ((r.type === 'counter') !== r.name.endsWith('_total')) problems.push(`${at}: counters, and only counters, end in _total`);
        if (r.unit === 'seconds' && !/_seconds(_total)?$/.test(r.name)) problems.push(`${at}: a seconds metric ends in _seconds`);
        if (r.unit === 'bytes' && !/_bytes(_total)?$/.test(r.name)) problems.push(`${at}: a bytes metric ends in _bytes`);
        for (const l of r.labels) if (!/^[a-z_][a-z0-9_]*$/.test(l)) problems.push(`${at}: bad label name "${l}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists every metric registered in src/ with its type and labels, marked exists', () => {
    expect(registered.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const reg of registered) {
      const row = byName.get(reg.name);
      if (!row) {
        problems.push(`${reg.where}: ${reg.name} (${reg.type}) is not in docs/metrics.md`);
        continue;
      }
      if (row.type !== reg.type) problems.push(`${reg.where}: ${reg.name} is a ${reg.type} but the doc says ${row.type}`);
      if (row.status !== 'exists') problems.push(`${reg.where}: ${reg.name} is registered now: mark it "exists" in docs/metrics.md (line ${row.line})`);
      if (reg.labels !== undefined && [...reg.labels].sort().join(',') !== [...row.labels].sort().join(',')) {
        problems.push(`${reg.where}: ${reg.name} has labels [${reg.labels.join(', ')}] but the doc says [${row.labels.join(', ')}]`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('marks exists only what the code registers', () => {
    const names = new Set(registered.map((r) => r.name));
    const stale = rows.filter((r) => r.status === 'exists' && !names.has(r.name)).map((r) => `docs/metrics.md:${r.line} ${r.name}`);
    expect(stale).toEqual([]);
  });
});
