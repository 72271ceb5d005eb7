/**
 * `quicmesh-lab test` end to end (root only): the real bin/quicmesh-lab.js builds the quick-start lab
 * with real bin/quicmesh.js nodes, every expectation passes over three fresh connections, and the lab
 * is gone afterwards; a topology with an expectation plain direct connections cannot meet (public ->
 * LAN behind a port-restricted cone NAT) exits 1 and names that expectation and why.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../cli/lab/verdicts/index.js';
import { existsSync } from 'node:fs';
import { labDir } from '../../cli/runtime/state.js';
import { isRootWithTools, labBackends, labLeftovers, runLab } from './lab-fixtures.js';




describe.runIf(isRootWithTools(['ip', 'nft']))('quicmesh-lab up --backend docker without an engine', () => {
  it('says in one line which engine it tried and what to do instead, and makes nothing', async () => {
    const run = await runLab(['up', 'topologies/quickstart.yaml', '--backend', 'docker'], {
      ...process.env,
      DOCKER_HOST: 'unix:///tmp/quicmesh-no-such-engine.sock',
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('no Docker engine answers at DOCKER_HOST=unix:///tmp/quicmesh-no-such-engine.sock');
    expect(run.stderr).toContain('--backend netns');
    expect(existsSync(labDir('quickstart'))).toBe(false);
    expect(await labLeftovers('quickstart')).toEqual([]);
  });
});

describe.runIf(isRootWithTools(['ip', 'nft', 'tc'])).each(labBackends())('quicmesh-lab test (%s)', (backend) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quicmesh-lab-test-'));
  });
  afterAll(async () => {
    // Only if a run broke half-way: normally the verb has already removed its lab.
    for (const lab of ['quickstart', 'lab-public-to-lan'])
      if ((await labLeftovers(lab)).length) await runLab(['down', lab]);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('passes every quick-start expectation over 3 fresh connections and leaves nothing behind', async () => {
    const json = join(dir, 'quickstart.json');
    const junit = join(dir, 'quickstart.xml');
    const run = await runLab([
      'test',
      'topologies/quickstart.yaml',
      '--repeat',
      '3',
      '--json',
      json,
      '--junit',
      junit,
      '--backend',
      backend,
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    expect(report).toMatchObject({ topology: 'quickstart', pass: true, failed: 0 });
    expect(report.expectations.length).toBeGreaterThan(0);
    for (const e of report.expectations) {
      expect(e, e.text).toMatchObject({ pass: true, repeats: 3, satisfied: 3 });
      // every repeat took the path expected: relayed, hole-punched, or (for `direct`) not relayed
      const kind = /: (relayed|hole-punched)/.exec(e.text)?.[1];
      const taken = kind === undefined ? e.paths.direct + e.paths['hole-punched'] : e.paths[kind as 'relayed'];
      expect(taken, e.text).toBe(3);
    }
    expect(await readFile(junit, 'utf8')).toContain('failures="0"');
    expect(run.stdout).toContain('quickstart: 17/17 expectations passed');
    expect(await labLeftovers('quickstart')).toEqual([]);
  }, 120_000);

  it('exits 1 and reports why when an expectation cannot hold (public -> LAN behind a NAT)', async () => {
    const json = join(dir, 'fail.json');
    const run = await runLab([
      'test',
      'test/fixtures/topologies/good/lab-public-to-lan.yaml',
      '--json',
      json,
      '--connect-timeout',
      '2',
      '--backend',
      backend,
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    expect(report.pass).toBe(false);
    const byText = new Map(report.expectations.map((e) => [e.text, e]));
    expect(byText.get('carol -> boot: direct')).toMatchObject({ pass: true, satisfied: 1 });
    const failed = byText.get('pub -> carol: direct')!;
    expect(failed).toMatchObject({ pass: false, satisfied: 0, paths: { failed: 1 } });
    expect(failed.reasons[0]!.reason).toMatch(/^not connected: TimeoutError: no path to [0-9a-f]{8} within 2000 ms/);
    expect(run.stdout).toMatch(/✗ pub -> carol: direct \(line 16\): 0\/1 satisfied — not connected/);
    expect(run.stderr).toContain('1 of 2 expectation(s) failed');
    expect(await labLeftovers('lab-public-to-lan')).toEqual([]);
  }, 120_000);
});
