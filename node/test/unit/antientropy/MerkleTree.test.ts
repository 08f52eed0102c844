import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT } from '@meshcache/proto';
import {
  MerkleTree,
  differingRanges,
  differingSlots,
  sameDigest,
} from '../../../src/antientropy/MerkleTree.js';
import { SlotDigests } from '../../../src/antientropy/SlotDigests.js';

/** Digests with one arbitrary item in each of `slots`; `tweak` slots get a different one. */
function digests(slots: Iterable<number>, tweak: readonly number[] = []): SlotDigests {
  const d = new SlotDigests(0);
  for (const s of slots) {
    d.addFields(s, Buffer.from(`k${s}`), Buffer.from(tweak.includes(s) ? 'other' : 'v'), 1, 1, false, 0);
  }
  return d;
}

/** Every third slot, as a replica pair might share. */
const SHARED = Uint16Array.from({ length: 5461 }, (_, i) => i * 3);

describe('MerkleTree', () => {
  it('has ceil(slots / leafSlots) ranges and equal roots over equal digests', () => {
    const a = new MerkleTree(digests(SHARED), SHARED, 64);
    const b = new MerkleTree(digests(SHARED), SHARED, 64);
    expect(a.rangeCount).toBe(86);
    expect(a.rangeDigests().length).toBe(86 * 16);
    expect(a.rangeSlots(85).length).toBe(5461 - 85 * 64);
    expect(sameDigest(a.root, b.root)).toBe(true);
    expect(differingRanges(a.rangeDigests(), b.rangeDigests())).toEqual([]);
  });

  it('finds the ranges, then the slots, that differ', () => {
    const changed = [SHARED[0]!, SHARED[70]!, SHARED[100]!, SHARED[5460]!];
    const mine = new MerkleTree(digests(SHARED), SHARED, 64);
    const theirs = new MerkleTree(digests(SHARED, changed), SHARED, 64);
    expect(sameDigest(mine.root, theirs.root)).toBe(false);
    const ranges = differingRanges(mine.rangeDigests(), theirs.rangeDigests());
    expect(ranges).toEqual([0, 1, 85]);
    const slots = mine.slotsOf(ranges);
    expect(slots.length).toBe(64 + 64 + 21);
    expect(differingSlots(slots, mine.slotDigestsOf(ranges), theirs.slotDigestsOf(ranges))).toEqual(changed);
  });

  it('a slot empty on one side and holding something on the other differs', () => {
    const mine = new MerkleTree(digests(SHARED), SHARED, 64);
    const fewer = digests([...SHARED].filter((s) => s !== 300));
    const theirs = new MerkleTree(fewer, SHARED, 64);
    const ranges = differingRanges(mine.rangeDigests(), theirs.rangeDigests());
    expect(ranges).toEqual([1]);
    expect(
      differingSlots(mine.slotsOf(ranges), mine.slotDigestsOf(ranges), theirs.slotDigestsOf(ranges)),
    ).toEqual([300]);
  });

  it('places a leaf by its position, so trees over different slot lists do not compare equal', () => {
    const all = Uint16Array.from({ length: SLOT_COUNT }, (_, i) => i);
    const d = digests(all);
    const a = new MerkleTree(d, all.subarray(0, 100), 10);
    const b = new MerkleTree(d, all.subarray(1, 101), 10);
    expect(sameDigest(a.root, b.root)).toBe(false);
  });

  it('works with one slot per range and with one range for all', () => {
    const d = digests(SHARED);
    expect(new MerkleTree(d, SHARED, 1).rangeCount).toBe(5461);
    const one = new MerkleTree(d, SHARED, SLOT_COUNT);
    expect(one.rangeCount).toBe(1);
    expect(one.slotsOf([0])).toEqual(SHARED);
    expect(new MerkleTree(d, new Uint16Array(0), 64).rangeCount).toBe(0);
  });

  it('refuses lists of different lengths and ranges out of bounds', () => {
    const t = new MerkleTree(digests(SHARED), SHARED, 64);
    expect(() => differingRanges(t.rangeDigests(), t.rangeDigests().subarray(16))).toThrow(
      /differ in length/,
    );
    expect(() => t.rangeSlots(86)).toThrow(RangeError);
    expect(() => new MerkleTree(digests(SHARED), SHARED, 0)).toThrow(/leafSlots/);
  });
});
