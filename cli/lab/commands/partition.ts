/**
 * `quicmesh-lab partition NODE|GROUP… --from NODE|GROUP… [--lab NAME] [--json]` and
 * `quicmesh-lab heal [--lab NAME] [--json]`: drop every packet between two sides of nodes, both ways,
 * until healed (see cli/runtime/plan/partition-plan.ts for how NATs are dealt with). Nodes on neither
 * side are untouched, and so is what is relayed through them. Several partitions may hold at once; heal
 * removes them all.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { HealResult, PartitionResult } from '../../runtime/index.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface PartitionArgs extends LabContext {
  nodes: string[];
  from: string[];
  lab?: string;
  json: boolean;
}

interface HealArgs extends LabContext {
  lab?: string;
  json: boolean;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The success lines (exported for tests). */
export function formatPartition(r: PartitionResult): string {
  return `partition ${r.id}: ${r.sides[0].join(', ')} | ${r.sides[1].join(', ')} — drop rules in ${r.machines} machine(s), ${seconds(r.ms)}\n`;
}

export function formatHeal(r: HealResult): string {
  return r.partitions === 0
    ? 'no partition to heal\n'
    : `healed ${r.partitions} partition(s): rules removed from ${r.machines} machine(s) in ${seconds(r.ms)}\n`;
}

const names = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter(Boolean);

export const partitionCommand: CommandModule<LabContext, PartitionArgs> = {
  command: 'partition <nodes..>',
  describe: 'drop all traffic between nodes (or groups) and others (--from), both ways, until heal',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('nodes', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'one side: node or group names',
      })
      .option('from', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'the other side: node or group names',
      })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {id, sides, machines, ms} as JSON',
      }),
  handler: async (argv: ArgumentsCamelCase<PartitionArgs>) => {
    const { io } = argv;
    const { lab, runtime } = await targetLab(argv.lab);
    const result = await runtime.partition(lab, names(argv.nodes), names(argv.from));
    io.stdout(argv.json ? `${JSON.stringify(result)}\n` : formatPartition(result));
  },
};

export const healCommand: CommandModule<LabContext, HealArgs> = {
  command: 'heal',
  describe: 'remove every partition of a lab',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {partitions, machines, ms} as JSON',
      }),
  handler: async (argv: ArgumentsCamelCase<HealArgs>) => {
    const { io } = argv;
    const { lab, runtime } = await targetLab(argv.lab);
    const result = await runtime.heal(lab);
    io.stdout(argv.json ? `${JSON.stringify(result)}\n` : formatHeal(result));
  },
};
