import type { EvictionPolicyName } from '../StoreOptions.js';
import { EVICT, type ArenaPolicy } from './ArenaPolicy.js';

/**
 * Least recently used on a log: one queue of segments; a hit re-appends the
 * item at the head (so the log is in recency order, exactly), and reclaiming
 * the oldest segment evicts all of its live items. It is exact LRU order with
 * eviction in batches: what leaves is always the least recently used items,
 * a segment's worth at a time (1/64 of the budget or less), so between
 * reclaims the cache holds up to a segment fewer items than an item-at-a-time
 * LRU would. The price is a copy of the item on every hit that is not
 * already the newest, and a hit is a mutation (it invalidates handles).
 */
export class ArenaLruPolicy implements ArenaPolicy {
  readonly name: EvictionPolicyName = 'lru';
  readonly moveOnHit = true;
  readonly bytes = 0;

  growthBytesFor(): number {
    return 0;
  }

  prepare(): void {}

  admit(): number {
    return 0;
  }

  victimQueue(): number {
    return 0;
  }

  onReclaim(): number {
    return EVICT;
  }

  onEvict(): void {}

  reset(): void {}
}
