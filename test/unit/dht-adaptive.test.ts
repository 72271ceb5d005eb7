import { describe, expect, it } from 'vitest';
import { ALPHA_DEFAULT, ALPHA_MAX, ALPHA_MIN, K_DEFAULT, K_MAX, K_MIN } from '../../src/constants.js';
import {
  ALPHA_WINDOW_LOOKUPS,
  AdaptiveAlpha,
  AdaptiveK,
  CHURN_HIGH_PER_HOUR,
  CHURN_NOMINAL_PER_HOUR,
  CHURN_WINDOW_MS,
  K_STEP,
  kForChurn,
} from '../../src/dht/adaptive.js';

describe('kForChurn', () => {
  it('maps zero, nominal and high churn to K_MIN, K_DEFAULT and K_MAX, monotonically', () => {
    expect(kForChurn(0)).toBe(K_MIN);
    expect(kForChurn(CHURN_NOMINAL_PER_HOUR)).toBe(K_DEFAULT);
    expect(kForChurn(CHURN_HIGH_PER_HOUR)).toBe(K_MAX);
    expect(kForChurn(10 * CHURN_HIGH_PER_HOUR)).toBe(K_MAX);
    let prev = 0;
    for (let r = 0; r <= 2 * CHURN_HIGH_PER_HOUR; r += 0.01) {
      const k = kForChurn(r);
      expect(k).toBeGreaterThanOrEqual(prev);
      prev = k;
    }
  });
});

describe('AdaptiveK', () => {
  it('starts at K_DEFAULT and only moves once per window, by at most K_STEP', () => {
    const a = new AdaptiveK(0);
    expect(a.value).toBe(K_DEFAULT);
    a.update(0, 0, 200); // first call sets the baseline
    // heavy churn: 200 evictions among 200 contacts in one window
    expect(a.update(CHURN_WINDOW_MS - 1, 200, 200)).toBe(K_DEFAULT);
    expect(a.update(CHURN_WINDOW_MS, 200, 200)).toBe(K_DEFAULT + K_STEP);
    expect(a.churnPerHour).toBeGreaterThan(CHURN_HIGH_PER_HOUR);
    let t = CHURN_WINDOW_MS;
    let ev = 200;
    for (let i = 0; i < 20; i++) a.update((t += CHURN_WINDOW_MS), (ev += 200), 200);
    expect(a.value).toBe(K_MAX);
  });

  it('drifts down toward K_MIN when nothing fails', () => {
    const a = new AdaptiveK(0);
    a.update(0, 0, 100);
    for (let i = 1; i <= 20; i++) a.update(i * CHURN_WINDOW_MS, 0, 100);
    expect(a.value).toBe(K_MIN);
  });

  it('leaves k alone while the table is too small to measure', () => {
    const a = new AdaptiveK(0);
    a.update(0, 0, 3);
    expect(a.update(CHURN_WINDOW_MS, 50, 3)).toBe(K_DEFAULT);
    expect(a.churnPerHour).toBeUndefined();
  });
});

describe('AdaptiveAlpha', () => {
  it('starts at ALPHA_DEFAULT, rises on failures and falls on clean windows, within 2..5', () => {
    const a = new AdaptiveAlpha();
    expect(a.value).toBe(ALPHA_DEFAULT);
    for (let w = 0; w < 5; w++) for (let i = 0; i < ALPHA_WINDOW_LOOKUPS; i++) a.record(5, 5);
    expect(a.value).toBe(ALPHA_MAX);
    expect(a.successRate).toBe(0.5);
    for (let w = 0; w < 6; w++) for (let i = 0; i < ALPHA_WINDOW_LOOKUPS; i++) a.record(10, 0);
    expect(a.value).toBe(ALPHA_MIN);
  });

  it('holds α in the band between the thresholds, and counts an empty lookup as a failure', () => {
    const a = new AdaptiveAlpha({ initial: 4, windowLookups: 2 });
    a.record(9, 1);
    expect(a.record(9, 1)).toBe(4); // 90 %: between thresholds
    a.record(0, 0);
    expect(a.record(0, 0)).toBe(5);
  });
});
