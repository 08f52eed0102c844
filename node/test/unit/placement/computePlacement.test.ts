import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT } from '@meshcache/proto';
import fc from 'fast-check';
import { computePlacement, type PlacementMember } from '../../../src/placement/computePlacement.js';
import {
  balanceOf,
  copiesMinimum,
  movementBetween,
  rangesOf,
  zoneViolations,
} from '../../../src/placement/placementStats.js';

const membersOf = (n: number, zones: number[]): PlacementMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `m${i}`, zone: `z${zones[i % zones.length]}` }));

/** A cluster: size, zone of each node (0 = all in one zone), replication factor. */
const cluster = fc.record({
  n: fc.integer({ min: 1, max: 16 }),
  zones: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 16 }),
  rf: fc.integer({ min: 1, max: 3 }),
  change: fc.constantFrom('join', 'leave', 'join2', 'leave2', 'swap'),
  pick: fc.nat(),
});

function applyChange(members: PlacementMember[], change: string, pick: number): PlacementMember[] {
  const out = [...members];
  const drop = () => out.splice(pick % out.length, 1);
  if (change === 'join' || change === 'join2' || change === 'swap')
    out.push({ id: `new-a`, zone: `z${pick % 3}` });
  if (change === 'join2') out.push({ id: `new-b`, zone: `z${(pick + 1) % 3}` });
  if ((change === 'leave' || change === 'leave2' || change === 'swap') && out.length > 1) drop();
  if (change === 'leave2' && out.length > 1) drop();
  return out;
}

function checkInvariants(members: PlacementMember[], rf: number, table: ReturnType<typeof computePlacement>) {
  const width = Math.min(rf, members.length);
  expect(table.width).toBe(width);
  const ids = new Set(members.map((m) => m.id));
  for (let s = 0; s < SLOT_COUNT; s += 7) {
    const list = table.replicas(s);
    expect(new Set(list).size).toBe(width);
    for (const id of list) expect(ids.has(id)).toBe(true);
  }
  expect(zoneViolations(table, members)).toBe(0);
  const b = balanceOf(table, members);
  expect(b.primaries).toBeLessThanOrEqual(1.05);
  if (b.replicasBound <= 1.05) expect(b.replicasVsShare).toBeLessThanOrEqual(1.05);
}

describe('computePlacement', () => {
  it('every slot gets distinct replicas, zones are respected, counts are balanced (any cluster, any change)', () => {
    fc.assert(
      fc.property(cluster, ({ n, zones, rf, change, pick }) => {
        const members = membersOf(n, zones);
        const first = computePlacement(undefined, members, rf);
        checkInvariants(members, rf, first);
        const after = applyChange(members, change, pick);
        const next = computePlacement(first, after, rf);
        checkInvariants(after, rf, next);
      }),
      { numRuns: 40 },
    );
  });

  it('is deterministic: the same inputs in any member order give the same table', () => {
    fc.assert(
      fc.property(cluster, ({ n, zones, rf, change, pick }) => {
        const members = membersOf(n, zones);
        const first = computePlacement(undefined, members, rf);
        const after = applyChange(members, change, pick);
        const a = computePlacement(first, after, rf);
        const b = computePlacement(first, [...after].reverse(), rf);
        expect(a.equals(b)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('keeps the table when the members do not change', () => {
    fc.assert(
      fc.property(cluster, ({ n, zones, rf, change, pick }) => {
        const members = applyChange(membersOf(n, zones), change, pick);
        const t = computePlacement(computePlacement(undefined, membersOf(n, zones), rf), members, rf);
        expect(computePlacement(t, members, rf).equals(t)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('moves close to the minimum on a join or a leave without zones (within 1.1x at 3..64 nodes)', () => {
    for (const n of [3, 5, 10, 24, 64]) {
      for (const rf of [1, 2, 3]) {
        const members = membersOf(n, [0]);
        const base = computePlacement(undefined, members, rf);
        const joined = [...members, { id: 'joiner', zone: 'z0' }];
        const left = members.filter((_, i) => i !== Math.floor(n / 2));
        for (const after of [joined, left]) {
          const next = computePlacement(base, after, rf);
          const min = copiesMinimum(base, after, next.width);
          expect(movementBetween(base, next).copies).toBeLessThanOrEqual(Math.max(1.1 * min, min + 2));
        }
      }
    }
  });

  it('moves within 1.6x of the minimum for any single change (zones included)', () => {
    fc.assert(
      fc.property(cluster, ({ n, zones, rf, change, pick }) => {
        fc.pre(change === 'join' || change === 'leave');
        const members = membersOf(n + 2, zones);
        const base = computePlacement(undefined, members, rf);
        const after = applyChange(members, change, pick);
        const next = computePlacement(base, after, rf);
        const min = copiesMinimum(base, after, next.width);
        expect(movementBetween(base, next).copies).toBeLessThanOrEqual(Math.max(1.6 * min, min + 2));
      }),
      { numRuns: 25 },
    );
  });

  it('keeps each node in few contiguous ranges after a change', () => {
    for (const n of [5, 10, 32]) {
      const members = membersOf(n, [0, 1, 2]);
      const base = computePlacement(undefined, members, 3);
      expect(rangesOf(base).heldAvg).toBeLessThanOrEqual(2);
      const next = computePlacement(base, [...members, { id: 'joiner', zone: 'z1' }], 3);
      expect(rangesOf(next).heldAvg).toBeLessThanOrEqual(4);
    }
  });

  it('fills a wider table when nodes join a cluster smaller than the replication factor', () => {
    const one = computePlacement(undefined, membersOf(1, [0]), 3);
    expect(one.width).toBe(1);
    const three = computePlacement(one, membersOf(3, [0]), 3);
    expect(three.width).toBe(3);
    // The first node keeps every slot it had (it only gains company).
    for (let s = 0; s < SLOT_COUNT; s += 101) expect(three.replicas(s)).toContain('m0');
  });

  it('rejects a bad replication factor and duplicate members', () => {
    expect(() => computePlacement(undefined, membersOf(2, [0]), 0)).toThrow(RangeError);
    expect(() =>
      computePlacement(
        undefined,
        [
          { id: 'a', zone: 'z' },
          { id: 'a', zone: 'z' },
        ],
        1,
      ),
    ).toThrow(/twice/);
    expect(computePlacement(undefined, [], 2).width).toBe(0);
  });
});
