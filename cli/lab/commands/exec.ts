/**
 * `quicmesh-lab exec NODE [--lab NAME] -- cmd args…`: run a command inside a node's (or router's)
 * namespace with the terminal attached. A non-zero exit of the command is reported as an error.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { QuicmeshError } from '../../../src/errors.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface ExecArgs extends LabContext {
  node: string;
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
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' }),
  handler: async (argv: ArgumentsCamelCase<ExecArgs>) => {
    const { io } = argv;
    const cmd = [...(argv.cmd ?? []), ...(argv['--'] ?? [])].map(String);
    const { lab, runtime } = await targetLab(argv.lab);
    const inherit = io.isTTY;
    const res = await runtime.exec(lab, argv.node, cmd, { inherit });
    if (!inherit) {
      io.stdout(res.stdout);
      if (res.stderr) io.stderr(res.stderr);
    }
    if (res.code !== 0) throw new CommandExitError(res.code);
  },
};

export default execCommand;
