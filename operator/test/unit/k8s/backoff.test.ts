import { describe, expect, it } from '@jest/globals';
import { jitteredBackoffMs, sleep } from '../../../src/k8s/backoff.js';

const low = () => 0;
const high = () => 0.999999;

describe('jitteredBackoffMs', () => {
  it('waits within [nominal/2, nominal], nominal doubling from the base', () => {
    for (const [attempt, nominal] of [
      [1, 500],
      [2, 1_000],
      [3, 2_000],
      [6, 16_000],
    ] as const) {
      expect(jitteredBackoffMs(attempt, 500, 30_000, low)).toBe(nominal / 2);
      expect(jitteredBackoffMs(attempt, 500, 30_000, () => 0.5)).toBe(0.75 * nominal);
      expect(jitteredBackoffMs(attempt, 500, 30_000, high)).toBe(nominal);
      for (let i = 0; i < 50; i++) {
        const d = jitteredBackoffMs(attempt, 500, 30_000);
        expect(d).toBeGreaterThanOrEqual(nominal / 2);
        expect(d).toBeLessThanOrEqual(nominal);
      }
    }
    // A watch that closed at once: [25, 50].
    expect(jitteredBackoffMs(1, 50, 100, low)).toBe(25);
    expect(jitteredBackoffMs(1, 50, 100, high)).toBe(50);
  });

  it('once capped waits within [max/2, 3max/4], however many failures', () => {
    for (const attempt of [7, 8, 50, 1_000, 1e9]) {
      expect(jitteredBackoffMs(attempt, 500, 30_000, low)).toBe(15_000);
      expect(jitteredBackoffMs(attempt, 500, 30_000, () => 0.5)).toBe(22_500);
      expect(jitteredBackoffMs(attempt, 500, 30_000, high)).toBe(22_500);
    }
  });

  it('counts attempts below 1 as the first', () => {
    expect(jitteredBackoffMs(0, 500, 30_000, low)).toBe(250);
    expect(jitteredBackoffMs(-3, 500, 30_000, high)).toBe(500);
  });
});

describe('sleep', () => {
  it('resolves after the delay, at once when aborted, and at once when already aborted', async () => {
    const t0 = Date.now();
    await sleep(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const started = Date.now();
    const pending = sleep(60_000, ac.signal);
    ac.abort();
    await pending;
    expect(Date.now() - started).toBeLessThan(5_000);
    await sleep(60_000, ac.signal);
  });
});
