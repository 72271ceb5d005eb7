/**
 * `quicmesh-lab up FILE [--backend netns] [--json] [--no-nodes]`: build the lab a topology file
 * describes and start its nodes. Progress lines go to stderr with --json (stdout stays JSON).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadTopology } from '../../topology/parse.js';
import { getRuntime, runtimeNames, type LabHandle } from '../../runtime/index.js';
import type { LabContext } from '../io.js';

interface UpArgs {
  file: string;
  backend: string;
  json: boolean;
  nodes: boolean;
  'ready-timeout': number;
}

export function formatUp(h: LabHandle): string {
  const rows = h.nodes.map((n) => [n.name, n.kind, n.network, n.nat, n.addresses.join(' '), n.statusUrl ?? '-']);
  const head = ['NODE', 'KIND', 'NETWORK', 'NAT', 'ADDRESSES', 'STATUS URL'];
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const total = Object.values(h.timings).reduce((a, b) => a + (b ?? 0), 0);
  return [
    `lab ${h.name} is up (${h.backend}, ${(total / 1000).toFixed(2)} s; shaping: ${h.shaping})`,
    line(head),
    ...rows.map(line),
    `  down with: quicmesh-lab down ${h.name}`,
    '',
  ].join('\n');
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up <file>',
  describe: 'build a lab from a topology file and start its nodes',
  builder: (yargs: Argv) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'topology YAML file' })
      .option('backend', { type: 'string', default: 'netns', describe: `lab backend (${runtimeNames().join(', ')})` })
      .option('json', { type: 'boolean', default: false, describe: 'print the lab handle as JSON' })
      .option('nodes', { type: 'boolean', default: true, describe: 'start quicmesh node processes (--no-nodes: network only)' })
      .option('ready-timeout', { type: 'number', default: 30, describe: 'seconds to wait for every node to answer /status' }) as never,
  handler: async (argv: ArgumentsCamelCase<UpArgs>) => {
    const { io } = argv as unknown as LabContext;
    const topology = await loadTopology(argv.file);
    const say = (line: string) => (argv.json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    const handle = await getRuntime(argv.backend).up(topology, {
      startNodes: argv.nodes,
      readyTimeoutMs: argv['ready-timeout'] * 1000,
      onProgress: say,
    });
    io.stdout(argv.json ? `${JSON.stringify(handle, null, 2)}\n` : formatUp(handle));
  },
};

export default upCommand;
