/**
 * A three-level Merkle tree over the slots two replicas share: the leaves are
 * the slots' digests (SlotDigests), in ascending slot order; each run of
 * `leafSlots` consecutive leaves forms a range, whose digest hashes its
 * leaves in order; the root hashes the ranges' digests in order. Both sides
 * build it over the same slot list, so a leaf's position names its slot and
 * the digests carry no slot numbers.
 *
 * Comparison goes down one level at a time and only where digests differ:
 * equal roots end a round (16 bytes each way); otherwise the range digests
 * (16 bytes per range) show which ranges differ, and the slot digests of just
 * those ranges (16 bytes per slot) which slots to repair.
 */
import { DIGEST_BYTES, type SlotDigests } from './SlotDigests.js';
import { hashFinish, hashReset, hashWords } from './hash128.js';

export class MerkleTree {
  readonly rangeCount: number;
  /** Range i's digest is bytes [16i, 16i+16) of rangeBytes. */
  private readonly rangeWords: Int32Array;
  private readonly rangeBytes: Uint8Array;
  private readonly rootWords = new Int32Array(4);
  /** The root digest (16 bytes). */
  readonly root = new Uint8Array(this.rootWords.buffer);

  constructor(
    readonly digests: SlotDigests,
    /** The slots covered, ascending. */
    readonly slots: Uint16Array,
    readonly leafSlots: number,
  ) {
    if (!Number.isInteger(leafSlots) || leafSlots < 1)
      throw new RangeError(`leafSlots must be >= 1, got ${leafSlots}`);
    this.rangeCount = Math.ceil(slots.length / leafSlots);
    this.rangeWords = new Int32Array(this.rangeCount * 4);
    this.rangeBytes = new Uint8Array(this.rangeWords.buffer);
    const w = digests.words;
    for (let r = 0; r < this.rangeCount; r++) {
      const end = Math.min(slots.length, (r + 1) * leafSlots);
      hashReset(0, 0, 0, 0);
      for (let i = r * leafSlots; i < end; i++) {
        const at = slots[i]! * 4;
        hashWords(w[at]!, w[at + 1]!, w[at + 2]!, w[at + 3]!);
      }
      hashFinish(end - r * leafSlots, this.rangeWords, r * 4, false);
    }
    hashReset(0, 0, 0, 0);
    const rw = this.rangeWords;
    for (let r = 0; r < this.rangeCount; r++)
      hashWords(rw[r * 4]!, rw[r * 4 + 1]!, rw[r * 4 + 2]!, rw[r * 4 + 3]!);
    hashFinish(this.rangeCount, this.rootWords, 0, false);
  }

  /** Every range's digest, in order (a view: 16 bytes per range). */
  rangeDigests(): Uint8Array {
    return this.rangeBytes;
  }

  /** The slots of range `r` (a view). */
  rangeSlots(r: number): Uint16Array {
    this.checkRange(r);
    return this.slots.subarray(r * this.leafSlots, Math.min(this.slots.length, (r + 1) * this.leafSlots));
  }

  /** The slots of the given ranges, in the order given. */
  slotsOf(ranges: readonly number[]): Uint16Array {
    let n = 0;
    for (const r of ranges) n += this.rangeSlots(r).length;
    const out = new Uint16Array(n);
    n = 0;
    for (const r of ranges) {
      const s = this.rangeSlots(r);
      out.set(s, n);
      n += s.length;
    }
    return out;
  }

  /** The slot digests of the given ranges, concatenated in the order of slotsOf(ranges). */
  slotDigestsOf(ranges: readonly number[]): Uint8Array {
    const slots = this.slotsOf(ranges);
    const out = new Uint8Array(slots.length * DIGEST_BYTES);
    for (let i = 0; i < slots.length; i++) out.set(this.digests.slot(slots[i]!), i * DIGEST_BYTES);
    return out;
  }

  private checkRange(r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.rangeCount) {
      throw new RangeError(`range ${r} outside [0, ${this.rangeCount})`);
    }
  }
}

/** Indexes of the 16-byte digests that differ between two equally long lists. */
function differingDigests(mine: Uint8Array, theirs: Uint8Array, what: string): number[] {
  if (mine.length !== theirs.length || mine.length % DIGEST_BYTES !== 0) {
    throw new RangeError(`${what} digest lists differ in length: ${mine.length} and ${theirs.length} bytes`);
  }
  const out: number[] = [];
  for (let i = 0; i < mine.length; i += DIGEST_BYTES) {
    for (let j = 0; j < DIGEST_BYTES; j++) {
      if (mine[i + j] !== theirs[i + j]) {
        out.push(i / DIGEST_BYTES);
        break;
      }
    }
  }
  return out;
}

/** Indexes of the ranges whose digests differ (rangeDigests of two trees over the same slots). */
export function differingRanges(mine: Uint8Array, theirs: Uint8Array): number[] {
  return differingDigests(mine, theirs, 'range');
}

/**
 * The slots whose digests differ: `slots` names the digests of both lists in
 * order (MerkleTree.slotsOf and slotDigestsOf of the same ranges).
 */
export function differingSlots(slots: ArrayLike<number>, mine: Uint8Array, theirs: Uint8Array): number[] {
  if (mine.length !== slots.length * DIGEST_BYTES) {
    throw new RangeError(
      `${slots.length} slots need ${slots.length * DIGEST_BYTES} digest bytes, got ${mine.length}`,
    );
  }
  return differingDigests(mine, theirs, 'slot').map((i) => slots[i]!);
}

/** Whether two 16-byte digests are equal. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== DIGEST_BYTES || b.length !== DIGEST_BYTES) return false;
  for (let i = 0; i < DIGEST_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}
