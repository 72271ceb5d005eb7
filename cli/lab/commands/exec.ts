/**
 * `quicmesh-lab exec NODE [--lab NAME] [--detach] -- cmd args…`: run a command inside a node's (or router's)
 * machine — its namespace on netns, its container on docker — with the terminal attached, or its output
 * streamed as it comes when not on a terminal. A non-zero exit of the command is reported as an error.
 * `--detach` starts it in the background (a server, a traffic generator): its output goes to a log of its
 * own (`logs NODE --exec ID`), and `down` ends it.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { QuicmeshError } from '../../../src/errors.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface ExecArgs extends LabContext {
  node: string;
  detach: boolean;
  json: boolean;
  cmd?: string[];
  lab?: string;
  '--'?: string[];
}

export class CommandExitError extends QuicmeshError {
  constructor(readonly code: number) {
    super(`command exited with code ${code}`);
  }
}

export const execCommand: CommandModule<LabContext, ExecArgs> = {
  command: 'exec <node> [cmd..]',
  describe: 'run a command inside a node or router namespace (exec NODE -- cmd args)',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .parserConfiguration({ 'populate--': true, 'unknown-options-as-args': true })
      .positional('node', { type: 'string', demandOption: true, describe: 'node or router name' })
      .positional('cmd', { type: 'string', array: true, describe: 'command and arguments (after --)' })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'run it in the background; its log: logs NODE --exec ID' })
      .option('json', { type: 'boolean', default: false, describe: 'with --detach: print {node, id, logFile, pid} as JSON' }),
  handler: async (argv: ArgumentsCamelCase<ExecArgs>) => {
    const { io } = argv;
    const cmd = [...(argv.cmd ?? []), ...(argv['--'] ?? [])].map(String);
    const { lab, runtime } = await targetLab(argv.lab);
    if (argv.detach) {
      const d = await runtime.execDetached(lab, argv.node, cmd);
      io.stdout(
        argv.json
          ? `${JSON.stringify(d)}\n`
          : `started in ${d.node} as exec ${d.id}${d.pid ? ` (pid ${d.pid})` : ''}; its output: quicmesh-lab logs ${d.node} --exec ${d.id} (${d.logFile}); down ends it\n`,
      );
      return;
    }
    const inherit = io.isTTY;
    // not on a terminal: pass the output on as it comes (a long-running command is not silent until it ends)
    const res = await runtime.exec(lab, argv.node, cmd, {
      inherit,
      onOutput: (stream, chunk) => (stream === 'stdout' ? io.stdout(chunk) : io.stderr(chunk)),
    });
    if (res.code !== 0) throw new CommandExitError(res.code);
  },
};

export default execCommand;
