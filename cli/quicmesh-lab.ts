/**
 * quicmesh-lab: the lab tool's root. One yargs CommandModule per verb (cli/lab/commands/*.ts), listed
 * in COMMANDS below; add a verb by importing its module and appending it there.
 * Errors: a ConfigError (bad file, flag or option) exits 2, any other QuicmeshError exits 1, both as a
 * message without a stack; anything else is a bug and prints its stack (exit 1).
 * Every handler receives `io` (a LabIO) in its argv, for output tests can capture.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { ConfigError, QuicmeshError } from '../src/errors.js';
import { TopologyError } from './topology/errors.js';
import { processIO, type LabIO } from './lab/io.js';
import { graphCommand } from './lab/commands/graph.js';
import { validateCommand } from './lab/commands/validate.js';
import { upCommand } from './lab/commands/up.js';
import { downCommand } from './lab/commands/down.js';
import { statusCommand } from './lab/commands/status.js';
import { execCommand } from './lab/commands/exec.js';
import { logsCommand } from './lab/commands/logs.js';
import { testCommand } from './lab/commands/test.js';
import { tuiCommand } from './lab/commands/tui.js';
import { simCommand } from './lab/commands/sim.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
export const COMMANDS: readonly CommandModule<any, any>[] = [
  upCommand,
  downCommand,
  statusCommand,
  execCommand,
  logsCommand,
  testCommand,
  tuiCommand,
  simCommand,
  validateCommand,
  graphCommand,
];

/** A mistake on the command line (unknown verb or flag, missing argument). */
export class UsageError extends ConfigError {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/** The exit code for an error, and what to print for it. */
export function describeError(error: unknown): { code: number; text: string } {
  if (error instanceof TopologyError) return { code: EXIT_CONFIG, text: `${error.message}\n` };
  if (error instanceof UsageError) {
    return {
      code: EXIT_CONFIG,
      text: `quicmesh-lab: ${error.message}\nRun quicmesh-lab --help for usage.\n`,
    };
  }
  if (error instanceof QuicmeshError) {
    return {
      code: error instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE,
      text: `quicmesh-lab: ${error.message}\n`,
    };
  }
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return { code: EXIT_FAILURE, text: `quicmesh-lab: unexpected error (a bug):\n${text}\n` };
}

/** Runs the CLI on `args` (without node and script) and returns the exit code; never calls process.exit. */
export async function main(args: readonly string[], io: LabIO = processIO): Promise<number> {
  const cli = yargs()
    .scriptName('quicmesh-lab')
    .usage('$0 <command> [options]\n\nBuild and test real NAT networks of quicmesh nodes.')
    .command([...COMMANDS])
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(message ?? 'bad usage');
    });
  try {
    let helpText = '';
    await cli.parseAsync([...args], { io }, (_err, _argv, output) => {
      helpText = output;
    });
    if (helpText) io.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return EXIT_OK;
  } catch (error) {
    const { code, text } = describeError(error);
    io.stderr(text);
    return code;
  }
}

/** True when this module is the program being run (`tsx cli/quicmesh-lab.ts ...`), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
