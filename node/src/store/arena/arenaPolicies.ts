import type { EvictionPolicyName } from '../StoreOptions.js';
import { ArenaLruPolicy } from './ArenaLruPolicy.js';
import type { ArenaPolicy } from './ArenaPolicy.js';
import { ArenaS3FifoPolicy } from './ArenaS3FifoPolicy.js';

/** A fresh arena eviction policy by name. */
export function createArenaPolicy(name: EvictionPolicyName): ArenaPolicy {
  switch (name) {
    case 'lru':
      return new ArenaLruPolicy();
    case 's3fifo':
      return new ArenaS3FifoPolicy();
    default:
      throw new RangeError(`unknown eviction policy '${String(name)}'; expected one of: lru, s3fifo`);
  }
}
