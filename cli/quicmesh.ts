/**
 * quicmesh: the node binary's root. One yargs CommandModule per verb under cli/node/, listed in
 * COMMANDS as a lazyCommand (its command, description and import); add a verb by appending one.
 * Errors: a ConfigError (bad flag, key file, address) exits 2 and any other QuicmeshError exits 1,
 * both as one line without a stack; anything else is a bug and prints its stack (exit 1).
 */
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
import { lazyCommand, type LazyCommand } from './shared/lazy-command.js';

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, UsageError, type CliOutput };

// Each verb's module (and with it the library, QUIC included) is imported only when it runs
// (cli/shared/lazy-command.ts), so `--help` starts without them.
export const COMMANDS: readonly LazyCommand[] = [
  lazyCommand({
    command: 'node',
    describe: 'Run a mesh node (QUIC) until SIGINT/SIGTERM',
    load: async () => (await import('./node/node-command.js')).nodeCommand,
  }),
  lazyCommand({
    command: 'chat',
    describe: 'Chat in a room over the mesh (pubsub topic chat/<room>); lines from stdin are sent',
    load: async () => (await import('./node/chat-command.js')).chatCommand,
  }),
];

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
