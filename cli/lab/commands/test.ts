/**
 * `quicmesh-lab test FILE [--repeat N|auto] [--warm] [--junit OUT.xml] [--json OUT.json] [--keep] [--ready-timeout S]
 *  [--baseline OLD.json [--update-baseline]] [--markdown OUT.md]` (the regression flags: cli/lab/report/regression.ts):
 * the lab's regression run. Brings the topology up, waits for the mesh (every node answers /status, then
 * bootstrap settles), runs every expectation `repeat` times through the nodes' POST /connect — each probe
 * after the routers forgot the pair's NAT state, unless --warm — prints the
 * verdict matrix, writes the JUnit/JSON reports asked for, and tears the lab down — also when something
 * failed or Ctrl-C was pressed (unless --keep). Exit 0 when every expectation passed, 1 when one failed or
 * the run broke, 2 for a bad file or flag, 3 when every expectation passed but a cell regressed against the
 * --baseline. Progress goes to stderr; the report to stdout.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { AbortError, ConfigError, QuicmeshError } from '../../../src/errors.js';
import { chooseRuntime, logTail, runtimeNames } from '../../runtime/index.js';
import { getJson } from '../../runtime/http.js';
import { readState } from '../../runtime/state.js';
import { bringUpTopology, loadTopologyWithStack, type LabUp } from '../bring-up.js';
import type { LabContext, LabIO } from '../io.js';
import { waitForMesh, type MeshMember } from '../mesh-ready.js';
import { formatScenarioReport, runScenarioPhase, type ScenarioReport } from '../scenario/phase.js';
import type { ResolvedTopology } from '../../topology/model.js';
import { Progress } from '../progress.js';
import { forgetFirst, httpConnect, runExpectations, type ConnectFn } from '../run-expectations.js';
import type { LabMember } from '../command-probe.js';
import { kindProbes, quicmeshPart } from '../kind-members.js';
import { compareStacks, parseStacks } from '../stack-compare.js';
import { loadTopology } from '../../topology/parse.js';
import {
  computeVerdicts,
  formatReport,
  toJUnitXml,
  toJsonReport,
  type ExpectationResults,
  type VerdictReport,
} from '../verdicts/index.js';
import { abortOnStopSignals } from '../../shared/signals.js';
import { runWithPlan } from '../verdicts/repeat-plan.js';
import {
  finishRegression,
  prepareRegression,
  regressionFlags,
  RegressionError,
  type RegressionFlags,
} from '../report/regression.js';

interface TestArgs extends LabContext, RegressionFlags {
  file: string;
  warm: boolean;
  junit?: string;
  json?: string;
  keep: boolean;
  'ready-timeout': number;
  'connect-timeout': number;
  parallel: number;
  backend: string;
  stack?: string;
  stacks?: string;
  scenario: boolean;
  'scenario-only': boolean;
}

/** Some expectation did not hold: exit 1 after the report is printed. */
export class ExpectationsFailedError extends QuicmeshError {}

function positiveInt(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`--${flag}: expected a whole number ≥ 1, got ${value}`);
  return value;
}

function positiveSeconds(value: number, flag: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`--${flag}: expected a positive number of seconds, got ${value}`);
  return value;
}

/** An output file must go into an existing directory; checked before the lab is built. */
function outputPath(file: string | undefined, flag: string): string | undefined {
  if (file === undefined) return undefined;
  if (file.trim() === '') throw new ConfigError(`--${flag}: expected a file path`);
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError(`--${flag}: directory ${dir} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory())
    throw new ConfigError(`--${flag}: ${file} is a directory`);
  return file;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The header line saying whether repeats are independent measurements (cold) or not. */
export function natStateLine(mode: 'cold' | 'warm' | 'unsupported', backend: string): string {
  if (mode === 'cold') return 'NAT state: cold — the routers forget the pair\'s pinholes before every probe';
  if (mode === 'warm') return 'NAT state: warm (--warm) — a repeat reuses the pinholes earlier probes of the pair left';
  return `NAT state: warm — the ${backend} backend cannot forget NAT state between repeats`;
}

/**
 * Ctrl-C and SIGTERM abort the run instead of killing the process, so the lab is still torn down.
 * Returns the signal and a function removing the handlers.
 */
function interruptOnSignals(io: LabIO): { signal: AbortSignal; dispose(): void } {
  return abortOnStopSignals((name, ctrl) => {
    if (ctrl.signal.aborted) io.stderr(`${name}: still tearing the lab down, please wait\n`);
    else {
      io.stderr(`${name}: stopping the test run\n`);
      ctrl.abort(new AbortError(`interrupted by ${name}`));
    }
  });
}

/**
 * A node whose control endpoint stopped answering most likely died: show the end of its log, while the
 * lab (and the log) still exists.
 */
async function reportBrokenNodes(results: readonly ExpectationResults[], lab: LabUp, progress: Progress): Promise<void> {
  const broken = new Set<string>();
  for (const r of results) {
    if (r.repeats.some((o) => o.error?.startsWith(`control endpoint of ${r.expectation.from} unreachable`)))
      broken.add(r.expectation.from);
  }
  const state = broken.size ? readState(lab.handle.name) : null;
  for (const node of broken) {
    const rec = state?.nodes.find((n) => n.name === node);
    const tail = state && rec ? await logTail(lab.runtime.backend, state, rec, 10) : '(no lab state)';
    progress.info(`node ${node} stopped answering its control endpoint; end of its log:\n${tail}`);
  }
}

export const testCommand: CommandModule<LabContext, TestArgs> = {
  command: 'test <file>',
  describe: 'build a lab, check every expectation of the topology, tear it down',
  builder: (yargs: Argv<LabContext>) =>
    regressionFlags(yargs)
      .positional('file', { type: 'string', demandOption: true, describe: 'topology YAML file' })
      .option('repeat', {
        type: 'string',
        default: '1',
        describe:
          'connections per expectation (each a new one, from cold NAT state unless --warm), or auto: until the success ratio is known to --ci-width',
      })
      .option('warm', {
        type: 'boolean',
        default: false,
        describe: 'keep the NAT state between probes: a repeat may reuse the pinholes of the one before',
      })
      .option('junit', { type: 'string', describe: 'write a JUnit XML report to this file' })
      .option('json', { type: 'string', describe: 'write the JSON verdict report to this file' })
      .option('keep', {
        type: 'boolean',
        default: false,
        describe: 'leave the lab up afterwards (down it with quicmesh-lab down)',
      })
      .option('ready-timeout', {
        type: 'number',
        default: 30,
        describe: 'seconds to wait for the nodes and their bootstrap',
      })
      .option('connect-timeout', {
        type: 'number',
        default: 5,
        describe: 'seconds one connection attempt may take',
      })
      .option('parallel', {
        type: 'number',
        default: 8,
        describe: 'most connection attempts in flight at once',
      })
      .option('backend', {
        type: 'string',
        default: 'auto',
        describe: `lab backend: auto (docker if its engine answers, else netns as root) or one of ${runtimeNames().join(', ')}`,
      })
      // node kinds (issue 14)
      .option('stack', {
        type: 'string',
        describe: 'a stack file: run its program (start command and probe) in every node that does not choose its kind',
      })
      .option('stacks', {
        type: 'string',
        describe: 'compare stacks: quicmesh and/or stack files, comma-separated; the test runs once per stack and prints one table',
      })
      .option('scenario', {
        type: 'boolean',
        default: true,
        describe: "run the topology's scenario (timed faults and checks) after the expectations; --no-scenario skips it",
      })
      .option('scenario-only', {
        type: 'boolean',
        default: false,
        describe: 'run the scenario only, not the expectations (--repeat runs it that many times)',
      }),
  handler: async (argv: ArgumentsCamelCase<TestArgs>) => {
    const { io } = argv;
    // node kinds (issue 14): --stacks runs this handler once per stack, then prints them side by side
    if (argv.stacks !== undefined) return runStacks(argv);
    const parallel = positiveInt(argv.parallel, 'parallel');
    const readyTimeoutMs = positiveSeconds(argv['ready-timeout'], 'ready-timeout') * 1000;
    const connectTimeoutMs = positiveSeconds(argv['connect-timeout'], 'connect-timeout') * 1000;
    const junitFile = outputPath(argv.junit, 'junit');
    const jsonFile = outputPath(argv.json, 'json');
    const topology = await loadTopologyWithStack(argv.file, argv.stack);
    const phases = testPhases(argv, topology);
    const regress = prepareRegression(argv, topology.name);
    const repeat = regress.repeat.mode === 'fixed' ? regress.repeat.count : 'auto';
    const startedAt = new Date().toISOString();
    const runtime = await chooseRuntime(argv.backend); // unknown backend: ConfigError before anything is built

    const progress = new Progress({ write: io.stderr, isTTY: false });
    const interrupt = interruptOnSignals(io);
    const t0 = performance.now();
    const times: string[] = [];
    let lab: LabUp | undefined;
    let report: VerdictReport | undefined;
    let scenario: ScenarioReport | undefined;
    let regressions = 0;
    try {
      const up = progress.start(`up ${topology.name} (${topology.nodes.length} nodes)`);
      try {
        lab = await bringUpTopology(topology, {
          backend: runtime.name,
          readyTimeoutMs,
          onProgress: (line) => progress.info(`  ${line}`),
        });
      } catch (err) {
        up.fail(err instanceof Error ? err.message.split('\n')[0]! : String(err));
        throw err;
      }
      up.done();
      times.push(`up ${seconds(lab.elapsedMs)}`);
      if (interrupt.signal.aborted) throw interrupt.signal.reason;

      // node kinds (issue 14): only quicmesh nodes form a mesh to wait for (command nodes were ready at up)
      const meshNodes = quicmeshPart(topology);
      const mesh = meshNodes.nodes.length
        ? await progress.step('waiting for the mesh', () =>
            waitForMesh(meshNodes, lab!.handle, {
              timeoutMs: readyTimeoutMs,
              fetchStatus: (url) => getJson(url, 1500),
              onProgress: (line) => progress.info(`  ${line}`),
              signal: interrupt.signal,
            }),
          )
        : { members: new Map<string, MeshMember>(), settledMs: 0 };
      times.push(`mesh ${seconds(mesh.settledMs)}`);

      const pairs = new Set(topology.expectations.map((e) => `${e.from} -> ${e.to}`)).size;
      const { handle } = lab;
      const upLab = lab;
      const mode = argv.warm ? 'warm' : 'cold';
      const natLine = natStateLine(mode, runtime.name);
      // a forget that fails (a missing tool) stops the run: the probes after it would measure warm state
      const broke = new AbortController();
      // node kinds (issue 14): command nodes are probed by their `probe:` command; a probe that is bad input stops the run
      const probes = await kindProbes(lab.runtime, topology, mesh.members, httpConnect(), {
        readyTimeoutMs,
        signal: interrupt.signal,
        onBadInput: (err) => broke.abort(err),
      });
      let connect: ConnectFn<LabMember> = probes.connect;
      const relays = new Set(topology.nodes.filter((n) => n.role === 'relay').map((n) => n.name));
      if (mode === 'cold')
        connect = forgetFirst(
          connect,
          async (a, b) => {
            // A relay's links are the traversal machinery every other probe leans on: left alone.
            if (relays.has(a.name) || relays.has(b.name)) return;
            // first the nodes drop their connections to each other (their closes still pass), then the routers forget
            await probes.disconnect(a, b);
            await runtime.forgetNatState(handle.name, a.name, b.name);
          },
          (err) => broke.abort(err),
        );
      const tRun = performance.now();
      const runStep = phases.expectations
        ? progress.start(`${topology.expectations.length} expectation(s), ${pairs} pair(s) × ${repeat} repeat(s); ${natLine}`)
        : null;
      const results = !phases.expectations ? [] : await runWithPlan(topology.expectations, regress.repeat, (expectations, n) =>
        runExpectations(expectations, probes.members, {
        repeat: n,
        parallel,
        connectTimeoutMs,
        connect,
        signal: AbortSignal.any([interrupt.signal, broke.signal]),
        onProbe: (done, total, pair, o) =>
          progress.info(
            `  [${done}/${total}] ${pair}: ${o.connected ? `${o.path ?? 'connected'} ${o.timeToConnectMs ?? '?'} ms` : `not connected${o.error ? ` (${o.error})` : ''}`}`,
          ),
      })).catch((err: unknown) => {
        throw broke.signal.aborted ? broke.signal.reason : err;
      });
      if (runStep) {
        runStep.done();
        times.push(`expectations ${seconds(performance.now() - tRun)}`);
      }

      await reportBrokenNodes(results, lab, progress);
      report = computeVerdicts(results, { topology: topology.name });
      if (phases.scenario) {
        const tScenario = performance.now();
        scenario = await runScenario(topology, upLab, probes.members, probes.connect, {
          repeats: regress.repeat.mode === 'fixed' ? regress.repeat.count : regress.repeat.min,
          connectTimeoutMs,
          parallel,
          readyTimeoutMs,
          signal: interrupt.signal,
          progress,
        });
        times.push(`scenario ${seconds(performance.now() - tScenario)}`);
      }
      if (phases.expectations) io.stdout(`${natLine}\n${formatReport(report)}`);
      if (scenario) io.stdout(formatScenarioReport(scenario));
      if (junitFile) writeFileSync(junitFile, toJUnitXml(report, scenario));
      const json = toJsonReport(report, {
        startedAt,
        label: regress.label,
        backend: runtime.name,
        natState: mode,
        repeat: regress.repeat,
      });
      if (scenario) json.timeline = scenario;
      if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
      regressions = finishRegression(json, regress, io)?.regressions.length ?? 0;
    } finally {
      if (lab && argv.keep) {
        progress.info(`lab ${topology.name} kept up (down it with: quicmesh-lab down ${topology.name})`);
      } else if (lab) {
        const tDown = performance.now();
        await progress.step(`down ${topology.name}`, () => lab!.runtime.down(topology.name));
        times.push(`down ${seconds(performance.now() - tDown)}`);
      }
      interrupt.dispose();
      progress.info(`timings: ${[...times, `total ${seconds(performance.now() - t0)}`].join(', ')}`);
    }
    if (phases.expectations && !report.pass) {
      throw new ExpectationsFailedError(
        `${report.failed} of ${report.verdicts.length} expectation(s) failed${scenario && !scenario.pass ? '; the scenario failed too' : ''}`,
      );
    }
    if (scenario && !scenario.pass) {
      const failed = scenario.summary.filter((s) => s.passed < s.runs).length;
      throw new ExpectationsFailedError(`the scenario failed: ${failed} of ${scenario.entries.length} timeline entries did not hold in every run`);
    }
    if (regressions > 0) throw new RegressionError(`${regressions} regression(s) against the baseline ${regress.baselineFile}`);
  },
};

/** `--stacks`: the test once per stack (stack-compare.ts); the first stack's outcome is the exit code. */
async function runStacks(argv: ArgumentsCamelCase<TestArgs>): Promise<void> {
  if (argv.stack !== undefined) throw new ConfigError('--stack and --stacks exclude each other (name the stack in --stacks)');
  if (argv.baseline !== undefined) throw new ConfigError('--baseline compares one stack with its past: use it without --stacks');
  outputPath(argv.json, 'json');
  outputPath(argv.junit, 'junit');
  const stacks = await parseStacks(argv.stacks!);
  await loadTopology(argv.file); // a bad file: one error before any lab is built
  const failure = await compareStacks(stacks, { io: argv.io, ...(argv.json ? { json: argv.json } : {}), ...(argv.junit ? { junit: argv.junit } : {}) }, (stack, files) =>
    (testCommand.handler as (a: ArgumentsCamelCase<TestArgs>) => Promise<void>)({ ...argv, stacks: undefined, stack, ...files }),
  );
  if (failure) throw failure;
}

// ---- the scenario phase (issue 13): which phases run, and the scenario run itself ----------------

/** Which phases a test runs: the expectations unless --scenario-only, the scenario unless --no-scenario. */
export function testPhases(
  argv: { file: string; scenario: boolean; 'scenario-only': boolean },
  topology: ResolvedTopology,
): { expectations: boolean; scenario: boolean } {
  const hasScenario = (topology.scenario ?? []).length > 0;
  if (argv['scenario-only'] && !argv.scenario) throw new ConfigError('--scenario-only and --no-scenario leave nothing to run');
  if (argv['scenario-only'] && !hasScenario) throw new ConfigError(`${argv.file}: --scenario-only, but the topology has no "scenario:" list`);
  const phases = { expectations: !argv['scenario-only'] && topology.expectations.length > 0, scenario: argv.scenario && hasScenario };
  if (!phases.expectations && !phases.scenario) {
    throw new ConfigError(
      `${argv.file}: the topology has no expectations${argv.scenario ? ' and no scenario' : ''} to test (add an "expect:" list${argv.scenario ? ' or a "scenario:"' : ''})`,
    );
  }
  return phases;
}

async function runScenario(
  topology: ResolvedTopology,
  lab: LabUp,
  members: ReadonlyMap<string, LabMember>,
  commandProbe: ConnectFn<LabMember>,
  opts: { repeats: number; connectTimeoutMs: number; parallel: number; readyTimeoutMs: number; signal: AbortSignal; progress: Progress },
): Promise<ScenarioReport> {
  const step = opts.progress.start(`scenario: ${(topology.scenario ?? []).length} step(s) × ${opts.repeats} run(s)`);
  const report = await runScenarioPhase({
    topology,
    runtime: lab.runtime,
    lab: lab.handle.name,
    members,
    commandProbe,
    repeats: opts.repeats,
    connectTimeoutMs: opts.connectTimeoutMs,
    parallel: opts.parallel,
    readyTimeoutMs: opts.readyTimeoutMs,
    signal: opts.signal,
    say: (line) => opts.progress.info(`  ${line}`),
    // node kinds: only the quicmesh nodes form a mesh (command nodes were ready when started)
    awaitMesh: async () => {
      const mesh = quicmeshPart(topology);
      if (!mesh.nodes.length) return new Map<string, MeshMember>();
      return (
        await waitForMesh(mesh, lab.handle, {
          timeoutMs: opts.readyTimeoutMs,
          fetchStatus: (url) => getJson(url, 1500),
          signal: opts.signal,
        })
      ).members;
    },
  });
  if (report.pass) step.done();
  else step.fail('some timeline entries did not hold');
  return report;
}

export default testCommand;
