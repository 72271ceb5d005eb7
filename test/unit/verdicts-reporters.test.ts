import { describe, expect, it } from 'vitest';
import type { PathKind } from '../../cli/topology/model.js';
import {
  computeVerdicts,
  escapeXml,
  formatMatrix,
  formatReport,
  toJUnitXml,
  toJsonReport,
  type Observation,
} from '../../cli/lab/verdicts/index.js';

function expectation(from: string, to: string, path: PathKind, line: number) {
  const text = `${from} -> ${to}: ${path}`;
  return { text, source: text, from, to, path, withinMs: null, line };
}
const ok = (path: Observation['path'], ms: number): Observation => ({
  connected: true,
  path,
  timeToConnectMs: ms,
});
const times = (n: number, o: Observation): Observation[] => Array.from({ length: n }, () => o);

const REPORT = computeVerdicts(
  [
    { expectation: expectation('alice', 'bob', 'direct', 20), repeats: times(20, ok('hole-punched', 40)) },
    {
      expectation: expectation('alice', 'carol', 'any', 21),
      repeats: [...times(19, ok('relayed', 300)), ok('direct', 80)],
    },
    {
      expectation: expectation('bob', 'carol', 'hole-punched', 22),
      repeats: [
        ...times(3, ok('hole-punched', 60)),
        ...times(16, ok('relayed', 250)),
        { connected: false, path: null, timeToConnectMs: null, error: 'peer <gone> & "lost"\u0007' },
      ],
    },
  ],
  { topology: 'mini' },
);

describe('verdict reporters', () => {
  it('prints a from × to matrix with a summary and the failures', () => {
    expect(formatMatrix(REPORT)).toBe(
      [
        'from \\ to  bob           carol',
        'alice      direct 20/20  relayed 20/20',
        'bob        ·             hole-punched 3/20 ✗',
        '',
      ].join('\n'),
    );
    expect(formatReport(REPORT)).toBe(
      `${formatMatrix(REPORT)}\n` +
        'mini: 2/3 expectations passed (threshold 100% of repeats) — FAILED\n' +
        '✗ bob -> carol: hole-punched (line 22): 3/20 satisfied — path relayed, expected hole-punched ×16; not connected: peer <gone> & "lost"\\x07\n',
    );
  });

  it('writes JUnit XML, escaped and free of forbidden characters', () => {
    expect(toJUnitXml(REPORT)).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="quicmesh-lab" tests="3" failures="1" errors="0" skipped="0">',
        '  <testsuite name="mini" tests="3" failures="1" errors="0" skipped="0">',
        '    <testcase classname="quicmesh-lab.mini" name="alice -&gt; bob: direct">',
        '      <system-out>repeats=20 satisfied=20 p50=40ms p95=40ms paths: hole-punched=20</system-out>',
        '    </testcase>',
        '    <testcase classname="quicmesh-lab.mini" name="alice -&gt; carol: any">',
        '      <system-out>repeats=20 satisfied=20 p50=300ms p95=300ms paths: direct=1 relayed=19</system-out>',
        '    </testcase>',
        '    <testcase classname="quicmesh-lab.mini" name="bob -&gt; carol: hole-punched">',
        '      <failure type="expectation" message="3/20 repeats satisfied bob -&gt; carol: hole-punched">path relayed, expected hole-punched (×16)',
        'not connected: peer &lt;gone&gt; &amp; &quot;lost&quot; (×1)</failure>',
        '      <system-out>repeats=20 satisfied=3 p50=250ms p95=250ms paths: hole-punched=3 relayed=16 failed=1</system-out>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('escapes XML text', () => {
    expect(escapeXml(`a<b>&"c"'d'\u0000\u001f\ud800x\tok`)).toBe(
      'a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;x\tok',
    );
  });

  it('produces the JSON report', () => {
    const json = toJsonReport(REPORT);
    expect(json).toMatchObject({
      version: 2,
      topology: 'mini',
      run: { startedAt: null, label: null, backend: null, natState: null, repeat: null },
      confidence: 0.95,
      passThreshold: 1,
      pass: false,
      passed: 2,
      failed: 1,
    });
    const { successInterval, samples, ...rest } = json.expectations[2]!;
    expect(successInterval.low).toBeCloseTo(0.0524, 4);
    expect(successInterval.high).toBeCloseTo(0.3604, 4);
    expect(samples).toHaveLength(20);
    expect(samples.slice(2, 4)).toEqual([
      { path: 'hole-punched', ms: 60, ok: true },
      { path: 'relayed', ms: 250, ok: false },
    ]);
    expect(samples[19]).toEqual({ path: 'failed', ms: null, ok: false });
    expect(rest).toEqual({
      text: 'bob -> carol: hole-punched',
      source: 'bob -> carol: hole-punched',
      line: 22,
      from: 'bob',
      to: 'carol',
      path: 'hole-punched',
      withinMs: null,
      repeats: 20,
      satisfied: 3,
      successRate: 0.15,
      pass: false,
      timeToConnectMs: { p50: 250, p95: 250 },
      paths: { direct: 0, 'hole-punched': 3, relayed: 16, failed: 1, unknown: 0 },
      reasons: [
        { reason: 'path relayed, expected hole-punched', count: 16 },
        { reason: 'not connected: peer <gone> & "lost"\u0007', count: 1 },
      ],
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
