/**
 * What both command lines (quicmesh, quicmesh-lab) share: exit codes, the mapping from error
 * classes to codes and messages, and a yargs runner that returns an exit code instead of calling
 * process.exit. A ConfigError (bad flag, file or address) exits 2 and any other QuicmeshError
 * exits 1, both as one line without a stack; anything else is a bug and prints its stack (exit 1).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { ConfigError, QuicmeshError } from '../../src/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/** A mistake on the command line (unknown verb or flag, missing value). */
export class UsageError extends ConfigError {}

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The exit code for an error and the text to print for it, prefixed with the program's name. */
export function describeCliError(program: string, error: unknown): { code: number; text: string } {
  if (error instanceof UsageError) {
    return { code: EXIT_CONFIG, text: `${program}: ${error.message}\nRun ${program} --help for usage.\n` };
  }
  if (error instanceof QuicmeshError) {
    return { code: error instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE, text: `${program}: ${error.message}\n` };
  }
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return { code: EXIT_FAILURE, text: `${program}: unexpected error (a bug):\n${text}\n` };
}

export interface RunCliOptions {
  program: string;
  usage: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
  commands: readonly CommandModule<any, any>[];
  /** Passed to every handler as part of its argv (e.g. the lab's `io`). */
  context?: Record<string, unknown>;
  out: CliOutput;
  describeError: (error: unknown) => { code: number; text: string };
}

/** Run a yargs CLI on `args` (without node and script); returns the exit code. */
export async function runCli(args: readonly string[], opts: RunCliOptions): Promise<number> {
  const cli = yargs()
    .scriptName(opts.program)
    .usage(opts.usage)
    .command([...opts.commands])
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
    await cli.parseAsync([...args], opts.context ?? {}, (_err, _argv, output) => {
      helpText = output;
    });
    if (helpText) opts.out.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return EXIT_OK;
  } catch (error) {
    const { code, text } = opts.describeError(error);
    opts.out.stderr(text);
    return code;
  }
}

/** True when the module at `moduleUrl` is the program being run (not an import), also through a symlink. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
