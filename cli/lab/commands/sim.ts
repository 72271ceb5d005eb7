/**
 * `quicmesh-lab sim`: run the DHT in the in-process, virtual-time simulator and report lookup
 * quality against ground truth. Same flags + seed → same numbers (except wall time and memory).
 *
 *   quicmesh-lab sim --nodes 10000 --lookups 10000 --churn 0.25 --seed 7 --tiering on --latency regions
 *
 * Flags: --nodes N (default 1000), --lookups M (1000), --churn FRACTION of nodes taken down after
 * bootstrap, before the lookups (0), --seed S (1), --tiering on|off (on, as DhtNode's default),
 * --latency regions|uniform (regions), --loss P per-message loss probability (0), --k (20),
 * --alpha (3), --concurrency lookups in flight (200), --bootstrap-contacts known nodes per joiner (3),
 * --join-refresh bucket-refresh lookups per joiner after its self-lookup (0), --lookup-k result size
 * of the measured lookups (0 = the node's k), --stack lean|mesh (lean: the DHT on light simulated
 * endpoints; mesh: on MeshNode + MemoryTransport, slower), --leave-rate / --join-rate continuous
 * churn during the lookups, nodes per virtual second (0), --json.
 *
 * --gossip runs the GossipSub scenario instead (src/sim/gossip: eager flood, plain GossipSub and
 * adaptive push side by side on one seeded world; formatGossipReport's table, or the report as
 * JSON): it takes --nodes, --seed, --loss, --latency, --failed FRACTION of nodes crashed before
 * the measured messages (0) and --messages M measured publications (200); the DHT flags are ignored.
 *
 *   quicmesh-lab sim --gossip --nodes 1000 --loss 0.05 --failed 0.1 --messages 200 --seed 7
 *
 * JSON output (--json), one object:
 *   config            the parameters above (nodes, lookups, churn, leaveRate, joinRate, seed, tiering,
 *                     latency, loss, k, alpha, bootstrapContacts, concurrency, joinRefresh, lookupK, stack)
 *   nodes             total (ever created), live (at the end), churned (taken down before the
 *                     lookups), left / joined (continuous churn), bootstrapFailures (joins that threw)
 *   bootstrap         virtualMs (virtual duration of the join phase), messages (requests sent)
 *   lookups.count     lookups run, each for a random target from a random live node
 *   lookups.succeeded / successRate
 *                     lookups whose result contained the true XOR-closest live node other than the
 *                     origin (brute force over the nodes live when the lookup ended)
 *   lookups.errors    lookups that threw
 *   lookups.rounds    {p50,p95,max,mean} rounds (parallel query waves) each lookup took
 *   lookups.hopsToClosest  {p50,p95,max,mean} rounds until the final closest node was first queried
 *   lookups.latencyMs {p50,p95,max,mean} virtual ms from start to result
 *   lookups.messages  {p50,p95,max,mean} requests the originating node sent per lookup
 *   events            scheduler events (deliveries, timeouts) fired in the run
 *   batches           distinct virtual instants processed (one event-loop turn each)
 *   perf              host-dependent, not deterministic: wallMs {setup,bootstrap,lookups,total},
 *                     cpuMs (process CPU time), eventsPerSec, peakRssMb, peakHeapMb
 */
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import { runDhtSimulation } from '../../../src/sim/dht-scenario.js';
import { formatDhtSimTable } from '../../../src/sim/dht-result.js';
import type { LatencyKind } from '../../../src/sim/latency.js';
import type { SimStack } from '../../../src/sim/dht-host.js';
import { runGossipScenario } from '../../../src/sim/gossip/scenario.js';
import { formatGossipReport } from '../../../src/sim/gossip/report.js';
import { processIO, type LabContext } from '../io.js';

interface SimArgs extends Partial<LabContext> {
  nodes: number;
  lookups: number;
  churn: number;
  seed: number;
  tiering: string;
  latency: string;
  loss: number;
  k: number;
  alpha: number;
  concurrency: number;
  'bootstrap-contacts': number;
  'join-refresh': number;
  'lookup-k': number;
  stack: string;
  'leave-rate': number;
  'join-rate': number;
  json: boolean;
  gossip: boolean;
  failed?: number;
  messages?: number;
}

function onOff(value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ConfigError(`--tiering must be 'on' or 'off', got '${value}'`);
}

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'Simulate a DHT network in virtual time and measure lookups against ground truth',
  builder: (y: Argv<object>) =>
    y
      .option('nodes', { type: 'number', default: 1000, describe: 'nodes in the network' })
      .option('lookups', { type: 'number', default: 1000, describe: 'lookups for random targets' })
      .option('churn', { type: 'number', default: 0, describe: 'fraction of nodes taken down before the lookups (0..1)' })
      .option('seed', { type: 'number', default: 1, describe: 'seed: same seed, same result' })
      .option('tiering', { type: 'string', choices: ['on', 'off'], default: 'on', describe: 'tier-aware lookups (fast peers first)' })
      .option('latency', { type: 'string', choices: ['regions', 'uniform'], default: 'regions', describe: 'latency model' })
      .option('loss', { type: 'number', default: 0, describe: 'per-message loss probability (0..1)' })
      .option('k', { type: 'number', default: 20, describe: 'bucket size / replication factor' })
      .option('alpha', { type: 'number', default: 3, describe: 'lookup parallelism' })
      .option('concurrency', { type: 'number', default: 200, describe: 'lookups in flight at once' })
      .option('bootstrap-contacts', { type: 'number', default: 3, describe: 'known nodes each joiner starts from' })
      .option('join-refresh', { type: 'number', default: 0, describe: 'bucket-refresh lookups per joiner after its self-lookup' })
      .option('lookup-k', { type: 'number', default: 0, describe: 'result size of the measured lookups (0: the node k)' })
      .option('stack', { type: 'string', choices: ['lean', 'mesh'], default: 'lean', describe: 'plumbing under the DHT' })
      .option('leave-rate', { type: 'number', default: 0, describe: 'nodes leaving per virtual second during the lookups' })
      .option('join-rate', { type: 'number', default: 0, describe: 'nodes joining per virtual second during the lookups' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of a table' })
      .option('gossip', { type: 'boolean', default: false, describe: 'simulate GossipSub (pubsub) instead of the DHT' })
      .option('failed', { type: 'number', describe: 'with --gossip: fraction of nodes crashed (0..1, default 0)' })
      .option('messages', { type: 'number', describe: 'with --gossip: measured publications (default 200)' }) as unknown as Argv<SimArgs>,
  handler: async (argv) => {
    const io = argv.io ?? processIO;
    if (argv.gossip) {
      const report = runGossipScenario({
        nodes: argv.nodes,
        seed: argv.seed,
        loss: argv.loss,
        latency: argv.latency as LatencyKind,
        failed: argv.failed,
        messages: argv.messages,
        onVariant: io.isTTY ? (v) => io.stderr(`sim: ${v}...\n`) : undefined,
      });
      io.stdout(argv.json ? JSON.stringify(report) + '\n' : formatGossipReport(report) + '\n');
      return;
    }
    if (argv.failed !== undefined || argv.messages !== undefined) {
      throw new ConfigError('--failed and --messages apply to --gossip runs only');
    }
    const result = await runDhtSimulation({
      // Phase names on a terminal only: big runs take a while, and piped output stays clean.
      onPhase: io.isTTY ? (phase) => io.stderr(`sim: ${phase}...\n`) : undefined,
      nodes: argv.nodes,
      lookups: argv.lookups,
      churn: argv.churn,
      seed: argv.seed,
      tiering: onOff(argv.tiering),
      latency: argv.latency as LatencyKind,
      loss: argv.loss,
      k: argv.k,
      alpha: argv.alpha,
      concurrency: argv.concurrency,
      bootstrapContacts: argv['bootstrap-contacts'],
      joinRefresh: argv['join-refresh'],
      lookupK: argv['lookup-k'],
      stack: argv.stack as SimStack,
      leaveRate: argv['leave-rate'],
      joinRate: argv['join-rate'],
    });
    io.stdout(argv.json ? JSON.stringify(result) + '\n' : formatDhtSimTable(result) + '\n');
  },
};

export default simCommand;
