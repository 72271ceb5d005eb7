/**
 * `quicmesh-lab stop|start|restart NODE [--lab NAME] [--json]`: a node's process (its container on
 * docker) stops and starts again as it was started first — the same key, so the same NodeId — while its
 * machine, links, addresses and shaping stay. `start` and `restart` return once the node answers /status
 * (a command node: once its `ready:` holds; it is started with the same argv, env and data directory).
 * The lab's state records each node's process (pid or container), whether it runs and how often it was
 * restarted; `status` and the TUI show a stopped node as stopped.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { NodeProcessResult } from '../../runtime/index.js';
import { targetLab } from '../lab-target.js';
import type { LabContext } from '../io.js';

interface NodeProcessArgs extends LabContext {
  node: string;
  lab?: string;
  json: boolean;
  'ready-timeout': number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The success line (exported for tests). */
export function formatNodeProcess(verb: 'stop' | 'start' | 'restart', r: NodeProcessResult): string {
  const where = r.container ? `container ${r.container}` : `pid ${r.pid ?? '-'}`;
  if (verb === 'stop') return `stopped ${r.node} in ${seconds(r.ms)}; restarts so far: ${r.restarts}\n`;
  const id = r.nodeId ? `NodeId ${r.nodeId.slice(0, 16)}…, ` : '';
  const readyWhat = r.program !== undefined ? `ready (kind ${r.program})` : 'answered /status';
  const ready = r.readyMs !== undefined ? `${readyWhat} ${seconds(r.readyMs)} after it started` : 'running';
  return `${verb === 'start' ? 'started' : 'restarted'} ${r.node} (${where}; ${id}restart ${r.restarts}): ${ready}, ${seconds(r.ms)} in all\n`;
}

function command(
  verb: 'stop' | 'start' | 'restart',
  describe: string,
): CommandModule<LabContext, NodeProcessArgs> {
  return {
    command: `${verb} <node>`,
    describe,
    builder: (yargs: Argv<LabContext>) =>
      yargs
        .positional('node', { type: 'string', demandOption: true, describe: 'node name' })
        .option('lab', { type: 'string', describe: 'lab name (default: the only lab up)' })
        .option('ready-timeout', {
          type: 'number',
          default: 30,
          describe: 'seconds to wait for the node to answer /status (a command node: its own ready timeout, if it gives one)',
        })
        .option('json', {
          type: 'boolean',
          default: false,
          describe: 'print {node, running, pid, container, restarts, nodeId, readyMs, ms} as JSON',
        }),
    handler: async (argv: ArgumentsCamelCase<NodeProcessArgs>) => {
      const { io } = argv;
      const { lab, runtime } = await targetLab(argv.lab);
      const node = String(argv.node);
      const readyTimeoutMs = argv['ready-timeout'] * 1000;
      const result =
        verb === 'stop'
          ? await runtime.stopNode(lab, node)
          : verb === 'start'
            ? await runtime.startNode(lab, node, { readyTimeoutMs })
            : await runtime.restartNode(lab, node, { readyTimeoutMs });
      io.stdout(argv.json ? `${JSON.stringify(result)}\n` : formatNodeProcess(verb, result));
    },
  };
}

export const stopCommand = command('stop', "stop a node's process (its machine, links and key stay)");
export const startCommand = command('start', 'start a stopped node again, with the same key (same NodeId)');
export const restartCommand = command(
  'restart',
  "stop a node's process and start it again, with the same key",
);
