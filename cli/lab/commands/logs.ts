/**
 * `quicmesh-lab logs NODE [-f] [--lab NAME]`: print a node's log (stdout and stderr of its process);
 * with -f keep printing what is appended until interrupted.
 */
import { createReadStream, existsSync, statSync, watch } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import { getRuntime } from '../../runtime/index.js';
import { labBackend, pickLab } from '../lab-state.js';
import type { LabContext, LabIO } from '../io.js';

interface LogsArgs {
  node: string;
  follow: boolean;
  lab?: string;
}

function copy(file: string, from: number, io: LabIO): Promise<number> {
  const size = statSync(file).size;
  if (size <= from) return Promise.resolve(size);
  return new Promise((resolve, reject) => {
    createReadStream(file, { start: from, end: size - 1 })
      .on('data', (chunk) => io.stdout(chunk.toString()))
      .once('error', reject)
      .once('end', () => resolve(size));
  });
}

export const logsCommand: CommandModule<object, LogsArgs> = {
  command: 'logs <node>',
  describe: "print a node's log",
  builder: (yargs: Argv) =>
    yargs
      .positional('node', { type: 'string', demandOption: true, describe: 'node name' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new lines' })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' }) as never,
  handler: async (argv: ArgumentsCamelCase<LogsArgs>) => {
    const { io } = argv as unknown as LabContext;
    const lab = pickLab(argv.lab, await getRuntime('netns').listLabs());
    const file = getRuntime(labBackend(lab)).logsPath(lab, argv.node);
    if (!existsSync(file)) throw new ConfigError(`no log for "${argv.node}" in lab ${lab} (${file})`);
    let offset = await copy(file, 0, io);
    if (!argv.follow) return;
    await new Promise<void>((resolve) => {
      let busy = Promise.resolve();
      const watcher = watch(file, () => {
        busy = busy.then(async () => {
          offset = await copy(file, offset, io);
        });
      });
      const stop = () => {
        watcher.close();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};

export default logsCommand;
