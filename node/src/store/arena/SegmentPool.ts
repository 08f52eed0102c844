/**
 * What one segment costs beyond its bytes: the Buffer, ArrayBuffer, Int32Array
 * and Float64Array objects on the V8 heap (about 440 bytes measured on Node
 * 24), the backing-store record and malloc's header. Rounded up.
 */
export const SEGMENT_OBJECT_BYTES = 1024;

/** Segment queues a policy may use (0 .. ARENA_QUEUES - 1). */
export const ARENA_QUEUES = 2;

const NO_U8 = Buffer.alloc(0);
const NO_I32 = new Int32Array(0);
const NO_F64 = new Float64Array(0);

/**
 * The arena's segments: fixed-size Buffers, allocated lazily as data arrives,
 * each viewed three ways (bytes, int32, float64; views share the memory). A
 * segment is either unallocated, free (allocated, empty, on the free stack),
 * or in one of the FIFO queues, which link segments from the oldest (tail) to
 * the newest (head); the head of a queue is the segment being appended to.
 *
 * Per-segment metadata lives in typed arrays sized for the most segments the
 * budget allows, so the pool is a handful of objects plus three per segment.
 */
export class SegmentPool {
  readonly segmentBytes: number;
  /** log2(segmentBytes) - 3: bits of an item reference that address 8-byte units in a segment. */
  readonly unitBits: number;
  readonly unitMask: number;
  readonly maxSegments: number;

  /** Views by segment id (empty views for unallocated ids). */
  readonly u8: Buffer[];
  readonly i32: Int32Array[];
  readonly f64: Float64Array[];
  /** Bytes appended to each segment. */
  readonly fill: Int32Array;
  /** Bytes of live (not dead) items in each segment. */
  readonly live: Int32Array;
  /** The queue a segment is in, -1 when free or unallocated. */
  readonly queueOf: Int8Array;
  /** Next newer segment in the same queue, -1 at the head. */
  private readonly next: Int32Array;

  readonly tail = new Int32Array(ARENA_QUEUES).fill(-1);
  readonly head = new Int32Array(ARENA_QUEUES).fill(-1);
  /** Segments in each queue. */
  readonly segments = new Int32Array(ARENA_QUEUES);

  private readonly freeStack: Int32Array;
  freeCount = 0;
  private readonly unallocated: Int32Array;
  unallocatedCount: number;
  allocatedCount = 0;

  constructor(segmentBytes: number, maxSegments: number) {
    if (!Number.isInteger(Math.log2(segmentBytes)) || segmentBytes < 64) {
      throw new RangeError(`segment size must be a power of two >= 64, got ${segmentBytes}`);
    }
    this.segmentBytes = segmentBytes;
    this.unitBits = Math.log2(segmentBytes) - 3;
    this.unitMask = (1 << this.unitBits) - 1;
    this.maxSegments = maxSegments;
    this.u8 = new Array<Buffer>(maxSegments).fill(NO_U8);
    this.i32 = new Array<Int32Array>(maxSegments).fill(NO_I32);
    this.f64 = new Array<Float64Array>(maxSegments).fill(NO_F64);
    this.fill = new Int32Array(maxSegments);
    this.live = new Int32Array(maxSegments);
    this.queueOf = new Int8Array(maxSegments).fill(-1);
    this.next = new Int32Array(maxSegments).fill(-1);
    this.freeStack = new Int32Array(maxSegments);
    this.unallocated = new Int32Array(maxSegments);
    // Lowest ids first, so small stores keep small references.
    for (let i = 0; i < maxSegments; i++) this.unallocated[i] = maxSegments - 1 - i;
    this.unallocatedCount = maxSegments;
  }

  /** Bytes of the per-segment metadata (typed arrays and the three view arrays). */
  get metadataBytes(): number {
    return this.maxSegments * (4 * 4 + 1 + 3 * 8) + 4 * 4 * ARENA_QUEUES;
  }

  /** All the pool holds: allocated segments (with their objects) and metadata. */
  get bytes(): number {
    return this.allocatedCount * (this.segmentBytes + SEGMENT_OBJECT_BYTES) + this.metadataBytes;
  }

  /** What allocating one more segment adds to `bytes`. */
  get segmentCost(): number {
    return this.segmentBytes + SEGMENT_OBJECT_BYTES;
  }

  get canAllocate(): boolean {
    return this.unallocatedCount > 0;
  }

  /** Segments in any queue. */
  get inUse(): number {
    return this.allocatedCount - this.freeCount;
  }

  /** Allocates a segment (the caller checked the budget and canAllocate); it is not in any queue. */
  allocate(): number {
    const id = this.unallocated[--this.unallocatedCount]!;
    const buf = Buffer.allocUnsafeSlow(this.segmentBytes);
    this.u8[id] = buf;
    this.i32[id] = new Int32Array(buf.buffer, buf.byteOffset, this.segmentBytes >> 2);
    this.f64[id] = new Float64Array(buf.buffer, buf.byteOffset, this.segmentBytes >> 3);
    this.allocatedCount++;
    this.fill[id] = 0;
    this.live[id] = 0;
    return id;
  }

  /** Drops a free segment's memory. */
  releaseFree(): void {
    const id = this.freeStack[--this.freeCount]!;
    this.u8[id] = NO_U8;
    this.i32[id] = NO_I32;
    this.f64[id] = NO_F64;
    this.allocatedCount--;
    this.unallocated[this.unallocatedCount++] = id;
  }

  /** A free segment, or -1. */
  popFree(): number {
    if (this.freeCount === 0) return -1;
    const id = this.freeStack[--this.freeCount]!;
    this.fill[id] = 0;
    this.live[id] = 0;
    return id;
  }

  /** Returns an empty segment (not in any queue) to the free stack. */
  pushFree(id: number): void {
    this.queueOf[id] = -1;
    this.fill[id] = 0;
    this.live[id] = 0;
    this.freeStack[this.freeCount++] = id;
  }

  /** Makes a segment the head (newest) of queue `q`. */
  pushNewest(q: number, id: number): void {
    this.queueOf[id] = q;
    this.next[id] = -1;
    const h = this.head[q]!;
    if (h >= 0) this.next[h] = id;
    else this.tail[q] = id;
    this.head[q] = id;
    this.segments[q]++;
  }

  /**
   * Unlinks the `count` segments that follow `keep` in queue `q` (none of them
   * the head); the caller frees them.
   */
  unlinkAfter(q: number, keep: number, count: number): void {
    let last = keep;
    for (let i = 0; i < count; i++) {
      last = this.next[last]!;
      this.queueOf[last] = -1;
    }
    this.next[keep] = this.next[last]!;
    this.segments[q] -= count;
  }

  /**
   * Moves every segment of queue `q` whose items are all dead, except its
   * head, to the free stack (keeping the order of the rest); returns how many.
   */
  freeDead(q: number): number {
    const head = this.head[q]!;
    let freed = 0;
    let prev = -1;
    for (let id = this.tail[q]!; id >= 0 && id !== head;) {
      const next = this.next[id]!;
      if (this.live[id] === 0) {
        if (prev < 0) this.tail[q] = next;
        else this.next[prev] = next;
        this.segments[q]--;
        this.pushFree(id);
        freed++;
      } else {
        prev = id;
      }
      id = next;
    }
    return freed;
  }

  /** The next newer segment of the same queue, -1 at the head. */
  nextOf(id: number): number {
    return this.next[id]!;
  }

  /** Unlinks and returns the oldest segment of queue `q` (the caller checked it is not empty). */
  popOldest(q: number): number {
    const id = this.tail[q]!;
    const n = this.next[id]!;
    this.tail[q] = n;
    if (n < 0) this.head[q] = -1;
    this.segments[q]--;
    this.queueOf[id] = -1;
    return id;
  }

  /** Segment ids of queue `q`, oldest first (tests and diagnostics). */
  *queue(q: number): IterableIterator<number> {
    for (let id = this.tail[q]!; id >= 0; id = this.next[id]!) yield id;
  }

  /** Releases every segment. */
  reset(): void {
    for (let id = 0; id < this.maxSegments; id++) {
      this.u8[id] = NO_U8;
      this.i32[id] = NO_I32;
      this.f64[id] = NO_F64;
      this.queueOf[id] = -1;
      this.next[id] = -1;
      this.unallocated[id] = this.maxSegments - 1 - id;
    }
    this.unallocatedCount = this.maxSegments;
    this.allocatedCount = 0;
    this.freeCount = 0;
    this.tail.fill(-1);
    this.head.fill(-1);
    this.segments.fill(0);
  }
}
