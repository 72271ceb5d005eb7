/**
 * `quicmesh-lab validate FILE [--json]`: parse, check and resolve a topology file. Prints a summary,
 * or with --json the ResolvedTopology itself (what the lab backends build). Problems exit with code 2,
 * each as `file:line path: message`.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { ResolvedTopology } from '../../topology/model.js';
import { loadTopology } from '../../topology/parse.js';
import { loadStack } from '../../topology/stack.js';
import { formatMs } from '../../topology/scenario.js';
import { formatTimeline, planTimeline, timelineEndMs } from '../scenario/timeline.js';
import type { LabContext } from '../io.js';

interface ValidateArgs extends LabContext {
  file: string;
  json: boolean;
  stack?: string;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The human summary of a valid topology. */
export function formatValidateSummary(topology: ResolvedTopology): string {
  const publicCount = topology.networks.filter((n) => n.kind === 'public').length;
  const rows: [string, string][] = [
    [
      'networks',
      `${topology.networks.length} (${publicCount} public, ${topology.networks.length - publicCount} lan)`,
    ],
    ['routers', topology.routers.map((r) => `${r.name} ${r.preset}`).join(', ') || 'none'],
    ['nodes', topology.nodes.map((n) => `${n.name} ${n.address}${n.program ? ` (${n.program.kind})` : ''}`).join(', ') || 'none'],
    ['links', topology.links.length === 0 ? 'unshaped' : count(topology.links.length, 'shaped link')],
    ['expect', count(topology.expectations.length, 'expectation')],
  ];
  const lines = rows.map(([key, value]) => `  ${key.padEnd(9)}${value}`);
  return `${topology.sourceFile}: valid topology "${topology.name}"\n${[...lines, ...scenarioLines(topology)].join('\n')}\n`;
}

/** The scenario's resolved timeline (issue 13): every action and check at its time, churn rounds with their nodes. */
export function scenarioLines(topology: ResolvedTopology): string[] {
  const steps = topology.scenario ?? [];
  if (!steps.length) return [];
  const entries = planTimeline(steps);
  const head = `  ${'scenario'.padEnd(9)}${count(steps.length, 'step')}, ${count(entries.length, 'timeline entry').replace('entrys', 'entries')} over ${formatMs(timelineEndMs(entries))} after the mesh is ready:`;
  return [head, ...formatTimeline(entries).map((l) => `    ${l}`)];
}

export const validateCommand: CommandModule<LabContext, ValidateArgs> = {
  command: 'validate <file>',
  describe: 'check a topology file and show what it resolves to',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'topology YAML file' })
      .option('json', { type: 'boolean', default: false, describe: 'print the resolved topology as JSON' })
      .option('stack', { type: 'string', describe: 'check it with this stack file run in every node (node kinds)' }),
  handler: async (argv: ArgumentsCamelCase<ValidateArgs>) => {
    const { io } = argv;
    const topology = await loadTopology(argv.file, argv.stack === undefined ? {} : { stack: await loadStack(argv.stack) });
    io.stdout(argv.json ? `${JSON.stringify(topology, null, 2)}\n` : formatValidateSummary(topology));
  },
};
