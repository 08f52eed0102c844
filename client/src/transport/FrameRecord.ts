/**
 * Bookkeeping for one sent `OperationFrame`: how many of its operations the
 * server has answered. A frame-level error names no ids, but the offending
 * frame is one with no answer at all (the server runs none of its ops), which
 * is how the connection tells which operations such an error is about.
 */
export class FrameRecord {
  answered = 0;
  constructor(
    readonly seq: number,
    readonly size: number,
  ) {}
}
