import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { balanceWindow } from '../../../src/placement/balanceWindow.js';
import { fairShares } from '../../../src/placement/fairShares.js';

/** Brute force: every integer count vector adding up to total, balanced within ratio over shares. */
function bruteForceMinimum(
  before: number[],
  shares: number[],
  total: number,
  ratio: number,
  cap: number,
): number {
  let best = Infinity;
  const n = before.length;
  const t = new Array<number>(n).fill(0);
  const rec = (i: number, left: number) => {
    if (i === n - 1) {
      if (left > cap) return;
      t[i] = left;
      const norm = t.map((x, k) => x / shares[k]!);
      if (Math.max(...norm) > ratio * Math.min(...norm) + 1e-9) return;
      const gains = t.reduce((a, x, k) => a + Math.max(0, x - before[k]!), 0);
      best = Math.min(best, gains);
      return;
    }
    for (let x = 0; x <= Math.min(left, cap); x++) {
      t[i] = x;
      rec(i + 1, left - x);
    }
  };
  rec(0, total);
  return best;
}

describe('balanceWindow', () => {
  it('finds the exact minimum number of units to gain (against brute force)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 2, maxLength: 4 }),
        fc.constantFrom(1.1, 1.25, 1.5),
        (before, ratio) => {
          const total = 40;
          const shares = before.map(() => total / before.length);
          const expected = bruteForceMinimum(before, shares, total, ratio, total);
          const w = balanceWindow(before, shares, total, ratio, total);
          if (expected === Infinity) expect(w).toBeUndefined();
          else expect(w!.cost).toBe(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives bounds that hold the total and keep the ratio', () => {
    const w = balanceWindow([100, 100, 100, 0], [75, 75, 75, 75], 300, 1.05, 1000)!;
    // The newcomer needs the smallest x with 3 * floor(1.05 x) >= 300 - x: 73.
    expect(w.cost).toBe(73);
    for (let i = 0; i < 4; i++) expect(w.hi[i]! / w.lo[i]!).toBeLessThanOrEqual(1.05 + 1e-9);
    expect([...w.lo].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(300);
    expect([...w.hi].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300);
  });
});

describe('fairShares', () => {
  it('splits evenly when zones do not bind', () => {
    expect([...fairShares(90, Int32Array.from([0, 1, 2]), [1000, 1000, 1000], 1000)]).toEqual([30, 30, 30]);
  });

  it('caps a small zone at its capacity and spreads the rest', () => {
    // Zone 0 has one node that may hold at most 10 units; the other 80 go evenly to zone 1's two nodes.
    expect([...fairShares(90, Int32Array.from([0, 1, 1]), [10, 1000], 1000)]).toEqual([10, 40, 40]);
    // A crowded zone: 3 nodes share a zone capacity of 30.
    expect([...fairShares(90, Int32Array.from([0, 0, 0, 1]), [30, 1000], 1000)]).toEqual([10, 10, 10, 60]);
  });
});
