const MIN_CAPACITY = 16;

/**
 * The items that have a TTL, as a dense array of item references in any order,
 * so active expiry samples one uniformly in O(1) without a JS object per item.
 * Each item stores its position (header field ttlIndex); removal swaps the
 * last reference into the hole and reports it, so the owner can update that
 * item's position. Grows by doubling; `bytes` is counted in the store's budget.
 */
export class TtlRefs {
  refs = new Int32Array(MIN_CAPACITY);
  count = 0;

  get bytes(): number {
    return this.refs.byteLength;
  }

  /** Whether one more reference needs a doubling first. */
  get full(): boolean {
    return this.count === this.refs.length;
  }

  /** Bytes a doubling adds. */
  get growthBytes(): number {
    return this.refs.byteLength;
  }

  grow(): void {
    const refs = new Int32Array(this.refs.length * 2);
    refs.set(this.refs);
    this.refs = refs;
  }

  /** Appends a reference (the caller ensured !full); returns its position. */
  add(ref: number): number {
    this.refs[this.count] = ref;
    return this.count++;
  }

  /**
   * Removes the reference at `index`; returns the reference that moved into
   * `index` (whose owner must learn its new position), or -1 if none moved.
   */
  removeAt(index: number): number {
    const last = --this.count;
    if (index === last) return -1;
    const moved = this.refs[last]!;
    this.refs[index] = moved;
    return moved;
  }

  reset(): void {
    this.refs = new Int32Array(MIN_CAPACITY);
    this.count = 0;
  }
}
