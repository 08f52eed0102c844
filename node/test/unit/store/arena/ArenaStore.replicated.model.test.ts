import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { HybridLogicalClock, compareVersions, makeHlc } from '../../../../src/store/HybridLogicalClock.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';
import { hashBytes } from '../../../../src/store/arena/keyHash.js';

/**
 * Replicas converge: the same copies (applyAt), delivered to two replicated
 * stores in different orders, leave both holding the same version of every
 * key, and that version is the newest one delivered, whatever the stores
 * evicted or expired on the way (settled() is false, so eviction markers and
 * tombstones keep every version). verify() after every step.
 */
const T0 = 1_763_000_000_000;
const GRACE = 50;

// 80 keys of 1..70 bytes, in a 48 KiB cache (4 KiB segments): values over ~450 bytes
// make large items, and the values do not all fit, so both stores evict.
const KEYS = Array.from({ length: 80 }, (_, i) =>
  Buffer.from(`${i}:`.padEnd(1 + ((i * 37) % 70), 'k'), 'latin1'),
);

/** A copy of one write, as a replica receives it. */
interface Copy {
  key: number;
  hlc: number;
  node: number;
  tombstone: boolean;
  value: Buffer;
  /** Absolute expiry, 0 = never. */
  expiresAt: number;
}

type Step =
  | { kind: 'deliver' }
  | { kind: 'advance'; ms: number }
  | { kind: 'active'; work: number }
  | { kind: 'read'; key: number };

/** Deterministic bytes of a given length from a seed (xorshift). */
function bytesOf(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A write is identified by its version, as in a real cluster: every copy of
 * version (hlc, node) of a key carries the same value, kind and expiry (a
 * copy may still be delivered twice, or after the write expired).
 */
const writeArb = fc
  .record({
    key: fc.nat(KEYS.length - 1),
    hlc: fc.nat(40),
    node: fc.nat(3),
  })
  .map(({ key, hlc, node }): Copy => {
    const seed = (key * 7919 + hlc * 131 + node * 17 + 1) >>> 0;
    const r = seed % 100;
    const tombstone = r < 15;
    const length = r < 25 ? 500 + ((seed * 13) % 2500) : (seed * 29) % 450; // about 1 in 10 large
    const expiresAt = r % 4 === 0 ? T0 + ((seed * 7) % 300) : 0;
    return {
      key,
      hlc: makeHlc(T0 + hlc, 0),
      node,
      tombstone,
      value: tombstone ? Buffer.alloc(0) : bytesOf(seed, length),
      expiresAt: tombstone ? 0 : expiresAt,
    };
  });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'deliver' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('active' as const), work: fc.integer({ min: 1, max: 40 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), key: fc.nat(KEYS.length - 1) }) },
);

/** Deterministic shuffle (mulberry32 + Fisher-Yates). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The LWW order of two copies of one key, as applyAt defines it (for the tie rules). */
function compareCopies(a: Copy, b: Copy): number {
  const order = compareVersions(a.hlc, a.node, b.hlc, b.node);
  if (order !== 0) return order;
  if (a.tombstone !== b.tombstone) return a.tombstone ? -1 : 1;
  if (a.tombstone) return 0;
  const ha = hashBytes(a.value, 0, a.value.length) >>> 0;
  const hb = hashBytes(b.value, 0, b.value.length) >>> 0;
  if (ha !== hb) return ha < hb ? -1 : 1;
  const bytes = Buffer.compare(a.value, b.value);
  if (bytes !== 0) return bytes;
  if (a.expiresAt === b.expiresAt) return 0;
  return a.expiresAt === 0 || (b.expiresAt !== 0 && a.expiresAt > b.expiresAt) ? 1 : -1;
}

/** Totals over all runs, to show the runs exercise what they claim. */
const totals = { markers: 0, expirations: 0, applied: 0, stale: 0, compactions: 0 };

function newReplica(now: () => number, budget: number): ArenaStore {
  return new ArenaStore(
    {
      name: 'replica',
      maxMemoryBytes: budget,
      defaultTtlMs: 0,
      maxValueBytes: 4000,
      maxKeyBytes: 80,
      evictionPolicy: 's3fifo',
      replication: { tombstoneGraceMs: GRACE, settled: () => false },
    },
    new HybridLogicalClock(1, now),
    now,
  );
}

function deliver(store: ArenaStore, c: Copy): boolean {
  const k = KEYS[c.key]!;
  return store.applyAt(k, 0, k.length, c.value, 0, c.value.length, c.expiresAt, c.hlc, c.node, c.tombstone);
}

function run(copies: Copy[], seed: number, steps: Step[], budget: number, policyB: 'lru' | 's3fifo'): void {
  let now = T0;
  const clock = (): number => now;
  const a = newReplica(clock, budget);
  const b = policyB === 's3fifo' ? newReplica(clock, budget) : lruReplica(clock, budget);
  const orderB = shuffled(copies, seed);
  let nextA = 0;
  let nextB = 0;
  const deliverNext = (): void => {
    if (nextA < copies.length) {
      const changed = deliver(a, copies[nextA++]!);
      if (changed) totals.applied++;
      else totals.stale++;
    }
    if (nextB < orderB.length) deliver(b, orderB[nextB++]!);
  };
  for (let i = 0; nextA < copies.length || nextB < orderB.length; i++) {
    const step = steps[i % Math.max(1, steps.length)] ?? { kind: 'deliver' };
    switch (step.kind) {
      case 'deliver':
        deliverNext();
        break;
      case 'advance':
        now += step.ms;
        deliverNext();
        break;
      case 'active':
        a.activeExpireCycle(step.work);
        b.activeExpireCycle(step.work);
        deliverNext();
        break;
      case 'read':
        a.get(KEYS[step.key]!);
        b.peek(KEYS[step.key]!);
        deliverNext();
        break;
    }
    a.verify();
    b.verify();
  }
  now += 1000; // everything that can expire has
  // The newest copy of each key, and what each store holds.
  const newest = new Map<number, Copy>();
  for (const c of copies) {
    const n = newest.get(c.key);
    if (n === undefined || compareCopies(c, n) > 0) newest.set(c.key, c);
  }
  for (let key = 0; key < KEYS.length; key++) {
    const k = KEYS[key]!;
    const ha = a.versionAt(k, 0, k.length);
    const hb = b.versionAt(k, 0, k.length);
    const want = newest.get(key);
    if (want === undefined) {
      expect([ha, hb]).toEqual([-1, -1]);
      continue;
    }
    // Plain comparisons first: expect() on every key would dominate the run time.
    const same =
      ha >= 0 &&
      hb >= 0 &&
      a.hlcOf(ha) === want.hlc &&
      a.nodeOf(ha) === want.node &&
      b.hlcOf(hb) === want.hlc &&
      b.nodeOf(hb) === want.node;
    if (!same) {
      expect([ha >= 0, hb >= 0]).toEqual([true, true]);
      expect([a.hlcOf(ha), a.nodeOf(ha)]).toEqual([want.hlc, want.node]);
      expect([b.hlcOf(hb), b.nodeOf(hb)]).toEqual([want.hlc, want.node]);
    }
    // Both live (nothing evicted it on either side): the same bytes.
    if (!a.isTombstone(ha) && !b.isTombstone(hb))
      expect(a.valueBuffer(ha).equals(b.valueBuffer(hb))).toBe(true);
    // A delete, or a value that has expired by now: a tombstone of that version on both sides.
    if (want.tombstone || want.expiresAt !== 0)
      expect([a.isTombstone(ha), b.isTombstone(hb)]).toEqual([true, true]);
  }
  for (const s of [a, b]) {
    totals.markers += s.stats.evictionMarkers;
    totals.expirations += s.stats.expirations;
    totals.compactions += s.compactions;
    expect(s.stats.tombstonesPurged).toBe(0); // never settled
    s.verify();
  }
}

function lruReplica(now: () => number, budget: number): ArenaStore {
  return new ArenaStore(
    {
      name: 'replica-lru',
      maxMemoryBytes: budget,
      defaultTtlMs: 0,
      maxValueBytes: 4000,
      maxKeyBytes: 80,
      evictionPolicy: 'lru',
      replication: { tombstoneGraceMs: GRACE, settled: () => false },
    },
    new HybridLogicalClock(2, now),
    now,
  );
}

describe('replicated ArenaStores converge', () => {
  for (const policyB of ['s3fifo', 'lru'] as const) {
    it(`the same copies in different orders leave the same, newest version of every key (s3fifo and ${policyB}, evicting)`, () => {
      Object.assign(totals, { markers: 0, expirations: 0, applied: 0, stale: 0, compactions: 0 });
      fc.assert(
        fc.property(
          fc.array(writeArb, { minLength: 100, maxLength: 400 }),
          fc.nat(),
          fc.array(stepArb, { minLength: 1, maxLength: 60 }),
          (writes, seed, steps) => {
            // Some copies arrive twice.
            const copies = [...writes, ...writes.filter((_, i) => i % 5 === 0)];
            run(copies, seed, steps, 48 * 1024, policyB);
          },
        ),
        { numRuns: 40 },
      );
      expect(totals.markers).toBeGreaterThan(1000);
      expect(totals.expirations).toBeGreaterThan(200);
      expect(totals.stale).toBeGreaterThan(1000);
      expect(totals.applied).toBeGreaterThan(1000);
    });
  }

  it('the same copies in different orders converge on values too, equal versions included (no eviction)', () => {
    // Copies of one version with different values (or one a tombstone): the
    // tie rules pick the same winner whatever the order.
    const copyArb = fc
      .record({
        key: fc.nat(9),
        hlc: fc.nat(5),
        node: fc.nat(1),
        tombstone: fc.boolean(),
        value: fc.uint8Array({ maxLength: 40 }),
        expiresAt: fc.constantFrom(0, T0 + 10_000, T0 + 20_000),
      })
      .map((c): Copy => ({
        ...c,
        hlc: makeHlc(T0 + c.hlc, 0),
        value: c.tombstone ? Buffer.alloc(0) : Buffer.from(c.value),
        expiresAt: c.tombstone ? 0 : c.expiresAt,
      }));
    fc.assert(
      fc.property(fc.array(copyArb, { minLength: 1, maxLength: 80 }), fc.nat(), (copies, seed) => {
        const now = (): number => T0;
        const a = newReplica(now, 4 << 20);
        const b = newReplica(now, 4 << 20);
        for (const c of copies) deliver(a, c);
        for (const c of shuffled(copies, seed)) deliver(b, c);
        const newest = new Map<number, Copy>();
        for (const c of copies) {
          const n = newest.get(c.key);
          if (n === undefined || compareCopies(c, n) > 0) newest.set(c.key, c);
        }
        for (const [key, want] of newest) {
          const k = KEYS[key]!;
          for (const s of [a, b]) {
            const h = s.versionAt(k, 0, k.length);
            expect([s.hlcOf(h), s.nodeOf(h), s.isTombstone(h)]).toEqual([
              want.hlc,
              want.node,
              want.tombstone,
            ]);
            if (!want.tombstone) {
              expect(s.valueBuffer(h).equals(want.value)).toBe(true);
              expect(s.expiresAtOf(h)).toBe(want.expiresAt);
            }
          }
        }
        a.verify();
        b.verify();
      }),
      { numRuns: 300 },
    );
  });
});
