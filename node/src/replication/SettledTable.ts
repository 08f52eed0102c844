import type { SettledMark, UnsettledWrite } from '@meshcache/proto';

/** Ranges kept per writer tag: one per process of that writer (a restart starts a new range). */
const MAX_RANGES_PER_WRITER = 8;

/**
 * The replica side of settled marks: which versions every replica is known
 * to hold. A version (hlc, writer) is settled when a mark from its writer
 * covers it: the writer promised that every write it stamped in (from, upTo]
 * was acknowledged by all replicas, except those it listed as unsettled
 * (pinned in the store, so they never count as settled).
 *
 * Why it matters: a tombstone may be purged, and an entry evicted or expired
 * without leaving a versioned marker, only when no replica can still hold an
 * older copy that would come back through read repair.
 */
export class SettledTable {
  private readonly ranges = new Map<number, { from: number; upTo: number }[]>();
  private self: { node: () => number; settled: (hlc: number) => boolean } | undefined;

  constructor(private readonly pinWrite: (write: UnsettledWrite) => void) {}

  /**
   * This node's own versions are judged live by its coordinator's marks (no
   * wait for the next published mark): a version no round is waiting on is
   * settled as soon as it is stamped, which is what a single copy needs.
   */
  setSelf(node: () => number, settled: (hlc: number) => boolean): void {
    this.self = { node, settled };
  }

  /** Takes a writer's mark; marks only ever grow within one writer process. */
  mark(m: SettledMark): void {
    let list = this.ranges.get(m.node);
    if (list === undefined) this.ranges.set(m.node, (list = []));
    const same = list.find((r) => r.from === m.fromHlc);
    if (same !== undefined) {
      if (m.upToHlc > same.upTo) same.upTo = m.upToHlc;
      return;
    }
    list.push({ from: m.fromHlc, upTo: m.upToHlc });
    if (list.length > MAX_RANGES_PER_WRITER) list.shift();
  }

  pin(write: UnsettledWrite): void {
    this.pinWrite(write);
  }

  settled(hlc: number, node: number): boolean {
    if (this.self !== undefined && node >>> 0 === this.self.node() >>> 0) return this.self.settled(hlc);
    const list = this.ranges.get(node >>> 0);
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (hlc > r.from && hlc <= r.upTo) return true;
    }
    return false;
  }
}
