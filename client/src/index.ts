export { createClient } from './createClient.js';
export {
  MeshcacheClient,
  type CacheKey,
  type CompareAndSetOptions,
  type PingResult,
  type SetManyEntry,
  type WaitOptions,
} from './MeshcacheClient.js';
export type { CacheEntry } from './operations/ResultDecoders.js';
export { compareVersions, versionsEqual } from './compareVersions.js';
export type { Version } from '@meshcache/proto';

export {
  DEFAULT_CLIENT_OPTIONS,
  type ClientOptions,
  type ResolvedClientOptions,
} from './options/ClientOptions.js';
export { resolveClientOptions } from './options/resolveClientOptions.js';
export type { CallOptions, ConsistencyLevel, SetConditionName, SetOptions } from './options/CallOptions.js';

export { ErrorCodes, type ErrorCodeName, isRetryableCode } from './errors/ErrorCodes.js';
export { MeshcacheError, isMeshcacheError, type MeshcacheErrorOptions } from './errors/MeshcacheError.js';
export { NoNodeAvailableError } from './errors/NoNodeAvailableError.js';

export type { Serializer } from './serializers/Serializer.js';
export { jsonSerializer } from './serializers/jsonSerializer.js';
export { rawSerializer } from './serializers/rawSerializer.js';
export { stringSerializer } from './serializers/stringSerializer.js';

export type { ReconnectPolicy } from './policies/ReconnectPolicy.js';
export {
  ExponentialBackoffPolicy,
  type ExponentialBackoffOptions,
  BACKOFF_INITIAL_DELAY_MS,
  BACKOFF_MULTIPLIER,
  BACKOFF_MAX_DELAY_MS,
  BACKOFF_JITTER_FRACTION,
} from './policies/ExponentialBackoffPolicy.js';
export type { RetryPolicy, RetryCandidate } from './policies/RetryPolicy.js';
export { IdempotentRetryPolicy } from './policies/IdempotentRetryPolicy.js';

export type { ConnectionState } from './transport/NodeConnection.js';

export {
  keySlot,
  keySlotLatin1,
  commonSlot,
  SlotTable,
  SlotTableError,
  Placement,
  type PlacementJson,
  type PlacementTableJson,
} from '@meshcache/proto';
