import type { CacheInfo } from '@meshcache/proto';
import { Consistency } from '@meshcache/proto';
import type { CacheOptions } from '../config/NodeOptions.js';
import { ArenaStore, type HybridLogicalClock, type StoreReplication } from '../store/index.js';

/** What replicated caches (replication factor above 1) need: see StoreOptions.replication. */
export interface ReplicatedCacheSettings {
  tombstoneGraceMs: number;
  settled: (hlc: number, node: number) => boolean;
  /** Anti-entropy's purge rule for the cache's tombstones (StoreReplication.covered); absent when it is off. */
  covered?: (cache: string, slot: number, writtenAtMs: number) => boolean;
}

function replicationOf(cache: string, r: ReplicatedCacheSettings): StoreReplication {
  const covered = r.covered;
  return {
    tombstoneGraceMs: r.tombstoneGraceMs,
    settled: r.settled,
    ...(covered !== undefined ? { covered: (slot: number, at: number) => covered(cache, slot, at) } : {}),
  };
}

/** The caches one node serves, by name, with their settings: one off-heap ArenaStore each. */
export class CacheRegistry {
  private readonly byName = new Map<string, ArenaStore>();
  readonly stores: ArenaStore[] = [];
  readonly options: CacheOptions[];

  constructor(
    options: CacheOptions[],
    maxKeyBytes: number,
    clock: HybridLogicalClock,
    now: () => number = Date.now,
    replicated?: ReplicatedCacheSettings,
  ) {
    this.options = options;
    for (const cache of options) {
      const store = new ArenaStore(
        {
          name: cache.name,
          maxMemoryBytes: cache.maxMemoryBytes,
          defaultTtlMs: cache.defaultTtlMs,
          maxValueBytes: cache.maxValueBytes,
          maxKeyBytes,
          evictionPolicy: cache.evictionPolicy,
          // Copies on several nodes: deletes, expiries and evictions must leave versions behind.
          ...(replicated !== undefined && cache.replicationFactor > 1
            ? { replication: replicationOf(cache.name, replicated) }
            : {}),
        },
        clock,
        now,
      );
      this.byName.set(cache.name, store);
      this.stores.push(store);
    }
  }

  get(name: string): ArenaStore | undefined {
    return this.byName.get(name);
  }

  /** Position of a cache in `stores`, or -1; metrics index by it. */
  indexOf(name: string): number {
    const store = this.byName.get(name);
    return store === undefined ? -1 : this.stores.indexOf(store);
  }

  get names(): string[] {
    return this.options.map((c) => c.name);
  }

  /** Runs one active expiry cycle over every cache; returns entries removed. */
  activeExpireCycle(maxWorkPerCache: number): number {
    let removed = 0;
    for (const store of this.stores) removed += store.activeExpireCycle(maxWorkPerCache);
    return removed;
  }

  describe(): CacheInfo[] {
    return this.options.map((c) => ({
      name: c.name,
      replicationFactor: c.replicationFactor,
      defaultConsistency: Consistency[c.defaultConsistency],
      defaultTtlMs: c.defaultTtlMs,
      maxMemoryBytes: c.maxMemoryBytes,
      maxValueBytes: c.maxValueBytes,
      evictionPolicy: c.evictionPolicy,
    }));
  }
}
