import { describe, expect, it } from '@jest/globals';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelayMs, backoffProblem } from '../../src/backoff.js';

const options: BackoffOptions = {
  initialDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 1_000,
  jitterFraction: 0.2,
};
const mid = () => 0.5; // no jitter: the nominal delay
const low = () => 0;
const high = () => 0.999999;

describe('backoffDelayMs', () => {
  it('grows by the multiplier from the initial delay', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, options, mid))).toEqual([100, 200, 400, 800]);
    const triple = { ...options, multiplier: 3, maxDelayMs: 10_000 };
    expect([1, 2, 3].map((n) => backoffDelayMs(n, triple, mid))).toEqual([100, 300, 900]);
    const flat = { ...options, multiplier: 1 };
    expect([1, 5, 1e9, Infinity].map((n) => backoffDelayMs(n, flat, mid))).toEqual([100, 100, 100, 100]);
  });

  it('uses DEFAULT_BACKOFF and Math.random when given no options', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(1);
      expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.initialDelayMs * (1 - DEFAULT_BACKOFF.jitterFraction));
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.initialDelayMs * (1 + DEFAULT_BACKOFF.jitterFraction));
    }
  });

  it('never exceeds the cap, jitter included, however many attempts', () => {
    for (const n of [4, 5, 6, 10, 100, 1_000, 1e9, Infinity]) {
      for (const random of [low, mid, high, Math.random]) {
        expect(backoffDelayMs(n, options, random)).toBeLessThanOrEqual(options.maxDelayMs);
      }
    }
    expect(backoffDelayMs(5, options, mid)).toBe(1_000); // 1600 nominal, capped
    expect(backoffDelayMs(100, options, high)).toBe(1_000);
    // Jitter still spreads the capped delay downwards.
    expect(backoffDelayMs(100, options, low)).toBe(800);
  });

  it('spreads each delay uniformly over +-jitterFraction of its nominal value', () => {
    expect(backoffDelayMs(3, options, low)).toBe(320);
    expect(backoffDelayMs(3, options, high)).toBe(480);
    expect(backoffDelayMs(3, options, () => 0.25)).toBe(360);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const d = backoffDelayMs(3, options);
      expect(d).toBeGreaterThanOrEqual(320);
      expect(d).toBeLessThanOrEqual(480);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(20);
    // Full jitter reaches down to zero, never below.
    expect(backoffDelayMs(1, { ...options, jitterFraction: 1 }, low)).toBe(0);
  });

  it('treats attempts below 1 (and fractions, and NaN) as the floor, at least the first', () => {
    for (const n of [0, -1, -1e9, 0.5, -Infinity, NaN]) {
      expect(backoffDelayMs(n, options, mid)).toBe(100);
    }
    expect(backoffDelayMs(2.9, options, mid)).toBe(200);
  });

  it('draws exactly one random number per delay', () => {
    let draws = 0;
    const counting = () => {
      draws++;
      return 0.5;
    };
    backoffDelayMs(1, options, counting);
    backoffDelayMs(50, options, counting);
    expect(draws).toBe(2);
  });
});

describe('backoffProblem', () => {
  it('accepts the defaults and sensible options', () => {
    expect(backoffProblem(DEFAULT_BACKOFF)).toBeUndefined();
    expect(backoffProblem(options)).toBeUndefined();
    expect(backoffProblem({ ...options, multiplier: 1, maxDelayMs: 100, jitterFraction: 1 })).toBeUndefined();
  });

  it('names what is wrong', () => {
    const cases: [Partial<BackoffOptions>, string][] = [
      [{ initialDelayMs: 0 }, 'initialDelayMs must be > 0'],
      [{ initialDelayMs: -5 }, 'initialDelayMs must be > 0'],
      [{ initialDelayMs: NaN }, 'initialDelayMs must be > 0'],
      [{ initialDelayMs: Infinity }, 'initialDelayMs must be > 0'],
      [{ multiplier: 0.5 }, 'multiplier must be >= 1'],
      [{ multiplier: NaN }, 'multiplier must be >= 1'],
      [{ multiplier: Infinity }, 'multiplier must be >= 1'],
      [{ maxDelayMs: 50 }, 'maxDelayMs must be >= initialDelayMs'],
      [{ maxDelayMs: Infinity }, 'maxDelayMs must be >= initialDelayMs'],
      [{ jitterFraction: 0 }, 'jitterFraction must be in (0, 1]'],
      [{ jitterFraction: -0.1 }, 'jitterFraction must be in (0, 1]'],
      [{ jitterFraction: 1.5 }, 'jitterFraction must be in (0, 1]'],
      [{ jitterFraction: NaN }, 'jitterFraction must be in (0, 1]'],
    ];
    for (const [change, message] of cases) {
      expect(backoffProblem({ ...options, ...change })).toBe(message);
    }
  });
});
