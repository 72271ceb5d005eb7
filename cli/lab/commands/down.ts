/**
 * `quicmesh-lab down NAME|FILE`: remove a lab — processes, namespaces, interfaces, state — also when
 * its `up` crashed half-way (the backend sweeps by the lab's prefix as well as its state file).
 */
import { existsSync, statSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadTopology } from '../../topology/parse.js';
import { downLab } from '../../runtime/index.js';
import type { LabContext } from '../io.js';
import { stopLabPrometheus } from '../prometheus.js';

interface DownArgs extends LabContext {
  lab: string;
}

/** A lab name, or the name inside a topology file when the argument is a file. */
export async function labNameOf(arg: string): Promise<string> {
  if (/\.ya?ml$/i.test(arg) || (existsSync(arg) && statSync(arg).isFile())) return (await loadTopology(arg)).name;
  return arg;
}

export const downCommand: CommandModule<LabContext, DownArgs> = {
  command: 'down <lab>',
  describe: 'remove a lab (by name or by its topology file)',
  builder: (yargs: Argv<LabContext>) => yargs.positional('lab', { type: 'string', demandOption: true, describe: 'lab name or topology file' }),
  handler: async (argv: ArgumentsCamelCase<DownArgs>) => {
    const { io } = argv;
    const lab = await labNameOf(argv.lab);
    const t0 = performance.now();
    // the lab's Prometheus runs outside its namespaces: stop it by record and by its mark (crash sweep)
    const stopped = await stopLabPrometheus(lab);
    if (stopped.length) io.stdout(`  stopped prometheus (pid ${stopped.join(', ')})\n`);
    await downLab(lab, (l) => io.stdout(`${l}\n`));
    io.stdout(`lab ${lab} is down (${((performance.now() - t0) / 1000).toFixed(2)} s)\n`);
  },
};

export default downCommand;
