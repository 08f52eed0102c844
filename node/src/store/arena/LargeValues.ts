/**
 * What one out-of-line Buffer costs beyond its bytes: the Buffer and
 * ArrayBuffer objects on the V8 heap (about 200 bytes measured on Node 24),
 * the backing-store record and malloc's header and rounding. Rounded up.
 */
export const LARGE_ITEM_OVERHEAD_BYTES = 1024;

const NO_BUFFER = Buffer.alloc(0);

/**
 * Items too large for a segment (see ArenaStore: over 1/8 of a segment): each
 * keeps its key and value bytes in a Buffer of its own, found by a small
 * integer id that the item's stub in the segment holds. The stub takes part in
 * the index, the TTL array and the eviction policy like any item; only the
 * bytes live here. `bytes` (payload + LARGE_ITEM_OVERHEAD_BYTES each) is
 * counted in the store's budget.
 */
export class LargeValues {
  private buffers: Buffer[] = [];
  private readonly freeIds: number[] = [];
  bytes = 0;
  count = 0;

  /** Bytes an item of this many key + value bytes is charged. */
  static chargeOf(payloadBytes: number): number {
    return payloadBytes + LARGE_ITEM_OVERHEAD_BYTES;
  }

  /** A new buffer of `payloadBytes`; returns its id. */
  allocate(payloadBytes: number): number {
    const buf = Buffer.allocUnsafeSlow(payloadBytes);
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.buffers.length;
    if (id === this.buffers.length) this.buffers.push(buf);
    else this.buffers[id] = buf;
    this.bytes += LargeValues.chargeOf(payloadBytes);
    this.count++;
    return id;
  }

  get(id: number): Buffer {
    return this.buffers[id]!;
  }

  /** Drops a buffer; its id may be reused. */
  release(id: number): void {
    const buf = this.buffers[id]!;
    this.bytes -= LargeValues.chargeOf(buf.length);
    this.count--;
    this.buffers[id] = NO_BUFFER;
    this.freeIds.push(id);
  }

  reset(): void {
    this.buffers = [];
    this.freeIds.length = 0;
    this.bytes = 0;
    this.count = 0;
  }
}
