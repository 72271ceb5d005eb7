/**
 * The shipped scenarios (topologies/*.yaml with a `scenario:` list) end to end (root only), on every
 * backend: `quicmesh-lab test FILE --scenario-only` with real bin/quicmesh.js nodes, judged from its JSON
 * report — a router reboot under streams and a restart found again (quickstart-reboot), a partition and
 * its heal, a flapping lossy link under streams, and churn (in CI a shortened copy of churn-30.yaml:
 * 2 rounds instead of 6, fewer pairs sampled, any path; the full one, on the path each NAT pair allows,
 * is for `--repeat 5` measurements: on a small machine a punch toward a symmetric NAT can lose its race
 * against the relay, see LIMITATIONS.md).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioReport } from '../../cli/lab/scenario/phase.js';
import type { EntryResult } from '../../cli/lab/scenario/run.js';
import { isRootWithTools, labBackends, labLeftovers, runLab } from './lab-fixtures.js';

const ROOT = resolve(import.meta.dirname, '..', '..');


describe.runIf(isRootWithTools(['ip', 'nft', 'tc', 'conntrack'])).each(labBackends())('shipped scenarios (%s)', (backend) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quicmesh-scenarios-'));
  });
  afterAll(async () => {
    // only if a run broke half-way: the verb removes its lab
    for (const lab of ['quickstart-reboot', 'partition-heal', 'flapping-link', 'churn-30'])
      if ((await labLeftovers(lab)).length) await runLab(['down', lab]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  /** Runs the scenario of `file`; returns its one run's entries by text (the run must pass). */
  async function scenario(file: string, lab: string): Promise<{ report: ScenarioReport; entry(text: string): EntryResult[] }> {
    const json = join(dir, `${lab}.json`);
    const run = await runLab(['test', file, '--scenario-only', '--json', json, '--backend', backend]);
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.code, out).toBe(0);
    const report = (JSON.parse(await readFile(json, 'utf8')) as { timeline: ScenarioReport }).timeline;
    expect(report.pass, out).toBe(true);
    expect(report.runs).toHaveLength(1);
    expect(await labLeftovers(lab)).toEqual([]);
    const results = report.runs[0]!.results;
    return { report, entry: (text) => results.filter((r) => r.text.startsWith(text)) };
  }

  it('quickstart-reboot: streams through router-a carry on across its reboot; a restarted bob is found again', async () => {
    // every stream of the shipped file, on both backends: to a public node, through another NAT, one
    // opened from outside (bob -> alice-1) and one relayed (carol -> alice-2; on docker it broke in 1 of
    // 17 runs until the relay's link to alice-2 survived a lost path check, LIMITATIONS.md)
    const file = 'topologies/quickstart-reboot.yaml';
    const expected = 4;
    const { entry } = await scenario(file, 'quickstart-reboot');
    const streams = entry('stream');
    expect(streams).toHaveLength(expected);
    for (const s of streams) {
      expect(s.stream!.peerBytes, s.text).toBe(s.stream!.sentBytes);
      expect(s.metricMs!, s.text).toBeLessThanOrEqual(3000); // carrying data again within 3 s
    }
    expect(entry('nat reset router-a')[0]!.ok).toBe(true);
    for (const e of [...entry('expect alice -> bob'), ...entry('expect carol -> bob')])
      expect(e.pairs!.every((p) => p.ok && p.resolveMs !== null)).toBe(true);
  }, 180_000);

  it('partition-heal: the west side works inside while the east is cut off; after heal, both find each other within 5 s', async () => {
    const { entry } = await scenario('topologies/partition-heal.yaml', 'partition-heal');
    expect(entry('partition')[0]!.ok).toBe(true);
    for (const e of entry('every live pair')) expect(e.pairs!.length).toBeGreaterThanOrEqual(12);
    const after = entry('expect');
    expect(after).toHaveLength(4);
    for (const e of after) {
      expect(e.pairs!.length, e.text).toBeGreaterThan(0);
      for (const p of e.pairs!) expect(p.totalMs!, `${p.from} -> ${p.to}`).toBeLessThanOrEqual(5000);
    }
  }, 180_000);

  it('flapping-link: streams across two 5 s outages of a lossy link lose no byte', async () => {
    const { entry } = await scenario('topologies/flapping-link.yaml', 'flapping-link');
    expect(entry('link down')).toHaveLength(2);
    expect(entry('link up')).toHaveLength(2);
    for (const s of entry('stream')) {
      expect(s.stream!.sentBytes, s.text).toBeGreaterThan(0);
      expect(s.stream!.peerBytes, s.text).toBe(s.stream!.sentBytes);
      expect(s.metricMs!, s.text).toBeGreaterThanOrEqual(4000); // it did stall across an outage
    }
  }, 180_000);

  it('churn-30 (2 rounds): every probe between live nodes connects, punched and relayed ones among them', async () => {
    const short = (await readFile(join(ROOT, 'topologies', 'churn-30.yaml'), 'utf8'))
      .replace('$schema=../schema/', `$schema=${ROOT}/schema/`)
      .replace('for: 60s', 'for: 20s')
      .replace('until: 55s', 'until: 15s')
      .replace('sample: 60', 'sample: 30')
      .replace('path: expected', 'path: any');
    expect(short).toContain('for: 20s');
    const file = join(dir, 'churn-30.yaml');
    await writeFile(file, short);
    const { report, entry } = await scenario(file, 'churn-30');
    expect(entry('churn round')).toHaveLength(2);
    const checks = report.summary.filter((s) => s.text.startsWith('every live pair'));
    expect(checks).toHaveLength(2);
    for (const c of checks) {
      expect(c.probes!.judged, c.text).toBeGreaterThan(0);
      expect(c.probes!.ok, c.text).toBe(c.probes!.judged);
    }
    const paths = new Set(entry('every live pair').flatMap((e) => e.pairs!.map((p) => p.path)));
    expect([...paths].sort()).toEqual(['direct', 'hole-punched', 'relayed']);
  }, 300_000);
});
