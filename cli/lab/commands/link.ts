/**
 * `quicmesh-lab link set NETWORK [--node N] [--delay D] [--jitter D] [--loss P] [--rate R]` and
 * `quicmesh-lab link down|up NETWORK [--node N]` on a running lab. `set` changes the fields given and keeps
 * the others (as the topology's `links:` entries do, a node's link replaces its network's on that node);
 * `down` pulls the cable at the switch — every port of the network, or the node's — and `up` plugs it back
 * in. The lab's state records both, so `status` and `move` see them.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import type { LinkChange, LinkSetResult, LinkStateResult } from '../../runtime/index.js';
import { describeShape } from '../../runtime/plan/move-plan.js';
import {
  DURATION_HINT,
  PERCENT_HINT,
  RATE_HINT,
  parseDurationMs,
  parsePercent,
  parseRateKbit,
} from '../../topology/units.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface LinkArgs extends LabContext {
  action: string;
  network: string;
  node?: string;
  delay?: string;
  jitter?: string;
  loss?: string;
  rate?: string;
  lab?: string;
  json: boolean;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The success lines (exported for tests). */
export function formatLinkSet(r: LinkSetResult): string {
  const shape = describeShape(r.link);
  return `link on ${r.node ? `${r.node} (network ${r.network})` : `network ${r.network}`}: ${shape === 'none' ? 'unshaped' : shape.replace(/ \(link on .*\)$/, '')}; ${r.interfaces} interface(s), ${seconds(r.ms)}\n`;
}

export function formatLinkState(r: LinkStateResult): string {
  return `${r.node ? `${r.node}'s link on ${r.network}` : `network ${r.network}`} ${r.state}: ${r.ports} switch port(s), ${seconds(r.ms)}\n`;
}

/** --delay/--jitter/--loss/--rate as a LinkChange; a bad value is a one-line error naming the flag. */
export function linkChange(
  network: string,
  args: Pick<LinkArgs, 'node' | 'delay' | 'jitter' | 'loss' | 'rate'>,
): LinkChange {
  const parse = <T>(
    flag: string,
    text: string | undefined,
    fn: (t: string) => T | null,
    hint: string,
  ): T | undefined => {
    if (text === undefined) return undefined;
    const v = fn(String(text));
    if (v === null) throw new ConfigError(`--${flag}: ${hint}, got "${text}"`);
    return v;
  };
  const change: LinkChange = { network };
  if (args.node !== undefined) change.node = String(args.node);
  const delay = parse('delay', args.delay, parseDurationMs, DURATION_HINT);
  const jitter = parse('jitter', args.jitter, parseDurationMs, DURATION_HINT);
  const loss = parse('loss', args.loss, parsePercent, PERCENT_HINT);
  const rate = parse('rate', args.rate, parseRateKbit, RATE_HINT);
  if (delay !== undefined) change.delayMs = delay;
  if (jitter !== undefined) change.jitterMs = jitter;
  if (loss !== undefined) change.lossPct = loss;
  if (rate !== undefined) change.rateKbit = Math.round(rate);
  if (delay === undefined && jitter === undefined && loss === undefined && rate === undefined) {
    throw new ConfigError('link set: nothing to set (give --delay, --jitter, --loss or --rate)');
  }
  return change;
}

export const linkCommand: CommandModule<LabContext, LinkArgs> = {
  command: 'link <action> <network>',
  describe: "change a network's links on a running lab: link set (shaping), link down, link up",
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('action', {
        type: 'string',
        demandOption: true,
        choices: ['set', 'down', 'up'],
        describe: 'set, down or up',
      })
      .positional('network', { type: 'string', demandOption: true, describe: 'network name' })
      .option('node', { type: 'string', describe: "only this node's link on the network" })
      .option('delay', { type: 'string', describe: 'one-way delay of each packet, e.g. 25ms (set)' })
      .option('jitter', { type: 'string', describe: 'random variation of the delay, e.g. 2ms (set)' })
      .option('loss', { type: 'string', describe: 'packet loss, e.g. 1% (set)' })
      .option('rate', { type: 'string', describe: 'bandwidth limit, e.g. 10mbit, or unlimited (set)' })
      .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (argv: ArgumentsCamelCase<LinkArgs>) => {
    const { io } = argv;
    const network = String(argv.network);
    const node = argv.node === undefined ? null : String(argv.node);
    if (
      argv.action !== 'set' &&
      [argv.delay, argv.jitter, argv.loss, argv.rate].some((v) => v !== undefined)
    ) {
      throw new ConfigError(`link ${argv.action}: --delay, --jitter, --loss and --rate belong to link set`);
    }
    const change = argv.action === 'set' ? linkChange(network, argv) : null;
    const { lab, runtime } = await targetLab(argv.lab);
    if (change) {
      const r = await runtime.setLink(lab, change);
      io.stdout(argv.json ? `${JSON.stringify(r)}\n` : formatLinkSet(r));
      return;
    }
    const r = await runtime.setLinkState(lab, network, node, argv.action === 'up');
    io.stdout(argv.json ? `${JSON.stringify(r)}\n` : formatLinkState(r));
  },
};

export default linkCommand;
