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
  /**
   * Present for a cache whose keys have copies on several nodes (replication
   * factor > 1): the store then keeps versions of deleted, expired and evicted
   * keys as tombstones, so that an older copy can never win (see ArenaStore).
   * Absent: a single-copy cache, which keeps nothing of a key that leaves.
   */
  replication?: StoreReplication;
}

/** What a replicated cache's store needs to know (StoreOptions.replication). */
export interface StoreReplication {
  /**
   * A tombstone is kept at least this long (ms) after it is written, however
   * settled its version is: it covers copies still in flight.
   */
  tombstoneGraceMs: number;
  /**
   * Whether every replica of the key is known to hold version (hlc, node) or
   * a newer one (the node answers from its replicas' watermarks). Only then
   * may the store forget that version. Called during store operations: it
   * must not call back into the store.
   */
  settled(hlc: number, node: number): boolean;
  /**
   * The other way a tombstone past its grace may go when its version is not
   * settled (and it is not pinned): anti-entropy rounds that started after
   * it was written here (`writtenAtMs`: its purge time less the grace) have
   * compared its slot with every current replica, so each holds it or newer
   * (see RoundLedger). Absent: only settled tombstones are purged. Called
   * during store operations: it must not call back into the store.
   */
  covered?(slot: number, writtenAtMs: number): boolean;
}

/** Monotonic counters, read by metrics. */
export interface StoreStats {
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  sets: number;
  deletes: number;
  /** Replicated caches: tombstones dropped once past their grace period, not pinned, and settled or covered. */
  tombstonesPurged: number;
  /** Replicated caches: evictions that left a tombstone because their version was not settled. */
  evictionMarkers: number;
}

/** Longest TTL accepted: 10 years (365-day years). */
export const MAX_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;
