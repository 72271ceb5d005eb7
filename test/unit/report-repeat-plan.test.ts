import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { Expectation } from '../../cli/topology/model.js';
import {
  DEFAULT_AUTO_REPEAT,
  parseRepeat,
  repeatsNeeded,
  runWithPlan,
} from '../../cli/lab/verdicts/repeat-plan.js';
import { wilsonInterval } from '../../cli/lab/verdicts/stats.js';
import { down, expectation, ok } from '../support/report-runs.js';

describe('--repeat N and --repeat auto', () => {
  it('parses the flag', () => {
    expect(parseRepeat('3')).toEqual({ mode: 'fixed', count: 3 });
    expect(parseRepeat(7)).toEqual({ mode: 'fixed', count: 7 });
    expect(parseRepeat('auto')).toEqual({ mode: 'auto', ...DEFAULT_AUTO_REPEAT });
    for (const bad of ['0', '-1', '2.5', 'often', ''])
      expect(() => parseRepeat(bad)).toThrow(
        new ConfigError(`--repeat: expected a whole number ≥ 1 or "auto", got ${bad}`),
      );
    expect(() => parseRepeat('auto', { min: 5, max: 4, ciWidth: 0.2 })).toThrow(
      /--max-repeat: expected a whole number ≥ --min-repeat \(5\), got 4/,
    );
    expect(() => parseRepeat('auto', { min: 0, max: 4, ciWidth: 0.2 })).toThrow(/--min-repeat/);
    expect(() => parseRepeat('auto', { min: 1, max: 4, ciWidth: 0 })).toThrow(
      /--ci-width: expected a number in \(0, 1\], got 0/,
    );
  });

  it('asks for repeats until the interval is narrow enough or the cap is reached', () => {
    const limits = { min: 5, max: 50, ciWidth: 0.2 };
    expect(repeatsNeeded(0, 0, limits)).toBe(5);
    // 5/5: the interval is [0.57, 1]; 16 of 16 would be narrow enough
    expect(repeatsNeeded(5, 5, limits)).toBe(11);
    expect(repeatsNeeded(16, 16, limits)).toBe(0);
    const w = wilsonInterval(16, 16);
    expect(w.high - w.low).toBeLessThanOrEqual(0.2);
    // a coin flip never gets there: up to the cap
    expect(repeatsNeeded(5, 10, limits)).toBe(40);
    expect(repeatsNeeded(25, 50, limits)).toBe(0);
  });

  it('runs rounds until every pair is done, all open pairs together', async () => {
    const clean = expectation('a', 'b', 'direct');
    const flaky = expectation('a', 'c', 'direct');
    const alsoClean = expectation('a', 'c', 'any'); // same pair as flaky: probed with it
    const rounds: { pairs: string[]; repeat: number }[] = [];
    let flips = 0;
    const results = await runWithPlan(
      [clean, flaky, alsoClean],
      { mode: 'auto', min: 5, max: 30, ciWidth: 0.2 },
      async (exps, repeat) => {
        rounds.push({ pairs: [...new Set(exps.map((e) => `${e.from}>${e.to}`))], repeat });
        return exps.map((e: Expectation) => ({
          expectation: e,
          repeats: Array.from({ length: repeat }, () =>
            e.to === 'c' && flips++ % 2 === 0 ? down() : ok('direct', 30),
          ),
        }));
      },
    );
    expect(rounds[0]).toEqual({ pairs: ['a>b', 'a>c'], repeat: 5 });
    expect(rounds[1]).toEqual({ pairs: ['a>b', 'a>c'], repeat: 11 });
    expect(rounds.slice(2).every((r) => r.pairs.join() === 'a>c')).toBe(true);
    const byText = new Map(results.map((r) => [r.expectation, r.repeats.length]));
    expect(byText.get(clean)).toBe(16);
    expect(byText.get(flaky)).toBe(30);
    expect(byText.get(alsoClean)).toBe(30);
  });

  it('runs a fixed count once, and stops on a runner that returns nothing', async () => {
    const e = expectation('a', 'b');
    const calls: number[] = [];
    await runWithPlan([e], { mode: 'fixed', count: 4 }, async (exps, n) => {
      calls.push(n);
      return exps.map((x) => ({ expectation: x, repeats: [] }));
    });
    expect(calls).toEqual([4]);
    const results = await runWithPlan(
      [e],
      { mode: 'auto', min: 5, max: 50, ciWidth: 0.2 },
      async (exps, n) => {
        calls.push(n);
        return exps.map((x) => ({ expectation: x, repeats: [] }));
      },
    );
    expect(calls).toEqual([4, 5]);
    expect(results[0]!.repeats).toEqual([]);
  });
});
