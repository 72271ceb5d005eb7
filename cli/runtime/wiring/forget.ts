/**
 * `forgetNatState`, on every backend: snapshot every router on the two hosts' paths (in parallel),
 * let forget-plan.ts pick the A↔B state out of it, and delete that in each router namespace. Nothing else
 * in the routers changes, so probes of other pairs running meanwhile are not disturbed — and all of it
 * runs at the lowest CPU priority (lowPriority), so it does not slow the connects being timed either.
 */
import { ConfigError } from '../../../src/errors.js';
import { readState } from '../state.js';
import { LabCommandError } from '../errors.js';
import { lowPriority, nsArgv, requireRoot, requireTools, run, tryRun } from '../exec.js';
import type { ForgetResult } from '../runtime.js';
import {
  type RouterForget,
  type RouterSnapshot,
  SNAPSHOT_COMMANDS,
  deleteElement,
  forgetCommands,
  forgetScope,
  parseSnapshot,
} from '../plan/forget-plan.js';
import { checkLabName } from '../names.js';

async function snapshot(ns: string): Promise<RouterSnapshot> {
  const [ct, nft] = await Promise.all(SNAPSHOT_COMMANDS.map((c) => run(lowPriority(nsArgv(ns, c.argv)))));
  return parseSnapshot(ct!.stdout, nft!.stdout);
}

/** Run one router's deletions; returns how many entries and elements went. */
async function execute(f: RouterForget): Promise<number> {
  const counts = await Promise.all(
    f.commands.map(async (cmd) => {
      const argv = lowPriority(nsArgv(f.namespace, cmd.argv));
      // conntrack -D exits 1 when nothing matched: the flow ended or expired since the snapshot
      if (cmd.argv[0] === 'conntrack') return (await tryRun(argv)) ? 1 : 0;
      try {
        await run(argv, { input: cmd.input });
        return f.elements.length;
      } catch (err) {
        if (!(err instanceof LabCommandError)) throw err;
        // an element timed out since the snapshot and the transaction failed as a whole: one by one
        let n = 0;
        for (const e of f.elements) if (await tryRun(argv, { input: deleteElement(e) })) n++;
        return n;
      }
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export async function forgetNatState(lab: string, nodeA: string, nodeB: string): Promise<ForgetResult> {
  requireRoot();
  checkLabName(lab);
  requireTools(['conntrack', 'nft', 'nice']);
  const state = readState(lab);
  if (!state) throw new ConfigError(`no lab named "${lab}" is up`);
  const scope = forgetScope(state.nodes, nodeA, nodeB);
  const natted = scope.routers.filter((r) => r.preset !== 'none');
  const snaps = new Map(await Promise.all(natted.map(async (r) => [r.name, await snapshot(r.namespace)] as const)));
  const plan = forgetCommands(scope, snaps);
  const counts = await Promise.all(plan.map(execute));
  return { routers: scope.routers.length, entries: counts.reduce((a, b) => a + b, 0) };
}
