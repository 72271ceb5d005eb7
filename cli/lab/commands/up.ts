/**
 * `quicmesh-lab up FILE [--backend netns] [--json] [--no-nodes]`: build the lab a topology file
 * describes and start its nodes. Progress lines go to stderr with --json (stdout stays JSON).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { runtimeNames, type LabHandle } from '../../runtime/index.js';
import { bringUpFile } from '../bring-up.js';
import type { LabContext } from '../io.js';
import { labLiveness } from '../lab-liveness.js';
import { planTui } from './tui.js';
import { PROMETHEUS_DEFAULT_PORT, preflightPrometheus, startPrometheusForUp } from '../prometheus.js';

interface UpArgs extends LabContext {
  file: string;
  backend: string;
  json: boolean;
  nodes: boolean;
  'ready-timeout': number;
  prometheus: boolean;
  'prometheus-port': number;
  tui: boolean;
  stack?: string;
}

export function formatUp(h: LabHandle): string {
  const rows = h.nodes.map((n) => [n.name, n.program ? `${n.kind} (${n.program})` : n.kind, n.network, n.nat, n.addresses.join(' '), n.statusUrl ?? '-']);
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

export const upCommand: CommandModule<LabContext, UpArgs> = {
  command: 'up <file>',
  describe: 'build a lab from a topology file and start its nodes',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'topology YAML file' })
      .option('backend', { type: 'string', default: 'auto', describe: `lab backend: auto (docker if its engine answers, else netns as root) or one of ${runtimeNames().join(', ')}` })
      .option('json', { type: 'boolean', default: false, describe: 'print the lab handle as JSON' })
      .option('nodes', { type: 'boolean', default: true, describe: 'start quicmesh node processes (--no-nodes: network only)' })
      .option('ready-timeout', { type: 'number', default: 30, describe: 'seconds to wait for every node to answer /status' })
      .option('prometheus', { type: 'boolean', default: false, describe: 'also run a Prometheus scraping every node (on the management bridge address)' })
      .option('prometheus-port', { type: 'number', default: PROMETHEUS_DEFAULT_PORT, describe: 'port of that Prometheus' })
      .option('tui', { type: 'boolean', default: false, describe: 'then watch the lab in the live terminal UI (the lab stays up after q)' })
      .option('stack', { type: 'string', describe: 'a stack file: run its program in every node that does not choose its kind (see docs/node-kinds.md)' }),
  handler: async (argv: ArgumentsCamelCase<UpArgs>) => {
    const { io } = argv;
    const say = (line: string) => (argv.json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    if (argv.prometheus) preflightPrometheus(argv['prometheus-port']); // fail before building anything
    const { handle, runtime } = await bringUpFile(argv.file, {
      backend: argv.backend,
      startNodes: argv.nodes,
      readyTimeoutMs: argv['ready-timeout'] * 1000,
      onProgress: say,
      ...(argv.stack !== undefined ? { stack: argv.stack } : {}),
    });
    const prometheus = argv.prometheus
      ? await startPrometheusForUp(handle.name, (lab) => runtime.down(lab), { port: argv['prometheus-port'], say })
      : null;
    if (argv.json) io.stdout(`${JSON.stringify(prometheus ? { ...handle, prometheus } : handle, null, 2)}\n`);
    else io.stdout(formatUp(handle) + (prometheus ? `prometheus: ${prometheus.url} (config ${prometheus.configFile})\n` : ''));
    if (argv.tui) {
      if (!io.isTTY || !process.stdin.isTTY) {
        io.stderr('quicmesh-lab up: --tui needs an interactive terminal; the lab is up, watch it with `quicmesh-lab status`\n');
        return;
      }
      const plan = planTui({ name: handle.name });
      const { runTui } = await import('../../ui/run-tui.js'); // ink/react load only when used
      await runTui({ lab: plan.lab, targets: plan.targets, liveness: labLiveness(plan.lab) });
    }
  },
};

export default upCommand;
