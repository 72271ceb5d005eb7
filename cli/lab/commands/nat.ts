/**
 * `quicmesh-lab nat reset ROUTER [--lab NAME] [--json]`: a router reboot as far as NAT goes — every
 * conntrack entry and every mapping, pinhole and permission of its NAT table forgotten at once (see
 * cli/runtime/wiring/nat-reset.ts). Connections through it must find their way again: their next packets
 * get new mappings, which the far end only learns from them.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import type { NatResetResult } from '../../runtime/index.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface NatArgs extends LabContext {
  action: string;
  router: string;
  lab?: string;
  json: boolean;
}

/** The success line (exported for tests). */
export function formatNatReset(r: NatResetResult): string {
  return `${r.router} reset: ${r.conntrack} conntrack entr${r.conntrack === 1 ? 'y' : 'ies'} and ${r.elements} NAT table element(s) forgotten in ${(r.ms / 1000).toFixed(2)} s\n`;
}

export const natCommand: CommandModule<LabContext, NatArgs> = {
  command: 'nat <action> <router>',
  describe:
    "act on a router's NAT: nat reset ROUTER forgets every mapping, pinhole and permission (a reboot)",
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('action', { type: 'string', demandOption: true, describe: 'reset' })
      .positional('router', { type: 'string', demandOption: true, describe: 'router name' })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {router, conntrack, elements, ms} as JSON',
      }),
  handler: async (argv: ArgumentsCamelCase<NatArgs>) => {
    const { io } = argv;
    if (argv.action !== 'reset') throw new ConfigError(`nat: unknown action "${argv.action}" (known: reset)`);
    const { lab, runtime } = await targetLab(argv.lab);
    const result = await runtime.resetNat(lab, String(argv.router));
    io.stdout(argv.json ? `${JSON.stringify(result)}\n` : formatNatReset(result));
  },
};

export default natCommand;
