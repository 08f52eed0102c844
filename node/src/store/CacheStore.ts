import { Entry } from './Entry.js';
import { ENTRY_OVERHEAD_BYTES } from './entryOverhead.js';
import type { EvictionPolicy, EvictionPolicyName } from './EvictionPolicy.js';
import { createEvictionPolicy } from './evictionPolicies.js';
import type { HybridLogicalClock } from './HybridLogicalClock.js';
import { StoreError } from './StoreError.js';

export interface CacheStoreOptions {
  name: string;
  /** Byte budget: the sum of Entry.bytes never exceeds it. */
  maxMemoryBytes: number;
  /** TTL for writes that ask for the default (ttl 0); 0 = entries never expire by default. */
  defaultTtlMs: number;
  maxValueBytes: number;
  maxKeyBytes: number;
  evictionPolicy: EvictionPolicyName;
}

/** Monotonic counters, read by metrics. */
export interface CacheStoreStats {
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  sets: number;
  deletes: number;
}

/** Longest TTL accepted: 10 years (365-day years). */
export const MAX_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;

/** Redis' active expiry constants: sample size, and repeat while more than 25% of a sample expired. */
const ACTIVE_EXPIRE_SAMPLE = 20;

/**
 * One named cache on one node: a byte-bounded map from key to Entry with TTLs
 * and a pluggable eviction policy. Keys and values are latin1 strings (one char
 * per byte); the caller converts from and to Buffers. Single-threaded and
 * synchronous: callers must not interleave their own awaits inside one update.
 *
 * Expiry is lazy (every read of an expired entry removes it) plus active
 * (activeExpireCycle samples entries that have a TTL, like Redis).
 */
export class CacheStore {
  readonly name: string;
  readonly options: Readonly<CacheStoreOptions>;
  readonly stats: CacheStoreStats = { hits: 0, misses: 0, evictions: 0, expirations: 0, sets: 0, deletes: 0 };

  private readonly map = new Map<string, Entry>();
  /** Entries with a TTL, in any order; Entry.ttlIndex is the position. Swap-remove keeps it dense. */
  private readonly ttlEntries: Entry[] = [];
  private policy: EvictionPolicy;
  private used = 0;
  private readonly maxMemoryBytes: number;
  private readonly maxKeyBytes: number;
  private readonly maxValueBytes: number;
  private readonly defaultTtlMs: number;

  constructor(
    options: CacheStoreOptions,
    private readonly clock: HybridLogicalClock,
    private readonly now: () => number = Date.now,
  ) {
    requireInteger('maxMemoryBytes', options.maxMemoryBytes, 1);
    requireInteger('maxKeyBytes', options.maxKeyBytes, 1);
    requireInteger('maxValueBytes', options.maxValueBytes, 0);
    requireInteger('defaultTtlMs', options.defaultTtlMs, 0, MAX_TTL_MS);
    this.name = options.name;
    this.options = { ...options };
    this.maxMemoryBytes = options.maxMemoryBytes;
    this.maxKeyBytes = options.maxKeyBytes;
    this.maxValueBytes = options.maxValueBytes;
    this.defaultTtlMs = options.defaultTtlMs;
    this.policy = createEvictionPolicy(options.evictionPolicy, options.maxMemoryBytes);
  }

  /** Entries held, including expired ones not collected yet. */
  get size(): number {
    return this.map.size;
  }

  /** Sum of Entry.bytes of the entries held; never above maxMemoryBytes. */
  get usedBytes(): number {
    return this.used;
  }

  /** Entries that have a TTL (expired or not). */
  get ttlCount(): number {
    return this.ttlEntries.length;
  }

  get evictionPolicy(): EvictionPolicy {
    return this.policy;
  }

  /** The live entry for a key: counts a hit or a miss and tells the policy. */
  get(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e !== undefined) {
      // ttlIndex < 0 exactly when expiresAt is 0; testing the in-object small
      // integer spares a load of the boxed double for entries without a TTL.
      if (e.ttlIndex < 0 || e.expiresAt > this.now()) {
        this.stats.hits++;
        this.policy.onAccess(e);
        return e;
      }
      this.expire(e);
    }
    this.stats.misses++;
    return undefined;
  }

  /** The live entry for a key, without counting or touching the policy. */
  peek(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.ttlIndex < 0 || e.expiresAt > this.now()) return e;
    this.expire(e);
    return undefined;
  }

  /**
   * Stores a value unconditionally, replacing any entry for the key. Without a
   * version, the clock assigns one (this node as the writer); with one (a
   * replicated write), the clock observes it. Evicts policy victims until the
   * entry fits. Throws StoreError and changes nothing when the key, the value
   * or the whole entry is over a limit.
   *
   * @param expiresAt epoch ms, 0 = never (see expiresAtFor)
   */
  set(key: string, value: string, expiresAt: number, hlc?: number, node?: number): Entry {
    if (key.length > this.maxKeyBytes) {
      throw new StoreError(
        'KEY_TOO_LARGE',
        `key is ${key.length} bytes; cache '${this.name}' allows at most ${this.maxKeyBytes} (maxKeyBytes)`,
      );
    }
    if (value.length > this.maxValueBytes) {
      throw new StoreError(
        'VALUE_TOO_LARGE',
        `value is ${value.length} bytes; cache '${this.name}' allows at most ${this.maxValueBytes} (maxValueBytes)`,
      );
    }
    const bytes = key.length + value.length + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxMemoryBytes) {
      throw new StoreError(
        'OUT_OF_MEMORY',
        `entry needs ${bytes} bytes (key ${key.length} + value ${value.length} + overhead ${ENTRY_OVERHEAD_BYTES}); ` +
          `cache '${this.name}' holds at most ${this.maxMemoryBytes} (maxMemoryBytes)`,
      );
    }
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
      throw new StoreError('INVALID_TTL', `expiry ${expiresAt} is not an epoch ms time or 0 (never)`);
    }
    let version: number;
    let writer: number;
    if (hlc === undefined) {
      version = this.clock.now();
      writer = this.clock.nodeTag;
    } else {
      this.clock.observe(hlc); // validates hlc before anything changes
      version = hlc;
      writer = node ?? this.clock.nodeTag;
    }

    // An entry being replaced leaves the accounting and the policy now, but
    // keeps its map slot until map.set below overwrites it in place (a delete
    // and re-add would leave a hole that costs a rehash later).
    const old = this.map.get(key);
    if (old !== undefined) this.detach(old);
    const max = this.maxMemoryBytes - bytes;
    while (this.used > max) {
      const victim = this.policy.evict();
      if (victim === undefined) throw new Error(`cache '${this.name}': accounting out of step with policy`);
      this.map.delete(victim.key);
      this.used -= victim.bytes;
      if (victim.ttlIndex >= 0) this.untrackTtl(victim);
      this.stats.evictions++;
    }

    const e = new Entry(key, value, expiresAt, version, writer, bytes);
    this.map.set(key, e);
    this.used += bytes;
    if (expiresAt !== 0) this.trackTtl(e);
    this.policy.onInsert(e);
    this.stats.sets++;
    return e;
  }

  /**
   * Converts a TTL as the API takes it into an expiry time: -1 = never,
   * 0 = the cache's defaultTtlMs (never when that is 0), 1..MAX_TTL_MS = now + ttl.
   * Anything else throws StoreError INVALID_TTL.
   */
  expiresAtFor(ttlMs: number): number {
    if (ttlMs === -1) return 0;
    if (ttlMs === 0) return this.defaultTtlMs === 0 ? 0 : this.now() + this.defaultTtlMs;
    if (Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_TTL_MS) return this.now() + ttlMs;
    throw new StoreError(
      'INVALID_TTL',
      `TTL ${ttlMs} ms is not valid for cache '${this.name}': use -1 (never expires), 0 (cache default) ` +
        `or an integer from 1 to ${MAX_TTL_MS} (10 years)`,
    );
  }

  /** Changes a live entry's expiry (0 = never). False when the key is absent or expired. */
  setExpiry(key: string, expiresAt: number): boolean {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
      throw new StoreError('INVALID_TTL', `expiry ${expiresAt} is not an epoch ms time or 0 (never)`);
    }
    const e = this.peek(key);
    if (e === undefined) return false;
    if (expiresAt === 0) {
      if (e.ttlIndex >= 0) this.untrackTtl(e);
    } else if (e.ttlIndex < 0) {
      this.trackTtl(e);
    }
    e.expiresAt = expiresAt;
    return true;
  }

  /** Removes a live entry. False when the key is absent or expired. */
  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    if (e.ttlIndex >= 0 && e.expiresAt <= this.now()) {
      this.expire(e);
      return false;
    }
    this.remove(e);
    this.stats.deletes++;
    return true;
  }

  /** Drops every entry (counters are kept: they are monotonic). */
  clear(): void {
    this.map.clear();
    this.ttlEntries.length = 0;
    this.used = 0;
    this.policy = createEvictionPolicy(this.options.evictionPolicy, this.maxMemoryBytes);
  }

  /** Live (non-expired) entries, in insertion order. */
  *entries(): IterableIterator<Entry> {
    const now = this.now();
    for (const e of this.map.values()) {
      if (e.expiresAt === 0 || e.expiresAt > now) yield e;
    }
  }

  /**
   * Redis-style active expiry: samples up to 20 random entries that have a
   * TTL, removes the expired ones, and samples again while more than 25% of a
   * sample had expired, until `maxWork` entries have been examined. Returns
   * how many entries were removed.
   */
  activeExpireCycle(maxWork: number): number {
    const ttl = this.ttlEntries;
    const now = this.now();
    let work = 0;
    let removed = 0;
    while (work < maxWork && ttl.length > 0) {
      const n = Math.min(ACTIVE_EXPIRE_SAMPLE, ttl.length, maxWork - work);
      let expired = 0;
      for (let i = 0; i < n && ttl.length > 0; i++) {
        const e = ttl[Math.floor(Math.random() * ttl.length)]!;
        if (e.expiresAt <= now) {
          this.expire(e);
          expired++;
        }
      }
      work += n;
      removed += expired;
      if (expired * 4 <= n) break;
    }
    return removed;
  }

  private expire(e: Entry): void {
    this.remove(e);
    this.stats.expirations++;
  }

  private remove(e: Entry): void {
    this.map.delete(e.key);
    this.detach(e);
  }

  /** Takes an entry out of the byte count, the TTL array and the policy (not the map). */
  private detach(e: Entry): void {
    this.used -= e.bytes;
    if (e.ttlIndex >= 0) this.untrackTtl(e);
    this.policy.onRemove(e);
  }

  private trackTtl(e: Entry): void {
    e.ttlIndex = this.ttlEntries.length;
    this.ttlEntries.push(e);
  }

  private untrackTtl(e: Entry): void {
    const ttl = this.ttlEntries;
    const last = ttl.pop()!;
    if (last !== e) {
      ttl[e.ttlIndex] = last;
      last.ttlIndex = e.ttlIndex;
    }
    e.ttlIndex = -1;
  }
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
