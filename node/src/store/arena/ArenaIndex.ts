/** Smallest table, in slots. */
const MIN_CAPACITY = 16;
/** The table doubles before it is fuller than this. */
export const ARENA_INDEX_MAX_LOAD = 0.8;
/** A free slot's reference. */
export const EMPTY = -1;

/**
 * The arena store's hash index: open addressing with linear probing in one
 * Int32Array of [hash, ref] pairs, so a probe reads 8 slots per cache line and
 * compares the stored 32-bit hash before touching the item (almost every key
 * compare that fails is skipped). Deletion shifts later slots of the cluster
 * back (no tombstones, so probe lengths never degrade). Capacity is a power of
 * two, at most 80% full; it only grows, by doubling, and its bytes are counted
 * in the owning store's budget (`bytes`, and `growthBytes` before a doubling).
 *
 * The store probes `slots` directly (its loop compares keys in the arena);
 * slot positions are even indexes into `slots`: hash at i, ref at i + 1.
 *
 * A key's home is the TOP log2(capacity) bits of its hash, not the low ones,
 * so homes follow hash order: home i holds the unsigned hashes from
 * i * 2^shift to (i + 1) * 2^shift - 1, and a doubling splits home i into 2i
 * and 2i + 1. A point in hash space then means the same keys at every
 * capacity, which is what lets a budgeted scan (ArenaScan.ts) resume from a
 * hash cursor across doublings. The hash ends with Murmur's fmix32, whose top
 * bits are as well mixed as its low ones.
 */
export class ArenaIndex {
  slots: Int32Array;
  /** Mask for an even slot position: (capacity - 1) * 2 (probes wrap with it). */
  posMask: number;
  /** 32 - log2(capacity): a hash's home is `(hash >>> shift) << 1`. */
  shift: number;
  count = 0;
  private limit: number;

  constructor() {
    this.slots = newTable(MIN_CAPACITY);
    this.posMask = (MIN_CAPACITY - 1) * 2;
    this.shift = shiftFor(MIN_CAPACITY);
    this.limit = Math.floor(MIN_CAPACITY * ARENA_INDEX_MAX_LOAD);
  }

  get capacity(): number {
    return this.slots.length >> 1;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** Keys the table holds before it doubles. */
  get room(): number {
    return this.limit;
  }

  /** Whether one more key needs a doubling first. */
  get full(): boolean {
    return this.count + 1 > this.limit;
  }

  /** Bytes a doubling adds. */
  get growthBytes(): number {
    return this.slots.byteLength;
  }

  /** Position where a probe for this hash starts. */
  home(hash: number): number {
    return (hash >>> this.shift) << 1;
  }

  /** The position holding `ref` (whose key hashes to `hash`); throws if absent. */
  positionOf(hash: number, ref: number): number {
    const slots = this.slots;
    const mask = this.posMask;
    let p = (hash >>> this.shift) << 1;
    while (true) {
      const r = slots[p + 1]!;
      if (r === ref) return p;
      if (r === EMPTY) throw new Error(`arena index: item ${ref} is not indexed`);
      p = (p + 2) & mask;
    }
  }

  /** The first free position of a probe for `hash` (where an absent key goes). */
  freePosition(hash: number): number {
    const slots = this.slots;
    const mask = this.posMask;
    let p = (hash >>> this.shift) << 1;
    while (slots[p + 1] !== EMPTY) p = (p + 2) & mask;
    return p;
  }

  /** Fills the free position `p` (from a failed probe). The caller ensured !full. */
  insertAt(p: number, hash: number, ref: number): void {
    this.slots[p] = hash;
    this.slots[p + 1] = ref;
    this.count++;
  }

  /** Empties position `p`, shifting back later members of its cluster. */
  removeAt(p: number): void {
    const slots = this.slots;
    const mask = this.posMask;
    const shift = this.shift;
    let hole = p;
    let q = p;
    while (true) {
      q = (q + 2) & mask;
      const r = slots[q + 1]!;
      if (r === EMPTY) break;
      const home = (slots[q]! >>> shift) << 1;
      // The entry at q may move into the hole unless its home lies cyclically in (hole, q].
      const reachable = hole <= q ? home <= hole || home > q : home <= hole && home > q;
      if (reachable) {
        slots[hole] = slots[q]!;
        slots[hole + 1] = r;
        hole = q;
      }
    }
    slots[hole] = EMPTY;
    slots[hole + 1] = EMPTY;
    this.count--;
  }

  /** Doubles the capacity (rehashing from the stored hashes; keys are not read). */
  grow(): void {
    const old = this.slots;
    const capacity = (old.length >> 1) * 2;
    const slots = newTable(capacity);
    const mask = (capacity - 1) * 2;
    const shift = shiftFor(capacity);
    for (let i = 0; i < old.length; i += 2) {
      const r = old[i + 1]!;
      if (r === EMPTY) continue;
      const h = old[i]!;
      let p = (h >>> shift) << 1;
      while (slots[p + 1] !== EMPTY) p = (p + 2) & mask;
      slots[p] = h;
      slots[p + 1] = r;
    }
    this.slots = slots;
    this.posMask = mask;
    this.shift = shift;
    this.limit = Math.floor(capacity * ARENA_INDEX_MAX_LOAD);
  }

  /** Back to the smallest table. */
  reset(): void {
    this.slots = newTable(MIN_CAPACITY);
    this.posMask = (MIN_CAPACITY - 1) * 2;
    this.shift = shiftFor(MIN_CAPACITY);
    this.limit = Math.floor(MIN_CAPACITY * ARENA_INDEX_MAX_LOAD);
    this.count = 0;
  }
}

/** The home shift of a table of `capacity` (a power of two, 16 to 2^30) slots. */
function shiftFor(capacity: number): number {
  return 32 - Math.log2(capacity);
}

function newTable(capacity: number): Int32Array {
  return new Int32Array(capacity * 2).fill(EMPTY);
}
