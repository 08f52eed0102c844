/** Largest operation id: ids are uint32 on the wire. */
export const MAX_OP_ID = 0xffff_ffff;

/**
 * Issues operation ids: a counter that wraps after 2^32 - 1 back to 1 (0 is
 * never used) and skips ids still in flight, so an id is unique among the
 * in-flight operations of a stream.
 */
export class OpIdSequence {
  private last: number;
  /** Until the first wrap every id is fresh, so the in-use check is skipped. */
  private wrapped = false;

  constructor(start = 0) {
    this.last = start >>> 0;
  }

  next(inUse: { has(id: number): boolean }): number {
    for (;;) {
      let id = this.last + 1;
      if (id > MAX_OP_ID) {
        id = 1;
        this.wrapped = true;
      }
      this.last = id;
      if (!this.wrapped || !inUse.has(id)) return id;
    }
  }
}
