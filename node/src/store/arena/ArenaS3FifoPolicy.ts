import type { EvictionPolicyName } from '../StoreOptions.js';
import { ArenaGhost } from './ArenaGhost.js';
import { EVICT, keepIn, type ArenaPolicy } from './ArenaPolicy.js';
import type { SegmentPool } from './SegmentPool.js';

/** Queue of new keys (probationary). */
export const ARENA_SMALL = 0;
/** Queue of keys that proved themselves. */
export const ARENA_MAIN = 1;
/** Share of the segments in use that the small queue may hold before it is reclaimed. */
export const ARENA_SMALL_RATIO = 0.1;

/**
 * S3-FIFO (Yang et al., SOSP 2023) mapped onto segment queues, close to how
 * Segcache (NSDI 2021) runs FIFO eviction on a log:
 *
 * - A new key is appended to the small queue's head segment, or to the main
 *   queue's if its hash is in the ghost (evicted from small recently).
 * - A hit saturates the item's 2-bit counter in its header: no move.
 * - When memory is needed the store reclaims the oldest segment of small if
 *   small holds at least 10% of the segments in use (or main is empty),
 *   otherwise the oldest segment of main. Of a small segment, items read
 *   since insertion are re-appended to main with the counter reset, the
 *   others are evicted and their hashes go to the ghost. Of a main segment,
 *   items read since they were last appended are re-appended to main with the
 *   counter decremented (CLOCK-like), the others are evicted.
 * - The ghost remembers as many hashes as main holds items.
 *
 * The difference from item-level S3-FIFO is granularity: a reclaim decides a
 * whole segment at once (all of its items leave small or main together), and
 * the small queue's share is counted in segments.
 */
export class ArenaS3FifoPolicy implements ArenaPolicy {
  readonly name: EvictionPolicyName = 's3fifo';
  readonly moveOnHit = false;
  private readonly ghost = new ArenaGhost();

  get bytes(): number {
    return this.ghost.bytes;
  }

  growthBytesFor(mainItems: number): number {
    return this.ghost.growthBytesFor(mainItems);
  }

  prepare(mainItems: number): void {
    this.ghost.grow(mainItems);
  }

  admit(hash: number, mainItems: number): number {
    return this.ghost.take(hash, mainItems) ? ARENA_MAIN : ARENA_SMALL;
  }

  victimQueue(pool: SegmentPool): number {
    const small = pool.segments[ARENA_SMALL]!;
    if (small === 0) return ARENA_MAIN;
    if (pool.segments[ARENA_MAIN] === 0) return ARENA_SMALL;
    return small >= Math.max(1, Math.round(pool.inUse * ARENA_SMALL_RATIO)) ? ARENA_SMALL : ARENA_MAIN;
  }

  onReclaim(q: number, freq: number): number {
    if (freq === 0) return EVICT;
    return q === ARENA_SMALL ? keepIn(ARENA_MAIN, 0) : keepIn(ARENA_MAIN, freq - 1);
  }

  onEvict(hash: number, q: number, mainItems: number): void {
    if (q === ARENA_SMALL) this.ghost.add(hash, mainItems);
  }

  reset(): void {
    this.ghost.reset();
  }
}
