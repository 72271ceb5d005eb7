/**
 * JUnit XML for CI: one testsuite per topology, one testcase per expectation; a failed expectation
 * carries a <failure> with the satisfied count and the reasons, and every testcase's <system-out> holds
 * its statistics. Text is escaped and characters XML 1.0 forbids are dropped, so the file stays well-formed
 * whatever error text a run produced.
 */
import type { ExpectationVerdict, VerdictReport } from './verdicts.js';

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

export function toJUnitXml(report: VerdictReport): string {
  const suite = report.topology || 'topology';
  const classname = `quicmesh-lab.${suite}`;
  const counts = `tests="${report.verdicts.length}" failures="${report.failed}" errors="0" skipped="0"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="quicmesh-lab" ${counts}>`,
    `  <testsuite name="${escapeXml(suite)}" ${counts}>`,
    ...report.verdicts.map((v) => testcase(v, classname)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
