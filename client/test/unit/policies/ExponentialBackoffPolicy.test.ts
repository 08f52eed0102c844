import { describe, expect, it } from '@jest/globals';
import { OpType, SetCondition } from '@meshcache/proto';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import {
  BACKOFF_INITIAL_DELAY_MS,
  BACKOFF_JITTER_FRACTION,
  BACKOFF_MAX_DELAY_MS,
  BACKOFF_MULTIPLIER,
  ExponentialBackoffPolicy,
} from '../../../src/policies/ExponentialBackoffPolicy.js';
import { IdempotentRetryPolicy } from '../../../src/policies/IdempotentRetryPolicy.js';

describe('ExponentialBackoffPolicy', () => {
  it('grows exponentially from the initial delay (no randomness at the midpoint)', () => {
    const policy = new ExponentialBackoffPolicy({ random: () => 0.5 });
    expect(policy.delayMs(1)).toBe(BACKOFF_INITIAL_DELAY_MS);
    expect(policy.delayMs(2)).toBe(BACKOFF_INITIAL_DELAY_MS * BACKOFF_MULTIPLIER);
    expect(policy.delayMs(3)).toBe(BACKOFF_INITIAL_DELAY_MS * BACKOFF_MULTIPLIER ** 2);
  });

  it('is always jittered within +-jitterFraction', () => {
    const low = new ExponentialBackoffPolicy({ random: () => 0 });
    const high = new ExponentialBackoffPolicy({ random: () => 0.999999 });
    expect(low.delayMs(1)).toBe(Math.round(BACKOFF_INITIAL_DELAY_MS * (1 - BACKOFF_JITTER_FRACTION)));
    expect(high.delayMs(1)).toBe(Math.round(BACKOFF_INITIAL_DELAY_MS * (1 + BACKOFF_JITTER_FRACTION)));
    const policy = new ExponentialBackoffPolicy();
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = policy.delayMs(3);
      const nominal = BACKOFF_INITIAL_DELAY_MS * BACKOFF_MULTIPLIER ** 2;
      expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - BACKOFF_JITTER_FRACTION)));
      expect(d).toBeLessThanOrEqual(Math.ceil(nominal * (1 + BACKOFF_JITTER_FRACTION)));
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('never exceeds the cap, jitter included, however many attempts', () => {
    const policy = new ExponentialBackoffPolicy({ random: () => 0.999999 });
    for (const attempt of [10, 20, 100, 1_000, 1e9]) {
      expect(policy.delayMs(attempt)).toBeLessThanOrEqual(BACKOFF_MAX_DELAY_MS);
    }
    expect(policy.delayMs(100)).toBe(BACKOFF_MAX_DELAY_MS);
    const low = new ExponentialBackoffPolicy({ random: () => 0 });
    expect(low.delayMs(100)).toBe(Math.round(BACKOFF_MAX_DELAY_MS * (1 - BACKOFF_JITTER_FRACTION)));
  });

  it('is bounded below by zero and never gives up', () => {
    const policy = new ExponentialBackoffPolicy({ initialDelayMs: 1, jitterFraction: 1, random: () => 0 });
    expect(policy.delayMs(1)).toBe(0);
    expect(policy.delayMs(0)).toBe(0);
    expect(new ExponentialBackoffPolicy().delayMs(1e6)).toBeDefined();
  });

  it('validates its settings', () => {
    const bad = [
      { initialDelayMs: 0 },
      { multiplier: 0.5 },
      { maxDelayMs: 10, initialDelayMs: 20 },
      { jitterFraction: 0 },
      { jitterFraction: 1.5 },
    ];
    for (const options of bad) {
      expect(() => new ExponentialBackoffPolicy(options)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
      );
    }
  });
});

describe('IdempotentRetryPolicy', () => {
  const policy = new IdempotentRetryPolicy();
  const retried = (type: OpType, condition: SetCondition = SetCondition.ALWAYS): boolean =>
    policy.retryAfterConnectionLoss({ type, condition });

  it('retries reads, plain writes, deletes and touches', () => {
    for (const type of [
      OpType.GET,
      OpType.GET_MANY,
      OpType.DELETE,
      OpType.SET,
      OpType.SET_MANY,
      OpType.TOUCH,
    ]) {
      expect(retried(type)).toBe(true);
    }
  });

  it('never retries increments, compare-and-set or conditional sets', () => {
    expect(retried(OpType.INCREMENT)).toBe(false);
    expect(retried(OpType.COMPARE_AND_SET)).toBe(false);
    expect(retried(OpType.SET, SetCondition.IF_ABSENT)).toBe(false);
    expect(retried(OpType.SET, SetCondition.IF_PRESENT)).toBe(false);
  });
});
