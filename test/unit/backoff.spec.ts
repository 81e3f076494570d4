import type { BackoffOptions } from '../../lib';
import { backoffDelay } from '../../lib/task/backoff';

const exponential: Required<BackoffOptions> = { type: 'exponential', delayMs: 100, maxDelayMs: 1_000, jitter: false };

describe('backoffDelay', () => {
  it('doubles per attempt from delayMs', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(exponential, a))).toEqual([100, 200, 400, 800]);
  });

  it('caps at maxDelayMs', () => {
    expect([5, 6, 30].map((a) => backoffDelay(exponential, a))).toEqual([1_000, 1_000, 1_000]);
  });

  it('keeps a fixed delay whatever the attempt, still capped', () => {
    const fixed = { ...exponential, type: 'fixed' as const };
    expect([1, 2, 9].map((a) => backoffDelay(fixed, a))).toEqual([100, 100, 100]);
    expect(backoffDelay({ ...fixed, delayMs: 5_000 }, 1)).toBe(1_000);
  });

  it('draws jitter from [delay/2, delay] with the injected random source', () => {
    const jittered = { ...exponential, jitter: true };
    expect(backoffDelay(jittered, 3, () => 0)).toBe(200);
    expect(backoffDelay(jittered, 3, () => 0.5)).toBe(300);
    expect(backoffDelay(jittered, 3, () => 0.999_999)).toBe(400);
    expect(backoffDelay(jittered, 30, () => 0)).toBe(500);
  });

  it('uses Math.random by default, staying in range', () => {
    const jittered = { ...exponential, jitter: true };
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(jittered, 2);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(200);
    }
  });
});
