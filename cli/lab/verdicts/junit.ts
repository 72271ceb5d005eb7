/**
 * JUnit XML for CI: one testsuite per topology, one testcase per expectation; a failed expectation
 * carries a <failure> with the satisfied count and the reasons, and every testcase's <system-out> holds
 * its statistics. Text is escaped and characters XML 1.0 forbids are dropped, so the file stays well-formed
 * whatever error text a run produced.
 */
import type { ExpectationVerdict, VerdictReport } from './verdicts.js';
import type { ScenarioReport } from '../scenario/phase.js';

// Tab, newline and carriage return are the only control characters XML 1.0 allows.
const FORBIDDEN =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(FORBIDDEN, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function stats(v: ExpectationVerdict): string {
  const paths = Object.entries(v.paths)
    .filter(([, n]) => n > 0)
    .map(([path, n]) => `${path}=${n}`)
    .join(' ');
  const ms = (x: number | null): string => (x === null ? '-' : `${x}ms`);
  return `repeats=${v.repeats} satisfied=${v.satisfied} p50=${ms(v.p50Ms)} p95=${ms(v.p95Ms)} paths: ${paths || 'none'}`;
}

function testcase(v: ExpectationVerdict, classname: string): string {
  const head = `    <testcase classname="${escapeXml(classname)}" name="${escapeXml(v.expectation.text)}">`;
  const lines = [head];
  if (!v.pass) {
    const message = `${v.satisfied}/${v.repeats} repeats satisfied ${v.expectation.text}`;
    const body = v.reasons.map((r) => `${r.reason} (×${r.count})`).join('\n');
    lines.push(
      `      <failure type="expectation" message="${escapeXml(message)}">${escapeXml(body)}</failure>`,
    );
  }
  lines.push(`      <system-out>${escapeXml(stats(v))}</system-out>`, '    </testcase>');
  return lines.join('\n');
}

export function toJUnitXml(report: VerdictReport, scenario?: ScenarioReport): string {
  const suite = report.topology || 'topology';
  const classname = `quicmesh-lab.${suite}`;
  const counts = `tests="${report.verdicts.length}" failures="${report.failed}" errors="0" skipped="0"`;
  const timeline = scenario ? scenarioSuite(scenario, suite) : null;
  const total = timeline
    ? `tests="${report.verdicts.length + timeline.tests}" failures="${report.failed + timeline.failures}" errors="0" skipped="0"`
    : counts;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="quicmesh-lab" ${total}>`,
    ...(report.verdicts.length || !timeline
      ? [`  <testsuite name="${escapeXml(suite)}" ${counts}>`, ...report.verdicts.map((v) => testcase(v, classname)), '  </testsuite>']
      : []),
    ...(timeline ? timeline.lines : []),
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * The scenario as a testsuite of its own: one testcase per timeline entry (its time and text), failed when
 * it failed in any run; its <system-out> has every run's outcome with its time.
 */
function scenarioSuite(scenario: ScenarioReport, topology: string): { tests: number; failures: number; lines: string[] } {
  const classname = `quicmesh-lab.${topology}.scenario`;
  const failures = scenario.summary.filter((s) => s.passed < s.runs).length;
  const lines = [`  <testsuite name="${escapeXml(`${topology} scenario`)}" tests="${scenario.entries.length}" failures="${failures}" errors="0" skipped="0">`];
  for (const [i, s] of scenario.summary.entries()) {
    const name = `${(s.atMs / 1000).toFixed(1)} s ${s.kind} ${s.text}`;
    lines.push(`    <testcase classname="${escapeXml(classname)}" name="${escapeXml(name)}">`);
    const runs = scenario.runs.map((r) => ({ repeat: r.repeat, result: r.results[i]! })).filter((x) => x.result);
    if (s.passed < s.runs) {
      const failed = runs.filter((x) => !x.result.ok);
      lines.push(
        `      <failure type="scenario" message="${escapeXml(`${s.passed}/${s.runs} runs held: ${s.text}`)}">${escapeXml(failed.map((x) => `run ${x.repeat}: ${x.result.summary}`).join('\n'))}</failure>`,
      );
    }
    const out = runs.map((x) => `run ${x.repeat} at ${((x.result.startedMs ?? x.result.atMs) / 1000).toFixed(2)} s: ${x.result.ok ? 'ok' : 'FAIL'} ${x.result.summary}`);
    lines.push(`      <system-out>${escapeXml(out.join('\n'))}</system-out>`, '    </testcase>');
  }
  lines.push('  </testsuite>');
  return { tests: scenario.entries.length, failures, lines };
}
