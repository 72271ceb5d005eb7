import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { parsePromText, sumBy, sumOf } from '../../cli/ui/prom-text.js';

describe('parsePromText', () => {
  it('reads samples, labels, special values, timestamps and HELP/TYPE', () => {
    const text = [
      '# HELP quicmesh_x_total Things, with a \\\\ and a \\n newline',
      '# TYPE quicmesh_x_total counter',
      'quicmesh_x_total{kind="direct",note="a \\"quoted\\" \\\\ value, {x}"} 3 1700000000000',
      'quicmesh_x_total{kind="relayed",} 1.5e2',
      '# a free comment',
      '',
      'quicmesh_gauge NaN',
      'quicmesh_h_bucket{le="+Inf"} +Inf',
      'quicmesh_neg -Inf',
    ].join('\n');
    const { samples, families } = parsePromText(text);
    expect(samples).toHaveLength(5);
    expect(samples[0]).toEqual({ name: 'quicmesh_x_total', labels: { kind: 'direct', note: 'a "quoted" \\ value, {x}' }, value: 3 });
    expect(samples[1]!.value).toBe(150);
    expect(samples[2]!.value).toBeNaN();
    expect(samples[3]).toEqual({ name: 'quicmesh_h_bucket', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY });
    expect(samples[4]!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(families.get('quicmesh_x_total')).toEqual({ type: 'counter', help: 'Things, with a \\ and a \n newline' });
    expect(sumOf(samples, 'quicmesh_x_total')).toBe(153);
    expect(sumOf(samples, 'quicmesh_x_total', { kind: 'relayed' })).toBe(150);
    expect(sumOf(samples, 'quicmesh_absent')).toBeNull();
    expect([...sumBy(samples, 'quicmesh_x_total', 'kind')]).toEqual([
      ['direct', 3],
      ['relayed', 150],
    ]);
  });

  it('names the line of malformed input', () => {
    const bad = ['ok_metric 1', 'broken{kind="x" 2'].join('\n');
    expect(() => parsePromText(bad)).toThrow(DecodeError);
    expect(() => parsePromText(bad)).toThrow(/^line 2: /);
    expect(() => parsePromText('m{k="unterminated} 1')).toThrow(/unterminated value of label k/);
    expect(() => parsePromText('m twelve')).toThrow(/line 1: bad value "twelve" for m/);
    expect(() => parsePromText('m 1 2 3')).toThrow(/expected "value \[timestamp\]"/);
    expect(() => parsePromText('{k="v"} 1')).toThrow(/expected a metric name/);
  });

  it("parses prom-client's own exposition of every metric kind", async () => {
    const m = new PromMetrics();
    m.counter('quicmesh_requests_total', 'Requests', ['type', 'result']).inc({ type: 'Ping', result: 'ok' }, 2);
    m.gauge('quicmesh_path_state', 'Paths', ['kind']).set(3, { kind: 'direct' });
    m.histogram('quicmesh_path_rtt_seconds', 'RTT', ['kind'], [0.01, 0.1]).observe(0.05, { kind: 'direct' });
    const { samples, families } = parsePromText(await m.metricsText());
    expect(sumOf(samples, 'quicmesh_requests_total', { type: 'Ping' })).toBe(2);
    expect(sumOf(samples, 'quicmesh_path_state', { kind: 'direct' })).toBe(3);
    expect(sumOf(samples, 'quicmesh_path_rtt_seconds_count', { kind: 'direct' })).toBe(1);
    expect(sumOf(samples, 'quicmesh_path_rtt_seconds_sum', { kind: 'direct' })).toBeCloseTo(0.05);
    expect(sumOf(samples, 'quicmesh_path_rtt_seconds_bucket', { kind: 'direct', le: '0.01' })).toBe(0);
    expect(families.get('quicmesh_path_rtt_seconds')?.type).toBe('histogram');
  });
});
