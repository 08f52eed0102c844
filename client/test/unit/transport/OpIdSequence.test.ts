import { describe, expect, it } from '@jest/globals';
import { MAX_OP_ID, OpIdSequence } from '../../../src/transport/OpIdSequence.js';

describe('OpIdSequence', () => {
  const none = { isTaken: () => false };

  it('counts up from 1', () => {
    const ids = new OpIdSequence();
    expect([ids.next(none), ids.next(none), ids.next(none)]).toEqual([1, 2, 3]);
  });

  it('wraps after 2^32 - 1 to 1, never issuing 0', () => {
    const ids = new OpIdSequence(MAX_OP_ID - 1);
    expect(ids.next(none)).toBe(MAX_OP_ID);
    expect(ids.next(none)).toBe(1);
  });

  it('skips ids still in flight', () => {
    const set = new Set([1, 2, 4]);
    const inFlight = { isTaken: (id: number) => set.has(id) };
    const ids = new OpIdSequence(MAX_OP_ID);
    expect(ids.next(inFlight)).toBe(3);
    expect(ids.next(inFlight)).toBe(5);
  });
});
