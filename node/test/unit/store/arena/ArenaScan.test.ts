import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT, keySlot } from '@meshcache/proto';
import type { StoreOptions } from '../../../../src/store/StoreOptions.js';
import { HybridLogicalClock } from '../../../../src/store/HybridLogicalClock.js';
import { ArenaIndex } from '../../../../src/store/arena/ArenaIndex.js';
import { SCAN_DONE } from '../../../../src/store/arena/ArenaScan.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';
import { hashBytes } from '../../../../src/store/arena/keyHash.js';

const T0 = 1_763_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Made {
  store: ArenaStore;
  time: { ms: number };
}

/** A store; a replicated one never sees a version settled, so its tombstones stay. */
function makeStore(overrides: Partial<StoreOptions> = {}, replicated = false): Made {
  const time = { ms: T0 };
  const now = (): number => time.ms;
  const store = new ArenaStore(
    {
      name: 'scan',
      maxMemoryBytes: 1 << 20,
      defaultTtlMs: 0,
      maxValueBytes: 1 << 16,
      maxKeyBytes: 4096,
      evictionPolicy: 's3fifo',
      ...(replicated ? { replication: { tombstoneGraceMs: 1000, settled: () => false } } : {}),
      ...overrides,
    },
    new HybridLogicalClock(7, now),
    now,
  );
  return { store, time };
}

/** A whole scan: every visit as [key, slot], in order. */
function scanAll(
  store: ArenaStore,
  maxWork: number,
  slots?: Uint8Array,
  between?: (step: number) => void,
): [string, number][] {
  const seen: [string, number][] = [];
  let cursor = 0;
  for (let step = 0; cursor !== SCAN_DONE; step++) {
    const next = store.scan(cursor, maxWork, slots, (h, slot) => {
      seen.push([store.keyBuffer(h).toString('latin1'), slot]);
    });
    expect(next).toBeGreaterThan(cursor);
    cursor = next;
    between?.(step);
  }
  return seen;
}

/** Slot flags with `pick(slot)` set. */
function slotSet(pick: (slot: number) => boolean): Uint8Array {
  const flags = new Uint8Array(SLOT_COUNT);
  for (let s = 0; s < SLOT_COUNT; s++) if (pick(s)) flags[s] = 1;
  return flags;
}

/** Keys of every index item, tombstones included. */
function indexedKeys(store: ArenaStore): string[] {
  return [...store.allItems()].map((h) => store.keyBuffer(h).toString('latin1'));
}

describe('ArenaIndex hash order', () => {
  it('puts homes in hash order (top bits), so consecutive homes are consecutive hash ranges', () => {
    const index = new ArenaIndex();
    for (let i = 0; i < 5; i++) index.grow(); // 512 slots
    const shift = 32 - Math.log2(index.capacity);
    expect(index.shift).toBe(shift);
    for (const hash of [0, 1, 0x7fffffff, -0x80000000, -1, 0x12345678, 0xdeadbeef | 0]) {
      const home = index.home(hash) >> 1;
      expect(home).toBe(Math.floor((hash >>> 0) / 2 ** shift));
      expect(home).toBeLessThan(index.capacity);
    }
    expect(index.home(-1) >> 1).toBe(index.capacity - 1);
  });
});

describe('ArenaStore.scan', () => {
  it('visits every item of a static store once, and only the flagged slots, with the key slot', () => {
    const { store } = makeStore();
    const keys = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `{tag${i % 50}}.k${i}` : `key:${i}`));
    for (const k of keys) store.set(b(k), b(`v-${k}`), 0);
    store.set(b('large:1'), Buffer.alloc(8000, 1), 0); // a large item: its key lies in its own buffer
    keys.push('large:1');

    const all = scanAll(store, 64);
    expect(all.map(([k]) => k).sort()).toEqual([...keys].sort());
    for (const [k, slot] of all) expect(slot).toBe(keySlot(k));

    const even = slotSet((s) => s % 2 === 0);
    const some = scanAll(store, 17, even);
    const expected = keys.filter((k) => keySlot(k) % 2 === 0);
    expect(expected.length).toBeGreaterThan(1000);
    expect(some.map(([k]) => k).sort()).toEqual(expected.sort());

    // One call with a budget past the table covers everything.
    let n = 0;
    expect(store.scan(0, 1 << 30, undefined, () => n++)).toBe(SCAN_DONE);
    expect(n).toBe(keys.length);
    expect(store.scan(SCAN_DONE, 10, undefined, () => n++)).toBe(SCAN_DONE);
    expect(n).toBe(keys.length);
  });

  it('works in small steps: each call covers about maxWork positions', () => {
    const { store } = makeStore();
    for (let i = 0; i < 1000; i++) store.set(b(`k${i}`), b('v'), 0);
    const capacity = store.memory().index / 8;
    let calls = 0;
    scanAll(store, 32, undefined, () => calls++);
    // Stops only at an empty position, so a bit more than 32 a call; never fewer.
    expect(calls).toBeLessThanOrEqual(Math.ceil(capacity / 32));
    expect(calls).toBeGreaterThan(capacity / 64);
  });

  it('visits the items that wrapped past the table end, once', () => {
    // Ten keys in the last home of the 16-slot index: their cluster wraps to position 0.
    const { store } = makeStore();
    const keys: string[] = [];
    for (let i = 0; keys.length < 10; i++) if (hashOf(`w${i}`) >= 15 * 2 ** 28) keys.push(`w${i}`);
    for (const k of keys) store.set(b(k), b('v'), 0);
    expect(store.memory().index).toBe(new ArenaIndex().bytes); // still 16 slots
    for (const work of [1, 3, 16, 100]) {
      const seen = scanAll(store, work).map(([k]) => k);
      expect(seen.sort()).toEqual([...keys].sort());
    }
    const last: string[] = [];
    expect(
      store.scan(15 * 2 ** 28, 1, undefined, (h) => last.push(store.keyBuffer(h).toString('latin1'))),
    ).toBe(SCAN_DONE);
    expect(last.sort()).toEqual([...keys].sort());
  });

  it('keeps its cursor across an index doubling and after clear()', () => {
    const { store } = makeStore();
    for (let i = 0; i < 400; i++) store.set(b(`a${i}`), b('v'), 0);
    const indexBefore = store.memory().index;
    const seen = new Map<string, number>();
    let cursor = 0;
    let grown = false;
    for (let step = 0; cursor !== SCAN_DONE; step++) {
      cursor = store.scan(cursor, 8, undefined, (h) => {
        const k = store.keyBuffer(h).toString('latin1');
        seen.set(k, (seen.get(k) ?? 0) + 1);
      });
      if (step === 10) {
        // Doubles the index (twice) between two calls.
        for (let i = 0; i < 1200; i++) store.set(b(`b${i}`), b('v'), 0);
        grown = store.memory().index >= 4 * indexBefore;
      }
    }
    expect(grown).toBe(true);
    for (let i = 0; i < 400; i++) expect(seen.get(`a${i}`)).toBe(1);
    for (const n of seen.values()) expect(n).toBe(1);

    // A cursor from a big table, after the index went back to 16 slots.
    const mid = store.scan(0, 200, undefined, () => {});
    expect(mid).toBeLessThan(SCAN_DONE);
    store.clear();
    const keys = Array.from({ length: 12 }, (_, i) => `c${i}`);
    for (const k of keys) store.set(b(k), b('v'), 0);
    const after: string[] = [];
    for (let c = mid; c !== SCAN_DONE;) {
      c = store.scan(c, 1, undefined, (h) => after.push(store.keyBuffer(h).toString('latin1')));
    }
    const expected = keys.filter((k) => hashOf(k) >= mid);
    expect(after.sort()).toEqual(expected.sort());
  });

  it('visits tombstones and items with a TTL, expired or not, with their flags', () => {
    const { store, time } = makeStore({}, true);
    store.set(b('live'), b('v'), 0);
    store.set(b('ttl'), b('v'), T0 + 60_000);
    store.set(b('expired'), b('v'), T0 + 10);
    store.set(b('gone'), b('v'), 0);
    store.delete(b('gone')); // a tombstone of a new version
    store.delete(b('never-held')); // a tombstone of a key never held
    time.ms = T0 + 100; // 'expired' is past its time, not collected yet

    const seen = new Map<string, { tombstone: boolean; expiresAt: number; hlc: number }>();
    let cursor = 0;
    while (cursor !== SCAN_DONE) {
      cursor = store.scan(cursor, 4, undefined, (h) => {
        seen.set(store.keyBuffer(h).toString('latin1'), {
          tombstone: store.isTombstone(h),
          expiresAt: store.expiresAtOf(h),
          hlc: store.hlcOf(h),
        });
      });
    }
    expect([...seen.keys()].sort()).toEqual(['expired', 'gone', 'live', 'never-held', 'ttl']);
    expect(seen.get('live')).toMatchObject({ tombstone: false, expiresAt: 0 });
    expect(seen.get('ttl')).toMatchObject({ tombstone: false, expiresAt: T0 + 60_000 });
    expect(seen.get('expired')).toMatchObject({ tombstone: false, expiresAt: T0 + 10 });
    expect(seen.get('gone')!.tombstone).toBe(true);
    expect(seen.get('never-held')!.tombstone).toBe(true);
    expect(seen.get('gone')!.expiresAt).toBeGreaterThan(T0); // its purge-eligible time
    expect(store.stats.expirations).toBe(0); // a scan expires nothing
    expect(store.tombstoneCount).toBe(2);
  });

  it('rejects bad arguments, and a visit that writes to the store', () => {
    const { store } = makeStore();
    for (let i = 0; i < 50; i++) store.set(b(`k${i}`), b('v'), 0);
    const noop = (): void => {};
    expect(() => store.scan(-1, 10, undefined, noop)).toThrow(RangeError);
    expect(() => store.scan(SCAN_DONE + 1, 10, undefined, noop)).toThrow(RangeError);
    expect(() => store.scan(0.5, 10, undefined, noop)).toThrow(RangeError);
    expect(() => store.scan(0, 0, undefined, noop)).toThrow(RangeError);
    expect(() => store.scan(0, 10, new Uint8Array(100), noop)).toThrow(RangeError);
    expect(() => store.dropSlots(0, 10, new Uint8Array(100))).toThrow(RangeError);
    expect(() =>
      store.scan(0, 1000, undefined, (h) => {
        store.delete(store.keyBuffer(h));
      }),
    ).toThrow(/written during a visit/);
  });
});

describe('ArenaStore.dropSlots', () => {
  for (const replicated of [false, true]) {
    it(`removes exactly the flagged slots' items and frees what they held alone (${replicated ? 'replicated' : 'single-copy'})`, () => {
      const { store } = makeStore({ maxMemoryBytes: 4 << 20 }, replicated);
      const dropped = slotSet((s) => s % 3 === 0);
      // The dropped keys first, so whole segments hold only them; then the kept ones.
      const all = Array.from({ length: 6000 }, (_, i) => `key:${i}`);
      const gone = all.filter((k) => dropped[keySlot(k)] !== 0);
      const kept = all.filter((k) => dropped[keySlot(k)] === 0);
      for (const k of gone) store.set(b(k), Buffer.alloc(100, 2), k.endsWith('7') ? T0 + 60_000 : 0);
      for (const k of kept) store.set(b(k), Buffer.alloc(100, 3), k.endsWith('7') ? T0 + 60_000 : 0);
      store.set(b('{big}'), Buffer.alloc(50_000, 4), 0); // a large item
      const bigGone = dropped[keySlot('{big}')] !== 0;
      (bigGone ? gone : kept).push('{big}');
      if (replicated) {
        store.delete(b(gone[0]!)); // a tombstone in a dropped slot
        store.delete(b(kept[0]!)); // and one in a kept slot
        store.pin(b(gone[1]!), 0, gone[1]!.length, store.hlcOf(store.peek(b(gone[1]!))), 7);
        expect(store.isPinned(store.peek(b(gone[1]!)))).toBe(true);
      }
      store.verify();
      const usedBefore = store.usedBytes;
      const segmentsBefore = store.memory().segments;
      const sizeBefore = store.size;
      const tombstonesBefore = store.tombstoneCount;

      let cursor = 0;
      let calls = 0;
      while (cursor !== SCAN_DONE) {
        cursor = store.dropSlots(cursor, 100, dropped);
        calls++;
        if (calls % 10 === 0) store.verify();
      }
      store.verify();
      expect(calls).toBeGreaterThan(10);
      expect(store.droppedItems).toBe(gone.length);
      expect(indexedKeys(store).sort()).toEqual([...kept].sort());
      for (const k of gone) expect(store.versionAt(b(k), 0, k.length)).toBe(-1);
      for (const k of kept.slice(1)) expect(store.peek(b(k))).toBeGreaterThanOrEqual(0);
      expect(store.size).toBe(sizeBefore - gone.length + (replicated ? 1 : 0));
      expect(store.tombstoneCount).toBe(replicated ? tombstonesBefore - 1 : 0);
      expect(store.stats.evictions).toBe(0);
      expect(store.usedBytes).toBeLessThan(usedBefore);
      expect(store.memory().segments).toBeLessThan(segmentsBefore);
      // The store goes on: the kept keys read, new writes land.
      store.set(b('after'), b('v'), 0);
      expect(store.peek(b('after'))).toBeGreaterThanOrEqual(0);
      store.verify();
    });
  }

  it('drops every slot when given no filter, and drops nothing with an empty one', () => {
    const { store } = makeStore();
    for (let i = 0; i < 500; i++) store.set(b(`k${i}`), b('value'), i % 2 === 0 ? T0 + 1000 : 0);
    let cursor = 0;
    while (cursor !== SCAN_DONE) cursor = store.dropSlots(cursor, 1000, new Uint8Array(SLOT_COUNT));
    expect(store.size).toBe(500);
    expect(store.droppedItems).toBe(0);
    cursor = 0;
    while (cursor !== SCAN_DONE) cursor = store.dropSlots(cursor, 50, undefined);
    expect(store.size).toBe(0);
    expect(store.ttlCount).toBe(0);
    expect(store.droppedItems).toBe(500);
    store.verify();
  });
});

/** The index hash of a key, unsigned: where a scan meets it. */
function hashOf(key: string): number {
  return hashBytes(b(key), 0, key.length) >>> 0;
}

describe('ArenaStore.reserveKeys', () => {
  it('sizes the index ahead of a load in key-hash order, within the budget', () => {
    const clock = new HybridLogicalClock(1, () => 1_000_000);
    const make = (maxMemoryBytes: number) =>
      new ArenaStore(
        {
          name: 'r',
          maxMemoryBytes,
          defaultTtlMs: 0,
          maxValueBytes: 1024,
          maxKeyBytes: 64,
          evictionPolicy: 's3fifo',
        },
        clock,
        () => 1_000_000,
      );
    const big = make(64 << 20);
    const room = big.reserveKeys(100_000);
    expect(room).toBeGreaterThanOrEqual(100_000);
    big.verify();
    // A small budget grows no further than it can afford, and never evicts to do it.
    const small = make(256 << 10);
    small.set(Buffer.from('k'), Buffer.from('v'), 0);
    expect(small.reserveKeys(10_000_000)).toBeLessThan(10_000_000);
    expect(small.usedBytes).toBeLessThanOrEqual(256 << 10);
    expect(small.get(Buffer.from('k'))).toBeGreaterThanOrEqual(0);
  });
});
