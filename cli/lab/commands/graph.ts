/**
 * `quicmesh-lab graph FILE [--format mermaid|dot]`: draw a topology (networks, routers with their NAT
 * preset, nodes) as a Mermaid flowchart (default) or Graphviz DOT on stdout.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { GRAPH_FORMATS, renderGraph, type GraphFormat } from '../../topology/graph.js';
import { loadTopology } from '../../topology/parse.js';
import type { LabContext } from '../io.js';

interface GraphArgs extends LabContext {
  file: string;
  format: GraphFormat;
  collapseAbove: number;
}

export const graphCommand: CommandModule<LabContext, GraphArgs> = {
  command: 'graph <file>',
  describe: 'draw a topology as a Mermaid flowchart or Graphviz DOT',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'topology YAML file' })
      .option('format', {
        choices: GRAPH_FORMATS,
        default: 'mermaid' as GraphFormat,
        describe: 'output format',
      })
      .option('collapse-above', {
        type: 'number',
        default: 3,
        describe: 'draw groups with more replicas than this as one box',
      }) as unknown as Argv<GraphArgs>,
  handler: async (argv: ArgumentsCamelCase<GraphArgs>) => {
    const { io } = argv;
    const topology = await loadTopology(argv.file);
    io.stdout(renderGraph(topology, argv.format, { collapseAbove: argv.collapseAbove }));
  },
};
