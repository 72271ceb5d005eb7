/**
 * The examples under examples/ end to end on every backend (root only), through the real
 * bin/quicmesh-lab.js: the plain-UDP hole-punching baseline and the js-libp2p node each pass their own
 * topology's expectations over fresh connections from cold NAT state, write JUnit and JSON, and leave
 * nothing behind; a stack file drops the UDP program into a shipped topology. The libp2p example installs
 * its own packages (Node.js 22 among them) into its folder first when they are missing.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../cli/lab/verdicts/index.js';
import { isRootWithTools, labBackends, labLeftovers, runLab } from './lab-fixtures.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LIBP2P = join(ROOT, 'examples', 'libp2p');


function npmInstall(dir: string): Promise<void> {
  return new Promise((done, reject) =>
    execFile(
      'npm',
      ['install', '--no-audit', '--no-fund'],
      { cwd: dir, timeout: 300_000 },
      (err, _out, stderr) => (err ? reject(new Error(`npm install in ${dir} failed: ${stderr}`)) : done()),
    ),
  );
}

const paths = (report: JsonReport) =>
  Object.fromEntries(report.expectations.map((e) => [`${e.from} -> ${e.to}`, e.paths]));

describe.runIf(isRootWithTools(['ip', 'nft', 'tc'])).each(labBackends())('examples (%s)', (backend) => {
  let dir: string;
  const labs = ['udp-punch', 'libp2p-example', 'quickstart'];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qm-examples-'));
    for (const lab of labs) if ((await labLeftovers(lab)).length) await runLab(['down', lab]);
  }, 120_000);
  afterAll(async () => {
    for (const lab of labs) if ((await labLeftovers(lab)).length) await runLab(['down', lab]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('the UDP baseline punches every pair its topology expects, from cold NAT state', async () => {
    const json = join(dir, 'udp.json');
    const junit = join(dir, 'udp.xml');
    const run = await runLab([
      'test',
      'examples/udp-punch/topology.yaml',
      '--repeat',
      '3',
      // a probe is a fresh Node.js process: room for its start on a loaded machine
      '--connect-timeout',
      '10',
      '--json',
      json,
      '--junit',
      junit,
      '--backend',
      backend,
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('NAT state: cold');
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    expect(report.pass).toBe(true);
    expect(report.expectations.every((e) => e.satisfied === 3 && e.timeToConnectMs.p50 !== null)).toBe(true);
    // through the symmetric NAT only because each side answers the source it saw (peer-reflexive)
    expect(paths(report)['carol -> dave']).toMatchObject({ 'hole-punched': 3 });
    expect(await readFile(junit, 'utf8')).toContain('<testsuite');
    expect(await labLeftovers('udp-punch')).toEqual([]);
  }, 300_000);

  it('a stack file drops the UDP program into a shipped topology', async () => {
    const json = join(dir, 'quickstart-udp.json');
    const run = await runLab([
      'test',
      'topologies/quickstart.yaml',
      '--stack',
      'examples/udp-punch/stack.yaml',
      '--connect-timeout',
      '10',
      '--json',
      json,
      '--backend',
      backend,
    ]);
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    // quickstart asks for relayed paths the baseline does not have, and probes from the bootstrap node,
    // which runs the rendezvous (it answers pings, but connects to no one): those, and only those, fail
    const failed = report.expectations.filter((e) => !e.pass).map((e) => e.text);
    expect(failed, run.stdout).toEqual([
      'boot -> relay: direct',
      'boot -> alice-2: direct',
      'alice-1 -> carol: relayed',
      'carol -> alice-2: relayed',
    ]);
    expect(run.stdout).toContain('the rendezvous connects to no peer');
    expect(run.code).toBe(1);
    expect(await labLeftovers('quickstart')).toEqual([]);
  }, 300_000);

  it('js-libp2p connects every pair its topology expects, over the paths it takes here', async () => {
    if (!existsSync(join(LIBP2P, 'node_modules', 'node', 'bin', 'node'))) await npmInstall(LIBP2P);
    const json = join(dir, 'libp2p.json');
    const run = await runLab([
      'test',
      'examples/libp2p/topology.yaml',
      '--repeat',
      '2',
      // a probe starts Node.js 22 and js-libp2p, then gives DCUtR its time: as the example's README says
      '--connect-timeout',
      '10',
      '--json',
      json,
      '--backend',
      backend,
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    expect(paths(report)['alice -> eve']).toMatchObject({ direct: 2 });
    expect(paths(report)['carol -> alice']).toMatchObject({ relayed: 2 });
    expect(await labLeftovers('libp2p-example')).toEqual([]);
  }, 600_000);
});
