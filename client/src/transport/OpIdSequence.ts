/** Largest operation id: ids are uint32 on the wire. */
export const MAX_OP_ID = 0xffff_ffff;

/**
 * Issues operation ids: a counter that wraps after 2^32 - 1 back to 1 (0 is
 * never used) and skips ids the in-flight table reports as taken, so an id is
 * unique among the in-flight operations of a stream.
 */
export class OpIdSequence {
  private last: number;

  constructor(start = 0) {
    this.last = start >>> 0;
  }

  next(table: { isTaken(id: number): boolean }): number {
    for (;;) {
      const id = this.last === MAX_OP_ID ? 1 : this.last + 1;
      this.last = id;
      if (!table.isTaken(id)) return id;
    }
  }
}
