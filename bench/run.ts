/**
 * `npm run bench`: every benchmark, one after another, each in its own process so one's heap and
 * timers do not colour the next. Each prints its own table with the baseline measured in the same
 * run beside it. `--quick` shrinks every run (smoke test of the benchmarks themselves);
 * `--only=transport,storage,dht,store,gossip,nat,lab,startup,report` picks some.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = onlyArg ? new Set(onlyArg.split(',')) : null;

const suites: { name: string; file: string; args: string[] }[] = [
  { name: 'transport', file: 'transport.ts', args: quick ? ['--quick'] : [] },
  { name: 'storage', file: 'storage.ts', args: [] },
  {
    name: 'dht',
    file: 'dht-sim.ts',
    args: quick ? ['goals', '--nodes', '1000', '--lookups', '1000'] : ['goals', '--nodes', '10000', '--lookups', '10000'],
  },
  // the store rate limit: honest burst, flooder, resolvability (issue 17)
  { name: 'store', file: 'store-sim.ts', args: [] },
  { name: 'gossip', file: 'gossip-sim.ts', args: quick ? ['--nodes', '300'] : [] },
  // a real NAT lab: needs root (prints a skip line otherwise)
  { name: 'nat', file: 'nat-lab.ts', args: quick ? ['--quick'] : [] },
  // the lab backends side by side (root; docker when an engine answers); --parity adds the NAT matrix on both
  { name: 'lab', file: 'lab.ts', args: [...(quick ? ['--quick'] : []), ...process.argv.filter((a) => a === '--parity')] },
  // CLI start-up and the package's size (builds dist/ first when it is stale)
  { name: 'startup', file: 'startup.ts', args: quick ? ['--quick'] : [] },
  // the HTML report's size and opening time in headless Chromium (prints a skip line without it)
  { name: 'report', file: 'report-html.ts', args: [] },
];

let failed = 0;
for (const suite of suites) {
  if (only && !only.has(suite.name)) continue;
  process.stdout.write(`\n=== ${suite.name} ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, suite.file), ...suite.args], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${suite.name}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
