import type { EvictionPolicyName } from '../StoreOptions.js';
import type { SegmentPool } from './SegmentPool.js';

/** onReclaim's answer for an item that leaves the cache. */
export const EVICT = -1;

/** onReclaim's answer for an item that is re-appended to queue `q` with access counter `freq`. */
export function keepIn(q: number, freq: number): number {
  return (q << 2) | freq;
}

/**
 * An eviction policy of the arena store. The store owns the mechanics (items
 * appended to the head segment of a FIFO queue of segments, the oldest
 * segment of a queue reclaimed when memory is needed); a policy decides:
 * which queue a new key enters, what a hit does, which queue gives up its
 * oldest segment, and, for each live item of that segment, whether it is
 * evicted or re-appended (to which queue, with which 2-bit access counter).
 * So a policy is a few small pure decisions; it holds no per-item state
 * except what it keeps off-heap itself (S3-FIFO's ghost).
 */
export interface ArenaPolicy {
  readonly name: EvictionPolicyName;
  /**
   * What a hit does: false = the store saturates the item's 2-bit access
   * counter in place (no move, nothing else written); true = the store moves
   * the item to the head of its queue (re-append; a hit is then a mutation).
   */
  readonly moveOnHit: boolean;
  /** Queue of a new key (an overwrite keeps its item's queue and counter). */
  admit(hash: number, mainItems: number): number;
  /** The queue whose oldest segment is reclaimed next; `pool.segments[q]` must be > 0. */
  victimQueue(pool: SegmentPool): number;
  /** For a live item of a reclaimed segment of queue `q`: EVICT, or keepIn(queue, freq). */
  onReclaim(q: number, freq: number): number;
  /** An item of queue `q` was evicted (not expired or deleted). */
  onEvict(hash: number, q: number, mainItems: number): void;
  /** Off-heap bytes the policy holds (counted in the store's budget). */
  readonly bytes: number;
  /** Bytes `prepare(mainItems)` would add. */
  growthBytesFor(mainItems: number): number;
  /** Sizes the policy's structures for a main queue of `mainItems` (called after the store made room). */
  prepare(mainItems: number): void;
  reset(): void;
}
