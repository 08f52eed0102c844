import type { EvictionPolicy, EvictionPolicyName } from './EvictionPolicy.js';
import { LruPolicy } from './LruPolicy.js';
import { S3FifoPolicy } from './S3FifoPolicy.js';

export const EVICTION_POLICY_NAMES: readonly EvictionPolicyName[] = ['lru', 's3fifo'];

/** A fresh eviction policy for a cache with the given byte budget. */
export function createEvictionPolicy(name: EvictionPolicyName, maxMemoryBytes: number): EvictionPolicy {
  switch (name) {
    case 'lru':
      return new LruPolicy();
    case 's3fifo':
      return new S3FifoPolicy(maxMemoryBytes);
    default:
      throw new RangeError(`unknown eviction policy '${String(name)}'; expected one of: lru, s3fifo`);
  }
}
