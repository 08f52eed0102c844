import { describe, expect, it } from '@jest/globals';
import { Entry } from '../../../src/store/Entry.js';
import { LruPolicy } from '../../../src/store/LruPolicy.js';

const entry = (key: string): Entry => new Entry(key, 'v', 0, 0, 0, 10);
const keys = (policy: LruPolicy): string[] => [...policy.order()].map((e) => e.key);

describe('LruPolicy', () => {
  it('evicts the least recently used entry', () => {
    const lru = new LruPolicy();
    const [a, b, c] = [entry('a'), entry('b'), entry('c')];
    lru.onInsert(a);
    lru.onInsert(b);
    lru.onInsert(c);
    expect(keys(lru)).toEqual(['c', 'b', 'a']);
    lru.onAccess(a);
    expect(keys(lru)).toEqual(['a', 'c', 'b']);
    lru.onAccess(c);
    lru.onAccess(c);
    expect(keys(lru)).toEqual(['c', 'a', 'b']);
    expect(lru.evict()).toBe(b);
    expect(lru.evict()).toBe(a);
    expect(lru.evict()).toBe(c);
    expect(lru.evict()).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('forgets removed entries from anywhere in the list', () => {
    const lru = new LruPolicy();
    const es = ['a', 'b', 'c', 'd'].map(entry);
    for (const e of es) lru.onInsert(e);
    lru.onRemove(es[2]!); // middle
    lru.onRemove(es[3]!); // head
    lru.onRemove(es[0]!); // tail
    expect(keys(lru)).toEqual(['b']);
    lru.onRemove(es[0]!); // already removed: no-op
    lru.onAccess(es[0]!); // not in the list: no-op
    expect(lru.size).toBe(1);
    expect(lru.evict()).toBe(es[1]);
    const victim = es[1]!;
    expect(victim.prev).toBeNull();
    expect(victim.next).toBeNull();
  });
});
