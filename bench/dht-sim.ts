/**
 * DHT simulation runs from the command line, before/besides `quicmesh-lab sim`.
 *
 *   npx tsx bench/dht-sim.ts --nodes 10000 --lookups 10000 --churn 0.25 --seed 7   (same flags as `sim`)
 *   npx tsx bench/dht-sim.ts goals [--nodes 10000] [--lookups 10000] [--seed 7]
 *
 * `goals` runs the goal matrix (no churn; 25% churn; regions latency with tiering off and on) with
 * one seed and prints a table of the measured values beside each goal.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import sim from '../cli/lab/commands/sim.js';
import { runDhtSimulation, type DhtSimOptions } from '../src/sim/dht-scenario.js';
import type { DhtSimResult } from '../src/sim/dht-result.js';

async function goals(nodes: number, lookups: number, seed: number): Promise<void> {
  const base: DhtSimOptions = { nodes, lookups, seed, k: 20, alpha: 3, latency: 'regions' };
  const runs: [string, DhtSimOptions][] = [
    ['no churn, tiering off', { ...base, churn: 0, tiering: false }],
    ['no churn, tiering on', { ...base, churn: 0, tiering: true }],
    ['25% churn, tiering off', { ...base, churn: 0.25, tiering: false }],
  ];
  const results: Record<string, DhtSimResult> = {};
  for (const [name, opts] of runs) {
    process.stderr.write(`running: ${name} ...\n`);
    const r = await runDhtSimulation(opts);
    results[name] = r;
    process.stderr.write(
      `  success ${(r.lookups.successRate * 100).toFixed(2)}%  rounds p95 ${r.lookups.rounds.p95}  ` +
        `hops p95 ${r.lookups.hopsToClosest.p95}  latency p50 ${r.lookups.latencyMs.p50.toFixed(0)} ms  ` +
        `wall ${(r.perf.wallMs.total / 1000).toFixed(1)} s  cpu ${(r.perf.cpuMs / 1000).toFixed(1)} s  rss ${r.perf.peakRssMb.toFixed(0)} MB\n`,
    );
  }
  const off = results['no churn, tiering off']!;
  const on = results['no churn, tiering on']!;
  const churn = results['25% churn, tiering off']!;
  const gain = 1 - on.lookups.latencyMs.p50 / off.lookups.latencyMs.p50;
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  const rows: [string, string, string, boolean][] = [
    ['success, no churn', '100%', pct(off.lookups.successRate), off.lookups.successRate === 1],
    ['success, 25% churn', '>= 99.5%', pct(churn.lookups.successRate), churn.lookups.successRate >= 0.995],
    [
      'p95 rounds to closest (hopsToClosest)',
      '<= 3',
      `${off.lookups.hopsToClosest.p95} (churn ${churn.lookups.hopsToClosest.p95}); total rounds p95 ${off.lookups.rounds.p95}`,
      off.lookups.hopsToClosest.p95 <= 3,
    ],
    [
      'median latency, tiering on vs off',
      '>= 30% lower',
      `${on.lookups.latencyMs.p50.toFixed(0)} vs ${off.lookups.latencyMs.p50.toFixed(0)} ms (${pct(gain)} lower; success ${pct(
        on.lookups.successRate,
      )} vs ${pct(off.lookups.successRate)})`,
      gain >= 0.3 && on.lookups.successRate >= off.lookups.successRate,
    ],
    [
      `bootstrap ${nodes} + ${lookups} lookups`,
      '< 120 s, < 4096 MB',
      `${(off.perf.wallMs.total / 1000).toFixed(1)} s wall (${(off.perf.cpuMs / 1000).toFixed(1)} s cpu), ${off.perf.peakRssMb.toFixed(0)} MB`,
      off.perf.wallMs.total < 120_000 && off.perf.peakRssMb < 4096,
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const [name, goal, got, ok] of rows) {
    process.stdout.write(`${name.padEnd(w0)}  ${goal.padEnd(w1)}  ${ok ? 'MET ' : 'MISS'}  ${got}\n`);
  }
}

const args = hideBin(process.argv);
if (args[0] === 'goals') {
  const parsed = await yargs(args.slice(1))
    .option('nodes', { type: 'number', default: 10_000 })
    .option('lookups', { type: 'number', default: 10_000 })
    .option('seed', { type: 'number', default: 7 })
    .strict()
    .parseAsync();
  await goals(parsed.nodes, parsed.lookups, parsed.seed);
} else {
  await yargs(args)
    .command({ ...sim, command: '$0' })
    .strict()
    .parseAsync();
}
