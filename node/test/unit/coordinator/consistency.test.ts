import { describe, expect, it } from '@jest/globals';
import { Consistency } from '@meshcache/proto';
import { LEVEL_NAMES, levelOf, requiredReplicas } from '../../../src/coordinator/consistency.js';

describe('requiredReplicas', () => {
  it.each([
    [1, 1, 1, 1],
    [2, 1, 2, 2],
    [3, 1, 2, 3],
    [4, 1, 3, 4],
    [5, 1, 3, 5],
  ])('at %i replicas: ONE %i, QUORUM %i, ALL %i', (replicas, one, quorum, all) => {
    expect(requiredReplicas(Consistency.ONE, replicas)).toBe(one);
    expect(requiredReplicas(Consistency.QUORUM, replicas)).toBe(quorum);
    expect(requiredReplicas(Consistency.ALL, replicas)).toBe(all);
  });

  it('two QUORUMs of the same replicas always overlap', () => {
    for (let n = 1; n <= 5; n++) expect(2 * requiredReplicas(Consistency.QUORUM, n)).toBeGreaterThan(n);
  });

  it('treats an unresolved level as QUORUM', () => {
    expect(requiredReplicas(Consistency.CONSISTENCY_DEFAULT, 3)).toBe(2);
  });
});

describe('levelOf', () => {
  it('resolves the default to the cache default', () => {
    expect(levelOf(Consistency.CONSISTENCY_DEFAULT, Consistency.ONE)).toBe(Consistency.ONE);
    expect(levelOf(Consistency.CONSISTENCY_DEFAULT, Consistency.QUORUM)).toBe(Consistency.QUORUM);
    expect(levelOf(Consistency.CONSISTENCY_DEFAULT, Consistency.ALL)).toBe(Consistency.ALL);
  });

  it('keeps a level the operation names, whatever the cache default', () => {
    for (const requested of [Consistency.ONE, Consistency.QUORUM, Consistency.ALL]) {
      for (const cacheDefault of [Consistency.ONE, Consistency.QUORUM, Consistency.ALL]) {
        expect(levelOf(requested, cacheDefault)).toBe(requested);
      }
    }
  });

  it('names the levels', () => {
    expect(LEVEL_NAMES[Consistency.ONE]).toBe('ONE');
    expect(LEVEL_NAMES[Consistency.QUORUM]).toBe('QUORUM');
    expect(LEVEL_NAMES[Consistency.ALL]).toBe('ALL');
  });
});
