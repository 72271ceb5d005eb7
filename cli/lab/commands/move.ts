/**
 * `quicmesh-lab move NODE NETWORK [--address IP] [--lab NAME] [--json]`: change a running node's
 * network under it (WiFi → cellular), or renumber it on its own network (a new DHCP lease), without
 * restarting its process. The new address is the lowest free one of the network unless --address
 * names one; the default route goes via the network's router (none on a public segment).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { MoveResult } from '../../runtime/index.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface MoveArgs extends LabContext {
  node: string;
  network: string;
  address?: string;
  lab?: string;
  json: boolean;
}

/** The success line (exported for tests). */
export function formatMove(r: MoveResult): string {
  const verb = r.from.network === r.to.network ? 'renumbered' : 'moved';
  const via = r.to.gateway ? `gateway ${r.to.gateway}` : 'public segment, no default route';
  return `${verb} ${r.node}: ${r.from.network} ${r.from.address} → ${r.to.network} ${r.to.address} (${via}) in ${(r.ms / 1000).toFixed(2)} s; shaping: ${r.shaping}\n`;
}

export const moveCommand: CommandModule<LabContext, MoveArgs> = {
  command: 'move <node> <network>',
  describe: 'attach a running node to another network, or renumber it on its own (its process keeps running)',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('node', { type: 'string', demandOption: true, describe: 'node name' })
      .positional('network', {
        type: 'string',
        demandOption: true,
        describe: "target network (the node's own: a new address there)",
      })
      .option('address', {
        type: 'string',
        describe: 'the new address (default: the lowest free one of the network)',
      })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {node, from, to, shaping, ms} as JSON',
      }),
  handler: async (argv: ArgumentsCamelCase<MoveArgs>) => {
    const { io } = argv;
    const { lab, runtime } = await targetLab(argv.lab);
    const result = await runtime.moveHost(lab, String(argv.node), String(argv.network), {
      ...(argv.address !== undefined ? { address: String(argv.address) } : {}),
    });
    io.stdout(argv.json ? `${JSON.stringify(result)}\n` : formatMove(result));
  },
};

export default moveCommand;
