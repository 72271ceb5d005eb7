/**
 * GossipSub simulation runs from the command line (the lead wires `quicmesh-lab sim --gossip`):
 *
 *   npx tsx bench/gossip-sim.ts                       goal matrix at N=1000: clean run, then 5% loss + 10% crashed
 *   npx tsx bench/gossip-sim.ts --nodes 300 --loss 0.05 --failed 0.1 --seed 7 [--latency uniform]
 *       [--messages 200] [--warmup 100] [--variants adaptive,eager-flood] [--router '{"eagerMin":3}'] [--json]
 *
 * Every run prints the variants side by side (plain eager flood, plain GossipSub, adaptive push,
 * adaptive push with the latency-tiered mode),
 * all on the same seed; the goal matrix then prints each goal with its measured value.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runGossipScenario, type GossipScenarioOptions } from '../src/sim/gossip/scenario.js';
import { formatGossipReport, type GossipScenarioReport, type GossipVariant } from '../src/sim/gossip/report.js';

const argv = await yargs(hideBin(process.argv))
  .option('nodes', { type: 'number' })
  .option('degree', { type: 'number' })
  .option('messages', { type: 'number' })
  .option('warmup', { type: 'number' })
  .option('loss', { type: 'number' })
  .option('failed', { type: 'number' })
  .option('seed', { type: 'number' })
  .option('latency', { choices: ['regions', 'uniform'] as const })
  .option('variants', { type: 'string', describe: 'comma-separated: eager-flood,gossipsub,adaptive' })
  .option('router', { type: 'string', describe: 'JSON router config overrides for every variant, e.g. {"eagerMin":3}' })
  .option('json', { type: 'boolean', default: false })
  .strict()
  .parseAsync();

const opts: GossipScenarioOptions = {
  nodes: argv.nodes,
  degree: argv.degree,
  messages: argv.messages,
  warmupMessages: argv.warmup,
  seed: argv.seed,
  latency: argv.latency,
  variants: argv.variants?.split(',').map((s) => s.trim() as GossipVariant),
  router: argv.router ? (JSON.parse(argv.router) as GossipScenarioOptions['router']) : undefined,
  onVariant: (v) => process.stderr.write(`running ${v} ...\n`),
};
const explicit = argv.loss !== undefined || argv.failed !== undefined;

function run(extra: GossipScenarioOptions): GossipScenarioReport {
  const r = runGossipScenario({ ...opts, ...extra });
  if (argv.json) console.log(JSON.stringify(r, null, 2));
  else console.log(formatGossipReport(r) + '\n');
  return r;
}

if (explicit) {
  run({ loss: argv.loss, failed: argv.failed });
} else {
  const clean = run({});
  const faulty = run({ loss: 0.05, failed: 0.1 });
  const get = (r: GossipScenarioReport, v: GossipVariant) => r.variants.find((x) => x.variant === v);
  // The goals are judged on the best variant run: tiered when present, else adaptive.
  const best: GossipVariant = clean.variants.some((v) => v.variant === 'tiered') ? 'tiered' : 'adaptive';
  console.log(`goals judged on: ${best}`);
  const a = get(clean, best);
  const flood = get(clean, 'eager-flood');
  const af = get(faulty, best);
  const ff = get(faulty, 'eager-flood');
  if (a && flood && af && ff) {
    const ratio = a.latencyMs.p95 / flood.latencyMs.p95;
    const ratioF = af.latencyMs.p95 / ff.latencyMs.p95;
    const rows: [string, string, string, boolean][] = [
      ['delivery (clean)', '100%', `${(a.deliveryRatio * 100).toFixed(3)}%`, a.deliveryRatio === 1],
      ['delivery (5% loss, 10% failed)', '>= 99.99%', `${(af.deliveryRatio * 100).toFixed(3)}%`, af.deliveryRatio >= 0.9999],
      ['copies / delivery', '<= 3', `${a.copiesPerDelivery.toFixed(2)} (faulty ${af.copiesPerDelivery.toFixed(2)})`, a.copiesPerDelivery <= 3 && af.copiesPerDelivery <= 3],
      // Hops: the forwarding steps of the first copy each node receives; every node, so clean and faulty.
      ['max hops', `<= ${clean.hopsBound.toFixed(1)}`, `${a.hops.max}, faulty ${af.hops.max} (flood ${flood.hops.max}, ${ff.hops.max})`, Math.max(a.hops.max, af.hops.max) <= clean.hopsBound],
      ['p95 latency vs eager flood', '<= 1.25x', `${ratio.toFixed(2)}x (${a.latencyMs.p95} vs ${flood.latencyMs.p95} ms), faulty ${ratioF.toFixed(2)}x`, ratio <= 1.25 && ratioF <= 1.25],
    ];
    console.log('goal'.padEnd(34) + 'target'.padEnd(12) + 'measured'.padEnd(40) + 'met');
    for (const [name, target, got, ok] of rows) console.log(name.padEnd(34) + target.padEnd(12) + got.padEnd(40) + (ok ? 'yes' : 'NO'));
  }
}
