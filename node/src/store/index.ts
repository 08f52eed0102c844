export { ArenaStore, type ArenaMemory } from './arena/ArenaStore.js';
export { CacheStore } from './CacheStore.js';
export { Entry } from './Entry.js';
export { ENTRY_OVERHEAD_BYTES } from './entryOverhead.js';
export type { EvictionPolicy } from './EvictionPolicy.js';
export { createEvictionPolicy } from './evictionPolicies.js';
export { fnv1a32, fnv1a32Latin1 } from './fnv1a.js';
export { GhostQueue } from './GhostQueue.js';
export {
  HLC_LOGICAL_BITS,
  HLC_MAX_LOGICAL,
  HybridLogicalClock,
  compareVersions,
  hlcLogical,
  hlcPhysicalMs,
  makeHlc,
  nodeTagOf,
} from './HybridLogicalClock.js';
export { LruPolicy } from './LruPolicy.js';
export { S3FIFO_MAX_FREQ, S3FIFO_SMALL_RATIO, S3FifoPolicy } from './S3FifoPolicy.js';
export { StoreError, type StoreErrorCode } from './StoreError.js';
export {
  EVICTION_POLICY_NAMES,
  MAX_TTL_MS,
  type EvictionPolicyName,
  type StoreOptions,
  type StoreStats,
} from './StoreOptions.js';
