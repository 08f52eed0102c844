import { describe, expect, it } from '@jest/globals';
import {
  MAX_TTL_MS,
  type EvictionPolicyName,
  type StoreOptions,
} from '../../../../src/store/StoreOptions.js';
import { HybridLogicalClock, compareVersions, makeHlc } from '../../../../src/store/HybridLogicalClock.js';
import { StoreError } from '../../../../src/store/StoreError.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';
import { LARGE_ITEM_OVERHEAD_BYTES } from '../../../../src/store/arena/LargeValues.js';

const T0 = 1_763_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class FakeTime {
  ms = T0;
  readonly now = (): number => this.ms;
}

function makeStore(
  overrides: Partial<StoreOptions> = {},
  time = new FakeTime(),
): { store: ArenaStore; time: FakeTime; clock: HybridLogicalClock } {
  const clock = new HybridLogicalClock(42, time.now);
  const store = new ArenaStore(
    {
      name: 'default',
      maxMemoryBytes: 1 << 20,
      defaultTtlMs: 0,
      maxValueBytes: 1 << 16,
      maxKeyBytes: 64,
      evictionPolicy: 'lru',
      ...overrides,
    },
    clock,
    time.now,
  );
  return { store, time, clock };
}

/** The value of a key as a string, or undefined (peek: no counting, no policy). */
function valueOf(store: ArenaStore, key: string): string | undefined {
  const h = store.peek(b(key));
  return h < 0 ? undefined : store.valueLatin1(h);
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

function snapshot(store: ArenaStore): unknown {
  return {
    size: store.size,
    used: store.usedBytes,
    stats: { ...store.stats },
    entries: [...store.entries()]
      .map((h) => [
        store.keyBuffer(h).toString('latin1'),
        store.valueLatin1(h),
        store.expiresAtOf(h),
        store.hlcOf(h),
      ])
      .sort(),
  };
}

describe('ArenaStore basics', () => {
  it('stores, reads, overwrites and deletes', () => {
    const { store } = makeStore();
    const h = store.set(b('k'), b('v1'), 0);
    expect(store.valueLatin1(h)).toBe('v1');
    expect(store.valueLatin1(store.get(b('k')))).toBe('v1');
    store.set(b('k'), b('value2'), 0);
    expect(store.valueLatin1(store.get(b('k')))).toBe('value2');
    expect(store.size).toBe(1);
    expect(store.delete(b('k'))).toBe(true);
    expect(store.delete(b('k'))).toBe(false);
    expect(store.get(b('k'))).toBe(-1);
    expect(store.size).toBe(0);
    expect(store.stats).toEqual({
      hits: 2,
      misses: 1,
      evictions: 0,
      expirations: 0,
      sets: 2,
      deletes: 1,
      tombstonesPurged: 0,
      evictionMarkers: 0,
    });
    store.verify();
  });

  it('reads values and keys through handles without allocating strings', () => {
    const { store } = makeStore();
    const value = Buffer.from([0, 1, 2, 250, 255]);
    const h = store.set(b('key'), value, 0);
    expect(store.valueLength(h)).toBe(5);
    const target = Buffer.alloc(8, 9);
    expect(store.copyValue(h, target, 2)).toBe(5);
    expect([...target]).toEqual([9, 9, 0, 1, 2, 250, 255, 9]);
    const copy = store.valueBuffer(h);
    expect(copy.equals(value)).toBe(true);
    copy[0] = 77; // a fresh copy: the store is unchanged
    expect(store.valueBuffer(h)[0]).toBe(0);
    expect(store.keyBuffer(h).toString()).toBe('key');
    expect(store.valueLatin1(store.set(b('e'), Buffer.alloc(0), 0))).toBe('');
  });

  it('charges no key scratch to the budget: a 64 KiB cache with 64 KiB keys allowed holds items', () => {
    const { store } = makeStore({ maxMemoryBytes: 64 * 1024, maxKeyBytes: 64 * 1024 });
    expect(store.usedBytes).toBeLessThan(12 * 1024);
    for (let i = 0; i < 100; i++) store.set(b(`key:${i}`), Buffer.alloc(100, i), 0);
    expect(store.size).toBe(100);
    expect(store.valueBuffer(store.peek(b('key:7')))[0]).toBe(7);
    store.verify();
  });

  it('exposes where a value lies (valueSource, valueOffset) for small and large items', () => {
    const { store } = makeStore({ maxMemoryBytes: 1 << 20, maxValueBytes: 1 << 18 });
    const small = store.set(b('small-key'), b('abc'), 0);
    const at = store.valueOffset(small);
    expect(store.valueSource(small).toString('latin1', at, at + store.valueLength(small))).toBe('abc');
    expect(store.keyLength(small)).toBe(9);
    const big = Buffer.alloc(50_000, 7);
    big[0] = 1;
    const large = store.set(b('large-key'), big, 0);
    const from = store.valueOffset(large);
    const src = store.valueSource(large);
    expect(src.subarray(from, from + store.valueLength(large)).equals(big)).toBe(true);
    expect(store.keyLength(large)).toBe(9);
  });

  it('takes keys and values as ranges of a larger buffer (getAt, peekAt, setAt, deleteAt)', () => {
    const { store } = makeStore();
    const frame = b('xxuser:1yyhello-worldzz');
    const h = store.setAt(frame, 2, 6, frame, 10, 11, 0);
    expect(store.keyBuffer(h).toString()).toBe('user:1');
    expect(store.valueLatin1(h)).toBe('hello-world');
    expect(store.valueLatin1(store.getAt(b('__user:1__'), 2, 6))).toBe('hello-world');
    expect(store.peekAt(b('user:12'), 0, 6)).toBeGreaterThanOrEqual(0);
    expect(store.peekAt(b('user:12'), 0, 7)).toBe(-1);
    expect(() => store.setAt(frame, 20, 6, frame, 0, 1, 0)).toThrow(RangeError);
    expect(store.deleteAt(frame, 2, 6)).toBe(true);
    expect(store.size).toBe(0);
  });

  it('peek neither counts nor touches the policy', () => {
    const { store } = makeStore({ maxMemoryBytes: 64 * 1024 });
    const v = Buffer.alloc(100);
    for (let i = 0; i < 100; i++) store.set(b(`k${i}`), v, 0);
    expect(store.peek(b('k0'))).toBeGreaterThanOrEqual(0);
    expect(store.peek(b('zz'))).toBe(-1);
    expect(store.stats.hits + store.stats.misses).toBe(0);
    // Under LRU a peek does not refresh k0: it is still the least recently used.
    for (let i = 100; store.stats.evictions === 0; i++) store.set(b(`k${i}`), v, 0);
    expect(store.peek(b('k0'))).toBe(-1);
  });

  it('assigns increasing versions from the clock, or keeps a given version', () => {
    const { store, clock, time } = makeStore();
    const a = store.set(b('k'), b('1'), 0);
    const [aHlc, aNode] = [store.hlcOf(a), store.nodeOf(a)];
    const c = store.set(b('k'), b('2'), 0);
    expect(aNode).toBe(42);
    expect(compareVersions(aHlc, aNode, store.hlcOf(c), store.nodeOf(c))).toBeLessThan(0);
    const remote = makeHlc(time.ms + 10_000, 0);
    const d = store.set(b('k'), b('3'), 0, remote, 0xfffffff0);
    expect(store.hlcOf(d)).toBe(remote);
    expect(store.nodeOf(d)).toBe(0xfffffff0); // node tags are uint32
    expect(clock.now()).toBeGreaterThan(remote); // the clock observed it
  });

  it('lists live entries and clears, releasing its memory', () => {
    const { store, time } = makeStore({ maxMemoryBytes: 256 << 20 });
    const empty = store.usedBytes;
    store.set(b('a'), b('1'), 0);
    store.set(b('b'), b('2'), time.ms + 100);
    store.set(b('c'), b('3'), time.ms + 10);
    time.ms += 50;
    expect([...store.entries()].map((h) => store.keyBuffer(h).toString()).sort()).toEqual(['a', 'b']);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.usedBytes).toBe(empty);
    expect(store.ttlCount).toBe(0);
    store.set(b('d'), b('4'), 0);
    expect(valueOf(store, 'd')).toBe('4');
    store.verify();
  });

  it('allocates segments lazily: a big budget with little data holds little', () => {
    const { store } = makeStore({ maxMemoryBytes: 256 << 20 });
    const empty = store.usedBytes;
    expect(empty).toBeLessThan(64 * 1024); // metadata only, no segment yet
    store.set(b('k'), b('v'), 0);
    expect(store.segmentSize).toBe(1 << 20);
    expect(store.usedBytes).toBeLessThan(empty + (1 << 20) + 4096); // one segment
  });

  it('rejects invalid options', () => {
    expect(() => makeStore({ maxMemoryBytes: 0 })).toThrow(/maxMemoryBytes/);
    expect(() => makeStore({ maxMemoryBytes: 2 ** 35 })).toThrow(/maxMemoryBytes/);
    expect(() => makeStore({ defaultTtlMs: -1 })).toThrow(/defaultTtlMs/);
    expect(() => makeStore({ maxKeyBytes: 2 ** 24 })).toThrow(/maxKeyBytes/);
    expect(() => makeStore({ evictionPolicy: 'fifo' as EvictionPolicyName })).toThrow(/fifo/);
  });
});

describe('ArenaStore limits', () => {
  it('rejects an oversized key or value with KEY_TOO_LARGE / VALUE_TOO_LARGE naming the limit', () => {
    const { store } = makeStore({ maxValueBytes: 1000, maxKeyBytes: 8 });
    expect(() => store.set(b('k'), Buffer.alloc(2000), 0)).toThrow(
      new StoreError(
        'VALUE_TOO_LARGE',
        "value is 2000 bytes; cache 'default' allows at most 1000 (maxValueBytes)",
      ),
    );
    let err: unknown;
    try {
      store.set(b('123456789'), b('v'), 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).codeName).toBe('KEY_TOO_LARGE');
    expect((err as StoreError).message).toBe(
      "key is 9 bytes; cache 'default' allows at most 8 (maxKeyBytes)",
    );
  });

  it('rejects an entry larger than the whole budget, naming what it needs', () => {
    const { store } = makeStore({ maxMemoryBytes: 64 * 1024, maxValueBytes: 1 << 20 });
    let err: unknown;
    try {
      store.set(b('k'), Buffer.alloc(60_000), 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).codeName).toBe('OUT_OF_MEMORY');
    expect((err as StoreError).message).toMatch(
      /^entry needs \d+ bytes \(key 1 \+ value 60000 \+ overhead \d+\); cache 'default' holds at most 65536 \(maxMemoryBytes\)$/,
    );
    expect(store.size).toBe(0);
    expect(store.set(b('k'), Buffer.alloc(30_000), 0)).toBeGreaterThanOrEqual(0); // fits
  });

  it.each(['lru', 's3fifo'] as const)('changes nothing when a set throws (%s)', (policy) => {
    const { store } = makeStore({ evictionPolicy: policy, maxMemoryBytes: 64 * 1024 });
    for (let i = 0; i < 300; i++) store.set(b(`k${i}`), Buffer.alloc(50, i), 0); // evicting
    store.set(b('k299'), b('short'), T0 + 1000);
    const before = snapshot(store);
    const attempts: Array<() => unknown> = [
      () => store.set(b('k1'), Buffer.alloc(1 << 17), 0),
      () => store.set(b('k'.repeat(65)), b('v'), 0),
      () => store.set(b('k1'), b('v'), -5),
      () => store.set(b('k1'), b('v'), 1.5),
      () => store.set(b('k1'), b('v'), 0, -1),
      () => store.set(b('k1'), Buffer.alloc(60_000), 0),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow();
      expect(snapshot(store)).toEqual(before);
    }
    store.verify();
  });

  it.each(['lru', 's3fifo'] as const)('never exceeds the budget after any call (%s)', (policy) => {
    const budget = 96 * 1024;
    const { store, time } = makeStore({
      evictionPolicy: policy,
      maxMemoryBytes: budget,
      maxValueBytes: 4096,
    });
    const random = prng(7);
    let evicted = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = b(`key${Math.floor(random() * 800)}`);
      const op = random();
      if (op < 0.5) {
        const size = Math.floor(random() * random() * 3000); // some over 1/8 segment: large items
        const ttl = random() < 0.3 ? time.ms + Math.floor(random() * 1000) : 0;
        const sizeBefore = store.size;
        const evictionsBefore = store.stats.evictions;
        store.set(key, Buffer.alloc(size, i), ttl);
        evicted += store.stats.evictions - evictionsBefore;
        expect(store.size).toBeLessThanOrEqual(sizeBefore + 1);
      } else if (op < 0.8) {
        const evictionsBefore = store.stats.evictions;
        store.get(key); // under LRU a hit re-appends, which may reclaim
        evicted += store.stats.evictions - evictionsBefore;
      } else if (op < 0.9) {
        store.delete(key);
      } else {
        time.ms += 10;
        store.activeExpireCycle(50);
      }
      expect(store.usedBytes).toBeLessThanOrEqual(budget);
      if (i % 500 === 0) {
        store.verify();
        time.ms += 2000; // everything with a TTL is now expired
        while (store.activeExpireCycle(1_000_000) > 0);
        expect(store.ttlCount).toBe(0);
        store.verify();
      }
    }
    expect(evicted).toBeGreaterThan(0);
    expect(store.stats.evictions).toBe(evicted);
  });

  it('evicts in exact LRU order, a segment at a time', () => {
    const { store } = makeStore({ maxMemoryBytes: 128 * 1024 }); // 4 KiB segments
    const random = prng(3);
    const lastUse = new Map<string, number>();
    let tick = 0;
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      if (random() < 0.5 || lastUse.size === 0) {
        const key = `n${next++}`;
        store.set(b(key), Buffer.alloc(60), 0);
        lastUse.set(key, ++tick);
      } else {
        const keys = [...lastUse.keys()];
        const key = keys[Math.floor(random() * keys.length)]!;
        // Evicted since the last check? Leave it to the check below.
        if (store.peek(b(key)) >= 0) {
          expect(store.get(b(key))).toBeGreaterThanOrEqual(0);
          lastUse.set(key, ++tick);
        }
      }
      if (step % 97 === 0) {
        // Whatever was evicted was used before everything still held.
        let newestGone = 0;
        let oldestHeld = Infinity;
        for (const [key, t] of lastUse) {
          if (store.peek(b(key)) < 0) {
            newestGone = Math.max(newestGone, t);
            lastUse.delete(key);
          } else {
            oldestHeld = Math.min(oldestHeld, t);
          }
        }
        expect(newestGone).toBeLessThan(oldestHeld);
      }
    }
    expect(store.stats.evictions).toBeGreaterThan(1000);
    store.verify();
  });

  it('S3-FIFO keeps a hot set through a scan of one-hit keys; LRU loses it', () => {
    const hotKept = (policy: EvictionPolicyName): number => {
      const { store } = makeStore({ evictionPolicy: policy, maxMemoryBytes: 256 * 1024 });
      const v = Buffer.alloc(100);
      const hot = Array.from({ length: 300 }, (_, i) => b(`hot${i}`));
      for (const k of hot) store.set(k, v, 0);
      for (let round = 0; round < 3; round++) for (const k of hot) store.get(k);
      for (let i = 0; i < 20_000; i++) {
        store.set(b(`scan${i}`), v, 0);
        if (i % 50 === 0) for (const k of hot.slice(0, 10)) store.get(k); // a trickle of hot reads
      }
      store.verify();
      return hot.filter((k) => store.peek(k) >= 0).length;
    };
    expect(hotKept('s3fifo')).toBeGreaterThan(280);
    expect(hotKept('lru')).toBeLessThan(50);
  });

  it('reuses segments whose items all died: rewriting one key cycles through a few of them', () => {
    for (const policy of ['lru', 's3fifo'] as const) {
      const { store } = makeStore({ evictionPolicy: policy, maxMemoryBytes: 1 << 20 }); // 16 KiB segments
      for (let i = 0; i < 50_000; i++) store.set(b('counter'), b(String(i)), 0); // 2 MB of overwrites
      expect(store.stats.evictions).toBe(0);
      expect(store.compactions).toBe(0);
      expect(store.memory().segments).toBeLessThanOrEqual(3);
      expect(valueOf(store, 'counter')).toBe('49999');
      store.verify();
    }
  });

  it('reclaims holes by compacting segments instead of evicting (overwrites among live items)', () => {
    for (const policy of ['lru', 's3fifo'] as const) {
      const { store } = makeStore({ evictionPolicy: policy, maxMemoryBytes: 128 * 1024 });
      const v = Buffer.alloc(100);
      // A live item every 500 overwrites, so no segment is ever wholly dead.
      for (let i = 0; i < 50_000; i++) {
        store.set(b('counter'), b(String(i)), 0); // 2 MB of overwrites
        if (i % 500 === 0) store.set(b(`k${i}`), v, 0); // 15 KiB of live data
      }
      expect(store.size).toBe(101);
      expect(store.stats.evictions).toBe(0);
      expect(store.compactions).toBeGreaterThan(0);
      expect(valueOf(store, 'counter')).toBe('49999');
      store.verify();
    }
  });
});

describe('ArenaStore large items', () => {
  it('keeps items over 1/8 of a segment in their own buffer, counted in the budget', () => {
    const { store } = makeStore({ maxMemoryBytes: 1 << 20, maxValueBytes: 1 << 18, maxKeyBytes: 4096 });
    expect(store.segmentSize).toBe(16 * 1024);
    store.set(b('small'), b('x'), 0);
    const before = store.usedBytes;
    const value = Buffer.alloc(100_000);
    for (let i = 0; i < value.length; i++) value[i] = i * 7;
    const longKey = b('K'.repeat(3000)); // a large key too
    const h = store.set(longKey, value, 0);
    expect(store.usedBytes - before).toBeGreaterThanOrEqual(103_000 + LARGE_ITEM_OVERHEAD_BYTES);
    expect(store.valueLength(h)).toBe(100_000);
    expect(store.valueBuffer(store.get(longKey)).equals(value)).toBe(true);
    expect(store.keyBuffer(h).equals(longKey)).toBe(true);
    const target = Buffer.alloc(100_010);
    store.copyValue(h, target, 10);
    expect(target.subarray(10).equals(value)).toBe(true);
    expect(store.valueLatin1(h)).toBe(value.toString('latin1'));
    expect(store.peek(b('K'.repeat(2999)))).toBe(-1);
    store.verify();
    // Overwritten by a small value (still large: the key is over 1/8 of a
    // segment): the old buffer is released at the next write.
    store.set(longKey, b('tiny'), 0);
    store.set(b('other'), b('x'), 0);
    expect(store.usedBytes).toBeLessThan(before + 3004 + LARGE_ITEM_OVERHEAD_BYTES + 1000);
    expect(valueOf(store, 'K'.repeat(3000))).toBe('tiny');
    store.verify();
  });

  it('evicts large items like any other, releasing their memory', () => {
    const budget = 1 << 20;
    const { store } = makeStore({ maxMemoryBytes: budget, maxValueBytes: 1 << 18, evictionPolicy: 's3fifo' });
    for (let i = 0; i < 100; i++) {
      store.set(b(`big${i}`), Buffer.alloc(50_000, i), 0);
      expect(store.usedBytes).toBeLessThanOrEqual(budget);
    }
    expect(store.stats.evictions).toBeGreaterThan(70);
    expect(store.size).toBeLessThan(21);
    const h = store.peek(b('big99'));
    expect(store.valueBuffer(h).equals(Buffer.alloc(50_000, 99))).toBe(true);
    store.verify();
  });
});

describe('ArenaStore handles', () => {
  it('under S3-FIFO, get returns the handle set returned; it stays valid across reads', () => {
    const { store } = makeStore({ evictionPolicy: 's3fifo' });
    const h = store.set(b('a'), b('A'), 0);
    store.set(b('b'), b('B'), 0);
    expect(store.get(b('a'))).toBe(h);
    store.get(b('b'));
    store.peek(b('b'));
    expect(store.valueLatin1(h)).toBe('A');
  });

  it('under LRU, a hit moves the item (a new handle); the old handle reads the same bytes until the next write', () => {
    const { store } = makeStore({ evictionPolicy: 'lru' });
    const h = store.set(b('a'), b('A'), 0);
    expect(store.get(b('a'))).toBe(h); // already the newest: not moved
    store.set(b('b'), b('B'), 0);
    const moved = store.get(b('a'));
    expect(moved).not.toBe(h);
    expect(store.valueLatin1(moved)).toBe('A');
    expect(store.valueLatin1(h)).toBe('A');
    expect(store.peek(b('a'))).toBe(moved);
    store.verify();
  });

  it('a handle taken before delete still reads the removed value (GETDEL)', () => {
    const { store } = makeStore({ maxValueBytes: 1 << 18 });
    const h = store.peek(b('x')) >= 0 ? -1 : store.set(b('x'), b('gone'), 0);
    expect(store.delete(b('x'))).toBe(true);
    expect(store.valueLatin1(h)).toBe('gone');
    const big = store.set(b('big'), Buffer.alloc(200_000, 3), 0);
    expect(store.delete(b('big'))).toBe(true);
    expect(store.valueBuffer(big).equals(Buffer.alloc(200_000, 3))).toBe(true);
  });
});

describe('ArenaStore TTL', () => {
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
    expect((err as StoreError).codeName).toBe('INVALID_TTL');
    expect((err as StoreError).message).toContain(String(ttl));
  });

  it('applies the default TTL to writes that ask for it', () => {
    const { store, time } = makeStore({ defaultTtlMs: 1000 });
    store.set(b('a'), b('v'), store.expiresAtFor(0));
    store.set(b('b'), b('v'), store.expiresAtFor(-1));
    time.ms += 1000;
    expect(store.get(b('a'))).toBe(-1);
    expect(store.get(b('b'))).toBeGreaterThanOrEqual(0);
  });

  it('expires lazily: an expired entry is removed, counted, and a miss', () => {
    const { store, time } = makeStore();
    const empty = store.size;
    store.set(b('k'), b('v'), time.ms + 100);
    time.ms += 99;
    expect(store.valueLatin1(store.get(b('k')))).toBe('v');
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(T0 + 100);
    time.ms += 1;
    expect(store.peek(b('k'))).toBe(-1);
    expect(store.size).toBe(empty);
    expect(store.stats.expirations).toBe(1);
    store.set(b('k2'), b('v'), time.ms + 1);
    time.ms += 1;
    expect(store.get(b('k2'))).toBe(-1);
    expect(store.delete(b('k2'))).toBe(false);
    expect(store.stats).toMatchObject({ hits: 1, misses: 1, expirations: 2, deletes: 0 });
    store.verify();
  });

  it('changes and removes expiry', () => {
    const { store, time } = makeStore();
    store.set(b('k'), b('v'), 0);
    expect(store.ttlCount).toBe(0);
    expect(store.setExpiry(b('k'), time.ms + 10)).toBe(true);
    expect(store.ttlCount).toBe(1);
    expect(store.setExpiry(b('k'), 0)).toBe(true);
    expect(store.ttlCount).toBe(0);
    time.ms += 20;
    expect(store.get(b('k'))).toBeGreaterThanOrEqual(0);
    expect(store.setExpiry(b('missing'), time.ms + 10)).toBe(false);
    expect(() => store.setExpiry(b('k'), -3)).toThrow(StoreError);
    store.setExpiry(b('k'), time.ms + 5);
    time.ms += 5;
    expect(store.setExpiry(b('k'), 0)).toBe(false); // already expired
    store.verify();
  });

  it('expires actively by sampling entries with a TTL', () => {
    const { store, time } = makeStore({ maxMemoryBytes: 16 << 20 });
    for (let i = 0; i < 1000; i++) store.set(b(`short${i}`), b('v'), time.ms + 100);
    for (let i = 0; i < 1000; i++) store.set(b(`long${i}`), b('v'), time.ms + 1_000_000);
    for (let i = 0; i < 1000; i++) store.set(b(`never${i}`), b('v'), 0);
    expect(store.ttlCount).toBe(2000);
    expect(store.activeExpireCycle(10_000)).toBe(0); // nothing expired yet: one sample, stop
    time.ms += 100;
    let removed = 0;
    for (let cycle = 0; cycle < 200 && removed < 1000; cycle++) removed += store.activeExpireCycle(200);
    expect(removed).toBeGreaterThan(700);
    expect(store.stats.expirations).toBe(removed);
    expect(store.size).toBe(3000 - removed);
    expect(store.ttlCount).toBe(2000 - removed);
    for (let i = 0; i < 1000; i++) expect(store.peek(b(`long${i}`))).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 1000; i++) expect(store.peek(b(`never${i}`))).toBeGreaterThanOrEqual(0);
    store.verify();
  });

  it('stops active expiry at the work budget', () => {
    const { store, time } = makeStore();
    for (let i = 0; i < 500; i++) store.set(b(`k${i}`), b('v'), time.ms + 1);
    time.ms += 1;
    expect(store.activeExpireCycle(30)).toBeLessThanOrEqual(30);
    const all = store.activeExpireCycle(1_000_000);
    expect(all).toBeGreaterThan(0);
    expect(store.ttlCount).toBe(0);
    expect(store.size).toBe(0);
  });

  it('drops expired items when it reclaims their segment, counting expirations, not evictions', () => {
    const { store, time } = makeStore({ maxMemoryBytes: 64 * 1024, evictionPolicy: 's3fifo' });
    for (let i = 0; i < 200; i++) store.set(b(`t${i}`), Buffer.alloc(100), time.ms + 10);
    time.ms += 10;
    for (let i = 0; i < 400; i++) store.set(b(`n${i}`), Buffer.alloc(100), 0);
    expect(store.stats.expirations).toBeGreaterThan(100);
    store.verify();
  });
});
