/**
 * `quicmesh-lab ci init [--provider github|gitlab] [--dir .] [--topology FILE…] [--repeat auto] [--force]`: write
 * a CI workflow that runs the project's topologies with `quicmesh-lab test` against the default branch's
 * baseline on every pull request (merge request) and keeps that baseline on the default branch. What the
 * workflow does is in docs/ci.md; the files are built by cli/lab/ci/*.ts. Without --topology it takes every
 * topology with expectations under DIR/topologies/. Exit 2 when a topology is bad or missing, or the file
 * exists (without --force).
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { Document } from 'yaml';
import { ConfigError } from '../../../src/errors.js';
import { loadTopology } from '../../topology/parse.js';
import { githubWorkflow, type WorkflowOptions } from '../ci/github.js';
import { gitlabPipeline } from '../ci/gitlab.js';
import type { LabContext } from '../io.js';
import { writeFileWhole } from '../report/files.js';
import { parseRepeat } from '../verdicts/repeat-plan.js';

export type Provider = 'github' | 'gitlab';

export const CI_FILES: Record<Provider, string> = {
  github: '.github/workflows/quicmesh-lab.yml',
  gitlab: '.gitlab-ci.yml',
};

interface CiInitArgs extends LabContext {
  provider: Provider;
  dir: string;
  topology?: string[];
  repeat: string;
  'default-branch': string;
  'lab-bin': string;
  docker: boolean;
  force: boolean;
}

const HEADER = (provider: Provider, command: string): string =>
  [
    ` NAT-traversal regression runs of quicmesh-lab (${provider === 'github' ? 'GitHub Actions' : 'GitLab CI'}).`,
    ` Written by: ${command}`,
    ' Every pull request is compared with the baseline the default branch keeps; see docs/ci.md of quicmesh.',
    ' Exit codes of quicmesh-lab test: 0 ok, 1 an expectation failed, 2 bad input, 3 a regression.',
  ].join('\n');

/** The workflow file's text. */
export function ciFileText(provider: Provider, options: WorkflowOptions, command: string): string {
  const doc = new Document(provider === 'github' ? githubWorkflow(options) : gitlabPipeline(options));
  doc.commentBefore = HEADER(provider, command);
  return doc.toString({ lineWidth: 0 });
}

/** Topologies with expectations under DIR/topologies/, as paths relative to DIR. */
async function findTopologies(dir: string): Promise<string[]> {
  const folder = join(dir, 'topologies');
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new ConfigError(`no ${folder}/ directory: name the topologies to run with --topology FILE`);
  const found: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const topology = await loadTopology(join(folder, name)).catch(() => null);
    if (topology && topology.expectations.length > 0) found.push(`topologies/${name}`);
  }
  if (found.length === 0)
    throw new ConfigError(
      `no valid topology with expectations in ${folder}/: name them with --topology FILE`,
    );
  return found;
}

/** A --topology argument as a path relative to DIR, checked to be a topology with expectations. */
async function checkTopology(dir: string, file: string): Promise<string> {
  const path = resolve(dir, file);
  const rel = relative(dir, path);
  if (rel.startsWith('..')) throw new ConfigError(`--topology ${file}: not inside --dir ${dir}`);
  const topology = await loadTopology(path);
  if (topology.expectations.length === 0)
    throw new ConfigError(`--topology ${file}: the topology has no expectations`);
  return rel.split(sep).join('/');
}

const initCommand: CommandModule<LabContext, CiInitArgs> = {
  command: 'init',
  describe: 'write a CI workflow that runs the topologies against the default branch baseline',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .option('provider', {
        choices: ['github', 'gitlab'] as const,
        default: 'github' as const,
        describe: 'CI provider',
      })
      .option('dir', { type: 'string', default: '.', describe: 'root of the repository to write into' })
      .option('topology', {
        type: 'string',
        array: true,
        describe:
          'topology files to run (relative to --dir); default: those with expectations in topologies/',
      })
      .option('repeat', {
        type: 'string',
        default: 'auto',
        describe: 'the --repeat of the runs (a number or auto)',
      })
      .option('default-branch', {
        type: 'string',
        default: 'main',
        describe: 'the branch whose runs are the baseline (GitHub)',
      })
      .option('lab-bin', {
        type: 'string',
        default: 'node_modules/.bin/quicmesh-lab',
        describe: 'the quicmesh-lab script in the checked-out repository',
      })
      .option('docker', {
        type: 'boolean',
        default: true,
        describe: 'add experimental jobs on the docker backend (--no-docker: none)',
      })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing workflow file' }),
  handler: async (argv: ArgumentsCamelCase<CiInitArgs>) => {
    const { io } = argv;
    const dir = resolve(argv.dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new ConfigError(`--dir: ${argv.dir} is not a directory`);
    parseRepeat(argv.repeat);
    if (!/^[\w./-]+$/.test(argv['default-branch']))
      throw new ConfigError(`--default-branch: not a branch name: ${argv['default-branch']}`);
    if (!/^[\w./-]+$/.test(argv['lab-bin']))
      throw new ConfigError(`--lab-bin: expected a relative path, got ${argv['lab-bin']}`);
    const topologies = argv.topology?.length
      ? await Promise.all(argv.topology.map((t) => checkTopology(dir, String(t))))
      : await findTopologies(dir);
    const file = join(dir, CI_FILES[argv.provider]);
    if (existsSync(file) && !argv.force)
      throw new ConfigError(`${file} exists: pass --force to overwrite it`);
    const command = [
      'quicmesh-lab ci init',
      `--provider ${argv.provider}`,
      ...topologies.map((t) => `--topology ${t}`),
    ].join(' ');
    const text = ciFileText(
      argv.provider,
      {
        topologies,
        defaultBranch: argv['default-branch'],
        repeat: argv.repeat,
        labBin: argv['lab-bin'],
        docker: argv.docker,
      },
      command,
    );
    mkdirSync(dirname(file), { recursive: true });
    writeFileWhole(file, text);
    io.stdout(
      `wrote ${file}: ${topologies.length} topology(ies) (${topologies.join(', ')}) on netns${argv.docker ? ' and docker (experimental)' : ''}\n`,
    );
  },
};

export const ciCommand: CommandModule<LabContext, LabContext> = {
  command: 'ci <command>',
  describe: 'continuous integration: ci init writes a workflow',
  builder: (yargs: Argv<LabContext>) =>
    yargs.command(initCommand).demandCommand(1, 'name a ci command (init)'),
  handler: () => {},
};

export default ciCommand;
