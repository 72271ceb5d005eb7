/**
 * `quicmesh-lab logs NODE [-f] [--tail N] [--lab NAME]`: print a node's log (stdout and stderr of its
 * process, whatever the backend: a file on netns, the container's log on docker); with -f keep printing
 * what is appended until interrupted.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface LogsArgs extends LabContext {
  node: string;
  exec?: number;
  follow: boolean;
  tail?: number;
  lab?: string;
}

export const logsCommand: CommandModule<LabContext, LogsArgs> = {
  command: 'logs <node>',
  describe: "print a node's log",
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('node', { type: 'string', demandOption: true, describe: 'node name' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new lines' })
      .option('tail', { type: 'number', describe: 'only the last N lines (then follow, with -f)' })
      .option('exec', { type: 'number', describe: 'the log of a command started with exec --detach (its id)' })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' }),
  handler: async (argv: ArgumentsCamelCase<LogsArgs>) => {
    const { io } = argv;
    if (argv.tail !== undefined && (!Number.isInteger(argv.tail) || argv.tail < 0)) {
      throw new ConfigError(`--tail: expected a whole number ≥ 0, got ${argv.tail}`);
    }
    if (argv.exec !== undefined && (!Number.isInteger(argv.exec) || argv.exec < 1)) {
      throw new ConfigError(`--exec: expected the id exec --detach printed (1, 2, …), got ${argv.exec}`);
    }
    const { lab, runtime } = await targetLab(argv.lab);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const opts = {
        follow: argv.follow,
        signal: stop.signal,
        ...(argv.tail !== undefined ? { tail: argv.tail } : {}),
        ...(argv.exec !== undefined ? { exec: argv.exec } : {}),
      };
      for await (const chunk of runtime.logs(lab, argv.node, opts)) io.stdout(chunk);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

export default logsCommand;
