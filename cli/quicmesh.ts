/**
 * quicmesh: the node binary's root. One yargs CommandModule per verb under cli/node/, listed in
 * COMMANDS; add a verb (e.g. `chat`) by importing its module and appending it there.
 * Errors: a ConfigError (bad flag, key file, address) exits 2 and any other QuicmeshError exits 1,
 * both as one line without a stack; anything else is a bug and prints its stack (exit 1).
 */
import { type CommandModule } from 'yargs';
import { chatCommand } from './node/chat-command.js';
import { nodeCommand } from './node/node-command.js';
import {
  describeCliError,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_OK,
  isEntryPoint,
  runCli,
  UsageError,
  type CliOutput,
} from './shared/run-cli.js';

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, UsageError, type CliOutput };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
export const COMMANDS: readonly CommandModule<any, any>[] = [nodeCommand, chatCommand];

const processOutput: CliOutput = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

/** The exit code for an error and the text to print for it. */
export function describeError(error: unknown): { code: number; text: string } {
  return describeCliError('quicmesh', error);
}

/** Run the CLI on `args` (without node and script); returns the exit code, never calls process.exit. */
export function main(args: readonly string[], out: CliOutput = processOutput): Promise<number> {
  return runCli(args, {
    program: 'quicmesh',
    usage: '$0 <command> [options]\n\nPeer-to-peer mesh node over QUIC.',
    commands: COMMANDS,
    out,
    describeError,
  });
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
