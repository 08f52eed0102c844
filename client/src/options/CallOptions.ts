/** Read/write consistency level; omitted means the cache's default. */
export type ConsistencyLevel = 'ONE' | 'QUORUM' | 'ALL';

/** Optional last argument of every call. */
export interface CallOptions {
  /** Cache to use; defaults to `ClientOptions.defaultCache`. */
  cache?: string;
  /** Deadline of this call in ms; defaults to `ClientOptions.timeoutMs`. */
  timeoutMs?: number;
  /** Aborting fails the call at once with `CANCELLED`. */
  signal?: AbortSignal;
  /** Defaults to `ClientOptions.defaultConsistency`, else the cache's default. */
  consistency?: ConsistencyLevel;
}

/** Write condition of `set`: always (default), NX (`ifAbsent`) or XX (`ifPresent`). */
export type SetConditionName = 'always' | 'ifAbsent' | 'ifPresent';

export interface SetOptions extends CallOptions {
  /** Time to live in ms: 0 (default) the cache's default TTL, -1 never expires. */
  ttlMs?: number;
  condition?: SetConditionName;
}
