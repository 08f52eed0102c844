/**
 * ArenaStore: one named cache whose keys, values and metadata live outside the
 * V8 heap, in a few large Buffers, so the garbage collector sees a handful of
 * objects (three per segment, a dozen per store) whatever the entry count.
 *
 * DATA: a log of fixed-size segments (Segcache-style), not a slab allocator.
 * Items are appended to the head segment of a FIFO queue of segments; when
 * memory is needed, a segment is reclaimed whole. Why a log rather than slabs:
 * - S3-FIFO is FIFO queues with reinsertion, and LRU is a log with re-append
 *   on access, so each policy is the log's own order: no per-item links.
 * - Allocation is a pointer bump; there is no fragmentation between size
 *   classes (slab allocators' classic failure when value sizes drift, which
 *   needs rebalancing); holes left by overwrites, deletes, expiry and moves
 *   are reclaimed with their segment.
 * - The costs: a hole holds memory until its segment is compacted or
 *   reclaimed, and eviction decides a segment's worth of items at a time.
 * Reclaiming (when a write needs a segment and the budget has none): first
 * compaction: the oldest run of 2-8 consecutive segments of a queue whose
 * live items fit in one segment fewer is packed in place, in order (nothing
 * evicted, order kept); otherwise the oldest segment of the queue the policy
 * names is reclaimed: each live item is evicted, or re-appended at a head
 * (S3-FIFO's reinsertion), as the policy says. Expired items are dropped
 * (counted as expirations) whenever a reclaim or compaction meets them.
 *
 * Segments are 1/64 of the budget, as a power of two between 4 KiB and
 * 1 MiB, allocated lazily (a small cache never holds more than it has used).
 * An item (itemLayout.ts) is a 32-byte header (expiry, HLC version, node tag,
 * value length, TTL-array position, key length, flags incl. a reserved
 * tombstone bit, 2-bit access counter), the key and the value, padded to 8
 * bytes. An item over 1/8 of a segment is LARGE: its key and value get a
 * Buffer of their own (LargeValues), charged to the budget with its object
 * cost, and a 40-byte stub in the log stands in for it in index, TTL array
 * and policy.
 *
 * INDEX: open addressing over an Int32Array of [hash, ref] pairs (ArenaIndex),
 * at most 80% full, doubling (the doubling is made room for first). Keys are
 * hashed by keyHash.ts, which leaves the key's words in a scratch array, so a
 * candidate (stored hash equal) is compared four bytes at a time. TTL: the
 * items with one are listed in a dense Int32Array (TtlRefs) that active expiry
 * samples in O(1), Redis-style.
 *
 * BUDGET: `maxMemoryBytes` bounds everything the store allocates: segments
 * (with their measured object cost), the index, the TTL array, the policy's
 * ghost, large items, per-segment metadata and a fixed
 * part for the store's objects. Every growth makes room first (releasing free
 * segments, then reclaiming), so `usedBytes` is never above the budget after
 * any call, and it is what the store holds, not an estimate per entry.
 *
 * HANDLES. get, peek and set return a handle (a non-negative number; -1 is a
 * miss): the item's position in the log. A handle is valid until the next
 * MUTATION of the same store: set, setExpiry, delete, activeExpireCycle,
 * clear, and get() under LRU (an LRU hit re-appends the item, which may
 * reclaim a segment; under S3-FIFO a get only bumps a counter). Read what you
 * need (copyValue, valueBuffer, hlcOf ...) before the next mutating call.
 * Deletes and expiry never move or overwrite bytes, so a handle taken just
 * before delete() still reads the removed value until the next set (GETDEL);
 * segments are reused only by set, LRU get, setExpiry and clear. A stale
 * handle reads garbage (or throws RangeError for a released large item).
 *
 * ALLOCATION: get, peek, delete and their *At forms allocate nothing of
 * their own; set allocates one short-lived view to copy a value that is part
 * of a larger array (cheaper than Buffer.prototype.copy), setLatin1At none. The clocks may: V8's Date.now() returns a fresh heap number
 * (16 B, measured), and the store calls now() on reads of items that have a
 * TTL, and the HLC reads its wall clock on every set. Pass clocks based on
 * performance.timeOrigin + performance.now() (which V8 inlines without
 * allocating) to avoid even that.
 *
 * Single-threaded and synchronous; assumes a little-endian machine (x64, arm64).
 */
import { type EvictionPolicyName, MAX_TTL_MS, type StoreOptions, type StoreStats } from '../StoreOptions.js';
import type { HybridLogicalClock } from '../HybridLogicalClock.js';
import { StoreError } from '../StoreError.js';
import { writeLatin1 } from '../writeLatin1.js';
import { ArenaIndex, EMPTY } from './ArenaIndex.js';
import { EVICT, keepIn, type ArenaPolicy } from './ArenaPolicy.js';
import { ARENA_MAIN } from './ArenaS3FifoPolicy.js';
import { createArenaPolicy } from './arenaPolicies.js';
import {
  F64_HLC,
  FLAG_DEAD,
  FLAG_LARGE,
  FREQ_MASK,
  FREQ_ONE,
  FREQ_SHIFT,
  HEADER_BYTES,
  HEADER_WORDS,
  I32_LARGE_ID,
  I32_META,
  I32_NODE,
  I32_TTL_INDEX,
  I32_VALUE_LEN,
  KEY_LEN_MASK,
  LARGE_STUB_BYTES,
  MAX_KEY_LEN,
  itemBytesOf,
  smallItemBytes,
} from './itemLayout.js';
import { hashBytes, hashKey, hashWords, tailMask } from './keyHash.js';
import { LargeValues } from './LargeValues.js';
import { ARENA_QUEUES, SEGMENT_OBJECT_BYTES, SegmentPool } from './SegmentPool.js';
import { TtlRefs } from './TtlRefs.js';

/** Redis' active expiry sample size; repeat while more than 25% of a sample expired. */
const ACTIVE_EXPIRE_SAMPLE = 20;

export const ARENA_MIN_SEGMENT_BYTES = 4 * 1024;
export const ARENA_MAX_SEGMENT_BYTES = 1024 * 1024;
/** Segments per budget (before clamping to the bounds above). */
const SEGMENTS_PER_BUDGET = 64;
/** Item references address 8-byte units with 31 bits: 16 GiB per store. */
export const ARENA_MAX_BUDGET_BYTES = 2 ** 34;
/**
 * The store's own JS objects (the store, pool, index, policy and stats, and
 * the typed-array objects whose contents are counted separately), counted
 * once. Measured on Node 24: about 5.5 KiB per store beyond what the other
 * terms count; rounded up.
 */
export const ARENA_FIXED_BYTES = 8192;
/**
 * Reclaims one write may make that re-append items; after that, a reclaim
 * evicts every item of its segment whatever the policy says, so one write's
 * work is bounded even when every item has been read recently.
 */
export const ARENA_MAX_KEEPING_RECLAIMS = 64;
/**
 * Longest run of segments a compaction packs into one fewer: 8, so holes are
 * compacted while a run is at most ~7/8 live (copying at most 7 segments to
 * free one); denser data is evicted instead.
 */
export const ARENA_MAX_COMPACT_RUN = 8;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('ArenaStore assumes a little-endian machine');
}

/**
 * The key-words scratch (see keyHash.ts), one per process rather than per
 * store: a store uses it only inside one synchronous call, and sized for the
 * default 64 KiB key limit it would otherwise take 64 KiB of every cache's
 * budget (a small cache could hold nothing). It is not charged to any budget.
 */
let sharedKeyScratch = new Int32Array(0);

function keyScratch(maxKeyBytes: number): Int32Array {
  const words = (maxKeyBytes + 3) >>> 2;
  if (sharedKeyScratch.length < words) sharedKeyScratch = new Int32Array(words);
  return sharedKeyScratch;
}

/** Where the store's bytes go (usedBytes is their sum). */
export interface ArenaMemory {
  segments: number;
  freeSegments: number;
  segmentBytes: number;
  segmentMetadata: number;
  index: number;
  ttl: number;
  policy: number;
  large: number;
  fixed: number;
}

export class ArenaStore {
  readonly name: string;
  readonly options: Readonly<StoreOptions>;
  readonly stats: StoreStats = { hits: 0, misses: 0, evictions: 0, expirations: 0, sets: 0, deletes: 0 };
  /** Reclaims that evicted a whole segment because a write hit ARENA_MAX_KEEPING_RECLAIMS. */
  forcedReclaims = 0;
  /** Compactions (runs of segments packed to free space without evicting). */
  compactions = 0;
  /** Segments reused because every item in them had died (see takeSegment). */
  recycledSegments = 0;

  private readonly pool: SegmentPool;
  private readonly index = new ArenaIndex();
  private readonly ttl = new TtlRefs();
  private readonly large = new LargeValues();
  private readonly policy: ArenaPolicy;
  private readonly moveOnHit: boolean;
  /** The current key's words (see keyHash.ts). */
  private readonly words: Int32Array;
  private readonly queueItems = new Int32Array(ARENA_QUEUES);
  /** Large items removed since the last write: released then, so their handles stay readable. */
  private readonly pendingLarge: number[] = [];
  /** smallWritesFit's cache: the structure bytes it was computed for, and its answer. */
  private fitCheckedAt = -1;
  private smallFit = false;
  /** Bytes of the largest item ever appended (bounds what packing a segment can waste). */
  private largestItem = LARGE_STUB_BYTES;
  /** Segment ids of the run being compacted. */
  private readonly run = new Int32Array(ARENA_MAX_COMPACT_RUN);
  /** Segments whose live bytes reached 0 since takeSegment last freed such segments (a hint). */
  private deadSegments = 0;
  /** An item a reclaim must keep (an LRU hit being moved); updated if moved. */
  private pinned = -1;

  // Hot-path copies.
  private readonly segU8: Buffer[];
  private readonly segI32: Int32Array[];
  private readonly segF64: Float64Array[];
  private readonly unitBits: number;
  private readonly unitMask: number;
  private readonly segmentBytes: number;
  private readonly largeThreshold: number;
  private readonly maxMemoryBytes: number;
  private readonly maxKeyBytes: number;
  private readonly maxValueBytes: number;
  private readonly defaultTtlMs: number;

  constructor(
    options: StoreOptions,
    private readonly clock: HybridLogicalClock,
    private readonly now: () => number = Date.now,
  ) {
    requireInteger('maxMemoryBytes', options.maxMemoryBytes, 1, ARENA_MAX_BUDGET_BYTES);
    requireInteger('maxKeyBytes', options.maxKeyBytes, 1, MAX_KEY_LEN);
    requireInteger('maxValueBytes', options.maxValueBytes, 0, 2 ** 31 - 1);
    requireInteger('defaultTtlMs', options.defaultTtlMs, 0, MAX_TTL_MS);
    this.policy = createArenaPolicy(options.evictionPolicy);
    this.moveOnHit = this.policy.moveOnHit;
    this.name = options.name;
    this.options = { ...options };
    this.maxMemoryBytes = options.maxMemoryBytes;
    this.maxKeyBytes = options.maxKeyBytes;
    this.maxValueBytes = options.maxValueBytes;
    this.defaultTtlMs = options.defaultTtlMs;

    const segmentBytes = Math.min(
      ARENA_MAX_SEGMENT_BYTES,
      Math.max(
        ARENA_MIN_SEGMENT_BYTES,
        2 ** Math.floor(Math.log2(options.maxMemoryBytes / SEGMENTS_PER_BUDGET)),
      ),
    );
    const maxSegments = Math.floor(options.maxMemoryBytes / (segmentBytes + SEGMENT_OBJECT_BYTES)) + 2;
    this.pool = new SegmentPool(segmentBytes, maxSegments);
    this.segU8 = this.pool.u8;
    this.segI32 = this.pool.i32;
    this.segF64 = this.pool.f64;
    this.unitBits = this.pool.unitBits;
    this.unitMask = this.pool.unitMask;
    this.segmentBytes = segmentBytes;
    this.largeThreshold = segmentBytes / 8;
    this.words = keyScratch(options.maxKeyBytes);
  }

  /** Items held, including expired ones not collected yet. */
  get size(): number {
    return this.index.count;
  }

  /** Items that have a TTL (expired or not). */
  get ttlCount(): number {
    return this.ttl.count;
  }

  get evictionPolicy(): EvictionPolicyName {
    return this.policy.name;
  }

  /** Bytes of one segment. */
  get segmentSize(): number {
    return this.segmentBytes;
  }

  /** Everything the store holds; never above maxMemoryBytes. */
  get usedBytes(): number {
    return (
      this.pool.bytes +
      this.index.bytes +
      this.ttl.bytes +
      this.policy.bytes +
      this.large.bytes +
      ARENA_FIXED_BYTES
    );
  }

  /** usedBytes by part. */
  memory(): ArenaMemory {
    const pool = this.pool;
    return {
      segments: pool.allocatedCount,
      freeSegments: pool.freeCount,
      segmentBytes: pool.allocatedCount * pool.segmentCost,
      segmentMetadata: pool.metadataBytes,
      index: this.index.bytes,
      ttl: this.ttl.bytes,
      policy: this.policy.bytes,
      large: this.large.bytes,
      fixed: ARENA_FIXED_BYTES,
    };
  }

  // ------------------------------------------------------------------ reads

  /** The live item for a key (-1 = miss): counts a hit or a miss, expires lazily, tells the policy. */
  get(key: Uint8Array): number {
    return this.getAt(key, 0, key.length);
  }

  /**
   * get() for a key given as `length` bytes of `bytes` from `offset` (e.g. in
   * the buffer a request was read into), so no view needs to be created.
   */
  getAt(bytes: Uint8Array, offset: number, length: number): number {
    // find() and keyIs() inlined: this is the hot path, and the item's header,
    // read for the key compare, also answers the TTL and counter questions.
    if (length <= this.maxKeyBytes) {
      const words = this.words;
      const h = hashKey(bytes, offset, length, words);
      const slots = this.index.slots;
      const mask = this.index.posMask;
      const ub = this.unitBits;
      const um = this.unitMask;
      const n = length >>> 2;
      const tail = (length & 3) === 0 ? 0 : tailMask(length & 3);
      for (let p = (h << 1) & mask; ; p = (p + 2) & mask) {
        const ref = slots[p + 1]!;
        if (ref === EMPTY) break;
        if (slots[p] !== h) continue;
        const seg = ref >>> ub;
        const i32 = this.segI32[seg]!;
        const base = (ref & um) << 1;
        const meta = i32[base + I32_META]!;
        if ((meta & (KEY_LEN_MASK | FLAG_LARGE)) === length) {
          const k0 = base + HEADER_WORDS;
          let i = 0;
          while (i < n && i32[k0 + i] === words[i]) i++;
          if (i < n || (tail !== 0 && ((i32[k0 + n]! ^ words[n]!) & tail) !== 0)) continue;
        } else if (!this.keyIs(ref, length)) {
          continue;
        }
        // Found. An item has a TTL exactly when it has a TTL-array position.
        if (i32[base + I32_TTL_INDEX]! >= 0 && this.segF64[seg]![ref & um]! <= this.now()) {
          this.removeAt(p);
          this.stats.expirations++;
          break;
        }
        this.stats.hits++;
        if (this.moveOnHit) return this.moveToHead(p, ref, h);
        if ((meta & FREQ_MASK) !== FREQ_MASK) i32[base + I32_META] = meta + FREQ_ONE;
        return ref;
      }
    }
    this.stats.misses++;
    return -1;
  }

  /** The live item for a key (-1 = none), without counting or telling the policy. Expires lazily. */
  peek(key: Uint8Array): number {
    return this.peekAt(key, 0, key.length);
  }

  /** peek() for a key given as a range of `bytes`. */
  peekAt(bytes: Uint8Array, offset: number, length: number): number {
    if (length > this.maxKeyBytes) return -1;
    const p = this.find(hashKey(bytes, offset, length, this.words), length);
    if (p < 0) return -1;
    const ref = this.index.slots[p + 1]!;
    const expiresAt = this.segF64[ref >>> this.unitBits]![ref & this.unitMask]!;
    if (expiresAt === 0 || expiresAt > this.now()) return ref;
    this.removeAt(p);
    this.stats.expirations++;
    return -1;
  }

  valueLength(h: number): number {
    return this.segI32[h >>> this.unitBits]![((h & this.unitMask) << 1) + I32_VALUE_LEN]!;
  }

  /** Copies the value into `target` at `offset`; returns its length. */
  copyValue(h: number, target: Uint8Array, offset: number): number {
    const seg = h >>> this.unitBits;
    const u = h & this.unitMask;
    const i32 = this.segI32[seg]!;
    const base = u << 1;
    const meta = i32[base + I32_META]!;
    const keyLen = meta & KEY_LEN_MASK;
    const valueLen = i32[base + I32_VALUE_LEN]!;
    if ((meta & FLAG_LARGE) !== 0) {
      this.large.get(i32[base + I32_LARGE_ID]!).copy(target, offset, keyLen, keyLen + valueLen);
    } else {
      const start = (u << 3) + HEADER_BYTES + keyLen;
      this.segU8[seg]!.copy(target, offset, start, start + valueLen);
    }
    return valueLen;
  }

  /** A fresh copy of the value. */
  valueBuffer(h: number): Buffer {
    const out = Buffer.allocUnsafe(this.valueLength(h));
    this.copyValue(h, out, 0);
    return out;
  }

  /** The value as a latin1 string (one char per byte). */
  valueLatin1(h: number): string {
    const seg = h >>> this.unitBits;
    const u = h & this.unitMask;
    const i32 = this.segI32[seg]!;
    const meta = i32[(u << 1) + I32_META]!;
    const keyLen = meta & KEY_LEN_MASK;
    const valueLen = i32[(u << 1) + I32_VALUE_LEN]!;
    if ((meta & FLAG_LARGE) !== 0) {
      return this.large.get(i32[(u << 1) + I32_LARGE_ID]!).toString('latin1', keyLen, keyLen + valueLen);
    }
    const start = (u << 3) + HEADER_BYTES + keyLen;
    return this.segU8[seg]!.toString('latin1', start, start + valueLen);
  }

  /**
   * The array holding the value's bytes (a segment or a large item's own
   * buffer), for writing them out without an intermediate copy: the value is
   * `valueLength(h)` bytes from `valueOffset(h)`. Valid while the handle is.
   */
  valueSource(h: number): Buffer {
    const seg = h >>> this.unitBits;
    const i32 = this.segI32[seg]!;
    const base = (h & this.unitMask) << 1;
    if ((i32[base + I32_META]! & FLAG_LARGE) !== 0) return this.large.get(i32[base + I32_LARGE_ID]!);
    return this.segU8[seg]!;
  }

  /** Where the value starts in valueSource(h). */
  valueOffset(h: number): number {
    const u = h & this.unitMask;
    const meta = this.segI32[h >>> this.unitBits]![(u << 1) + I32_META]!;
    const keyLen = meta & KEY_LEN_MASK;
    return (meta & FLAG_LARGE) !== 0 ? keyLen : (u << 3) + HEADER_BYTES + keyLen;
  }

  /** Bytes of the key. */
  keyLength(h: number): number {
    return this.segI32[h >>> this.unitBits]![((h & this.unitMask) << 1) + I32_META]! & KEY_LEN_MASK;
  }

  /** A fresh copy of the key. */
  keyBuffer(h: number): Buffer {
    const seg = h >>> this.unitBits;
    const u = h & this.unitMask;
    const i32 = this.segI32[seg]!;
    const meta = i32[(u << 1) + I32_META]!;
    const keyLen = meta & KEY_LEN_MASK;
    const out = Buffer.allocUnsafe(keyLen);
    if ((meta & FLAG_LARGE) !== 0) this.large.get(i32[(u << 1) + I32_LARGE_ID]!).copy(out, 0, 0, keyLen);
    else this.segU8[seg]!.copy(out, 0, (u << 3) + HEADER_BYTES, (u << 3) + HEADER_BYTES + keyLen);
    return out;
  }

  /** Epoch ms after which the item is gone; 0 = never. */
  expiresAtOf(h: number): number {
    return this.segF64[h >>> this.unitBits]![h & this.unitMask]!;
  }

  /** Version: HLC timestamp of the write. */
  hlcOf(h: number): number {
    return this.segF64[h >>> this.unitBits]![(h & this.unitMask) + F64_HLC]!;
  }

  /** Version tie-break: the writer's node tag (uint32). */
  nodeOf(h: number): number {
    return this.segI32[h >>> this.unitBits]![((h & this.unitMask) << 1) + I32_NODE]! >>> 0;
  }

  /**
   * Handles of the live (non-expired) items, in index order. Do not mutate the
   * store while iterating.
   */
  *entries(): IterableIterator<number> {
    const now = this.now();
    const slots = this.index.slots;
    for (let p = 1; p < slots.length; p += 2) {
      const ref = slots[p]!;
      if (ref === EMPTY) continue;
      const expiresAt = this.expiresAtOf(ref);
      if (expiresAt === 0 || expiresAt > now) yield ref;
    }
  }

  /**
   * Checks the store's invariants in O(items + segments) and throws on the
   * first broken one (tests and debugging): every live item in a queued
   * segment is indexed at its position, and nothing else is; per-segment live
   * bytes, per-queue item counts and TTL positions agree; the budget holds.
   */
  verify(): void {
    const pool = this.pool;
    const fail = (what: string): never => {
      throw new Error(`cache '${this.name}': arena invariant broken: ${what}`);
    };
    let items = 0;
    const perQueue = new Array<number>(ARENA_QUEUES).fill(0);
    for (let q = 0; q < ARENA_QUEUES; q++) {
      let segments = 0;
      for (const v of pool.queue(q)) {
        segments++;
        if (pool.queueOf[v] !== q) fail(`segment ${v} in queue ${q} says ${pool.queueOf[v]}`);
        const i32 = this.segI32[v]!;
        let live = 0;
        let off = 0;
        for (; off < pool.fill[v]!;) {
          const base = off >>> 2;
          const meta = i32[base + I32_META]!;
          const size = itemBytesOf(meta, i32[base + I32_VALUE_LEN]!);
          if ((meta & FLAG_DEAD) === 0) {
            const ref = (v << this.unitBits) | (off >>> 3);
            this.index.positionOf(this.storedHash(i32, base, meta), ref); // throws if not indexed
            const ttlIndex = i32[base + I32_TTL_INDEX]!;
            if ((this.expiresAtOf(ref) !== 0) !== ttlIndex >= 0)
              fail(`item ${ref}: TTL position ${ttlIndex}`);
            if (ttlIndex >= 0 && this.ttl.refs[ttlIndex] !== ref) fail(`item ${ref}: TTL array disagrees`);
            live += size;
            items++;
            perQueue[q]!++;
          }
          off += size;
        }
        if (off !== pool.fill[v]) fail(`segment ${v}: items overrun the fill mark`);
        if (live !== pool.live[v]) fail(`segment ${v}: live bytes ${pool.live[v]} != ${live}`);
      }
      if (segments !== pool.segments[q])
        fail(`queue ${q}: ${pool.segments[q]} segments counted, ${segments} linked`);
      if (perQueue[q] !== this.queueItems[q])
        fail(`queue ${q}: ${this.queueItems[q]} items counted, ${perQueue[q]} found`);
    }
    if (items !== this.index.count) fail(`${this.index.count} indexed, ${items} live`);
    if (this.ttl.count > this.index.count) fail('more TTL entries than items');
    if (this.usedBytes > this.maxMemoryBytes) fail(`usedBytes ${this.usedBytes} > ${this.maxMemoryBytes}`);
  }

  // ----------------------------------------------------------------- writes

  /**
   * Stores a value unconditionally, replacing any item for the key. Without a
   * version, the clock assigns one (this node as the writer); with one (a
   * replicated write), the clock observes it. Reclaims segments until the item
   * fits. Throws StoreError and changes nothing when the key, the value or
   * the whole item is over a limit. Returns the new item's handle.
   *
   * @param expiresAt epoch ms, 0 = never (see expiresAtFor)
   */
  set(key: Uint8Array, value: Uint8Array, expiresAt: number, hlc?: number, node?: number): number {
    return this.setAt(key, 0, key.length, value, 0, value.length, expiresAt, hlc, node);
  }

  /** set() for a key and a value given as ranges of byte arrays (they may be the same array). */
  setAt(
    key: Uint8Array,
    keyOffset: number,
    keyLen: number,
    value: Uint8Array,
    valueOffset: number,
    valueLen: number,
    expiresAt: number,
    hlc?: number,
    node?: number,
  ): number {
    if (
      keyOffset < 0 ||
      keyOffset + keyLen > key.length ||
      valueOffset < 0 ||
      valueOffset + valueLen > value.length
    ) {
      throw new RangeError('setAt: key or value range outside its array');
    }
    const ref = this.writeItem(key, keyOffset, keyLen, valueLen, expiresAt, hlc, node);
    if (valueLen > 0) copyBytes(value, valueOffset, valueLen, this.valueSource(ref), this.valueOffset(ref));
    return ref;
  }

  /**
   * set() for a value given as a latin1 string (one char per byte, as the
   * Redis front door reads arguments): its bytes are written straight into
   * the item, with no intermediate buffer.
   */
  setLatin1At(
    key: Uint8Array,
    keyOffset: number,
    keyLen: number,
    value: string,
    expiresAt: number,
    hlc?: number,
    node?: number,
  ): number {
    if (keyOffset < 0 || keyOffset + keyLen > key.length) {
      throw new RangeError('setLatin1At: key range outside its array');
    }
    const valueLen = value.length;
    const ref = this.writeItem(key, keyOffset, keyLen, valueLen, expiresAt, hlc, node);
    writeLatin1(this.valueSource(ref), value, this.valueOffset(ref));
    return ref;
  }

  /**
   * The whole of a set but copying the value in: checks, versions, replaces
   * any item for the key, makes room, writes the header and key, indexes the
   * item. The caller writes the `valueLen` value bytes at
   * valueSource/valueOffset of the returned handle before anything else.
   */
  private writeItem(
    key: Uint8Array,
    keyOffset: number,
    keyLen: number,
    valueLen: number,
    expiresAt: number,
    hlc: number | undefined,
    node: number | undefined,
  ): number {
    if (keyLen > this.maxKeyBytes) {
      throw new StoreError(
        'KEY_TOO_LARGE',
        `key is ${keyLen} bytes; cache '${this.name}' allows at most ${this.maxKeyBytes} (maxKeyBytes)`,
      );
    }
    if (valueLen > this.maxValueBytes) {
      throw new StoreError(
        'VALUE_TOO_LARGE',
        `value is ${valueLen} bytes; cache '${this.name}' allows at most ${this.maxValueBytes} (maxValueBytes)`,
      );
    }
    const inline = smallItemBytes(keyLen, valueLen) <= this.largeThreshold;
    const largeCharge = inline ? 0 : LargeValues.chargeOf(keyLen + valueLen);
    const need = inline && this.smallWritesFit() ? 0 : this.worstCaseNeed(largeCharge, expiresAt !== 0);
    if (need > this.maxMemoryBytes) {
      throw new StoreError(
        'OUT_OF_MEMORY',
        `entry needs ${need} bytes (key ${keyLen} + value ${valueLen} + overhead ${need - keyLen - valueLen}); ` +
          `cache '${this.name}' holds at most ${this.maxMemoryBytes} (maxMemoryBytes)`,
      );
    }
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
      throw new StoreError('INVALID_TTL', `expiry ${expiresAt} is not an epoch ms time or 0 (never)`);
    }
    let version: number;
    let writer: number;
    if (hlc === undefined) {
      version = this.clock.now();
      writer = this.clock.nodeTag;
    } else {
      this.clock.observe(hlc); // validates hlc before anything changes
      version = hlc;
      writer = node ?? this.clock.nodeTag;
    }

    const h = hashKey(key, keyOffset, keyLen, this.words);
    const p = this.find(h, keyLen);
    let q: number;
    let freqBits = 0;
    if (p >= 0) {
      // An overwrite keeps its item's queue and access counter. The old item
      // leaves now (its bytes stay until its segment is reclaimed), so making
      // room below can never count it as an eviction.
      const old = this.index.slots[p + 1]!;
      q = this.pool.queueOf[old >>> this.unitBits]!;
      freqBits = this.segI32[old >>> this.unitBits]![((old & this.unitMask) << 1) + I32_META]! & FREQ_MASK;
      this.removeAt(p);
    } else {
      q = this.policy.admit(h, this.queueItems[ARENA_MAIN]!);
    }
    this.releasePendingLarge(); // including the old item's, if it was large

    // Grow what needs growing, then reserve the item's place (both may reclaim;
    // neither touches the key words hashed above).
    this.prepareGrowth(expiresAt !== 0);
    let largeId = -1;
    if (!inline) {
      this.makeRoom(largeCharge);
      largeId = this.large.allocate(keyLen + valueLen);
      copyBytes(key, keyOffset, keyLen, this.large.get(largeId), 0);
    }
    const size = inline ? smallItemBytes(keyLen, valueLen) : LARGE_STUB_BYTES;
    if (size > this.largestItem) this.largestItem = size;
    const ref = this.append(size, q); // may reclaim

    const seg = ref >>> this.unitBits;
    const u = ref & this.unitMask;
    const base = u << 1;
    const f64 = this.segF64[seg]!;
    const i32 = this.segI32[seg]!;
    f64[u] = expiresAt;
    f64[u + F64_HLC] = version;
    i32[base + I32_NODE] = writer | 0;
    i32[base + I32_VALUE_LEN] = valueLen;
    i32[base + I32_TTL_INDEX] = -1;
    i32[base + I32_META] = keyLen | freqBits | (inline ? 0 : FLAG_LARGE);
    if (inline) {
      const words = this.words;
      const k0 = base + HEADER_WORDS;
      const n = (keyLen + 3) >>> 2;
      for (let i = 0; i < n; i++) i32[k0 + i] = words[i]!;
    } else {
      i32[base + I32_LARGE_ID] = largeId;
    }
    this.queueItems[q]++;

    this.index.insertAt(this.index.freePosition(h), h, ref); // the key is absent: removed above, or never here
    if (expiresAt !== 0) i32[base + I32_TTL_INDEX] = this.ttl.add(ref);
    this.stats.sets++;
    return ref;
  }

  /**
   * Converts a TTL as the API takes it into an expiry time: -1 = never,
   * 0 = the cache's defaultTtlMs (never when that is 0), 1..MAX_TTL_MS = now + ttl.
   * Anything else throws StoreError INVALID_TTL.
   */
  expiresAtFor(ttlMs: number): number {
    if (ttlMs === -1) return 0;
    if (ttlMs === 0) return this.defaultTtlMs === 0 ? 0 : this.now() + this.defaultTtlMs;
    if (Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_TTL_MS) return this.now() + ttlMs;
    throw new StoreError(
      'INVALID_TTL',
      `TTL ${ttlMs} ms is not valid for cache '${this.name}': use -1 (never expires), 0 (cache default) ` +
        `or an integer from 1 to ${MAX_TTL_MS} (10 years)`,
    );
  }

  /** Changes a live item's expiry (0 = never). False when the key is absent or expired. */
  setExpiry(key: Uint8Array, expiresAt: number): boolean {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
      throw new StoreError('INVALID_TTL', `expiry ${expiresAt} is not an epoch ms time or 0 (never)`);
    }
    if (expiresAt !== 0 && this.ttl.full) {
      this.releasePendingLarge();
      this.makeRoom(this.ttl.growthBytes);
      if (this.ttl.full) this.ttl.grow();
    }
    const ref = this.peek(key);
    if (ref < 0) return false;
    const seg = ref >>> this.unitBits;
    const u = ref & this.unitMask;
    const i32 = this.segI32[seg]!;
    const t = (u << 1) + I32_TTL_INDEX;
    const ttlIndex = i32[t]!;
    if (expiresAt === 0) {
      if (ttlIndex >= 0) {
        this.untrack(ttlIndex);
        i32[t] = -1;
      }
    } else if (ttlIndex < 0) {
      i32[t] = this.ttl.add(ref);
    }
    this.segF64[seg]![u] = expiresAt;
    return true;
  }

  /** Removes a live item. False when the key is absent or expired. */
  delete(key: Uint8Array): boolean {
    return this.deleteAt(key, 0, key.length);
  }

  /** delete() for a key given as a range of `bytes`. */
  deleteAt(bytes: Uint8Array, offset: number, length: number): boolean {
    if (length > this.maxKeyBytes) return false;
    const p = this.find(hashKey(bytes, offset, length, this.words), length);
    if (p < 0) return false;
    const ref = this.index.slots[p + 1]!;
    const expiresAt = this.segF64[ref >>> this.unitBits]![ref & this.unitMask]!;
    this.removeAt(p);
    if (expiresAt !== 0 && expiresAt <= this.now()) {
      this.stats.expirations++;
      return false;
    }
    this.stats.deletes++;
    return true;
  }

  /** Drops every item and releases all memory but the fixed part (counters are kept: they are monotonic). */
  clear(): void {
    this.pool.reset();
    this.index.reset();
    this.ttl.reset();
    this.large.reset();
    this.policy.reset();
    this.queueItems.fill(0);
    this.pendingLarge.length = 0;
    this.pinned = -1;
  }

  /**
   * Redis-style active expiry: samples up to 20 random items that have a TTL,
   * removes the expired ones, and samples again while more than 25% of a
   * sample had expired, until `maxWork` items have been examined. Returns how
   * many items were removed. Never moves or overwrites bytes.
   */
  activeExpireCycle(maxWork: number): number {
    const ttl = this.ttl;
    const now = this.now();
    let work = 0;
    let removed = 0;
    while (work < maxWork && ttl.count > 0) {
      const n = Math.min(ACTIVE_EXPIRE_SAMPLE, ttl.count, maxWork - work);
      let expired = 0;
      for (let i = 0; i < n && ttl.count > 0; i++) {
        const ref = ttl.refs[Math.floor(Math.random() * ttl.count)]!;
        if (this.expiresAtOf(ref) <= now) {
          this.removeAt(this.index.positionOf(this.hashOf(ref), ref));
          this.stats.expirations++;
          expired++;
        }
      }
      work += n;
      removed += expired;
      if (expired * 4 <= n) break;
    }
    return removed;
  }

  // --------------------------------------------------------------- internals

  /** Index position of the key whose hash is `h` and words are in `this.words`; ~insertion position if absent. */
  private find(h: number, len: number): number {
    const slots = this.index.slots;
    const mask = this.index.posMask;
    let p = (h << 1) & mask;
    while (true) {
      const r = slots[p + 1]!;
      if (r === EMPTY) return ~p;
      if (slots[p] === h && this.keyIs(r, len)) return p;
      p = (p + 2) & mask;
    }
  }

  /** Whether the item `ref` has the current key (`len` bytes, words in `this.words`). */
  private keyIs(ref: number, len: number): boolean {
    const i32 = this.segI32[ref >>> this.unitBits]!;
    const base = (ref & this.unitMask) << 1;
    const meta = i32[base + I32_META]!;
    if ((meta & (KEY_LEN_MASK | FLAG_LARGE)) !== len) {
      return (
        (meta & FLAG_LARGE) !== 0 &&
        (meta & KEY_LEN_MASK) === len &&
        this.largeKeyIs(i32[base + I32_LARGE_ID]!, len)
      );
    }
    const words = this.words;
    const k0 = base + HEADER_WORDS;
    const n = len >>> 2;
    for (let i = 0; i < n; i++) if (i32[k0 + i] !== words[i]) return false;
    const rest = len & 3;
    return rest === 0 || ((i32[k0 + n]! ^ words[n]!) & tailMask(rest)) === 0;
  }

  private largeKeyIs(id: number, len: number): boolean {
    const bytes = this.large.get(id);
    const words = this.words;
    for (let i = 0; i < len; i++) {
      if (bytes[i] !== ((words[i >>> 2]! >>> ((i & 3) << 3)) & 0xff)) return false;
    }
    return true;
  }

  /** The index hash of a stored item's key. */
  private hashOf(ref: number): number {
    const i32 = this.segI32[ref >>> this.unitBits]!;
    const base = (ref & this.unitMask) << 1;
    return this.storedHash(i32, base, i32[base + I32_META]!);
  }

  private storedHash(i32: Int32Array, base: number, meta: number): number {
    const len = meta & KEY_LEN_MASK;
    return (meta & FLAG_LARGE) !== 0
      ? hashBytes(this.large.get(i32[base + I32_LARGE_ID]!), 0, len)
      : hashWords(i32, base + HEADER_WORDS, len);
  }

  /** Removes the item at index position `p` (no bytes move). */
  private removeAt(p: number): void {
    this.unlink(this.index.slots[p + 1]!);
    this.index.removeAt(p);
  }

  /** Marks an indexed item dead and takes it out of the counts and the TTL array (not the index). */
  private unlink(ref: number): void {
    const seg = ref >>> this.unitBits;
    const i32 = this.segI32[seg]!;
    const base = (ref & this.unitMask) << 1;
    const meta = i32[base + I32_META]!;
    i32[base + I32_META] = meta | FLAG_DEAD;
    if ((this.pool.live[seg] -= itemBytesOf(meta, i32[base + I32_VALUE_LEN]!)) === 0) this.deadSegments++;
    this.queueItems[this.pool.queueOf[seg]!]--;
    const ttlIndex = i32[base + I32_TTL_INDEX]!;
    if (ttlIndex >= 0) this.untrack(ttlIndex);
    if ((meta & FLAG_LARGE) !== 0) this.pendingLarge.push(i32[base + I32_LARGE_ID]!);
  }

  /** Removes TTL-array position `ttlIndex`, telling the item moved into it. */
  private untrack(ttlIndex: number): void {
    const moved = this.ttl.removeAt(ttlIndex);
    if (moved >= 0)
      this.segI32[moved >>> this.unitBits]![((moved & this.unitMask) << 1) + I32_TTL_INDEX] = ttlIndex;
  }

  private releasePendingLarge(): void {
    const pending = this.pendingLarge;
    while (pending.length > 0) this.large.release(pending.pop()!);
  }

  /**
   * The most a write could need, were everything evictable evicted: what
   * cannot be evicted (index, TTL array, ghost, metadata, fixed), their
   * growth for this write, the large item, and two segments (one to write, one
   * spare for the items a reclaim keeps).
   */
  private worstCaseNeed(largeCharge: number, withTtl: boolean): number {
    const pool = this.pool;
    const evictable = pool.allocatedCount * pool.segmentCost + this.large.bytes;
    let need = this.usedBytes - evictable + largeCharge + 2 * pool.segmentCost;
    if (this.index.full) need += this.index.growthBytes;
    if (withTtl && this.ttl.full) need += this.ttl.growthBytes;
    need += this.policy.growthBytesFor(this.queueItems[ARENA_MAIN]!);
    return need;
  }

  /**
   * Whether any small write fits, whatever must grow for it: true while the
   * worst case (index, TTL array and ghost all doubling) leaves two segments.
   * Cached until a structure grows, so the common set skips worstCaseNeed.
   */
  private smallWritesFit(): boolean {
    const grown = this.index.bytes + this.ttl.bytes + this.policy.bytes;
    if (grown !== this.fitCheckedAt) {
      this.fitCheckedAt = grown;
      const pool = this.pool;
      const fixed = this.usedBytes - pool.allocatedCount * pool.segmentCost - this.large.bytes;
      const growth =
        this.index.growthBytes + this.ttl.growthBytes + this.policy.growthBytesFor(this.index.capacity);
      this.smallFit = fixed + growth + 2 * pool.segmentCost <= this.maxMemoryBytes;
    }
    return this.smallFit;
  }

  private prepareGrowth(withTtl: boolean): void {
    const ghost = this.policy.growthBytesFor(this.queueItems[ARENA_MAIN]!);
    if (ghost > 0) {
      this.makeRoom(ghost);
      this.policy.prepare(this.queueItems[ARENA_MAIN]!);
    }
    if (this.index.full) {
      this.makeRoom(this.index.growthBytes);
      if (this.index.full) this.index.grow();
    }
    if (withTtl && this.ttl.full) {
      this.makeRoom(this.ttl.growthBytes);
      if (this.ttl.full) this.ttl.grow();
    }
  }

  /**
   * Makes `bytes` available within the budget, keeping a spare segment (free,
   * or room to allocate one) for the items the next reclaim keeps.
   */
  private makeRoom(bytes: number): void {
    const pool = this.pool;
    let reclaims = 0;
    while (true) {
      const room = this.maxMemoryBytes - this.usedBytes;
      if (room >= bytes && (pool.freeCount > 0 || room - bytes >= pool.segmentCost)) return;
      if (room < bytes && pool.freeCount > 0) {
        pool.releaseFree();
        continue;
      }
      if (pool.inUse === 0) {
        if (room >= bytes) return;
        throw new Error(`cache '${this.name}': arena accounting out of step (need ${bytes}, room ${room})`);
      }
      this.reclaim(reclaims++ >= ARENA_MAX_KEEPING_RECLAIMS);
    }
  }

  /**
   * A segment for new writes, leaving a spare (free, or room to allocate one)
   * for reclaims; reclaims until there is one.
   */
  private takeSegment(): number {
    const pool = this.pool;
    const cost = pool.segmentCost;
    let reclaims = 0;
    if (this.deadSegments > 0) {
      // Segments whose items all died (overwritten, deleted, moved) are reused
      // before a new one is allocated or anything is reclaimed: a workload
      // that rewrites a few keys then cycles through a few segments instead of
      // filling the whole budget with dead copies.
      this.deadSegments = 0;
      for (let q = 0; q < ARENA_QUEUES; q++) this.recycledSegments += pool.freeDead(q);
    }
    while (true) {
      const room = this.maxMemoryBytes - this.usedBytes;
      const allocatable = Math.min(pool.unallocatedCount, Math.max(0, Math.floor(room / cost)));
      const available = pool.freeCount + allocatable;
      if (available >= 2 || (available === 1 && pool.inUse === 0)) {
        return pool.freeCount > 0 ? pool.popFree() : pool.allocate();
      }
      if (pool.inUse === 0) {
        throw new Error(`cache '${this.name}': arena accounting out of step (no segment fits)`);
      }
      this.reclaim(reclaims++ >= ARENA_MAX_KEEPING_RECLAIMS);
    }
  }

  /** Reserves `size` bytes at the head of queue `q` (may reclaim); returns the reference. */
  private append(size: number, q: number): number {
    const pool = this.pool;
    let s = pool.head[q]!;
    if (s < 0 || pool.fill[s]! + size > this.segmentBytes) {
      const t = this.takeSegment();
      s = pool.head[q]!; // a reclaim may have opened a new head for q
      if (s >= 0 && pool.fill[s]! + size <= this.segmentBytes) {
        pool.pushFree(t);
      } else {
        pool.pushNewest(q, t);
        s = t;
      }
    }
    const off = pool.fill[s]!;
    pool.fill[s] = off + size;
    pool.live[s] += size;
    return (s << this.unitBits) | (off >>> 3);
  }

  /** As append, without reclaiming: -1 when no segment is free and none fits the budget. */
  private appendNoReclaim(size: number, q: number): number {
    const pool = this.pool;
    let s = pool.head[q]!;
    if (s < 0 || pool.fill[s]! + size > this.segmentBytes) {
      s = pool.popFree();
      if (s < 0) {
        if (!pool.canAllocate || this.usedBytes + pool.segmentCost > this.maxMemoryBytes) return -1;
        s = pool.allocate();
      }
      pool.pushNewest(q, s);
    }
    const off = pool.fill[s]!;
    pool.fill[s] = off + size;
    pool.live[s] += size;
    return (s << this.unitBits) | (off >>> 3);
  }

  /** Copies an item's bytes to a reserved place. */
  private copyItem(from: number, to: number, size: number): void {
    const ub = this.unitBits;
    const um = this.unitMask;
    const src = this.segU8[from >>> ub]!;
    const start = (from & um) << 3;
    src.copy(this.segU8[to >>> ub]!, (to & um) << 3, start, start + size);
  }

  /**
   * Reclaims the oldest segment of the queue the policy names: every live
   * item is evicted, expired, or re-appended (keeping its header, TTL-array
   * position and index slot up to date); the segment becomes free.
   */
  private reclaim(force: boolean): void {
    const pool = this.pool;
    const policy = this.policy;
    const index = this.index;
    const ub = this.unitBits;
    const q = policy.victimQueue(pool);
    for (let i = 0; i < ARENA_QUEUES; i++) if (this.compact((q + i) % ARENA_QUEUES)) return;
    if (force) this.forcedReclaims++;
    const v = pool.popOldest(q);
    const i32 = this.segI32[v]!;
    const f64 = this.segF64[v]!;
    const end = pool.fill[v]!;
    let now = -1;
    for (let off = 0; off < end;) {
      const base = off >>> 2;
      const meta = i32[base + I32_META]!;
      const size = itemBytesOf(meta, i32[base + I32_VALUE_LEN]!);
      if ((meta & FLAG_DEAD) === 0) {
        const ref = (v << ub) | (off >>> 3);
        const h = this.storedHash(i32, base, meta);
        const p = index.positionOf(h, ref);
        const expiresAt = f64[off >>> 3]!;
        let expired = false;
        if (expiresAt !== 0) {
          if (now < 0) now = this.now();
          expired = expiresAt <= now;
        }
        const freq = (meta >>> FREQ_SHIFT) & 3;
        const decision = expired
          ? EVICT
          : ref === this.pinned
            ? keepIn(q, freq)
            : force
              ? EVICT
              : policy.onReclaim(q, freq);
        const to = decision === EVICT ? -1 : this.appendNoReclaim(size, decision >> 2);
        this.queueItems[q]--;
        if (to >= 0) {
          this.copyItem(ref, to, size);
          const toI32 = this.segI32[to >>> ub]!;
          const toBase = (to & this.unitMask) << 1;
          toI32[toBase + I32_META] = (meta & ~FREQ_MASK) | ((decision & 3) << FREQ_SHIFT);
          index.slots[p + 1] = to;
          const ttlIndex = i32[base + I32_TTL_INDEX]!;
          if (ttlIndex >= 0) this.ttl.refs[ttlIndex] = to;
          this.queueItems[decision >> 2]++;
          if (ref === this.pinned) this.pinned = to;
        } else {
          index.removeAt(p);
          const ttlIndex = i32[base + I32_TTL_INDEX]!;
          if (ttlIndex >= 0) this.untrack(ttlIndex);
          if ((meta & FLAG_LARGE) !== 0) this.large.release(i32[base + I32_LARGE_ID]!);
          if (ref === this.pinned) this.pinned = -1;
          if (expired) {
            this.stats.expirations++;
          } else {
            this.stats.evictions++;
            policy.onEvict(h, q, this.queueItems[ARENA_MAIN]!);
          }
        }
      }
      off += size;
    }
    pool.pushFree(v);
  }

  /**
   * Compaction instead of eviction: finds the oldest run of k consecutive
   * segments (2 <= k <= ARENA_MAX_COMPACT_RUN, not a head) of queue `q` whose
   * live items fit in k - 1 segments (with room for packing losses), slides
   * those items down in order, in place, and frees what is left (at least
   * one segment). The log order is kept exactly (LRU stays exact; FIFO queues
   * stay FIFO), so holes left by overwrites, deletes, expiry and LRU moves cost
   * copying rather than evictions while the live data is sparse. Expired
   * items are dropped on the way. False when no run qualifies.
   */
  private compact(q: number): boolean {
    const pool = this.pool;
    const head = pool.head[q]!;
    const usable = this.segmentBytes - this.largestItem; // packing loses less than one item per segment
    const run = this.run;
    let k = 0;
    for (let s = pool.tail[q]!; s >= 0 && s !== head && k === 0; s = pool.nextOf(s)) {
      let live = 0;
      let t = s;
      for (let n = 1; n <= ARENA_MAX_COMPACT_RUN && t >= 0 && t !== head; n++, t = pool.nextOf(t)) {
        live += pool.live[t]!;
        run[n - 1] = t;
        if (n >= 2 && live <= (n - 1) * usable) {
          k = n;
          break;
        }
      }
    }
    if (k === 0) return false;

    const ub = this.unitBits;
    const index = this.index;
    let w = 0; // run position being written
    let wOff = 0;
    let now = -1;
    for (let r = 0; r < k; r++) {
      const v = run[r]!;
      const i32 = this.segI32[v]!;
      const f64 = this.segF64[v]!;
      const end = pool.fill[v]!;
      for (let off = 0; off < end;) {
        const base = off >>> 2;
        const meta = i32[base + I32_META]!;
        const size = itemBytesOf(meta, i32[base + I32_VALUE_LEN]!);
        if ((meta & FLAG_DEAD) === 0) {
          const ref = (v << ub) | (off >>> 3);
          const p = index.positionOf(this.storedHash(i32, base, meta), ref);
          const expiresAt = f64[off >>> 3]!;
          if (expiresAt !== 0 && ref !== this.pinned && expiresAt <= (now < 0 ? (now = this.now()) : now)) {
            index.removeAt(p);
            const ttlIndex = i32[base + I32_TTL_INDEX]!;
            if (ttlIndex >= 0) this.untrack(ttlIndex);
            if ((meta & FLAG_LARGE) !== 0) this.large.release(i32[base + I32_LARGE_ID]!);
            this.queueItems[q]--;
            this.stats.expirations++;
          } else {
            if (wOff + size > this.segmentBytes) {
              pool.fill[run[w]!] = wOff;
              pool.live[run[w]!] = wOff;
              w++;
              wOff = 0;
            }
            const to = (run[w]! << ub) | (wOff >>> 3);
            if (to !== ref) {
              const ttlIndex = i32[base + I32_TTL_INDEX]!; // read before the copy may overwrite it
              this.copyItem(ref, to, size);
              index.slots[p + 1] = to;
              if (ttlIndex >= 0) this.ttl.refs[ttlIndex] = to;
              if (ref === this.pinned) this.pinned = to;
            }
            wOff += size;
          }
        }
        off += size;
      }
    }
    pool.fill[run[w]!] = wOff;
    pool.live[run[w]!] = wOff;
    const freed = k - 1 - w;
    pool.unlinkAfter(q, run[w]!, freed);
    for (let i = w + 1; i < k; i++) pool.pushFree(run[i]!);
    this.compactions++;
    return true;
  }

  /** LRU hit: re-appends the item at the head of its queue; returns its new handle. */
  private moveToHead(p: number, ref: number, h: number): number {
    const pool = this.pool;
    const ub = this.unitBits;
    const um = this.unitMask;
    let seg = ref >>> ub;
    const q = pool.queueOf[seg]!;
    let i32 = this.segI32[seg]!;
    const size = itemBytesOf(i32[((ref & um) << 1) + I32_META]!, i32[((ref & um) << 1) + I32_VALUE_LEN]!);
    let s = pool.head[q]!;
    if (seg === s && ((ref & um) << 3) + size === pool.fill[s]) return ref; // already the newest
    this.releasePendingLarge();
    if (s < 0 || pool.fill[s]! + size > this.segmentBytes) {
      this.pinned = ref;
      const t = this.takeSegment(); // reclaims keep the pinned item (moving it, maybe)
      ref = this.pinned;
      this.pinned = -1;
      s = pool.head[q]!;
      if (s >= 0 && pool.fill[s]! + size <= this.segmentBytes) {
        pool.pushFree(t);
      } else {
        pool.pushNewest(q, t);
        s = t;
      }
      if (ref < 0) {
        // Unreachable while a spare segment is kept; report a miss rather than a stale handle.
        this.stats.hits--;
        this.stats.misses++;
        return -1;
      }
      seg = ref >>> ub;
      i32 = this.segI32[seg]!;
      if (seg === s && ((ref & um) << 3) + size === pool.fill[s]) return ref;
      p = this.index.positionOf(h, ref);
    }
    const off = pool.fill[s]!;
    pool.fill[s] = off + size;
    pool.live[s] += size;
    const to = (s << ub) | (off >>> 3);
    this.copyItem(ref, to, size);
    const base = (ref & um) << 1;
    i32[base + I32_META] = i32[base + I32_META]! | FLAG_DEAD;
    if ((pool.live[seg] -= size) === 0) this.deadSegments++;
    this.index.slots[p + 1] = to;
    const ttlIndex = i32[base + I32_TTL_INDEX]!;
    if (ttlIndex >= 0) this.ttl.refs[ttlIndex] = to;
    return to;
  }
}

/**
 * Copies `length` bytes of `src` from `offset` to `dst` at `at`. TypedArray
 * set() on a subarray view: measured on Node 24, 27 ns for 100 bytes against
 * 39 ns for Buffer.prototype.copy, whose argument checks cost more than the
 * view does.
 */
function copyBytes(src: Uint8Array, offset: number, length: number, dst: Uint8Array, at: number): void {
  dst.set(offset === 0 && length === src.length ? src : src.subarray(offset, offset + length), at);
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
