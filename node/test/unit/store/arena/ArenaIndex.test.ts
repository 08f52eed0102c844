import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ArenaIndex, EMPTY } from '../../../../src/store/arena/ArenaIndex.js';

/** Finds a ref the way the store does (by stored hash and ref). */
function lookup(index: ArenaIndex, hash: number, ref: number): boolean {
  const slots = index.slots;
  for (let p = index.home(hash); ; p = (p + 2) & index.posMask) {
    if (slots[p + 1] === EMPTY) return false;
    if (slots[p] === hash && slots[p + 1] === ref) return true;
  }
}

function freePosition(index: ArenaIndex, hash: number): number {
  let p = index.home(hash);
  while (index.slots[p + 1] !== EMPTY) p = (p + 2) & index.posMask;
  return p;
}

describe('ArenaIndex', () => {
  it('keeps every member reachable through inserts, backward-shift deletes and doublings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 7 })), {
          maxLength: 400,
        }),
        (ops) => {
          const index = new ArenaIndex();
          const model = new Map<number, number>(); // ref -> hash
          for (const [insert, ref, hashClass] of ops) {
            const hash = hashClass * 0x10001 + (ref % 3); // few distinct homes: long clusters
            if (insert && !model.has(ref)) {
              if (index.full) index.grow();
              index.insertAt(freePosition(index, hash), hash, ref);
              model.set(ref, hash);
            } else if (!insert && model.has(ref)) {
              index.removeAt(index.positionOf(model.get(ref)!, ref));
              model.delete(ref);
            }
            expect(index.count).toBe(model.size);
          }
          for (const [ref, hash] of model) expect(lookup(index, hash, ref)).toBe(true);
          expect(index.count / index.capacity).toBeLessThanOrEqual(0.8);
        },
      ),
    );
  });

  it('counts its bytes and what a doubling adds', () => {
    const index = new ArenaIndex();
    expect(index.bytes).toBe(index.capacity * 8);
    const before = index.bytes;
    expect(index.growthBytes).toBe(before);
    index.grow();
    expect(index.bytes).toBe(before * 2);
    expect(() => index.positionOf(1, 2)).toThrow(/not indexed/);
  });
});
