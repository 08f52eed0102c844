/** The eviction policies a cache may name. */
export type EvictionPolicyName = 'lru' | 's3fifo';

export const EVICTION_POLICY_NAMES: readonly EvictionPolicyName[] = ['lru', 's3fifo'];

/** Settings of one named cache's store. */
export interface StoreOptions {
  name: string;
  /**
   * Byte budget: bounds everything the store allocates (segments, index, TTL
   * array, large items and a fixed part), not an estimate per entry; eviction
   * keeps the store under it.
   */
  maxMemoryBytes: number;
  /** TTL for writes that ask for the default (ttl 0); 0 = entries never expire by default. */
  defaultTtlMs: number;
  maxValueBytes: number;
  maxKeyBytes: number;
  evictionPolicy: EvictionPolicyName;
}

/** Monotonic counters, read by metrics. */
export interface StoreStats {
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  sets: number;
  deletes: number;
}

/** Longest TTL accepted: 10 years (365-day years). */
export const MAX_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;
