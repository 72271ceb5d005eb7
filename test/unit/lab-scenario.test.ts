/**
 * Scenarios without a lab: the `scenario:` list's validation (one action or check per step, references,
 * every/until, `file:line path: message`), the timeline (repeats, seeded churn rounds that skip stopped
 * nodes), the runner on a ManualClock with a fake driver (actions in order, checks in the background, late
 * starts, liveness, expect/stream/all-pairs verdicts), the summaries, and the reports that carry it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { parseTopology } from '../../cli/topology/parse.js';
import { TopologyError } from '../../cli/topology/errors.js';
import type { ScenarioStep } from '../../cli/topology/model.js';
import {
  formatTimeline,
  pick,
  planTimeline,
  seededRandom,
  timelineEndMs,
  type TimelineAction,
} from '../../cli/lab/scenario/timeline.js';
import {
  runTimeline,
  type ProbeOutcome,
  type ScenarioDriver,
  type StreamOutcome,
} from '../../cli/lab/scenario/run.js';
import {
  expectedPathOf,
  formatScenarioReport,
  summarize,
  type ScenarioReport,
} from '../../cli/lab/scenario/phase.js';
import { formatValidateSummary } from '../../cli/lab/commands/validate.js';
import { testPhases } from '../../cli/lab/commands/test.js';
import { toJUnitXml } from '../../cli/lab/verdicts/junit.js';
import { toJsonReport } from '../../cli/lab/verdicts/json.js';
import { computeVerdicts } from '../../cli/lab/verdicts/verdicts.js';
import { reportFromJson } from '../../cli/lab/report/load.js';
import { settle } from '../support/virtual-time.js';

const HEAD = `
name: scen
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
  home-a: { kind: lan, subnet: 192.168.1.0/24 }
  home-b: { kind: lan, subnet: 10.0.2.0/24 }
routers:
  router-a: { nat: port-restricted-cone, wan: internet, lan: home-a }
  router-b: { nat: full-cone, wan: internet, lan: home-b }
nodes:
  boot: { network: internet, role: bootstrap }
  alice: { network: home-a, count: 2 }
  peer: { network: home-b, count: 5 }
expect:
  - alice -> boot: direct
  - peer-1 -> alice-1: hole-punched
`;

const parse = (scenario: string) => parseTopology(`${HEAD}scenario:\n${scenario}`, 'scen.yaml');

function issues(scenario: string): string[] {
  try {
    parse(scenario);
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a TopologyError');
}

describe('the scenario list', () => {
  it('resolves each step: time, one action or check, names expanded, a line of text', () => {
    const topo = parse(`
  - { at: 0s, stream: alice-1 -> boot, until: 12s, max-stall: 3s }
  - { at: 4s, nat-reset: router-a }
  - { at: 5s, restart: alice }
  - at: 6s
    expect: "alice -> boot: direct within 3s"
  - { at: 8s, link: { network: home-a, node: alice-2, delay: 20ms, loss: 5% } }
  - { at: 9s, link-down: { network: home-b, node: peer-2 } }
  - { at: 10s, partition: { nodes: alice, from: [boot, peer-1] } }
  - { at: 11s, heal: true }
  - { at: 12s, move: { node: peer-3, network: home-a } }
  - { at: 13s, every: 2s, until: 17s, all-pairs: { path: expected, sample: 4 } }
`);
    const steps = topo.scenario!;
    expect(steps.map((s) => s.text)).toEqual([
      'stream alice-1 -> boot until 12 s, stalls under 3 s',
      'nat reset router-a',
      'restart alice (alice-1, alice-2)',
      'expect alice -> boot: direct within 3000ms',
      'link set home-a --node alice-2: delay 20ms, loss 5%',
      'link down home-b --node peer-2',
      'partition alice --from boot, peer-1',
      'heal',
      'move peer-3 home-a',
      'every live pair connects on its expected path (4 pairs sampled) — every 2 s until 17 s',
    ]);
    expect(steps.map((s) => s.line)).toEqual([19, 20, 21, 22, 24, 25, 26, 27, 28, 29]);
    expect(steps[0]!.check).toEqual({
      kind: 'stream',
      from: 'alice-1',
      to: 'boot',
      untilMs: 12000,
      maxStallMs: 3000,
    });
    expect(steps[2]!.action).toEqual({ kind: 'restart', nodes: ['alice-1', 'alice-2'] });
    expect(steps[3]!.check).toMatchObject({
      kind: 'expect',
      path: 'direct',
      withinMs: 3000,
      pairs: [
        { from: 'alice-1', to: 'boot' },
        { from: 'alice-2', to: 'boot' },
      ],
    });
    expect(steps[4]!.action).toEqual({
      kind: 'link-set',
      network: 'home-a',
      node: 'alice-2',
      delayMs: 20,
      lossPct: 5,
    });
    expect(steps[6]!.action).toEqual({
      kind: 'partition',
      sides: [
        ['alice-1', 'alice-2'],
        ['boot', 'peer-1'],
      ],
    });
    expect(steps[9]).toMatchObject({ atMs: 13000, everyMs: 2000, untilMs: 17000 });
    expect(steps[9]!.check).toMatchObject({ kind: 'all-pairs', path: 'expected', sample: 4, settleMs: 2000 });
  });

  it('reports every problem as file:line path: message', () => {
    expect(
      issues(`
  - { at: 1s }
  - { at: 2s, stop: boot, heal: true }
  - { at: 3s, stream: alice -> boot }
  - { at: 4s, every: 1s, restart: boot }
  - { at: 5s, nat-reset: router-z }
  - { at: 6s, link: { network: mars } }
  - { at: 7s, expect: "alice -> bob" }
  - { at: 8s, churn: { nodes: peer, fraction: 20%, every: 2s, for: 10s, down: 3s } }
  - { at: 9s, partition: { nodes: alice-1, from: alice } }
  - { at: 10s, restart: boot, max-stall: 1s }
  - { at: 11s, bogus: 1 }
`),
    ).toEqual([
      'scen.yaml:29 scenario[10].bogus: unknown key "bogus" (allowed: at, every, until, stop, start, restart, churn, link, link-down, link-up, partition, heal, nat-reset, move, expect, stream, max-stall, all-pairs)',
    ]);
    expect(
      issues(`
  - { at: 1s }
  - { at: 2s, stop: boot, heal: true }
  - { at: 3s, stream: alice -> boot }
  - { at: 4s, every: 1s, restart: boot }
  - { at: 5s, nat-reset: router-z }
  - { at: 6s, link: { network: mars } }
  - { at: 7s, expect: "alice -> bob" }
  - { at: 8s, churn: { nodes: peer, fraction: 20%, every: 2s, for: 10s, down: 3s } }
  - { at: 9s, partition: { nodes: alice-1, from: alice } }
  - { at: 10s, restart: boot, max-stall: 1s }
`),
    ).toEqual([
      'scen.yaml:19 scenario[0]: a step needs one action (stop, start, restart, churn, link, link-down, link-up, partition, heal, nat-reset, move) or check (expect, stream, all-pairs)',
      'scen.yaml:20 scenario[1]: a step has one action or check, this one has stop and heal: make them separate steps',
      'scen.yaml:21 scenario[2]: a stream needs `until`: the time it ends',
      'scen.yaml:21 scenario[2].stream: "alice" is a group: name one node (alice-1, alice-2)',
      'scen.yaml:22 scenario[3].every: every needs until: the last time the step may run',
      'scen.yaml:23 scenario[4].nat-reset: unknown router "router-z" (routers: router-a, router-b)',
      'scen.yaml:24 scenario[5].link.network: unknown network "mars" (networks: internet, home-a, home-b)',
      'scen.yaml:24 scenario[5].link: nothing to set: give delay, jitter, loss or rate',
      'scen.yaml:25 scenario[6].expect: unknown node or group "bob" (groups: boot, alice, peer)',
      'scen.yaml:26 scenario[7].churn.down: a churned node must be back before the next round: down (3s) must be shorter than every (2s)',
      'scen.yaml:27 scenario[8].partition: alice-1 on both sides',
      'scen.yaml:28 scenario[9].max-stall: max-stall belongs to a stream step',
    ]);
  });
});

const steps = (scenario: string): ScenarioStep[] => parse(scenario).scenario!;

describe('the timeline', () => {
  it('repeats a step every … until, and orders by time, then by the file', () => {
    const t = planTimeline(
      steps(`
  - { at: 6s, every: 2s, until: 10s, link-down: home-a }
  - { at: 7s, every: 2s, until: 11s, link-up: home-a }
  - { at: 6s, expect: "alice-1 -> boot" }
`),
    );
    expect(formatTimeline(t)).toEqual([
      ' 6.0 s  action  link down home-a (1/3)',
      ' 6.0 s  check   expect alice-1 -> boot: any',
      ' 7.0 s  action  link up home-a (1/3)',
      ' 8.0 s  action  link down home-a (2/3)',
      ' 9.0 s  action  link up home-a (2/3)',
      '10.0 s  action  link down home-a (3/3)',
      '11.0 s  action  link up home-a (3/3)',
    ]);
    expect(t.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(timelineEndMs(t)).toBe(11000);
  });

  it('plans churn rounds with a seed, among the nodes running then, stopped for `down`', () => {
    const plan = () =>
      planTimeline(
        steps(`
  - { at: 0s, stop: peer-1 }
  - { at: 5s, start: peer-1 }
  - { at: 1s, churn: { nodes: peer, fraction: 40%, every: 2s, for: 6s, down: 1s, seed: 7 } }
`),
      );
    const t = plan();
    expect(plan()).toEqual(t); // deterministic
    const rounds = t.filter((e) => e.text.startsWith('churn'));
    expect(rounds.map((e) => [e.atMs, e.action!.kind])).toEqual([
      [1000, 'stop'],
      [2000, 'start'],
      [3000, 'stop'],
      [4000, 'start'],
      [5000, 'stop'],
      [6000, 'start'],
    ]);
    for (const e of rounds) expect((e.action as { nodes: string[] }).nodes).toHaveLength(2);
    // peer-1 is stopped from 0 s to 5 s: the rounds at 1 s and 3 s leave it alone
    for (const e of rounds.slice(0, 4))
      expect((e.action as { nodes: string[] }).nodes).not.toContain('peer-1');
    // a round's start names the nodes its stop did
    expect((rounds[1]!.action as { nodes: string[] }).nodes).toEqual(
      (rounds[0]!.action as { nodes: string[] }).nodes,
    );
    const restart = planTimeline(
      steps(`  - { at: 0s, churn: { nodes: [alice, boot], fraction: 20%, every: 5s, for: 10s } }`),
    );
    expect(restart.map((e) => e.text)).toEqual([
      expect.stringMatching(/^churn round 1\/2: restart \S+$/),
      expect.stringMatching(/^churn round 2\/2: restart \S+$/),
    ]);
  });

  it('picks with a seeded generator, keeping the original order', () => {
    const a = pick(['a', 'b', 'c', 'd', 'e'], 3, seededRandom(3));
    expect(a).toEqual(pick(['a', 'b', 'c', 'd', 'e'], 3, seededRandom(3)));
    expect(a).toHaveLength(3);
    expect([...a].sort()).toEqual(a);
  });

  it('validate prints it', () => {
    const topo = parse(`
  - { at: 0s, stream: alice-1 -> boot, until: 12s }
  - { at: 4s, nat-reset: router-a }
`);
    expect(formatValidateSummary(topo)).toContain(
      '  scenario 2 steps, 2 timeline entries over 12 s after the mesh is ready:\n    0.0 s  check   stream alice-1 -> boot until 12 s\n    4.0 s  action  nat reset router-a\n',
    );
  });
});

/** A lab that answers on virtual time: each call takes the time its table says and is logged. */
class FakeLab implements ScenarioDriver {
  readonly log: string[] = [];
  actionMs = 500;
  probeMs = 100;
  probeResult: (from: string, to: string) => ProbeOutcome = () => ({
    connected: true,
    path: 'direct',
    resolveMs: 20,
    timeToConnectMs: 80,
  });
  streamResult: StreamOutcome = { intact: true, sentBytes: 1000, peerBytes: 1000, maxGapMs: 1500 };
  constructor(readonly clock: ManualClock) {}
  private wait(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimer(ms, r));
  }
  private at(): string {
    return `${this.clock.now() / 1000}s`;
  }
  async act(a: TimelineAction): Promise<{ summary: string }> {
    this.log.push(`${this.at()} ${a.kind} begins`);
    await this.wait(this.actionMs);
    this.log.push(`${this.at()} ${a.kind} ends`);
    if (a.kind === 'nat-reset' && a.router === 'broken') throw new Error('no such router');
    return { summary: `${a.kind} done` };
  }
  async probe(from: string, to: string): Promise<ProbeOutcome> {
    this.log.push(`${this.at()} probe ${from} -> ${to}`);
    await this.wait(this.probeMs);
    return this.probeResult(from, to);
  }
  async stream(from: string, to: string, durationMs: number): Promise<StreamOutcome> {
    this.log.push(`${this.at()} stream ${from} -> ${to} begins`);
    await this.wait(durationMs);
    this.log.push(`${this.at()} stream ${from} -> ${to} ends`);
    return this.streamResult;
  }
}

function runner(scenario: string, setup: (lab: FakeLab) => void = () => {}) {
  const topo = parse(scenario);
  const clock = new ManualClock(0);
  const lab = new FakeLab(clock);
  setup(lab);
  const entries = planTimeline(topo.scenario!);
  const run = runTimeline(entries, {
    clock,
    driver: lab,
    nodes: topo.nodes.map((n) => n.name),
    expectedPath: expectedPathOf(topo),
    connectTimeoutMs: 5000,
    parallel: 2,
  });
  return { lab, entries, run: settle(clock, run, 100_000) };
}

describe('the runner', () => {
  it('runs actions one after the other and checks beside them; an entry behind a slow action starts late', async () => {
    const { lab, run } = runner(`
  - { at: 0s, stream: alice-1 -> boot, until: 3s }
  - { at: 1s, nat-reset: router-a }
  - { at: 1s, expect: "alice-1 -> boot" }
  - { at: 1.2s, restart: peer-2 }
`);
    const r = await run;
    expect(lab.log).toEqual([
      '0s stream alice-1 -> boot begins',
      '1s nat-reset begins',
      '1.5s nat-reset ends',
      '1.5s probe alice-1 -> boot', // the check listed after the action waits for it
      '1.5s restart begins', // the next action does not wait for the check
      '2s restart ends',
      '3s stream alice-1 -> boot ends',
    ]);
    expect(r.ok).toBe(true);
    expect(r.entries.map((e) => [e.text, e.startedMs, e.endedMs])).toEqual([
      ['stream alice-1 -> boot until 3 s', 0, 3000],
      ['nat reset router-a', 1000, 1500],
      ['expect alice-1 -> boot: any', 1500, 1600],
      ['restart peer-2', 1500, 2000],
    ]);
    expect(r.entries[0]!.metricMs).toBe(1500); // the stream's longest stall
    expect(r.entries[1]!.metricMs).toBe(500);
    expect(r.entries[2]!).toMatchObject({
      ok: true,
      metricMs: 100,
      summary: '1/1 connected as expected, slowest 100 ms (lookup and connect)',
    });
  });

  it('judges path, time (lookup included) and stalls; a failed action fails the run, which goes on', async () => {
    const { run } = runner(
      `
  - { at: 0s, stream: alice-1 -> boot, until: 2s, max-stall: 1s }
  - { at: 0s, nat-reset: broken }
  - { at: 1s, expect: "peer-1 -> alice-1: hole-punched within 150ms" }
  - { at: 1s, expect: "alice-2 -> boot: direct within 1s" }
`.replace('broken', 'router-a'),
      (lab) => {
        lab.probeResult = (from) =>
          from === 'peer-1'
            ? { connected: true, path: 'relayed', resolveMs: 10, timeToConnectMs: 50 }
            : { connected: true, path: 'direct', resolveMs: 900, timeToConnectMs: 200 };
      },
    );
    const r = await run;
    expect(r.ok).toBe(false);
    expect(r.entries.map((e) => [e.ok, e.summary])).toEqual([
      [false, 'intact: 1000 bytes, longest stall 1.5 s (over 1 s)'],
      [true, 'nat-reset done'],
      [false, '0/1 connected as expected; peer-1 -> alice-1: connected relayed, expected hole-punched'],
      [false, '0/1 connected as expected; alice-2 -> boot: connected in 1.1 s (lookup 900 ms), over 1 s'],
    ]);
  });

  it('probes no stopped node; all-pairs pairs live nodes only, each on its expected path, and skips a pair whose node changed meanwhile', async () => {
    const { lab, run } = runner(
      `
  - { at: 0s, stop: peer-5 }
  - { at: 0s, restart: peer-4 }
  - { at: 0.5s, expect: "peer-5 -> boot" }
  - { at: 1s, all-pairs: { among: [alice-1, peer-1, peer-2, peer-3, peer-4, peer-5], path: expected } }
  - { at: 1s, restart: peer-3 }
`,
      (lab) => {
        lab.actionMs = 100;
        lab.probeResult = (from, to) =>
          from === 'peer-1' && to === 'alice-1'
            ? { connected: true, path: 'direct', resolveMs: 5, timeToConnectMs: 30 }
            : { connected: false, path: null, resolveMs: 5, timeToConnectMs: null, error: 'timed out' };
      },
    );
    lab.probeResult = (from, to) =>
      from === 'peer-1' && to === 'alice-1'
        ? { connected: true, path: 'hole-punched', resolveMs: 5, timeToConnectMs: 30 }
        : from === 'peer-3' || to === 'peer-3'
          ? {
              connected: false,
              path: null,
              resolveMs: null,
              timeToConnectMs: null,
              error: 'peer-3 restarting',
            }
          : { connected: true, path: 'relayed', resolveMs: 5, timeToConnectMs: 30 };
    const r = await run;
    const exp = r.entries.find((e) => e.text.startsWith('expect'))!;
    expect(exp.summary).toBe('0/1 connected as expected; peer-5 -> boot: peer-5 is stopped');
    const all = r.entries.find((e) => e.text.startsWith('every live pair'))!;
    // peer-5 is stopped and peer-4 restarted under a second ago (settle 2 s): 4 live nodes, 12 pairs
    expect(all.pairs).toHaveLength(12);
    // peer-3 restarts while the check runs: its pairs are left out from then on, the others judged
    const skipped = all.pairs!.filter((p) => p.skipped);
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((p) => p.from === 'peer-3' || p.to === 'peer-3')).toBe(true);
    expect(all.pairs!.every((p) => p.ok || p.skipped)).toBe(true);
    expect(all.pairs!.find((p) => p.from === 'peer-1' && p.to === 'alice-1')!.expected).toBe('hole-punched');
    expect(all.ok).toBe(true);
    expect(all.summary).toMatch(
      /^\d+\/\d+ pairs connected \(.*\), \d+ skipped \(a node stopped or started meanwhile\), 2 node\(s\) not live$/,
    );
    expect(lab.log.filter((l) => l.includes('probe') && l.includes('peer-5'))).toEqual([]);
  });

  it('summarizes runs per entry: runs passed, p50 and max of the time it is judged by', () => {
    const { entries } = runner(`  - { at: 0s, nat-reset: router-a }`);
    const result = (ok: boolean, ms: number) => ({
      ...entries[0]!,
      kind: 'action' as const,
      startedMs: 0,
      endedMs: ms,
      ok,
      summary: 'x',
      metricMs: ms,
    });
    const runs = [30, 10, 20, 50].map((ms, i) => ({
      repeat: i + 1,
      ok: ms < 50,
      durationMs: ms,
      results: [result(ms < 50, ms)],
    }));
    expect(summarize(entries, runs)).toEqual([
      {
        seq: 0,
        atMs: 0,
        line: 18,
        text: 'nat reset router-a',
        kind: 'action',
        passed: 3,
        runs: 4,
        p50Ms: 20,
        maxMs: 50,
      },
    ]);
  });
});

describe('the reports', () => {
  const report: ScenarioReport = {
    repeats: 2,
    pass: false,
    entries: [
      { seq: 0, atMs: 0, step: 0, line: 20, text: 'stream alice-1 -> boot until 12 s', kind: 'check' },
      { seq: 1, atMs: 4000, step: 1, line: 21, text: 'nat reset router-a', kind: 'action' },
    ],
    runs: [1, 2].map((repeat) => ({
      repeat,
      ok: repeat === 1,
      durationMs: 12000,
      results: [
        {
          seq: 0,
          step: 0,
          line: 20,
          atMs: 0,
          text: 'stream alice-1 -> boot until 12 s',
          kind: 'check' as const,
          startedMs: 0,
          endedMs: 12000,
          ok: repeat === 1,
          summary: repeat === 1 ? 'intact' : 'broken: <reset>',
          metricMs: 1200 * repeat,
        },
        {
          seq: 1,
          step: 1,
          line: 21,
          atMs: 4000,
          text: 'nat reset router-a',
          kind: 'action' as const,
          startedMs: 4001,
          endedMs: 4040,
          ok: true,
          summary: 'done',
          metricMs: 39,
        },
      ],
    })),
    summary: [],
  };
  report.summary = [
    {
      seq: 0,
      atMs: 0,
      line: 20,
      text: 'stream alice-1 -> boot until 12 s',
      kind: 'check',
      passed: 1,
      runs: 2,
      p50Ms: 1200,
      maxMs: 2400,
    },
    {
      seq: 1,
      atMs: 4000,
      line: 21,
      text: 'nat reset router-a',
      kind: 'action',
      passed: 2,
      runs: 2,
      p50Ms: 39,
      maxMs: 39,
    },
  ];
  const verdicts = computeVerdicts([], { topology: 'scen' });

  it('the printed report lists every entry with its time, runs passed, p50 and max, then the failures', () => {
    const text = formatScenarioReport(report);
    expect(text).toContain('scenario: 2 timeline entries × 2 run(s): 1 entry failed');
    expect(text).toMatch(/0\.0 s\s+check\s+stream alice-1 -> boot until 12 s\s+1\/2\s+1\.2 s\s+2\.4 s/);
    expect(text).toMatch(/4\.0 s\s+action\s+nat reset router-a\s+2\/2\s+39 ms\s+39 ms/);
    expect(text).toContain('failures:\n  run 2, 0.00 s, stream alice-1 -> boot until 12 s: broken: <reset>');
  });

  it('JUnit has a scenario suite, one testcase per entry, failed where a run failed', () => {
    const xml = toJUnitXml(verdicts, report);
    expect(xml).toContain('<testsuites name="quicmesh-lab" tests="2" failures="1" errors="0" skipped="0">');
    expect(xml).toContain('<testsuite name="scen scenario" tests="2" failures="1"');
    expect(xml).toContain('name="0.0 s check stream alice-1 -&gt; boot until 12 s"');
    expect(xml).toContain('run 2: broken: &lt;reset&gt;</failure>');
    expect(xml).toContain('run 1 at 4.00 s: ok done');
  });

  it('the JSON report stays version 2 with the timeline added, and still loads', () => {
    const json = toJsonReport(verdicts, { backend: 'netns' });
    json.timeline = report;
    const round = JSON.parse(JSON.stringify(json)) as unknown;
    expect(
      (round as { version: number; timeline: ScenarioReport }).timeline.runs[1]!.results[0]!.summary,
    ).toBe('broken: <reset>');
    expect(reportFromJson(round, 'run.json').version).toBe(2);
  });

  it('the test verb runs the phases there are, and says so when there is nothing to run', () => {
    const topo = parse(`  - { at: 0s, nat-reset: router-a }`);
    const argv = { file: 'scen.yaml', scenario: true, 'scenario-only': false };
    expect(testPhases(argv, topo)).toEqual({ expectations: true, scenario: true });
    expect(testPhases({ ...argv, 'scenario-only': true }, topo)).toEqual({
      expectations: false,
      scenario: true,
    });
    expect(testPhases({ ...argv, scenario: false }, topo)).toEqual({ expectations: true, scenario: false });
    expect(() => testPhases({ ...argv, scenario: false }, { ...topo, expectations: [] })).toThrow(
      /no expectations to test \(add an "expect:" list\)/,
    );
    expect(() => testPhases({ ...argv, 'scenario-only': true }, { ...topo, scenario: [] })).toThrow(
      /--scenario-only, but the topology has no "scenario:" list/,
    );
  });
});
