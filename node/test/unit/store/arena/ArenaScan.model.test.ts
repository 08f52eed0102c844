import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SLOT_COUNT, keySlot } from '@meshcache/proto';
import type { EvictionPolicyName } from '../../../../src/store/StoreOptions.js';
import { HybridLogicalClock } from '../../../../src/store/HybridLogicalClock.js';
import { SCAN_DONE } from '../../../../src/store/arena/ArenaScan.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';
import { hashBytes } from '../../../../src/store/arena/keyHash.js';

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
const seen = { compactions: 0, evictions: 0, doublings: 0, expirations: 0, deletes: 0, runs: 0, dropped: 0 };

interface Run {
  seed: number;
  policy: EvictionPolicyName;
  replicated: boolean;
  initial: number;
  maxWork: number;
  opsPerStep: number;
}

/** A small cache and a source of traffic for it (one run's PRNG). */
function trafficFor({ seed, policy, replicated, initial }: Run): {
  store: ArenaStore;
  step: (ops: number) => void;
  indexed: () => Set<string>;
  deletes: () => number;
} {
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
  let deletes = 0;
  const valueOf = (): Buffer => Buffer.alloc(rand() < 0.05 ? 600 + pick(2000) : pick(200), 1);
  const ttl = (): number => (rand() < 0.2 ? time.ms + 1 + pick(200) : 0);
  for (let i = 0; i < initial; i++) store.set(b(keyOf(i)), valueOf(), ttl());
  const universe = initial + 200;
  const step = (ops: number): void => {
    for (let n = pick(ops + 1); n > 0; n--) {
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
  };
  const indexed = (): Set<string> =>
    new Set([...store.allItems()].map((h) => store.keyBuffer(h).toString('latin1')));
  return { store, step, indexed, deletes: () => deletes };
}

function runScan(run: Run): void {
  const { store, step, indexed, deletes } = trafficFor(run);
  let throughout = indexed();
  const visits = new Map<string, number>();
  const before = {
    compactions: store.compactions,
    evictions: store.stats.evictions,
    index: store.memory().index,
    expirations: store.stats.expirations,
    deletes: deletes(),
  };

  let cursor = 0;
  while (cursor !== SCAN_DONE) {
    const next = store.scan(cursor, run.maxWork, undefined, (h, slot) => {
      const key = store.keyBuffer(h).toString('latin1');
      expect(slot).toBe(keySlot(key));
      visits.set(key, (visits.get(key) ?? 0) + 1);
    });
    expect(next).toBeGreaterThan(cursor);
    cursor = next;
    step(run.opsPerStep);
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
  seen.deletes += deletes() - before.deletes;
  seen.runs++;
}

const hashes = new Map<string, number>();
const hashOf = (key: string): number => {
  let hash = hashes.get(key);
  if (hash === undefined) hashes.set(key, (hash = hashBytes(b(key), 0, key.length) >>> 0));
  return hash;
};

/** A drop under the same traffic: each call removes exactly the flagged keys of its hash range. */
function runDrop(run: Run, flagged: Uint8Array): void {
  const { store, step, indexed } = trafficFor(run);
  let cursor = 0;
  let dropped = 0;
  while (cursor !== SCAN_DONE) {
    const held = indexed();
    const droppedBefore = store.droppedItems;
    const next = store.dropSlots(cursor, run.maxWork, flagged);
    expect(next).toBeGreaterThan(cursor);
    store.verify();
    const after = indexed();
    let removed = 0;
    for (const k of held) {
      const hash = hashOf(k);
      const hit = hash >= cursor && hash < next && flagged[keySlot(k)] !== 0;
      expect(after.has(k)).toBe(!hit);
      if (hit) removed++;
    }
    expect(after.size).toBe(held.size - removed);
    expect(store.droppedItems - droppedBefore).toBe(removed);
    dropped += removed;
    cursor = next;
    step(run.opsPerStep);
    store.verify();
  }
  seen.dropped += dropped;
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
      // A fixed seed: the assertions on what the runs exercised below must not depend on luck.
      { numRuns: 30, seed: 0x5ca1ab1e },
    );
    // The runs together met every kind of move the scan must survive.
    expect(seen.runs).toBe(30);
    expect(seen.compactions).toBeGreaterThan(0);
    expect(seen.evictions).toBeGreaterThan(0);
    expect(seen.doublings).toBeGreaterThan(0);
    expect(seen.expirations).toBeGreaterThan(0);
    expect(seen.deletes).toBeGreaterThan(0);
  });

  it('drops exactly the flagged keys of each range under the same traffic, keeping the store consistent', () => {
    const flagged = new Uint8Array(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot += 2) flagged[slot] = 1;
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          policy: fc.constantFrom<EvictionPolicyName>('s3fifo', 'lru'),
          replicated: fc.boolean(),
          initial: fc.integer({ min: 0, max: 1500 }),
          maxWork: fc.integer({ min: 4, max: 64 }),
          opsPerStep: fc.integer({ min: 0, max: 40 }),
        }),
        (run) => runDrop(run, flagged),
      ),
      { numRuns: 8, seed: 0x5ca1ab1e },
    );
    expect(seen.dropped).toBeGreaterThan(1000);
  });
});
