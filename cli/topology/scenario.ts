/**
 * A topology's `scenario:` list, checked and resolved: each step's time, its one action or check, node
 * and group names expanded, durations in ms, and a one-line text for reports. Pure; what the schema
 * cannot say (exactly one action or check per step, references, `every` with `until`, a stream's end)
 * is reported here as issues with the YAML path of the field, like check.ts does for the rest of the file.
 * The lab's timeline planner (cli/lab/scenario/timeline.ts) expands repeats and churn rounds from this.
 */
import type { PathSegment } from './errors.js';
import { expectEntryText, expectationText, parseExpectLine } from './expect.js';
import type { PathKind, ScenarioAction, ScenarioCheck, ScenarioStep } from './model.js';
import { expandNodeRef, type NodeNames } from './names.js';
import type { ScenarioStepConfig, TopologyFile } from './schema.js';
import { parseDurationMs, parsePercent, parseRateKbit } from './units.js';

export const SCENARIO_ACTIONS = [
  'stop',
  'start',
  'restart',
  'churn',
  'link',
  'link-down',
  'link-up',
  'partition',
  'heal',
  'nat-reset',
  'move',
] as const;
export const SCENARIO_CHECKS = ['expect', 'stream', 'all-pairs'] as const;
const STEP_KEYS: readonly string[] = [...SCENARIO_ACTIONS, ...SCENARIO_CHECKS];

/** How long nodes started just before an all-pairs check are left out by default: the time a restart may take to be found. */
export const DEFAULT_SETTLE_MS = 2000;

interface Issue {
  path: PathSegment[];
  message: string;
}

/** "250 ms", "5 s", "1.5 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`;
}

const ms = (text: string): number => parseDurationMs(text) ?? Number.NaN;
const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** The scenario's steps resolved, and every problem found (empty when it is fine). */
export function resolveScenario(
  file: TopologyFile,
  names: NodeNames,
  lineOf: (path: readonly PathSegment[]) => number = () => 0,
): { steps: ScenarioStep[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const steps: ScenarioStep[] = [];
  const networks = Object.keys(file.networks);
  const routers = Object.keys(file.routers ?? {});
  (file.scenario ?? []).forEach((raw, index) => {
    const at = (...p: PathSegment[]): PathSegment[] => ['scenario', index, ...p];
    const report = (path: PathSegment[], message: string): void => void issues.push({ path, message });
    const before = issues.length;
    const keys = STEP_KEYS.filter((k) => raw[k as keyof ScenarioStepConfig] !== undefined);
    if (keys.length !== 1) {
      report(
        at(),
        keys.length === 0
          ? `a step needs one action (${SCENARIO_ACTIONS.join(', ')}) or check (${SCENARIO_CHECKS.join(', ')})`
          : `a step has one action or check, this one has ${keys.join(' and ')}: make them separate steps`,
      );
      return;
    }
    const key = keys[0]!;
    const atMs = ms(raw.at);
    const everyMs = raw.every === undefined ? null : ms(raw.every);
    const untilMs = raw.until === undefined ? null : ms(raw.until);
    if (key === 'stream') {
      if (everyMs !== null) report(at('every'), 'a stream runs once, from `at` to `until`: it cannot repeat');
      if (untilMs === null) report(at(), 'a stream needs `until`: the time it ends');
      else if (untilMs <= atMs) report(at('until'), `the stream must end after it starts (at ${raw.at})`);
    } else {
      if (raw['max-stall'] !== undefined) report(at('max-stall'), 'max-stall belongs to a stream step');
      if (everyMs !== null && untilMs === null)
        report(at('every'), 'every needs until: the last time the step may run');
      if (everyMs === null && untilMs !== null)
        report(at('until'), 'until goes with every (or ends a stream)');
      if (everyMs !== null && everyMs <= 0) report(at('every'), 'every must be longer than 0');
      if (untilMs !== null && everyMs !== null && untilMs < atMs)
        report(at('until'), `until is before at (${raw.at})`);
    }

    /** Node or group names → nodes; unknown ones reported at `path`. */
    const nodes = (refs: string | string[], path: PathSegment[]): string[] => {
      const out: string[] = [];
      for (const ref of list(refs)) {
        const found = expandNodeRef(names, ref);
        if (!found.length)
          report(path, `unknown node or group "${ref}" (groups: ${[...names.replicas.keys()].join(', ')})`);
        for (const n of found) if (!out.includes(n)) out.push(n);
      }
      return out;
    };
    const node = (ref: string, path: PathSegment[]): string => {
      const group = names.replicas.get(ref);
      if (group && !names.groupOf.has(ref))
        report(path, `"${ref}" is a group: name one node (${group.join(', ')})`);
      else if (!names.groupOf.has(ref))
        report(path, `unknown node "${ref}" (nodes: ${[...names.groupOf.keys()].join(', ')})`);
      return ref;
    };
    const network = (name: string, path: PathSegment[]): string => {
      if (!networks.includes(name))
        report(path, `unknown network "${name}" (networks: ${networks.join(', ')})`);
      return name;
    };

    let action: ScenarioAction | undefined;
    let check: ScenarioCheck | undefined;
    let text = '';
    switch (key) {
      case 'stop':
      case 'start':
      case 'restart': {
        const ref = raw[key]!;
        const ns = nodes(ref, at(key));
        action = { kind: key, nodes: ns };
        text = `${key} ${ref}${ns.length > 1 ? ` (${ns.join(', ')})` : ''}`;
        break;
      }
      case 'churn': {
        const c = raw.churn!;
        const ns = nodes(c.nodes, at('churn', 'nodes'));
        const fraction = parsePercent(c.fraction) ?? Number.NaN;
        const every = ms(c.every);
        const forMs = ms(c.for);
        const down = c.down === undefined ? 0 : ms(c.down);
        if (!(fraction > 0 && fraction <= 100))
          report(at('churn', 'fraction'), 'the fraction must be more than 0% and at most 100%');
        if (!(every > 0)) report(at('churn', 'every'), 'every must be longer than 0');
        if (!(forMs > 0)) report(at('churn', 'for'), 'for must be longer than 0');
        if (down >= every)
          report(
            at('churn', 'down'),
            `a churned node must be back before the next round: down (${c.down}) must be shorter than every (${c.every})`,
          );
        if (everyMs !== null)
          report(at('every'), "a churn repeats by itself (churn.every): leave out the step's every");
        action = {
          kind: 'churn',
          nodes: ns,
          fraction,
          everyMs: every,
          forMs,
          downMs: down,
          seed: c.seed ?? 1,
        };
        text = `churn ${c.fraction} of ${list(c.nodes).join(', ')} (${ns.length} node(s)) every ${formatMs(every)} for ${formatMs(forMs)}${down ? `, down ${formatMs(down)}` : ', restarted at once'}`;
        break;
      }
      case 'link': {
        const l = raw.link!;
        const a: ScenarioAction & { kind: 'link-set' } = {
          kind: 'link-set',
          network: network(l.network, at('link', 'network')),
          node: l.node === undefined ? null : node(l.node, at('link', 'node')),
        };
        if (l.delay !== undefined) a.delayMs = ms(l.delay);
        if (l.jitter !== undefined) a.jitterMs = ms(l.jitter);
        if (l.loss !== undefined) a.lossPct = parsePercent(l.loss) ?? Number.NaN;
        if (l.rate !== undefined) a.rateKbit = Math.round(parseRateKbit(l.rate) ?? Number.NaN);
        if ([l.delay, l.jitter, l.loss, l.rate].every((v) => v === undefined))
          report(at('link'), 'nothing to set: give delay, jitter, loss or rate');
        if (a.delayMs !== undefined && a.jitterMs !== undefined && a.jitterMs > a.delayMs)
          report(at('link', 'jitter'), `jitter (${l.jitter}) exceeds delay (${l.delay})`);
        if (a.lossPct !== undefined && a.lossPct > 100) report(at('link', 'loss'), 'loss is at most 100%');
        action = a;
        const fields = [
          l.delay !== undefined ? `delay ${l.delay}` : '',
          l.jitter !== undefined ? `jitter ${l.jitter}` : '',
          l.loss !== undefined ? `loss ${l.loss}` : '',
          l.rate !== undefined ? `rate ${l.rate}` : '',
        ].filter(Boolean);
        text = `link set ${l.network}${l.node ? ` --node ${l.node}` : ''}: ${fields.join(', ')}`;
        break;
      }
      case 'link-down':
      case 'link-up': {
        const v = raw[key]!;
        const end = typeof v === 'string' ? { network: v, node: undefined } : v;
        const path = typeof v === 'string' ? at(key) : at(key, 'network');
        action = {
          kind: key,
          network: network(end.network, path),
          node: end.node === undefined ? null : node(end.node, at(key, 'node')),
        };
        text = `link ${key === 'link-down' ? 'down' : 'up'} ${end.network}${end.node ? ` --node ${end.node}` : ''}`;
        break;
      }
      case 'partition': {
        const p = raw.partition!;
        const a = nodes(p.nodes, at('partition', 'nodes'));
        const b = nodes(p.from, at('partition', 'from'));
        const both = a.filter((n) => b.includes(n));
        if (both.length) report(at('partition'), `${both.join(', ')} on both sides`);
        action = { kind: 'partition', sides: [a, b] };
        text = `partition ${list(p.nodes).join(', ')} --from ${list(p.from).join(', ')}`;
        break;
      }
      case 'heal':
        action = { kind: 'heal' };
        text = 'heal';
        break;
      case 'nat-reset': {
        const r = raw['nat-reset']!;
        if (!routers.includes(r))
          report(at('nat-reset'), `unknown router "${r}" (routers: ${routers.join(', ') || 'none'})`);
        action = { kind: 'nat-reset', router: r };
        text = `nat reset ${r}`;
        break;
      }
      case 'move': {
        const m = raw.move!;
        action = {
          kind: 'move',
          node: node(m.node, at('move', 'node')),
          network: network(m.network, at('move', 'network')),
          address: m.address ?? null,
        };
        text = `move ${m.node} ${m.network}${m.address ? ` --address ${m.address}` : ''}`;
        break;
      }
      case 'expect': {
        const source = expectEntryText(raw.expect!);
        const parsed = parseExpectLine(source);
        if (!parsed.ok) {
          report(at('expect'), parsed.message);
          break;
        }
        const { from, to, path, withinMs } = parsed.line;
        const froms = nodes(from, at('expect'));
        const tos = nodes(to, at('expect'));
        const pairs = froms.flatMap((f) => tos.filter((t) => t !== f).map((t) => ({ from: f, to: t })));
        if (froms.length && tos.length && !pairs.length)
          report(at('expect'), `expects nothing: ${from} and ${to} are the same node`);
        check = { kind: 'expect', source, pairs, path, withinMs };
        text = `expect ${expectationText(parsed.line)}`;
        break;
      }
      case 'stream': {
        const m = /^\s*([^\s>-][^\s>]*?)\s*->\s*(\S+)\s*$/.exec(raw.stream!);
        if (!m) {
          report(at('stream'), `expected "from -> to" (two node names), got "${raw.stream}"`);
          break;
        }
        const from = node(m[1]!, at('stream'));
        const to = node(m[2]!, at('stream'));
        if (from === to) report(at('stream'), 'a stream needs two different nodes');
        const maxStallMs = raw['max-stall'] === undefined ? null : ms(raw['max-stall']);
        check = { kind: 'stream', from, to, untilMs: untilMs ?? Number.NaN, maxStallMs };
        text = `stream ${from} -> ${to} until ${formatMs(untilMs ?? 0)}${maxStallMs !== null ? `, stalls under ${formatMs(maxStallMs)}` : ''}`;
        break;
      }
      case 'all-pairs': {
        const v = raw['all-pairs']!;
        const o = v === true ? {} : v;
        const among =
          o.among === undefined ? [...names.groupOf.keys()] : nodes(o.among, at('all-pairs', 'among'));
        if (among.length < 2) report(at('all-pairs', 'among'), 'needs at least two nodes to pair');
        const path = (o.path ?? 'any') as PathKind | 'expected';
        const withinMs = o.within === undefined ? null : ms(o.within);
        const settleMs = o.settle === undefined ? DEFAULT_SETTLE_MS : ms(o.settle);
        check = { kind: 'all-pairs', among, path, sample: o.sample ?? null, withinMs, settleMs };
        text = `every live pair${o.among ? ` of ${list(o.among).join(', ')}` : ''} connects${path === 'any' ? '' : path === 'expected' ? ' on its expected path' : ` ${path}`}${o.sample ? ` (${o.sample} pairs sampled)` : ''}${withinMs !== null ? ` within ${formatMs(withinMs)}` : ''}`;
        break;
      }
    }
    if (issues.length > before) return;
    if (everyMs !== null) text += ` — every ${formatMs(everyMs)} until ${formatMs(untilMs!)}`;
    steps.push({
      index,
      line: lineOf(at()),
      atMs,
      everyMs,
      untilMs,
      text,
      ...(action ? { action } : {}),
      ...(check ? { check } : {}),
    });
  });
  return { steps, issues };
}
