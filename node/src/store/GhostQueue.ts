const WAYS = 4;
const MIN_CAPACITY = 256;

/**
 * The ghost FIFO of S3-FIFO: the hashes of the last `bound` keys added, with
 * no entries, keys or per-operation allocation. It is a set-associative table
 * (4 slots per bucket) of 32-bit key hashes, each stamped with its insertion
 * number; a hash is present while fewer than `bound` hashes were added after
 * it, so entries age out FIFO without a queue to pop, and `bound` may change
 * between calls (S3-FIFO bounds the ghost by the main queue's entry count).
 *
 * It is deliberately approximate, as ghost queues usually are: a full bucket
 * drops its oldest hash early, and two keys with equal hashes alias. Either only
 * changes which queue a returning key is admitted to. The table grows so that
 * its capacity stays at least the bound (load factor <= 1), i.e. 8 to 16 bytes
 * per ghost entry, in two typed arrays.
 */
export class GhostQueue {
  private hashes: Uint32Array;
  private stamps: Uint32Array;
  private mask: number;
  private counter = 0;

  constructor(initialCapacity = MIN_CAPACITY) {
    const capacity = nextPow2(Math.max(MIN_CAPACITY, initialCapacity));
    this.hashes = new Uint32Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get capacity(): number {
    return this.hashes.length;
  }

  /** Off-heap bytes held by the table. */
  get memoryBytes(): number {
    return this.hashes.byteLength + this.stamps.byteLength;
  }

  /** Adds a hash as the newest; the ghost then holds the last `bound` added. */
  add(hash: number, bound: number): void {
    if (bound <= 0) return;
    if (bound > this.hashes.length) this.grow(bound);
    let next = (this.counter + 1) >>> 0;
    if (next === 0) next = 1; // 0 marks an empty slot
    this.counter = next;
    this.place(hash >>> 0, next, bound);
  }

  /** Whether the hash is among the last `bound` added; removes it if so. */
  take(hash: number, bound: number): boolean {
    if (bound <= 0) return false;
    const h = hash >>> 0;
    const hashes = this.hashes;
    const stamps = this.stamps;
    const base = h & this.mask & ~(WAYS - 1);
    for (let i = base; i < base + WAYS; i++) {
      if (hashes[i] === h && stamps[i] !== 0 && this.age(stamps[i]!) < bound) {
        stamps[i] = 0;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.stamps.fill(0);
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

  private grow(bound: number): void {
    const oldHashes = this.hashes;
    const oldStamps = this.stamps;
    const capacity = nextPow2(bound);
    this.hashes = new Uint32Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.mask = capacity - 1;
    // Re-place the live hashes, oldest first, so a full bucket keeps the newest.
    const live: number[] = [];
    for (let i = 0; i < oldStamps.length; i++) {
      if (oldStamps[i] !== 0 && this.age(oldStamps[i]!) < bound) live.push(i);
    }
    live.sort((a, b) => this.age(oldStamps[b]!) - this.age(oldStamps[a]!));
    for (const i of live) this.place(oldHashes[i]!, oldStamps[i]!, bound);
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
