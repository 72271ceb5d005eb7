/**
 * The store rate-limit goals (issue 17, item 2) in the simulator; prints a table.
 *
 *   npx tsx bench/store-sim.ts [--seed 7]
 *
 * 25 nodes, k = 20: an honest writer puts 40 values at once, 5 more 15 s later, then one a minute
 * while a flooder stores at 100x the per-peer limit (20 a minute) on the 5 nodes holding the
 * writer's first value for 10 minutes; another node then looks every honest value up. The
 * baseline column is the same run with the writer sending its stores at once (no pacing).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runStoreSimulation, type StoreSimResult } from '../src/sim/store-scenario.js';

const { seed } = await yargs(hideBin(process.argv)).option('seed', { type: 'number', default: 7 }).strict().parseAsync();
const paced = await runStoreSimulation({ seed });
const unpaced = await runStoreSimulation({ seed, pacing: false });
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;
const rows: [string, string, (r: StoreSimResult) => string, (r: StoreSimResult) => boolean][] = [
  ['honest burst of 40, stored on k replicas', '40/40', (r) => `${r.burst.complete}/${r.burst.puts} (${r.burst.replicas}/${r.burst.wanted} replicas, ${(r.burst.virtualMs / 1000).toFixed(1)} s)`, (r) => r.burst.complete === r.burst.puts],
  ['puts 15 s after the burst', '5/5', (r) => `${r.later.complete}/${r.later.puts}`, (r) => r.later.complete === r.later.puts],
  ['flooder at 100x: stores refused', '>= 99%', (r) => `${pct(r.flood.refused, r.flood.attempts)} of ${r.flood.attempts}`, (r) => r.flood.refused >= 0.99 * r.flood.attempts],
  ['honest puts during the flood', 'all', (r) => `${r.flood.honestPutsComplete}/${r.flood.honestPuts}`, (r) => r.flood.honestPutsComplete === r.flood.honestPuts],
  ['honest values resolvable', '100%', (r) => `${pct(r.resolve.found, r.resolve.values)} (${r.resolve.found}/${r.resolve.values})`, (r) => r.resolve.found === r.resolve.values],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const cells = rows.map(([, , show]) => show(paced));
const w2 = Math.max(...cells.map((c) => c.length), 'paced (default)'.length);
process.stdout.write(`${'goal'.padEnd(w0)}  ${'target'.padEnd(7)}  ${'paced (default)'.padEnd(w2)}  met   baseline: writer not pacing\n`);
rows.forEach(([name, goal, show, ok], i) => {
  process.stdout.write(`${name.padEnd(w0)}  ${goal.padEnd(7)}  ${cells[i]!.padEnd(w2)}  ${ok(paced) ? 'MET ' : 'MISS'}  ${show(unpaced)}\n`);
});
