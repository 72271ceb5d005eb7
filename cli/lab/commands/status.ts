/**
 * `quicmesh-lab status [NAME] [--json]`: one row per node and router — network, NAT, addresses and,
 * read live from each node's /status over the management network, NodeId, peer count and state.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { LabStatus } from '../../runtime/index.js';
import { readState } from '../../runtime/state.js';
import { describeShape } from '../../runtime/plan/move-plan.js';
import { prometheusStatusLine } from '../prometheus.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface StatusArgs extends LabContext {
  lab?: string;
  json: boolean;
}

function field(s: Record<string, unknown> | null | undefined, ...keys: string[]): unknown {
  for (const k of keys) if (s && s[k] !== undefined && s[k] !== null) return s[k];
  return undefined;
}

/** A host's state column: stopped (by `quicmesh-lab stop`) is a state of its own, not an error. */
export function nodeState(n: LabStatus['nodes'][number]): string {
  if (n.kind === 'router') return '-';
  if (n.process && !n.process.running) return 'stopped';
  const s = n.live?.status;
  return n.live?.reachable ? String(field(s, 'state', 'status') ?? 'up') : 'unreachable';
}

/** "pid 1234", "qm-lab_alice" (docker: the container), "-" for routers and nodes never started. */
function processCell(n: LabStatus['nodes'][number]): string {
  const p = n.process;
  if (!p) return '-';
  if (p.container) return p.container;
  return p.pid === null ? '-' : `pid ${p.pid}`;
}

/** The lines under the table saying what is changed now: shaping, cut links, partitions. */
export function formatFaults(st: LabStatus): string[] {
  const out: string[] = [];
  for (const l of st.links ?? []) {
    const shape = describeShape(l);
    if (shape !== 'none') out.push(`link ${l.node ? `${l.node} on ${l.network}` : l.network}: ${shape.replace(/ \(link on .*\)$/, '')}`);
  }
  for (const c of st.linkCuts ?? []) out.push(`link ${c.node ? `${c.node} on ${c.network}` : c.network}: DOWN`);
  for (const p of st.partitions ?? []) out.push(`partition ${p.id}: ${p.sides[0].join(', ')} | ${p.sides[1].join(', ')}`);
  return out;
}

/** The status table (exported for tests). Peer count accepts a number or a list. */
export function formatStatus(st: LabStatus): string {
  const rows = st.nodes.map((n) => {
    const s = n.live?.status;
    const id = field(s, 'nodeId', 'id');
    const peers = field(s, 'peers', 'peersSeen', 'peerCount', 'connections');
    return [
      n.name,
      n.network,
      n.nat,
      n.addresses.join(' '),
      typeof id === 'string' ? `${id.slice(0, 12)}…` : '-',
      Array.isArray(peers) ? String(peers.length) : peers === undefined ? '-' : String(peers),
      processCell(n),
      n.process ? String(n.process.restarts) : '-',
      nodeState(n),
    ];
  });
  const head = ['NODE', 'NETWORK', 'NAT', 'ADDRESSES', 'NODEID', 'PEERS', 'PROCESS', 'RESTARTS', 'STATE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [`lab ${st.name} (${st.backend}, ${st.phase})`, line(head), ...rows.map(line), ...formatFaults(st), ''].join('\n');
}

export const statusCommand: CommandModule<LabContext, StatusArgs> = {
  command: 'status [lab]',
  describe: 'show the nodes of a lab and their live state',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv: ArgumentsCamelCase<StatusArgs>) => {
    const { io } = argv;
    const { lab, runtime } = await targetLab(argv.lab);
    const st = await runtime.status(lab);
    const state = readState(lab);
    const prom = prometheusStatusLine(state);
    if (argv.json) io.stdout(`${JSON.stringify({ ...st, prometheus: state?.prometheus?.url ?? null }, null, 2)}\n`);
    else io.stdout(formatStatus(st) + (prom ? `${prom}\n` : ''));
  },
};

export default statusCommand;
