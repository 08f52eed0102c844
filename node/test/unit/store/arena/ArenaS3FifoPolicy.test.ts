import { describe, expect, it } from '@jest/globals';
import { ArenaGhost } from '../../../../src/store/arena/ArenaGhost.js';
import { EVICT, keepIn } from '../../../../src/store/arena/ArenaPolicy.js';
import { ARENA_MAIN, ARENA_SMALL, ArenaS3FifoPolicy } from '../../../../src/store/arena/ArenaS3FifoPolicy.js';
import { SegmentPool } from '../../../../src/store/arena/SegmentPool.js';

describe('ArenaS3FifoPolicy', () => {
  it('evicts unread items, promotes read small items to main and decrements main counters', () => {
    const p = new ArenaS3FifoPolicy();
    expect(p.onReclaim(ARENA_SMALL, 0)).toBe(EVICT);
    expect(p.onReclaim(ARENA_SMALL, 2)).toBe(keepIn(ARENA_MAIN, 0));
    expect(p.onReclaim(ARENA_MAIN, 0)).toBe(EVICT);
    expect(p.onReclaim(ARENA_MAIN, 3)).toBe(keepIn(ARENA_MAIN, 2));
  });

  it('admits keys evicted from small (ghost hits) to main, once', () => {
    const p = new ArenaS3FifoPolicy();
    expect(p.admit(42, 100)).toBe(ARENA_SMALL);
    p.onEvict(42, ARENA_SMALL, 100);
    p.onEvict(43, ARENA_MAIN, 100); // main victims are not remembered
    expect(p.admit(43, 100)).toBe(ARENA_SMALL);
    expect(p.admit(42, 100)).toBe(ARENA_MAIN);
    expect(p.admit(42, 100)).toBe(ARENA_SMALL);
  });

  it('reclaims small while it holds at least 10% of the segments in use', () => {
    const p = new ArenaS3FifoPolicy();
    const pool = new SegmentPool(4096, 40);
    const add = (q: number, n: number): void => {
      for (let i = 0; i < n; i++) pool.pushNewest(q, pool.allocate());
    };
    add(ARENA_SMALL, 1);
    expect(p.victimQueue(pool)).toBe(ARENA_SMALL); // main empty
    add(ARENA_MAIN, 20);
    expect(p.victimQueue(pool)).toBe(ARENA_MAIN); // 1 of 21 < 10%
    add(ARENA_SMALL, 2);
    expect(p.victimQueue(pool)).toBe(ARENA_SMALL); // 3 of 23 >= 10%
  });
});

describe('ArenaGhost', () => {
  it('remembers the last `bound` hashes and forgets older ones', () => {
    const g = new ArenaGhost();
    for (let h = 1; h <= 100; h++) g.add(h * 7919, 50);
    expect(g.take(100 * 7919, 50)).toBe(true);
    expect(g.take(100 * 7919, 50)).toBe(false); // consumed
    expect(g.take(10 * 7919, 50)).toBe(false); // aged out
    expect(g.take(60 * 7919, 50)).toBe(true);
  });

  it('grows only when asked, and reports the bytes first', () => {
    const g = new ArenaGhost();
    const cap = g.capacity;
    expect(g.growthBytesFor(cap)).toBe(0);
    expect(g.growthBytesFor(cap + 1)).toBe(cap * 8);
    for (let h = 0; h < 3 * cap; h++) g.add(h, 10 * cap);
    expect(g.capacity).toBe(cap); // add never grows
    g.grow(cap + 1);
    expect(g.capacity).toBe(cap * 2);
    expect(g.bytes).toBe(cap * 2 * 8);
  });
});
