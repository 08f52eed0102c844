import { describe, expect, it } from '@jest/globals';
import { CacheStore, MAX_TTL_MS, type CacheStoreOptions } from '../../../src/store/CacheStore.js';
import { ENTRY_OVERHEAD_BYTES } from '../../../src/store/entryOverhead.js';
import type { EvictionPolicyName } from '../../../src/store/EvictionPolicy.js';
import { HybridLogicalClock, compareVersions, makeHlc } from '../../../src/store/HybridLogicalClock.js';
import { StoreError } from '../../../src/store/StoreError.js';

const T0 = 1_763_000_000_000;
const SIZE = (key: string, value: string): number => key.length + value.length + ENTRY_OVERHEAD_BYTES;

class FakeTime {
  ms = T0;
  readonly now = (): number => this.ms;
}

function makeStore(
  overrides: Partial<CacheStoreOptions> = {},
  time = new FakeTime(),
): { store: CacheStore; time: FakeTime; clock: HybridLogicalClock } {
  const clock = new HybridLogicalClock(42, time.now);
  const store = new CacheStore(
    {
      name: 'default',
      maxMemoryBytes: 1 << 20,
      defaultTtlMs: 0,
      maxValueBytes: 1024,
      maxKeyBytes: 64,
      evictionPolicy: 'lru',
      ...overrides,
    },
    clock,
    time.now,
  );
  return { store, time, clock };
}

/** Deterministic PRNG for the randomized checks (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function snapshot(store: CacheStore): unknown {
  return {
    size: store.size,
    used: store.usedBytes,
    stats: { ...store.stats },
    entries: [...store.entries()].map((e) => [e.key, e.value, e.expiresAt, e.hlc]),
  };
}

describe('CacheStore basics', () => {
  it('stores, reads, overwrites and deletes', () => {
    const { store } = makeStore();
    const e = store.set('k', 'v1', 0);
    expect(e.bytes).toBe(SIZE('k', 'v1'));
    expect(store.get('k')?.value).toBe('v1');
    store.set('k', 'value2', 0);
    expect(store.get('k')?.value).toBe('value2');
    expect(store.size).toBe(1);
    expect(store.usedBytes).toBe(SIZE('k', 'value2'));
    expect(store.delete('k')).toBe(true);
    expect(store.delete('k')).toBe(false);
    expect(store.get('k')).toBeUndefined();
    expect(store.usedBytes).toBe(0);
    expect(store.stats).toEqual({ hits: 2, misses: 1, evictions: 0, expirations: 0, sets: 2, deletes: 1 });
  });

  it('peek neither counts nor touches the policy', () => {
    const { store } = makeStore({ maxMemoryBytes: SIZE('a', 'x') * 2 });
    store.set('a', 'x', 0);
    store.set('b', 'x', 0);
    expect(store.peek('a')?.value).toBe('x');
    expect(store.peek('zz')).toBeUndefined();
    expect(store.stats.hits + store.stats.misses).toBe(0);
    store.set('c', 'x', 0); // 'a' is still least recently used
    expect(store.peek('a')).toBeUndefined();
    expect(store.peek('b')).toBeDefined();
  });

  it('assigns increasing versions from the clock, or keeps a given version', () => {
    const { store, clock, time } = makeStore();
    const a = store.set('k', '1', 0);
    const b = store.set('k', '2', 0);
    expect(a.node).toBe(42);
    expect(compareVersions(a.hlc, a.node, b.hlc, b.node)).toBeLessThan(0);
    const remote = makeHlc(time.ms + 10_000, 0);
    const c = store.set('k', '3', 0, remote, 7);
    expect(c.hlc).toBe(remote);
    expect(c.node).toBe(7);
    expect(clock.now()).toBeGreaterThan(remote); // the clock observed it
  });

  it('lists live entries and clears', () => {
    const { store, time } = makeStore();
    store.set('a', '1', 0);
    store.set('b', '2', time.ms + 100);
    store.set('c', '3', time.ms + 10);
    time.ms += 50;
    expect([...store.entries()].map((e) => e.key)).toEqual(['a', 'b']);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.usedBytes).toBe(0);
    expect(store.ttlCount).toBe(0);
    store.set('d', '4', 0);
    expect(store.get('d')?.value).toBe('4');
  });

  it('rejects invalid options', () => {
    expect(() => makeStore({ maxMemoryBytes: 0 })).toThrow(/maxMemoryBytes/);
    expect(() => makeStore({ defaultTtlMs: -1 })).toThrow(/defaultTtlMs/);
    expect(() => makeStore({ evictionPolicy: 'fifo' as EvictionPolicyName })).toThrow(/fifo/);
  });
});

describe('CacheStore limits', () => {
  it('rejects an oversized key or value, naming the limit and the size', () => {
    const { store } = makeStore({ maxValueBytes: 1000, maxKeyBytes: 8 });
    expect(() => store.set('k', 'x'.repeat(2000), 0)).toThrow(
      new StoreError(
        'VALUE_TOO_LARGE',
        "value is 2000 bytes; cache 'default' allows at most 1000 (maxValueBytes)",
      ),
    );
    let err: unknown;
    try {
      store.set('123456789', 'v', 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('KEY_TOO_LARGE');
    expect((err as StoreError).message).toBe(
      "key is 9 bytes; cache 'default' allows at most 8 (maxKeyBytes)",
    );
  });

  it('rejects an entry larger than the whole budget', () => {
    const { store } = makeStore({ maxMemoryBytes: ENTRY_OVERHEAD_BYTES + 10, maxValueBytes: 100 });
    expect(() => store.set('k', 'x'.repeat(20), 0)).toThrow(StoreError);
    expect(() => store.set('k', 'x'.repeat(20), 0)).toThrow(/maxMemoryBytes/);
    try {
      store.set('k', 'x'.repeat(20), 0);
    } catch (e) {
      expect((e as StoreError).code).toBe('OUT_OF_MEMORY');
    }
    expect(store.set('k', 'x'.repeat(9), 0).bytes).toBe(ENTRY_OVERHEAD_BYTES + 10); // exactly fits
  });

  it.each(['lru', 's3fifo'] as const)('changes nothing when a set throws (%s)', (policy) => {
    const { store } = makeStore({ evictionPolicy: policy, maxMemoryBytes: SIZE('k0', 'v'.repeat(50)) * 3 });
    for (let i = 0; i < 3; i++) store.set(`k${i}`, 'v'.repeat(50), 0);
    store.set('k0', 'short', T0 + 1000);
    const before = snapshot(store);
    const attempts: Array<() => unknown> = [
      () => store.set('k1', 'v'.repeat(1025), 0),
      () => store.set('k'.repeat(65), 'v', 0),
      () => store.set('k1', 'v', -5),
      () => store.set('k1', 'v', 1.5),
      () => store.set('k1', 'v', 0, -1),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow();
      expect(snapshot(store)).toEqual(before);
    }
    const big = makeStore({ evictionPolicy: policy, maxMemoryBytes: ENTRY_OVERHEAD_BYTES + 100 });
    big.store.set('a', 'b', 0);
    const bigBefore = snapshot(big.store);
    expect(() => big.store.set('a', 'x'.repeat(200), 0)).toThrow(/OUT_OF_MEMORY|maxMemoryBytes/);
    expect(snapshot(big.store)).toEqual(bigBefore);
  });

  it.each(['lru', 's3fifo'] as const)('never exceeds the budget after any set (%s)', (policy) => {
    const budget = 20_000;
    const { store, time } = makeStore({
      evictionPolicy: policy,
      maxMemoryBytes: budget,
      maxValueBytes: 4096,
    });
    const random = prng(7);
    let evictedOrExpired = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `key${Math.floor(random() * 500)}`;
      const op = random();
      if (op < 0.5) {
        const size = Math.floor(random() * random() * 2000);
        const ttl = random() < 0.3 ? time.ms + Math.floor(random() * 1000) : 0;
        const sizeBefore = store.size;
        const evictionsBefore = store.stats.evictions;
        store.set(key, 'v'.repeat(size), ttl);
        expect(store.usedBytes).toBeLessThanOrEqual(budget);
        evictedOrExpired += store.stats.evictions - evictionsBefore;
        expect(store.size).toBeLessThanOrEqual(sizeBefore + 1);
      } else if (op < 0.8) {
        store.get(key);
      } else if (op < 0.9) {
        store.delete(key);
      } else {
        time.ms += 10;
        store.activeExpireCycle(50);
      }
      if (i % 1000 === 0) {
        // usedBytes is the sum of what is held (entries() hides expired ones, so check once they are gone)
        store.activeExpireCycle(1_000_000);
        let sum = 0;
        for (const e of store.entries()) sum += e.bytes;
        expect(sum).toBeLessThanOrEqual(store.usedBytes);
        time.ms += 2000; // everything with a TTL is now expired
        while (store.activeExpireCycle(1_000_000) > 0);
        sum = 0;
        for (const e of store.entries()) sum += e.bytes;
        expect(store.ttlCount).toBe(0);
        expect(sum).toBe(store.usedBytes);
      }
    }
    expect(evictedOrExpired).toBeGreaterThan(0);
    expect(store.stats.evictions).toBe(evictedOrExpired);
  });

  it('counts evictions and evicts in policy order', () => {
    const one = SIZE('k0', 'v');
    const { store } = makeStore({ maxMemoryBytes: one * 3 });
    store.set('k0', 'v', 0);
    store.set('k1', 'v', 0);
    store.set('k2', 'v', 0);
    store.get('k0');
    store.set('k3', 'v', 0); // evicts k1 (LRU)
    expect(store.stats.evictions).toBe(1);
    expect(store.peek('k1')).toBeUndefined();
    // LRU order is now k3, k0, k2: an entry twice as large evicts k2 and k0.
    store.set('k4', 'v'.repeat(one + 1), 0);
    expect(store.stats.evictions).toBe(3);
    expect(store.usedBytes).toBeLessThanOrEqual(one * 3);
    expect([...store.entries()].map((e) => e.key).sort()).toEqual(['k3', 'k4']);
    // Overwriting an entry does not evict it, nor count as an eviction.
    store.set('k4', 'v', 0);
    expect(store.stats.evictions).toBe(3);
  });
});

describe('CacheStore TTL', () => {
  it('converts API TTLs: -1 never, 0 the cache default, > 0 relative', () => {
    const { store, time } = makeStore();
    expect(store.expiresAtFor(-1)).toBe(0);
    expect(store.expiresAtFor(0)).toBe(0);
    expect(store.expiresAtFor(1500)).toBe(time.ms + 1500);
    expect(store.expiresAtFor(MAX_TTL_MS)).toBe(time.ms + MAX_TTL_MS);
    const withDefault = makeStore({ defaultTtlMs: 60_000 }, time).store;
    expect(withDefault.expiresAtFor(0)).toBe(time.ms + 60_000);
    expect(withDefault.expiresAtFor(-1)).toBe(0);
  });

  it.each([-2, 1.5, MAX_TTL_MS + 1, Number.NaN, Infinity])('rejects TTL %p with INVALID_TTL', (ttl) => {
    const { store } = makeStore();
    let err: unknown;
    try {
      store.expiresAtFor(ttl);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('INVALID_TTL');
    expect((err as StoreError).message).toContain(String(ttl));
  });

  it('applies the default TTL to writes that ask for it', () => {
    const { store, time } = makeStore({ defaultTtlMs: 1000 });
    store.set('a', 'v', store.expiresAtFor(0));
    store.set('b', 'v', store.expiresAtFor(-1));
    time.ms += 1000;
    expect(store.get('a')).toBeUndefined();
    expect(store.get('b')).toBeDefined();
  });

  it('expires lazily: an expired entry is removed, counted, and a miss', () => {
    const { store, time } = makeStore();
    store.set('k', 'v', time.ms + 100);
    time.ms += 99;
    expect(store.get('k')?.value).toBe('v');
    time.ms += 1;
    expect(store.peek('k')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.usedBytes).toBe(0);
    expect(store.stats.expirations).toBe(1);
    store.set('k2', 'v', time.ms + 1);
    time.ms += 1;
    expect(store.get('k2')).toBeUndefined();
    expect(store.delete('k2')).toBe(false);
    expect(store.stats).toMatchObject({ hits: 1, misses: 1, expirations: 2, deletes: 0 });
  });

  it('changes and removes expiry', () => {
    const { store, time } = makeStore();
    store.set('k', 'v', 0);
    expect(store.ttlCount).toBe(0);
    expect(store.setExpiry('k', time.ms + 10)).toBe(true);
    expect(store.ttlCount).toBe(1);
    expect(store.setExpiry('k', 0)).toBe(true);
    expect(store.ttlCount).toBe(0);
    time.ms += 20;
    expect(store.get('k')).toBeDefined();
    expect(store.setExpiry('missing', time.ms + 10)).toBe(false);
    expect(() => store.setExpiry('k', -3)).toThrow(StoreError);
    store.setExpiry('k', time.ms + 5);
    time.ms += 5;
    expect(store.setExpiry('k', 0)).toBe(false); // already expired
  });

  it('expires actively by sampling entries with a TTL', () => {
    const { store, time } = makeStore({ maxMemoryBytes: 1 << 30 });
    for (let i = 0; i < 1000; i++) store.set(`short${i}`, 'v', time.ms + 100);
    for (let i = 0; i < 1000; i++) store.set(`long${i}`, 'v', time.ms + 1_000_000);
    for (let i = 0; i < 1000; i++) store.set(`never${i}`, 'v', 0);
    expect(store.ttlCount).toBe(2000);
    expect(store.activeExpireCycle(10_000)).toBe(0); // nothing expired yet: one sample, stop
    time.ms += 100;
    let removed = 0;
    for (let cycle = 0; cycle < 200 && removed < 1000; cycle++) removed += store.activeExpireCycle(200);
    // Sampling stops once a sample is at most 25% expired, so a few may remain
    // for later cycles or lazy expiry; most go quickly.
    expect(removed).toBeGreaterThan(700);
    expect(store.stats.expirations).toBe(removed);
    expect(store.size).toBe(3000 - removed);
    expect(store.ttlCount).toBe(2000 - removed);
    for (let i = 0; i < 1000; i++) expect(store.peek(`long${i}`)).toBeDefined();
    for (let i = 0; i < 1000; i++) expect(store.peek(`never${i}`)).toBeDefined();
  });

  it('stops active expiry at the work budget', () => {
    const { store, time } = makeStore();
    for (let i = 0; i < 500; i++) store.set(`k${i}`, 'v', time.ms + 1);
    time.ms += 1;
    expect(store.activeExpireCycle(30)).toBeLessThanOrEqual(30);
    const all = store.activeExpireCycle(1_000_000);
    expect(all).toBeGreaterThan(0);
    // With everything expired, every sample is 100% expired: it runs until empty.
    expect(store.ttlCount).toBe(0);
    expect(store.size).toBe(0);
  });
});
