import { describe, expect, it } from '@jest/globals';
import type { EvictionPolicyName, StoreOptions } from '../../../../src/store/StoreOptions.js';
import { HybridLogicalClock, compareVersions, makeHlc } from '../../../../src/store/HybridLogicalClock.js';
import { StoreError } from '../../../../src/store/StoreError.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';
import { LARGE_ITEM_OVERHEAD_BYTES } from '../../../../src/store/arena/LargeValues.js';
import { hashBytes } from '../../../../src/store/arena/keyHash.js';

/**
 * The replicated mode (StoreOptions.replication): tombstones keep the version
 * of a deleted, expired or evicted key, so an older copy never wins.
 */
const T0 = 1_763_000_000_000;
const GRACE = 1000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const EMPTY = Buffer.alloc(0);

/** The test's control over time and over what the replicas are known to hold. */
interface Control {
  ms: number;
  /** settled(hlc, node) answers this (when `settledFn` is not set). */
  settled: boolean;
  settledFn?: (hlc: number, node: number) => boolean;
  settledCalls: number;
}

function makeStore(
  overrides: Partial<StoreOptions> = {},
  replicated = true,
): { store: ArenaStore; ctl: Control; clock: HybridLogicalClock } {
  const ctl: Control = { ms: T0, settled: false, settledCalls: 0 };
  const now = (): number => ctl.ms;
  const clock = new HybridLogicalClock(42, now);
  const store = new ArenaStore(
    {
      name: 'rep',
      maxMemoryBytes: 1 << 20,
      defaultTtlMs: 0,
      maxValueBytes: 1 << 16,
      maxKeyBytes: 64,
      evictionPolicy: 's3fifo',
      ...(replicated
        ? {
            replication: {
              tombstoneGraceMs: GRACE,
              settled: (hlc: number, node: number): boolean => {
                ctl.settledCalls++;
                return ctl.settledFn ? ctl.settledFn(hlc, node) : ctl.settled;
              },
            },
          }
        : {}),
      ...overrides,
    },
    clock,
    now,
  );
  return { store, ctl, clock };
}

/** applyAt with a whole key and value. */
function apply(
  store: ArenaStore,
  key: string,
  value: string | null,
  hlc: number,
  node: number,
  expiresAt = 0,
): boolean {
  const k = b(key);
  const v = value === null ? EMPTY : b(value);
  return store.applyAt(k, 0, k.length, v, 0, v.length, expiresAt, hlc, node, value === null);
}

/** What the store holds for a key: [hlc, node, value or null for a tombstone], or undefined. */
function held(store: ArenaStore, key: string): [number, number, string | null] | undefined {
  const h = store.versionAt(b(key), 0, key.length);
  if (h < 0) return undefined;
  return [store.hlcOf(h), store.nodeOf(h), store.isTombstone(h) ? null : store.valueLatin1(h)];
}

const V = (n: number): number => makeHlc(T0 + n, 0);

describe('ArenaStore replicated: tombstones', () => {
  it('a delete leaves a tombstone: a miss for get, peek, entries and size, but visible to versionAt', () => {
    const { store, ctl } = makeStore();
    const h = store.set(b('k'), b('value'), 0);
    const [hlc, node] = [store.hlcOf(h), store.nodeOf(h)];
    store.set(b('other'), b('x'), 0);
    expect(store.delete(b('k'))).toBe(true);
    expect(store.get(b('k'))).toBe(-1);
    expect(store.getAt(b('__k__'), 2, 1)).toBe(-1);
    expect(store.peek(b('k'))).toBe(-1);
    expect(store.peekAt(b('k'), 0, 1)).toBe(-1);
    expect([...store.entries()].map((e) => store.keyBuffer(e).toString())).toEqual(['other']);
    expect(store.size).toBe(1);
    expect(store.tombstoneCount).toBe(1);
    expect(store.stats).toMatchObject({ hits: 0, misses: 2, deletes: 1, sets: 2 });

    const t = store.versionAt(b('k'), 0, 1);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(store.isTombstone(t)).toBe(true);
    expect(store.keyBuffer(t).toString()).toBe('k');
    // A fresh version from the clock, newer than the deleted value's.
    expect(compareVersions(store.hlcOf(t), store.nodeOf(t), hlc, node)).toBeGreaterThan(0);
    expect(store.nodeOf(t)).toBe(42);
    expect(store.expiresAtOf(t)).toBe(ctl.ms + GRACE); // its purge-eligible time
    expect(store.ttlCount).toBe(1); // tracked in the TTL array
    // allItems lists it, with the live item.
    const all = [...store.allItems()].map((e) => `${store.keyBuffer(e).toString()}:${store.isTombstone(e)}`);
    expect(all.sort()).toEqual(['k:true', 'other:false']);
    expect(store.delete(b('k'))).toBe(false); // no live entry to remove
    store.verify();
  });

  it('a deleted value stays readable through a handle taken before the delete (GETDEL)', () => {
    const { store } = makeStore({ maxValueBytes: 1 << 18 });
    const small = store.set(b('s'), b('gone'), 0);
    const big = store.set(b('big'), Buffer.alloc(200_000, 3), 0);
    expect(store.delete(b('s'))).toBe(true);
    expect(store.delete(b('big'))).toBe(true);
    expect(store.valueLatin1(small)).toBe('gone');
    expect(store.valueBuffer(big).equals(Buffer.alloc(200_000, 3))).toBe(true);
    expect(store.isTombstone(small)).toBe(true);
    store.verify();
  });

  it('a delete of a key the store does not hold writes a tombstone, which older copies lose to', () => {
    const { store, ctl } = makeStore();
    expect(store.delete(b('absent'))).toBe(false);
    expect(store.tombstoneCount).toBe(1);
    const t = held(store, 'absent')!;
    expect(t[2]).toBeNull();
    expect(apply(store, 'absent', 'stale', makeHlc(ctl.ms - 10, 0), 7)).toBe(false);
    expect(store.get(b('absent'))).toBe(-1);
    // A delete of a tombstone restamps it with a newer version.
    ctl.ms += 5;
    expect(store.delete(b('absent'))).toBe(false);
    expect(held(store, 'absent')![0]).toBeGreaterThan(t[0]);
    expect(store.tombstoneCount).toBe(1);
    store.verify();
  });

  it('a local set replaces a tombstone', () => {
    const { store } = makeStore();
    store.set(b('k'), b('1'), 0);
    store.delete(b('k'));
    const h = store.set(b('k'), b('2'), 0);
    expect(store.isTombstone(h)).toBe(false);
    expect(store.valueLatin1(store.get(b('k')))).toBe('2');
    expect(store.tombstoneCount).toBe(0);
    expect(store.size).toBe(1);
    store.verify();
  });

  it('keeps large tombstones to their key: a deleted large value is freed when its segment is packed', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 1 << 20, maxValueBytes: 1 << 18, maxKeyBytes: 4096 });
    const longKey = 'L'.repeat(3000); // over 1/8 of a 16 KiB segment: a large key
    store.set(b(longKey), Buffer.alloc(100_000, 1), 0);
    store.set(b('large-value'), Buffer.alloc(100_000, 2), 0);
    const before = store.memory().large;
    expect(before).toBeGreaterThan(200_000);
    store.delete(b(longKey));
    store.delete(b('large-value'));
    expect(store.memory().large).toBe(before); // in place: the bytes stay until a reclaim or compaction
    // Churn: the evicted fill is settled (no markers); the tombstones are
    // inside their grace period, so they are kept.
    ctl.settled = true;
    for (let i = 0; i < 8000; i++) store.set(b(`fill${i}`), Buffer.alloc(200, i), 0);
    expect(store.stats.evictions).toBeGreaterThan(1000);
    store.verify();
    // The keys alone: the long key in a buffer of its own; the short one, if
    // it fitted in the head segment when copied, in a small tombstone.
    expect(store.memory().large).toBeGreaterThanOrEqual(3000 + LARGE_ITEM_OVERHEAD_BYTES);
    expect(store.memory().large).toBeLessThanOrEqual(3000 + 11 + 2 * LARGE_ITEM_OVERHEAD_BYTES);
    expect(held(store, longKey)![2]).toBeNull();
    expect(held(store, 'large-value')![2]).toBeNull();
    expect(store.valueLength(store.versionAt(b('large-value'), 0, 11))).toBe(0);
    expect(store.tombstoneCount).toBe(2);
  });
});

describe('ArenaStore replicated: applyAt', () => {
  it('applies a newer version, ignores an older one, and reports the version held', () => {
    const { store, clock } = makeStore();
    expect(apply(store, 'k', 'v5', V(5), 1)).toBe(true);
    expect([store.heldHlc, store.heldNode, store.heldTombstone]).toEqual([V(5), 1, false]);
    expect(apply(store, 'k', 'v3', V(3), 9)).toBe(false);
    expect([store.heldHlc, store.heldNode, store.heldTombstone]).toEqual([V(5), 1, false]);
    expect(apply(store, 'k', 'v5-node2', V(5), 2)).toBe(true); // same hlc, higher node tag
    expect(held(store, 'k')).toEqual([V(5), 2, 'v5-node2']);
    expect(apply(store, 'k', 'v5-node1', V(5), 1)).toBe(false);
    expect(apply(store, 'k', null, V(6), 0)).toBe(true);
    expect([store.heldHlc, store.heldNode, store.heldTombstone]).toEqual([V(6), 0, true]);
    expect(store.get(b('k'))).toBe(-1);
    expect(apply(store, 'k', 'late', V(5), 3)).toBe(false); // an older copy after a delete loses
    expect([store.heldHlc, store.heldNode, store.heldTombstone]).toEqual([V(6), 0, true]);
    expect(apply(store, 'k', 'after', V(7), 0)).toBe(true);
    expect(store.valueLatin1(store.get(b('k')))).toBe('after');
    expect(clock.now()).toBeGreaterThan(V(7)); // the clock observed the versions
    store.verify();
  });

  it('never mints a version: a copy keeps its hlc and node tag (uint32)', () => {
    const { store } = makeStore();
    const value = b('xxhello');
    const key = b('--key--');
    expect(store.applyAt(key, 2, 3, value, 2, 5, 0, V(1), 0xffff_fff0, false)).toBe(true);
    const h = store.get(b('key'));
    expect([store.hlcOf(h), store.nodeOf(h), store.valueLatin1(h)]).toEqual([V(1), 0xffff_fff0, 'hello']);
  });

  it('on an equal version: the larger value hash wins, in whichever order copies arrive', () => {
    const hashOf = (s: string): number => hashBytes(b(s), 0, s.length) >>> 0;
    const [lo, hi] = ['alpha', 'bravo'].sort((x, y) => hashOf(x) - hashOf(y));
    expect(hashOf(lo!)).not.toBe(hashOf(hi!));
    for (const order of [
      [lo!, hi!],
      [hi!, lo!],
    ]) {
      const { store } = makeStore();
      expect(apply(store, 'k', order[0]!, V(1), 1)).toBe(true);
      expect(apply(store, 'k', order[1]!, V(1), 1)).toBe(order[1] === hi);
      expect(held(store, 'k')).toEqual([V(1), 1, hi]);
      expect(apply(store, 'k', hi!, V(1), 1)).toBe(false); // identical: no-op
    }
  });

  it('on an equal version: a live value beats a tombstone, in either order; two tombstones are one', () => {
    for (const liveFirst of [true, false]) {
      const { store } = makeStore();
      if (liveFirst) {
        expect(apply(store, 'k', 'v', V(1), 1)).toBe(true);
        expect(apply(store, 'k', null, V(1), 1)).toBe(false);
      } else {
        expect(apply(store, 'k', null, V(1), 1)).toBe(true);
        expect(apply(store, 'k', 'v', V(1), 1)).toBe(true);
      }
      expect(held(store, 'k')).toEqual([V(1), 1, 'v']);
      expect(store.heldTombstone).toBe(false);
    }
    const { store } = makeStore();
    expect(apply(store, 'k', null, V(1), 1)).toBe(true);
    expect(apply(store, 'k', null, V(1), 1)).toBe(false);
    expect(store.tombstoneCount).toBe(1);
  });

  it('stores a copy that has already expired as a tombstone of its version', () => {
    const { store, ctl } = makeStore();
    expect(apply(store, 'k', 'gone', V(5), 1, ctl.ms)).toBe(true);
    expect(store.heldTombstone).toBe(true);
    expect(held(store, 'k')).toEqual([V(5), 1, null]);
    expect(store.get(b('k'))).toBe(-1);
    expect(store.tombstoneCount).toBe(1);
    expect(apply(store, 'k', 'older', V(4), 1)).toBe(false); // it still beats older copies
    expect(apply(store, 'k', 'newer', V(6), 1, ctl.ms + 100)).toBe(true);
    expect(store.valueLatin1(store.get(b('k')))).toBe('newer');
    store.verify();
  });

  it('compares with an expired item it holds as with the tombstone that item becomes', () => {
    const { store, ctl } = makeStore();
    apply(store, 'k', 'v', V(5), 1, ctl.ms + 10);
    ctl.ms += 10;
    expect(apply(store, 'k', 'older', V(4), 1)).toBe(false);
    expect([store.heldHlc, store.heldTombstone]).toEqual([V(5), true]);
    expect(store.stats.expirations).toBe(1);
  });

  it('checks its arguments before anything changes, and needs a replicated cache', () => {
    const { store } = makeStore({ maxValueBytes: 10 });
    apply(store, 'k', 'v', V(5), 1);
    expect(() => apply(store, 'k', 'x'.repeat(11), V(6), 1)).toThrow(StoreError);
    expect(() => apply(store, 'k', 'v', -1, 1)).toThrow(RangeError);
    expect(() => apply(store, 'k', 'v', V(6), 2 ** 32)).toThrow(RangeError);
    expect(() => apply(store, 'k', 'v', V(6), 1, -5)).toThrow(StoreError);
    expect(() => store.applyAt(b('k'), 0, 2, EMPTY, 0, 0, 0, V(6), 1, true)).toThrow(RangeError);
    expect(held(store, 'k')).toEqual([V(5), 1, 'v']);
    const single = makeStore({}, false).store;
    expect(() => apply(single, 'k', 'v', V(1), 1)).toThrow(/single-copy/);
    expect(() => single.pin(b('k'), 0, 1, V(1), 1)).toThrow(/single-copy/);
  });
});

describe('ArenaStore replicated: expiry keeps versions', () => {
  it('a lazily expired item becomes a tombstone of its version (get, peek, versionAt), unless settled', () => {
    for (const read of ['get', 'peek', 'versionAt'] as const) {
      const { store, ctl } = makeStore();
      const h = store.set(b('k'), b('v'), ctl.ms + 10);
      const version = [store.hlcOf(h), store.nodeOf(h)];
      ctl.ms += 10;
      const r =
        read === 'get'
          ? store.get(b('k'))
          : read === 'peek'
            ? store.peek(b('k'))
            : store.versionAt(b('k'), 0, 1);
      expect(r >= 0).toBe(read === 'versionAt');
      expect(store.stats.expirations).toBe(1);
      expect(store.tombstoneCount).toBe(1);
      const t = store.versionAt(b('k'), 0, 1);
      expect([store.hlcOf(t), store.nodeOf(t), store.isTombstone(t)]).toEqual([...version, true]);
      expect(store.expiresAtOf(t)).toBe(ctl.ms + GRACE);
      store.verify();
    }
    const { store, ctl } = makeStore();
    ctl.settled = true;
    store.set(b('k'), b('v'), ctl.ms + 10);
    ctl.ms += 10;
    expect(store.versionAt(b('k'), 0, 1)).toBe(-1); // settled: simply removed
    expect(store.stats.expirations).toBe(1);
    expect(store.tombstoneCount).toBe(0);
    store.verify();
  });

  it('active expiry turns expired items into tombstones, and purges tombstones only when purgeable', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 16 << 20 });
    for (let i = 0; i < 500; i++) store.set(b(`t${i}`), b('v'), ctl.ms + 100);
    for (let i = 0; i < 500; i++) store.set(b(`n${i}`), b('v'), 0);
    ctl.ms += 100;
    // (Tombstones stay in the TTL array, so a sample finds fewer expired items
    // as they convert: cycle a fixed number of times.)
    for (let i = 0; i < 300; i++) store.activeExpireCycle(10_000);
    expect(store.tombstoneCount).toBe(500); // not settled: every expired item left its version
    expect(store.stats.expirations).toBe(500);
    expect(store.size).toBe(500);
    expect(store.ttlCount).toBe(500);
    // Settled but inside the grace period: kept.
    ctl.settled = true;
    ctl.ms += GRACE - 1;
    expect(store.activeExpireCycle(10_000)).toBe(0);
    expect(store.tombstoneCount).toBe(500);
    // Past the grace period but not settled: kept.
    ctl.ms += 1;
    ctl.settled = false;
    expect(store.activeExpireCycle(10_000)).toBe(0);
    expect(store.tombstoneCount).toBe(500);
    // Past it and settled: purged.
    ctl.settled = true;
    let purged = 0;
    for (let i = 0; i < 100 && store.tombstoneCount > 0; i++) purged += store.activeExpireCycle(10_000);
    expect(purged).toBeGreaterThan(400);
    expect(store.stats.tombstonesPurged).toBe(purged);
    expect(store.tombstoneCount).toBe(500 - purged);
    expect(store.size).toBe(500);
    store.verify();
  });

  it('reclaim and compaction turn expired items into tombstones of their version', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 64 * 1024 });
    const versions = new Map<string, number>();
    for (let i = 0; i < 60; i++)
      versions.set(`t${i}`, store.hlcOf(store.set(b(`t${i}`), Buffer.alloc(100), ctl.ms + 10)));
    ctl.ms += 10;
    const expiring = new Set(versions.values());
    ctl.settledFn = (hlc) => !expiring.has(hlc); // the t keys' versions are not settled, the others are
    for (let i = 0; i < 600; i++) store.set(b(`n${i}`), Buffer.alloc(100), 0); // over the budget: reclaims
    expect(store.stats.expirations).toBeGreaterThan(30);
    expect(store.stats.evictionMarkers).toBe(0);
    for (const [key, hlc] of versions) {
      const h = store.versionAt(b(key), 0, key.length);
      expect(h).toBeGreaterThanOrEqual(0);
      expect([store.hlcOf(h), store.isTombstone(h)]).toEqual([hlc, true]);
    }
    store.verify();
  });
});

describe('ArenaStore replicated: eviction', () => {
  it.each(['s3fifo', 'lru'] as const)(
    'an evicted item leaves a marker with its version unless settled (%s)',
    (policy: EvictionPolicyName) => {
      const options = { maxMemoryBytes: 256 * 1024, evictionPolicy: policy };
      const { store } = makeStore(options);
      const versions = new Map<string, [number, number]>();
      for (let i = 0; i < 1500; i++) {
        const key = `k${i}`;
        const h = store.set(b(key), Buffer.alloc(400, i), 0);
        versions.set(key, [store.hlcOf(h), store.nodeOf(h)]);
      }
      expect(store.stats.evictions).toBeGreaterThan(500);
      expect(store.stats.evictionMarkers).toBe(store.stats.evictions);
      expect(store.tombstoneCount).toBe(store.stats.evictions);
      expect(store.size + store.tombstoneCount).toBe(1500);
      for (const [key, [hlc, node]] of versions) {
        const h = store.versionAt(b(key), 0, key.length);
        expect([store.hlcOf(h), store.nodeOf(h)]).toEqual([hlc, node]);
        if (store.isTombstone(h)) {
          expect(store.get(b(key))).toBe(-1);
          expect(store.expiresAtOf(h)).toBe(T0 + GRACE); // created at eviction: kept the grace period
          expect(apply(store, key, 'older copy', hlc - 1, node)).toBe(false);
        }
      }
      store.verify();

      // Settled: evicted as in a single-copy cache, no marker.
      const settled = makeStore(options);
      settled.ctl.settled = true;
      for (let i = 0; i < 1500; i++) settled.store.set(b(`k${i}`), Buffer.alloc(400, i), 0);
      expect(settled.store.stats.evictions).toBeGreaterThan(500);
      expect(settled.store.stats.evictionMarkers).toBe(0);
      expect(settled.store.tombstoneCount).toBe(0);
      settled.store.verify();
    },
  );

  it.each([
    ['lru', 'reclaim'],
    ['s3fifo', 'active expiry'],
  ] as const)(
    'never evicts tombstones; purges them once past the grace period and settled (%s, by %s)',
    (policy, _purgedBy) => {
      // (Under S3-FIFO kept tombstones go to the main queue, which a churn of
      // keys never read does not reach: active expiry purges them there.)
      const active = policy === 's3fifo';
      const { store, ctl } = makeStore({ maxMemoryBytes: 128 * 1024, evictionPolicy: policy });
      const local = (_hlc: number, node: number): boolean => node === 42; // local writes are settled, node 1's are not
      ctl.settledFn = local;
      for (let i = 0; i < 200; i++) apply(store, `dead${i}`, null, V(i), 1);
      const churn = (tag: string): void => {
        for (let i = 0; i < 3000; i++) {
          store.set(b(`${tag}${i}`), Buffer.alloc(150, i), 0);
          if (active && i % 100 === 0) store.activeExpireCycle(1000);
        }
      };
      churn('live'); // reclaims every segment many times over
      expect(store.stats.evictions).toBeGreaterThan(2000);
      for (let i = 0; i < 200; i++) expect(held(store, `dead${i}`)).toEqual([V(i), 1, null]);
      // Settled, but inside the grace period: kept.
      ctl.settledFn = () => true;
      churn('more');
      expect(store.stats.tombstonesPurged).toBe(0);
      // Past the grace period, but not settled: kept.
      ctl.ms += GRACE;
      ctl.settledFn = local;
      churn('again');
      expect(store.stats.tombstonesPurged).toBe(0);
      expect(store.tombstoneCount).toBe(200);
      // Past it and settled: purged.
      ctl.settledFn = () => true;
      churn('last');
      expect(store.stats.tombstonesPurged).toBe(200);
      for (let i = 0; i < 200; i++) expect(held(store, `dead${i}`)).toBeUndefined();
      expect(store.stats.evictionMarkers).toBe(0);
      store.verify();
    },
  );

  it('throws OUT_OF_MEMORY, changing nothing, when the budget is all tombstones; purges what it may first', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 64 * 1024, maxKeyBytes: 64 });
    let err: unknown;
    let i = 0;
    for (; i < 100_000 && err === undefined; i++) {
      try {
        apply(store, `dead:${i}`.padEnd(40, '.'), null, V(i), 1);
      } catch (e) {
        err = e;
      }
      if (i % 64 === 0) store.verify();
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).codeName).toBe('OUT_OF_MEMORY');
    expect((err as StoreError).message).toMatch(
      /^cache 'rep' is full of tombstones: .*tombstoneGraceMs \(1000 ms\)/,
    );
    const count = store.tombstoneCount;
    expect(count).toBeGreaterThan(300);
    expect(count).toBe(i - 1);
    store.verify();
    const snapshot = (): unknown => ({
      stats: { ...store.stats },
      tombstones: store.tombstoneCount,
      size: store.size,
      versions: [...store.allItems()].map((h) => `${store.keyBuffer(h).toString()}@${store.hlcOf(h)}`).sort(),
    });
    const before = snapshot();
    for (const attempt of [
      () => apply(store, 'another', null, V(0), 1),
      () => apply(store, 'another', 'value', V(0), 1),
      () => store.set(b('another'), b('value'), 0),
      () => store.delete(b('another')),
    ]) {
      expect(attempt).toThrow(/full of tombstones/);
      expect(snapshot()).toEqual(before);
      store.verify();
    }
    // A delete of a key it holds needs no room: in place.
    expect(store.delete(b(`dead:${0}`.padEnd(40, '.')))).toBe(false);
    // Once the tombstones may be purged, a write purges them and goes through.
    ctl.ms += GRACE;
    ctl.settled = true;
    expect(apply(store, 'another', 'value', V(0), 1)).toBe(true);
    expect(store.stats.tombstonesPurged).toBeGreaterThan(count - 2);
    store.verify();
  });

  it.each(['s3fifo', 'lru'] as const)(
    'makes room around tombstones by turning live items into markers, until only tombstones are left (%s)',
    (policy) => {
      const { store } = makeStore({ maxMemoryBytes: 128 * 1024, evictionPolicy: policy });
      for (let i = 0; i < 400; i++) apply(store, `d${i}`, null, V(i), 1);
      let written = 0;
      let failed = 0;
      for (let j = 0; j < 3000; j++) {
        try {
          store.set(b(`live${j}`), Buffer.alloc(100), 0);
          written++;
        } catch (e) {
          expect((e as StoreError).codeName).toBe('OUT_OF_MEMORY');
          failed++;
        }
        if (j % 50 === 0) store.verify();
      }
      // Live items were evicted into markers while room could be made; once
      // the budget is all tombstones, writes fail (they never loop).
      expect(written).toBeGreaterThan(500);
      expect(store.stats.evictionMarkers).toBeGreaterThan(300);
      expect(failed).toBeGreaterThan(0);
      expect(store.tombstoneCount).toBe(400 + store.stats.evictionMarkers);
      for (let i = 0; i < 400; i++) expect(held(store, `d${i}`)).toEqual([V(i), 1, null]);
      store.verify();
    },
  );

  it('an LRU read in a cache full of tombstones does not throw: the item stays where it is', () => {
    const { store } = makeStore({ maxMemoryBytes: 64 * 1024, evictionPolicy: 'lru' });
    store.set(b('hot'), Buffer.alloc(400, 7), 0);
    let full = false;
    for (let i = 0; i < 100_000 && !full; i++) {
      try {
        apply(store, `d${i}`.padEnd(40, '.'), null, V(i), 1);
      } catch {
        full = true;
      }
      store.get(b('hot')); // the most recently used: LRU keeps it
    }
    expect(full).toBe(true);
    const other = b('x'.repeat(40));
    for (let i = 0; i < 100; i++) {
      // Each read moves the item to the head; when the head is full, the
      // store cannot take a segment, and the item stays put.
      const h = store.get(b('hot'));
      expect(store.valueBuffer(h).equals(Buffer.alloc(400, 7))).toBe(true);
      store.get(other);
      store.verify();
    }
  });
});

describe('ArenaStore replicated: pin', () => {
  it('pins an exact version; a pinned tombstone is never purged until unpinned', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 128 * 1024 });
    apply(store, 'p', null, V(3), 1);
    apply(store, 'q', null, V(3), 1);
    expect(store.pin(b('p'), 0, 1, V(2), 1)).toBe(false); // not the version held
    expect(store.pin(b('p'), 0, 1, V(3), 2)).toBe(false);
    expect(store.pin(b('absent'), 0, 6, V(3), 1)).toBe(false);
    expect(store.pin(b('p'), 0, 1, V(3), 1)).toBe(true);
    const where = store.versionAt(b('p'), 0, 1);
    expect(store.isPinned(where)).toBe(true);
    ctl.ms += GRACE;
    ctl.settled = true;
    // Reclaims and compactions move it many times; the pin moves with it.
    // Holes among live items (a rewritten counter, a trickle of new keys) are
    // compacted; then new keys make reclaims evict.
    for (let i = 0; i < 30_000; i++) {
      store.set(b('counter'), b(String(i)), 0);
      if (i % 300 === 0) store.set(b(`k${i}`), Buffer.alloc(100), 0);
    }
    for (let i = 0; i < 2000; i++) store.set(b(`fill${i}`), Buffer.alloc(150, i), 0);
    expect(store.compactions).toBeGreaterThan(0);
    expect(store.stats.evictions).toBeGreaterThan(0);
    while (store.activeExpireCycle(100_000) > 0);
    expect(held(store, 'q')).toBeUndefined(); // purged
    const h = store.versionAt(b('p'), 0, 1);
    expect([store.hlcOf(h), store.isTombstone(h), store.isPinned(h)]).toEqual([V(3), true, true]);
    expect(h).not.toBe(where); // it was copied forward
    expect(store.unpin(b('p'), 0, 1)).toBe(true);
    expect(store.unpin(b('p'), 0, 1)).toBe(false);
    while (store.activeExpireCycle(100_000) > 0);
    expect(held(store, 'p')).toBeUndefined();
    store.verify();
  });

  it('a pinned live item is evicted only with a marker, even when settled; a new version drops the pin', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 128 * 1024 });
    ctl.settled = true;
    store.set(b('pinned'), Buffer.alloc(200, 1), 0);
    const h = store.peek(b('pinned'));
    const version = store.hlcOf(h);
    expect(store.pin(b('pinned'), 0, 6, version, 42)).toBe(true);
    for (let i = 0; store.peek(b('pinned')) >= 0; i++) store.set(b(`fill${i}`), Buffer.alloc(200, i), 0);
    expect(store.stats.evictionMarkers).toBe(1);
    const t = store.versionAt(b('pinned'), 0, 6);
    expect([store.hlcOf(t), store.isTombstone(t), store.isPinned(t)]).toEqual([version, true, true]);
    store.set(b('pinned'), b('new'), 0);
    expect(store.isPinned(store.versionAt(b('pinned'), 0, 6))).toBe(false);
    store.verify();
  });
});

describe('ArenaStore single-copy mode is unchanged', () => {
  it('deletes, expires and evicts without tombstones', () => {
    const { store, ctl } = makeStore({ maxMemoryBytes: 64 * 1024 }, false);
    expect(store.replicated).toBe(false);
    store.set(b('k'), b('v'), 0);
    expect(store.delete(b('k'))).toBe(true);
    expect(store.versionAt(b('k'), 0, 1)).toBe(-1);
    expect(store.delete(b('absent'))).toBe(false);
    store.set(b('t'), b('v'), ctl.ms + 1);
    ctl.ms += 1;
    expect(store.versionAt(b('t'), 0, 1)).toBe(-1);
    for (let i = 0; i < 2000; i++) store.set(b(`k${i}`), Buffer.alloc(100), 0);
    expect(store.stats.evictions).toBeGreaterThan(1000);
    expect(store.size).toBe([...store.allItems()].length);
    expect(store.tombstoneCount).toBe(0);
    expect(store.stats).toMatchObject({
      tombstonesPurged: 0,
      evictionMarkers: 0,
      deletes: 1,
      expirations: 1,
    });
    expect(ctl.settledCalls).toBe(0);
    store.verify();
  });
});
