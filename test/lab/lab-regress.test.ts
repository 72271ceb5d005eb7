/**
 * The regression workflow end to end (root only): `quicmesh-lab ci init` writes the GitHub workflow, and its
 * "Run the topology" step — the generated bash, as written, with only `sudo` supplied where the machine has
 * none — runs for real on the quick-start topology three times: on the default branch (the run becomes the
 * baseline and the history), on a pull request of the same build (compared: no regression), and on a pull
 * request whose nodes punch 300 ms late (QUICMESH_TEST_PUNCH_DELAY_MS, a test-only knob): exit 3, and the
 * markdown names the hole-punched cell.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIO } from '../../cli/lab/io.js';
import type { JsonReport } from '../../cli/lab/verdicts/json.js';
import { main } from '../../cli/quicmesh-lab.js';
import { isRootWithTools } from './lab-fixtures.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LAB = 'regress-qs';
const HAS_SUDO = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v sudo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Step {
  name?: string;
  run?: string;
}

function namespacesOf(lab: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`qm-${lab}_`));
}

describe.runIf(isRootWithTools(['ip', 'nft', 'tc', 'conntrack']))(
  'the generated CI workflow, run for real',
  () => {
    let dir: string;
    let steps: Step[];
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'lab-regress-'));
      mkdirSync(join(dir, 'repo', 'topologies'), { recursive: true });
      // the quick-start topology under a lab name of its own: lab names are global on a machine
      const topology = readFileSync(join(ROOT, 'topologies/quickstart.yaml'), 'utf8').replace(
        /^name: quickstart$/m,
        `name: ${LAB}`,
      );
      writeFileSync(join(dir, 'repo/topologies/quickstart.yaml'), topology);
      const io = captureIO();
      const code = await main(
        ['ci', 'init', '--dir', join(dir, 'repo'), '--lab-bin', 'bin/quicmesh-lab.js'],
        io,
      );
      expect(code, io.err.join('')).toBe(0);
      const workflow = parse(readFileSync(join(dir, 'repo/.github/workflows/quicmesh-lab.yml'), 'utf8'));
      steps = workflow.jobs['nat-regression'].steps;
    });
    afterAll(async () => {
      // only if a run broke half-way: the verb removes its lab itself
      if (namespacesOf(LAB).length) await main(['down', LAB], captureIO());
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    /** Run a step's script in this checkout as GitHub would (bash -eo pipefail), with the job's env. */
    function runStep(
      name: string,
      env: Record<string, string>,
    ): Promise<{ code: number | null; output: string }> {
      const step = steps.find((s) => s.name === name);
      if (!step?.run) throw new Error(`no step ${name}`);
      // this machine runs tests as root, with no sudo: the workflow's `sudo -E cmd` is then just `cmd`
      const shim = HAS_SUDO ? '' : 'sudo() { if [ "$1" = -E ]; then shift; fi; "$@"; }\n';
      return new Promise((done, reject) => {
        const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', shim + step.run], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => done({ code, output }));
      });
    }

    async function job(
      env: Record<string, string>,
    ): Promise<{ step: number | null; code: string; output: string; slug: string }> {
      const files = { GITHUB_ENV: join(dir, 'github-env'), GITHUB_OUTPUT: join(dir, 'github-output') };
      writeFileSync(files.GITHUB_ENV, '');
      writeFileSync(files.GITHUB_OUTPUT, '');
      const base = {
        TOPOLOGY: join(dir, 'repo/topologies/quickstart.yaml'),
        BACKEND: 'netns',
        OUT: join(dir, 'out'),
        BASELINE_DIR: join(dir, 'baseline'),
        LABEL: 'f00dfacecafe',
        ...files,
        ...env,
      };
      rmSync(base.OUT, { recursive: true, force: true });
      const named = await runStep('Name the run', base);
      expect(named.code, named.output).toBe(0);
      const slug = /^SLUG=(.*)$/m.exec(readFileSync(files.GITHUB_ENV, 'utf8'))![1]!;
      const run = await runStep('Run the topology', { ...base, SLUG: slug });
      const code = /^code=(\d+)$/m.exec(readFileSync(files.GITHUB_OUTPUT, 'utf8'))?.[1] ?? '';
      return { step: run.code, code, output: run.output, slug };
    }

    it('keeps a baseline on the default branch, finds no regression on the same build, and flags late punching', async () => {
      const main1 = await job({ ON_DEFAULT_BRANCH: 'true', REPEAT: '10', RUN_NUMBER: '1' });
      expect(main1.step, main1.output).toBe(0);
      expect(main1.slug).toBe('quickstart-netns');
      expect(main1.output).toContain(`baseline ${join(dir, 'baseline', 'quickstart-netns.json')} created`);
      expect(['0', '1']).toContain(main1.code); // 1 only if the product flaked: then the report says which cell
      expect(readdirSync(join(dir, 'baseline', 'history'))).toEqual(['quickstart-netns.00000001.json']);
      for (const ext of ['json', 'xml', 'md', 'html'])
        expect(existsSync(join(dir, 'out', `quickstart-netns.${ext}`)), ext).toBe(true);

      const same = await job({ ON_DEFAULT_BRANCH: 'false', REPEAT: '6', RUN_NUMBER: '2' });
      expect(same.step, same.output).toBe(0);
      expect(same.code, same.output).not.toBe('3');
      expect(same.output).toMatch(
        /against baseline .*quickstart-netns\.json \(regress-qs, [^)]*\): no regressions/,
      );
      expect(readFileSync(join(dir, 'out', 'quickstart-netns.md'), 'utf8')).not.toContain('#### Regressions');
      expect(readdirSync(join(dir, 'baseline', 'history'))).toHaveLength(1); // a pull request leaves the history alone

      const slow = await job({
        ON_DEFAULT_BRANCH: 'false',
        REPEAT: '6',
        RUN_NUMBER: '3',
        QUICMESH_TEST_PUNCH_DELAY_MS: '300',
      });
      expect(slow.step, slow.output).toBe(0);
      const report = JSON.parse(
        readFileSync(join(dir, 'out', 'quickstart-netns.json'), 'utf8'),
      ) as JsonReport;
      // 3 = regression; 1 wins only when an expectation failed as well
      expect(slow.code, slow.output).toBe(report.pass ? '3' : '1');
      const md = readFileSync(join(dir, 'out', 'quickstart-netns.md'), 'utf8');
      expect(md).toMatch(
        /#### Regressions \(\d+\)\n\n(- .*\n)*- \*\*bob -&gt; alice-1: hole-punched\*\* — slower: median/,
      );
      expect(readFileSync(join(dir, 'out', 'quickstart-netns.html'), 'utf8')).toContain(
        'bob -&gt; alice-1: hole-punched</b> — slower',
      );
      expect(namespacesOf(LAB)).toEqual([]);
    }, 600_000);
  },
);
