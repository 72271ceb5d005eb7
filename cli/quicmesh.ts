/**
 * quicmesh: the node binary's root. One yargs CommandModule per verb under cli/node/, listed in
 * COMMANDS; add a verb (e.g. `chat`) by importing its module and appending it there.
 * Errors: a ConfigError (bad flag, key file, address) exits 2 and any other QuicmeshError exits 1,
 * both as one line without a stack; anything else is a bug and prints its stack (exit 1).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { ConfigError, QuicmeshError } from '../src/errors.js';
import { chatCommand } from './node/chat-command.js';
import { nodeCommand } from './node/node-command.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
export const COMMANDS: readonly CommandModule<any, any>[] = [nodeCommand, chatCommand];

/** A mistake on the command line (unknown verb or flag, missing value). */
export class UsageError extends ConfigError {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CliOutput = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

/** The exit code for an error and the text to print for it. */
export function describeError(error: unknown): { code: number; text: string } {
  if (error instanceof UsageError) {
    return { code: EXIT_CONFIG, text: `quicmesh: ${error.message} (see quicmesh --help)\n` };
  }
  if (error instanceof QuicmeshError) {
    return { code: error instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE, text: `quicmesh: ${error.message}\n` };
  }
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return { code: EXIT_FAILURE, text: `quicmesh: unexpected error (a bug):\n${text}\n` };
}

/** Run the CLI on `args` (without node and script); returns the exit code, never calls process.exit. */
export async function main(args: readonly string[], out: CliOutput = processOutput): Promise<number> {
  const cli = yargs()
    .scriptName('quicmesh')
    .usage('$0 <command> [options]\n\nPeer-to-peer mesh node over QUIC.')
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
    await cli.parseAsync([...args], {}, (_err, _argv, output) => {
      helpText = output;
    });
    if (helpText) out.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return EXIT_OK;
  } catch (error) {
    const { code, text } = describeError(error);
    out.stderr(text);
    return code;
  }
}

/** True when this module is the program being run (`tsx cli/quicmesh.ts …`), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
