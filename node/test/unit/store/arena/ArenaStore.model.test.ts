import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { HybridLogicalClock, makeHlc } from '../../../../src/store/HybridLogicalClock.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';

/**
 * Random operation sequences against a reference Map. Eviction may make a key
 * vanish (and must be counted), but the store may never return a value,
 * version or expiry the model does not hold, nor bring back a deleted,
 * expired or evicted key.
 */
const T0 = 1_763_000_000_000;

// Keys of many lengths (1..70 bytes): with 4 KiB segments the longest ones
// plus a value are large items (over 512 bytes).
// 300 keys of about 370 bytes each on average: far more than 48 KiB holds.
const KEYS = Array.from({ length: 300 }, (_, i) =>
  Buffer.from(`${i}:`.padEnd(1 + ((i * 37) % 70), 'k'), 'latin1'),
);

type Op =
  | { kind: 'set'; key: number; len: number; ttl: number; version: [number, number] | null }
  | { kind: 'get' | 'peek' | 'delete'; key: number }
  | { kind: 'expire'; key: number; ttl: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'active'; work: number }
  | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 80,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key: fc.nat(KEYS.length - 1),
      len: fc.oneof(
        { weight: 6, arbitrary: fc.nat(600) },
        { weight: 1, arbitrary: fc.integer({ min: 600, max: 3000 }) },
      ),
      ttl: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }) },
      ),
      version: fc.option(fc.tuple(fc.nat(1_000_000), fc.nat(0xffffffff)), { freq: 4 }),
    }),
  },
  { weight: 60, arbitrary: fc.record({ kind: fc.constant('get' as const), key: fc.nat(KEYS.length - 1) }) },
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('peek' as const), key: fc.nat(KEYS.length - 1) }) },
  {
    weight: 15,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(KEYS.length - 1) }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('expire' as const),
      key: fc.nat(KEYS.length - 1),
      ttl: fc.integer({ min: 0, max: 100 }),
    }),
  },
  {
    weight: 20,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 }) }),
  },
  {
    weight: 10,
    arbitrary: fc.record({ kind: fc.constant('active' as const), work: fc.integer({ min: 1, max: 50 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

interface ModelEntry {
  value: Buffer;
  hlc: number;
  node: number;
  expiresAt: number;
}

/** Totals over all runs, to show the evicting runs really evict. */
const totals = { evictions: 0, expirations: 0, compactions: 0, large: 0 };

function runModel(policy: 'lru' | 's3fifo', budget: number, ops: Op[], mayEvict = true): void {
  let now = T0;
  const clock = new HybridLogicalClock(7, () => now);
  const store = new ArenaStore(
    {
      name: 'model',
      maxMemoryBytes: budget,
      defaultTtlMs: 0,
      maxValueBytes: 4000,
      maxKeyBytes: 80,
      evictionPolicy: policy,
    },
    clock,
    () => now,
  );
  const model = new Map<number, ModelEntry>();
  let seq = 0;
  let vanished = 0;
  const live = (e: ModelEntry): boolean => e.expiresAt === 0 || e.expiresAt > now;

  /** The store's answer for a key must agree with the model, or be an eviction. */
  const check = (key: number, h: number): void => {
    const e = model.get(key);
    if (h < 0) {
      if (e !== undefined) {
        if (live(e)) vanished++;
        model.delete(key);
      }
      return;
    }
    // Plain comparisons first: expect() on every sweep would dominate the run time.
    const agrees =
      e !== undefined &&
      live(e) &&
      store.valueBuffer(h).equals(e.value) &&
      store.keyBuffer(h).equals(KEYS[key]!) &&
      store.hlcOf(h) === e.hlc &&
      store.nodeOf(h) === e.node &&
      store.expiresAtOf(h) === e.expiresAt;
    if (!agrees) {
      expect(e).toBeDefined(); // nothing comes back from the dead
      expect(live(e!)).toBe(true);
      expect(store.valueBuffer(h)).toEqual(e!.value);
      expect(store.keyBuffer(h)).toEqual(KEYS[key]);
      expect([store.hlcOf(h), store.nodeOf(h), store.expiresAtOf(h)]).toEqual([
        e!.hlc,
        e!.node,
        e!.expiresAt,
      ]);
    }
  };

  /**
   * Every key: the store agrees with the model or evicted the key, and every
   * eviction made exactly one live key vanish. (Sweeps also run before time
   * moves, so a key evicted while live is not mistaken for an expired one.)
   */
  const sweep = (): void => {
    for (let key = 0; key < KEYS.length; key++) check(key, store.peek(KEYS[key]!));
    expect(store.stats.evictions).toBe(vanished);
    if (!mayEvict) expect(vanished).toBe(0);
  };

  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    switch (op.kind) {
      case 'set': {
        check(op.key, store.peek(KEYS[op.key]!)); // evicted since the last sweep? count it before overwriting
        const value = Buffer.alloc(op.len, seq++ & 0xff);
        if (op.len > 0) value[0] = op.key & 0xff;
        const expiresAt = op.ttl === 0 ? 0 : now + op.ttl;
        const before = store.stats.evictions;
        let h: number;
        if (op.version) {
          const hlc = makeHlc(T0 + op.version[0], 0);
          h = store.set(KEYS[op.key]!, value, expiresAt, hlc, op.version[1]);
        } else {
          h = store.set(KEYS[op.key]!, value, expiresAt);
        }
        model.set(op.key, { value, hlc: store.hlcOf(h), node: store.nodeOf(h), expiresAt });
        if (op.version) {
          expect(store.hlcOf(h)).toBe(makeHlc(T0 + op.version[0], 0));
          expect(store.nodeOf(h)).toBe(op.version[1]);
        } else {
          expect(store.nodeOf(h)).toBe(7);
        }
        check(op.key, h);
        expect(store.stats.evictions).toBeGreaterThanOrEqual(before);
        break;
      }
      case 'get':
        check(op.key, store.get(KEYS[op.key]!));
        break;
      case 'peek':
        check(op.key, store.peek(KEYS[op.key]!));
        break;
      case 'delete': {
        const e = model.get(op.key);
        const removed = store.delete(KEYS[op.key]!);
        if (removed) expect(e !== undefined && live(e)).toBe(true);
        else if (e !== undefined && live(e)) vanished++; // it had been evicted
        model.delete(op.key);
        break;
      }
      case 'expire': {
        const expiresAt = op.ttl === 0 ? 0 : now + op.ttl;
        const e = model.get(op.key);
        const changed = store.setExpiry(KEYS[op.key]!, expiresAt);
        if (changed) {
          expect(e !== undefined && live(e)).toBe(true);
          e!.expiresAt = expiresAt;
        } else if (e !== undefined) {
          if (live(e)) vanished++;
          model.delete(op.key);
        }
        break;
      }
      case 'advance':
        sweep();
        now += op.ms;
        break;
      case 'active':
        store.activeExpireCycle(op.work);
        break;
      case 'clear':
        sweep();
        store.clear();
        model.clear();
        break;
    }
    expect(store.usedBytes).toBeLessThanOrEqual(budget);
    store.verify();
    if (i % 8 === 7 || i === ops.length - 1) sweep();
  }
  totals.evictions += store.stats.evictions;
  totals.expirations += store.stats.expirations;
  totals.compactions += store.compactions;
  totals.large += ops.filter((op) => op.kind === 'set' && op.len > 500).length;
}

describe('ArenaStore against a model', () => {
  for (const policy of ['s3fifo', 'lru'] as const) {
    it(`agrees with a Map, evictions aside (${policy}, evicting)`, () => {
      Object.assign(totals, { evictions: 0, expirations: 0, compactions: 0, large: 0 });
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 300, maxLength: 600 }), (ops) =>
          runModel(policy, 48 * 1024, ops),
        ),
        { numRuns: 40 },
      );
      expect(totals.evictions).toBeGreaterThan(1000);
      expect(totals.expirations).toBeGreaterThan(100);
      expect(totals.large).toBeGreaterThan(100);
    });

    it(`agrees with a Map exactly while nothing needs evicting (${policy})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 20, maxLength: 150 }), (ops) => {
          runModel(policy, 4 << 20, ops, false);
        }),
        { numRuns: 50 },
      );
    });
  }
});
