import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { keySlot } from '@meshcache/proto';
import type { EvictionPolicyName } from '../../../../src/store/StoreOptions.js';
import { HybridLogicalClock } from '../../../../src/store/HybridLogicalClock.js';
import { SCAN_DONE } from '../../../../src/store/arena/ArenaScan.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';

/**
 * The scan's promise under traffic: between the calls of one scan, writes
 * fill a small cache (4 KiB segments) so segments are reclaimed (evicting,
 * or re-appending what the policy keeps), overwrites leave holes that
 * compaction packs, keys are deleted, read (LRU moves), expired, and new keys
 * double the index; every key the index held at every call of the scan is
 * visited, and no key twice. verify() after every step.
 */
const T0 = 1_763_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Deterministic PRNG (mulberry32) for the traffic of one run. */
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

/** Keys of 1..40 bytes, some with a hash tag. */
const keyOf = (i: number): string => {
  const k = i % 9 === 0 ? `{t${i % 13}}${i}` : `k${i}:`;
  return k.padEnd(1 + ((i * 7) % 40), 'x');
};

/** What happened during the scans of all runs (so the test knows it exercised them). */
const seen = { compactions: 0, evictions: 0, doublings: 0, expirations: 0, deletes: 0, runs: 0 };

interface Run {
  seed: number;
  policy: EvictionPolicyName;
  replicated: boolean;
  initial: number;
  maxWork: number;
  opsPerStep: number;
}

function runScan({ seed, policy, replicated, initial, maxWork, opsPerStep }: Run): void {
  const rand = prng(seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const time = { ms: T0 };
  const now = (): number => time.ms;
  const store = new ArenaStore(
    {
      name: 'scan-model',
      maxMemoryBytes: 160 * 1024,
      defaultTtlMs: 0,
      maxValueBytes: 4096,
      maxKeyBytes: 64,
      evictionPolicy: policy,
      ...(replicated ? { replication: { tombstoneGraceMs: 20, settled: () => rand() < 0.5 } } : {}),
    },
    new HybridLogicalClock(3, now),
    now,
  );
  let fresh = 100_000; // keys never written before
  const valueOf = (): Buffer => Buffer.alloc(rand() < 0.05 ? 600 + pick(2000) : pick(200), 1);
  const ttl = (): number => (rand() < 0.2 ? time.ms + 1 + pick(200) : 0);
  for (let i = 0; i < initial; i++) store.set(b(keyOf(i)), valueOf(), ttl());
  const universe = initial + 200;

  const indexed = (): Set<string> =>
    new Set([...store.allItems()].map((h) => store.keyBuffer(h).toString('latin1')));
  let throughout = indexed();
  const visits = new Map<string, number>();
  const before = {
    compactions: store.compactions,
    evictions: store.stats.evictions,
    index: store.memory().index,
    expirations: store.stats.expirations,
  };
  let deletes = 0;

  let cursor = 0;
  while (cursor !== SCAN_DONE) {
    const next = store.scan(cursor, maxWork, undefined, (h, slot) => {
      const key = store.keyBuffer(h).toString('latin1');
      expect(slot).toBe(keySlot(key));
      visits.set(key, (visits.get(key) ?? 0) + 1);
    });
    expect(next).toBeGreaterThan(cursor);
    cursor = next;

    for (let n = pick(opsPerStep + 1); n > 0; n--) {
      const r = rand();
      const key = b(keyOf(pick(universe)));
      if (r < 0.45) {
        store.set(key, valueOf(), ttl()); // a new key or an overwrite
      } else if (r < 0.6) {
        if (store.delete(key)) deletes++;
      } else if (r < 0.75) {
        store.get(key);
      } else if (r < 0.85) {
        for (let i = pick(60); i > 0; i--) store.set(b(`n${fresh++}`), Buffer.alloc(0), 0); // index growth
      } else if (r < 0.95) {
        store.set(b(keyOf(pick(8))), valueOf(), 0); // hot overwrites: holes to compact
      } else {
        time.ms += pick(100);
        store.activeExpireCycle(50);
      }
    }
    store.verify();
    const present = indexed();
    throughout = new Set([...throughout].filter((k) => present.has(k)));
  }

  for (const k of throughout) expect(visits.get(k)).toBe(1);
  for (const count of visits.values()) expect(count).toBe(1);
  seen.compactions += store.compactions - before.compactions;
  seen.evictions += store.stats.evictions - before.evictions;
  seen.expirations += store.stats.expirations - before.expirations;
  if (store.memory().index > before.index) seen.doublings++;
  seen.deletes += deletes;
  seen.runs++;
}

describe('ArenaStore.scan under traffic (model)', () => {
  it('visits every key present throughout, once, while segments are reclaimed and compacted and the index doubles', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          policy: fc.constantFrom<EvictionPolicyName>('s3fifo', 'lru'),
          replicated: fc.boolean(),
          initial: fc.integer({ min: 0, max: 1500 }),
          maxWork: fc.integer({ min: 1, max: 48 }),
          opsPerStep: fc.integer({ min: 0, max: 40 }),
        }),
        (run) => runScan(run),
      ),
      { numRuns: 40 },
    );
    // The runs together met every kind of move the scan must survive.
    expect(seen.runs).toBe(40);
    expect(seen.compactions).toBeGreaterThan(0);
    expect(seen.evictions).toBeGreaterThan(0);
    expect(seen.doublings).toBeGreaterThan(0);
    expect(seen.expirations).toBeGreaterThan(0);
    expect(seen.deletes).toBeGreaterThan(0);
  });
});
