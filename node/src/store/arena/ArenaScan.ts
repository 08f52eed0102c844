/**
 * Budgeted cursor walks of the arena index, for ArenaStore.scan and
 * ArenaStore.dropSlots: a caller visits (or drops) a cache's items a few
 * hundred index positions at a time while the store keeps serving traffic.
 *
 * THE CURSOR is a position in the 32-bit hash space (an unsigned hash, held
 * as a JS number, 0 to 2^32), not in the log or the index: compaction,
 * segment reclaim, eviction and LRU moves change where an item's bytes lie,
 * and deletes, inserts and doublings change where it sits in the index, but
 * nothing changes its key's hash. A call covers the hashes [cursor, next)
 * and returns next, SCAN_DONE once the whole space is covered; each call is
 * synchronous, so whatever the index holds for that range during the call is
 * seen. Hence an item present at every call of a walk is visited, and, as a
 * key's hash lies in one range only, at most once per key.
 *
 * Covering a hash range in index order works because the index's homes are
 * the top bits of the hash (ArenaIndex): home i holds the hashes from
 * i * 2^shift, so a cursor is the start of a home or inside one, whatever the
 * capacity. With linear probing an item lies at or after its home, up to the
 * first empty position, maybe wrapping past the table's end. The walk starts
 * at the cursor's home and stops at an empty position once `maxWork`
 * positions are examined: every item whose home is at or before an empty
 * position lies before it, so all homes up to there are complete. Items met on
 * the way whose hash is below the cursor belong to the previous range.
 */
import { SLOT_COUNT } from '@meshcache/proto';
import { EMPTY, type ArenaIndex } from './ArenaIndex.js';

/** The cursor a scan or drop returns once the whole hash space is covered (and the largest one it takes). */
export const SCAN_DONE = 2 ** 32;

/**
 * A scan's callback: `h` is the item's handle (a value, expired or not, or a
 * tombstone), readable with the store's accessors only during the call;
 * `slot` is its key's Redis Cluster slot. It must not write to the store.
 */
export type ArenaScanVisit = (h: number, slot: number) => void;

/** Throws RangeError unless the arguments are a scan's or a drop's. */
export function checkScanArgs(cursor: number, maxWork: number, slots: Uint8Array | undefined): void {
  if (!Number.isInteger(cursor) || cursor < 0 || cursor > SCAN_DONE) {
    throw new RangeError(`scan cursor must be an integer from 0 to 2^32 (SCAN_DONE), got ${cursor}`);
  }
  if (!Number.isInteger(maxWork) || maxWork < 1) {
    throw new RangeError(`scan maxWork must be a positive integer, got ${maxWork}`);
  }
  if (slots !== undefined && (!(slots instanceof Uint8Array) || slots.length !== SLOT_COUNT)) {
    throw new RangeError(`scan slots must be a Uint8Array of ${SLOT_COUNT} flags`);
  }
}

/**
 * Calls `each(ref, hash)` for every item of `index` whose unsigned hash is in
 * [cursor, next), examining about `maxWork` positions (more when the range
 * ends inside a cluster of occupied positions), and returns next (SCAN_DONE
 * at the end). `each` must not change the index; if it did (a caller bug:
 * the table it walks would be stale), this throws after the walk.
 */
export function scanIndex(
  index: ArenaIndex,
  cursor: number,
  maxWork: number,
  each: (ref: number, hash: number) => void,
): number {
  if (cursor >= SCAN_DONE) return SCAN_DONE;
  const table = index.slots;
  const count = index.count;
  const capacity = table.length >> 1;
  const shift = index.shift;
  const span = 2 ** shift; // hashes per home
  const first = Math.floor(cursor / span);
  let next = SCAN_DONE;
  let j = first;
  for (; j < capacity; j++) {
    const ref = table[2 * j + 1]!;
    if (ref === EMPTY) {
      if (j - first + 1 >= maxWork) {
        next = (j + 1) * span; // SCAN_DONE at the last position: then nothing wraps
        break;
      }
      continue;
    }
    const hash = table[2 * j]!;
    const u = hash >>> 0;
    // An item whose home is after j wrapped past the end: it is met below.
    if (u >= cursor && u >>> shift <= j) each(ref, hash);
  }
  if (j === capacity) {
    // Every home to the end is covered; the last cluster may continue at 0.
    for (let k = 0; ; k++) {
      const ref = table[2 * k + 1]!;
      if (ref === EMPTY) break;
      const hash = table[2 * k]!;
      const u = hash >>> 0;
      if (u >= cursor && u >>> shift > k) each(ref, hash);
    }
  }
  if (index.slots !== table || index.count !== count) {
    throw new Error('arena scan: the store was written during a visit (a visit must only read)');
  }
  return next;
}
