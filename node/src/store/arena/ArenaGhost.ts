const WAYS = 4;
const MIN_CAPACITY = 256;

/**
 * S3-FIFO's ghost FIFO for the arena store: the 32-bit hashes of the last
 * `bound` keys evicted from the small queue, with no keys and nothing per
 * entry on the JS heap. A set-associative table (4 slots per bucket) of hashes
 * stamped with their insertion number; a hash is present while fewer than
 * `bound` hashes were added after it, so entries age out FIFO without a queue
 * to pop, and the bound may follow the main queue's item count.
 *
 * It never grows by itself: the owner calls
 * `grow` at a point where it has made room in its budget (`growthBytesFor`),
 * and `add` treats a bound above the capacity as the capacity. Approximate as
 * ghosts are: a full bucket drops its oldest hash early, equal hashes alias,
 * and a doubling re-places the live hashes in table order. Either only changes
 * which queue a returning key is admitted to.
 */
export class ArenaGhost {
  private hashes = new Int32Array(MIN_CAPACITY);
  private stamps = new Uint32Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private counter = 0;

  get capacity(): number {
    return this.hashes.length;
  }

  get bytes(): number {
    return this.hashes.byteLength + this.stamps.byteLength;
  }

  /** Bytes `grow(bound)` would add (0 when the capacity already covers it). */
  growthBytesFor(bound: number): number {
    if (bound <= this.hashes.length) return 0;
    const capacity = nextPow2(bound);
    return capacity > this.hashes.length ? (capacity - this.hashes.length) * 8 : 0;
  }

  /** Grows the table to cover `bound` hashes. */
  grow(bound: number): void {
    const capacity = nextPow2(bound);
    if (capacity <= this.hashes.length) return;
    const oldHashes = this.hashes;
    const oldStamps = this.stamps;
    const oldBound = oldHashes.length;
    this.hashes = new Int32Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < oldStamps.length; i++) {
      const s = oldStamps[i]!;
      if (s !== 0 && this.age(s) < oldBound) this.place(oldHashes[i]!, s, capacity);
    }
  }

  /** Adds a hash as the newest; the ghost then holds the last min(bound, capacity) added. */
  add(hash: number, bound: number): void {
    if (bound <= 0) return;
    if (bound > this.hashes.length) bound = this.hashes.length;
    let next = (this.counter + 1) >>> 0;
    if (next === 0) next = 1; // 0 marks an empty slot
    this.counter = next;
    this.place(hash | 0, next, bound);
  }

  /** Whether the hash is among the last `bound` added; removes it if so. */
  take(hash: number, bound: number): boolean {
    if (bound <= 0) return false;
    const h = hash | 0;
    const hashes = this.hashes;
    const stamps = this.stamps;
    const base = h & this.mask & ~(WAYS - 1);
    for (let i = base; i < base + WAYS; i++) {
      const s = stamps[i]!;
      if (s !== 0 && hashes[i] === h && this.age(s) < bound) {
        stamps[i] = 0;
        return true;
      }
    }
    return false;
  }

  reset(): void {
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.stamps = new Uint32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.counter = 0;
  }

  private age(stamp: number): number {
    return (this.counter - stamp) >>> 0;
  }

  private place(h: number, stamp: number, bound: number): void {
    const hashes = this.hashes;
    const stamps = this.stamps;
    const base = h & this.mask & ~(WAYS - 1);
    let slot = base;
    let oldest = -1;
    for (let i = base; i < base + WAYS; i++) {
      const s = stamps[i]!;
      if (s === 0 || hashes[i] === h) {
        slot = i;
        break;
      }
      const age = this.age(s);
      if (age >= bound) {
        slot = i; // aged out: free
        break;
      }
      if (age > oldest) {
        oldest = age;
        slot = i;
      }
    }
    hashes[slot] = h;
    stamps[slot] = stamp;
  }
}

function nextPow2(n: number): number {
  let p = MIN_CAPACITY;
  while (p < n) p *= 2;
  return p;
}
