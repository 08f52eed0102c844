export { ARENA_MAX_BUDGET_BYTES, ArenaStore, type ArenaMemory } from './arena/ArenaStore.js';
export { SCAN_DONE, type ArenaScanVisit } from './arena/ArenaScan.js';
export { fnv1a32, fnv1a32Latin1 } from './fnv1a.js';
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
export { StoreError, type StoreErrorCode } from './StoreError.js';
export {
  EVICTION_POLICY_NAMES,
  MAX_TTL_MS,
  type EvictionPolicyName,
  type StoreOptions,
  type StoreReplication,
  type StoreStats,
} from './StoreOptions.js';
