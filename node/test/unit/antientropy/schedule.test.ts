import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT } from '@meshcache/proto';
import {
  DEFAULT_ANTI_ENTROPY_OPTIONS,
  validateAntiEntropyOptions,
  type AntiEntropyOptions,
} from '../../../src/antientropy/AntiEntropyOptions.js';
import { AntiEntropySchedule, scheduleKey } from '../../../src/antientropy/AntiEntropySchedule.js';
import { newAntiEntropyStats } from '../../../src/antientropy/AntiEntropyStats.js';
import { RoundLedger } from '../../../src/antientropy/RoundLedger.js';
import { slotMask } from '../../../src/antientropy/slotSet.js';
import type { Random } from '../../../src/membership/runtime.js';

/** Returns the values given, in turn. */
function fixedRandom(...values: number[]): Random {
  let i = 0;
  return { next: () => values[i++ % values.length]! };
}

describe('AntiEntropySchedule', () => {
  const options = { antiEntropyMinIntervalMs: 30_000, antiEntropyMaxIntervalMs: 300_000 };
  const key = scheduleKey('b', 'default');

  it('doubles the interval after clean rounds up to the maximum, and resets it after a repair', () => {
    const s = new AntiEntropySchedule(options, fixedRandom(0));
    expect(s.first(key)).toBe(0);
    const clean = [1, 2, 3, 4, 5].map(() => s.next(key, 'clean'));
    expect(clean).toEqual([60_000, 120_000, 240_000, 300_000, 300_000]);
    expect(s.next(key, 'repaired')).toBe(30_000);
    expect(s.next(key, 'clean')).toBe(60_000);
  });

  it('backs off after failures too', () => {
    const s = new AntiEntropySchedule(options, fixedRandom(0));
    expect([s.next(key, 'failed'), s.next(key, 'failed'), s.next(key, 'clean')]).toEqual([
      60_000, 120_000, 240_000,
    ]);
  });

  it('jitters each delay down by at most the spread, never above the interval', () => {
    const s = new AntiEntropySchedule(options, fixedRandom(0.999999, 0.5), 0.2);
    const a = s.next(key, 'repaired');
    const b = s.next(key, 'repaired');
    expect(a).toBeGreaterThanOrEqual(30_000 * 0.8);
    expect(a).toBeLessThan(30_000 * 0.8 + 1);
    expect(b).toBe(30_000 * 0.9);
    expect(s.interval(key)).toBe(30_000);
  });

  it('spreads first rounds over the minimum interval and keeps keys apart', () => {
    const s = new AntiEntropySchedule(options, fixedRandom(0.25));
    expect(s.first(key)).toBe(7_500);
    s.next(key, 'clean');
    const other = scheduleKey('c', 'default');
    expect(s.interval(other)).toBe(30_000);
    expect(s.interval(key)).toBe(60_000);
    s.forget(key);
    expect(s.interval(key)).toBe(30_000);
  });
});

describe('validateAntiEntropyOptions', () => {
  const GRACE = 600_000;
  const with_ = (o: Partial<AntiEntropyOptions>): AntiEntropyOptions => ({
    ...DEFAULT_ANTI_ENTROPY_OPTIONS,
    ...o,
  });

  it('accepts the defaults with the default grace', () => {
    expect(() => validateAntiEntropyOptions(DEFAULT_ANTI_ENTROPY_OPTIONS, GRACE)).not.toThrow();
  });

  it('names both fields and their values when the maximum is not below tombstoneGraceMs', () => {
    expect(() => validateAntiEntropyOptions(with_({ antiEntropyMaxIntervalMs: GRACE }), GRACE)).toThrow(
      /^antiEntropyMaxIntervalMs \(600000\) must be below tombstoneGraceMs \(600000\)/,
    );
  });

  it('names the field that is wrong', () => {
    const cases: [Partial<AntiEntropyOptions>, RegExp][] = [
      [
        { antiEntropyMaxIntervalMs: 30_000 },
        /antiEntropyMaxIntervalMs \(30000\) must be above antiEntropyMinIntervalMs \(30000\)/,
      ],
      [{ antiEntropyMinIntervalMs: 999 }, /antiEntropyMinIntervalMs must be an integer >= 1000, got 999/],
      [{ antiEntropyMinIntervalMs: 1.5e3 + 0.5 }, /antiEntropyMinIntervalMs/],
      [{ antiEntropyLeafSlots: 0 }, /antiEntropyLeafSlots must be an integer in \[1, 16384\], got 0/],
      [{ antiEntropyLeafSlots: SLOT_COUNT + 1 }, /antiEntropyLeafSlots/],
      [{ antiEntropyScanWork: 0 }, /antiEntropyScanWork/],
      [{ antiEntropyCutoffMarginMs: -1 }, /antiEntropyCutoffMarginMs/],
      [
        { antiEntropyRepairSlots: Number.NaN },
        /antiEntropyRepairSlots must be an integer in \[1, 16384\], got NaN/,
      ],
    ];
    for (const [o, message] of cases)
      expect(() => validateAntiEntropyOptions(with_(o), GRACE)).toThrow(message);
  });
});

describe('RoundLedger', () => {
  const replicas = new Map<number, string[]>([
    [7, ['a', 'b', 'c']],
    [8, ['a', 'b']],
    [9, ['a']],
  ]);
  const ledger = () => {
    const stats = newAntiEntropyStats();
    return { stats, l: new RoundLedger('a', (_cache, slot) => replicas.get(slot) ?? [], stats) };
  };

  it('vouches for a slot only once a round has completed with every other current replica', () => {
    const { l } = ledger();
    expect(l.coveredSince('x', 7)).toBeUndefined();
    l.record('x', 'b', slotMask([7, 8]), 1000);
    expect(l.coveredSince('x', 7)).toBeUndefined();
    expect(l.coveredSince('x', 8)).toBe(1000);
    l.record('x', 'c', slotMask([7]), 2000);
    expect(l.coveredSince('x', 7)).toBe(1000);
    l.record('x', 'b', slotMask([7]), 3000);
    expect(l.coveredSince('x', 7)).toBe(2000);
    expect(l.coveredSince('other-cache', 7)).toBeUndefined();
  });

  it('keeps the latest start when rounds complete out of order', () => {
    const { l } = ledger();
    l.record('x', 'b', slotMask([8]), 5000);
    l.record('x', 'b', slotMask([8]), 4000);
    expect(l.coveredSince('x', 8)).toBe(5000);
  });

  it('a slot with no other replica is covered vacuously', () => {
    expect(ledger().l.coveredSince('x', 9)).toBe(Infinity);
  });

  it('allows a purge only for tombstones written before the covering round started, counting refusals', () => {
    const { l, stats } = ledger();
    l.record('x', 'b', slotMask([8]), 1000);
    expect(l.mayPurge('x', 8, 999)).toBe(true);
    expect(l.mayPurge('x', 8, 1000)).toBe(false);
    expect(l.mayPurge('x', 7, 0)).toBe(false);
    expect(stats.tombstonePurgesBlocked).toBe(2);
  });

  it('a peer forgotten (or a new replica) must be covered again', () => {
    const { l } = ledger();
    l.record('x', 'b', slotMask([8]), 1000);
    l.forgetPeer('b');
    expect(l.coveredSince('x', 8)).toBeUndefined();
  });
});
