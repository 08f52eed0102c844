import { fnv1a32 } from './fnv1a.js';

/**
 * Hybrid logical clock (Kulkarni et al., 2014). A timestamp is ONE safe integer,
 * `physicalMs * 2^HLC_LOGICAL_BITS + logical`, so versions compare, store and
 * travel as plain numbers. Epoch milliseconds fit until about the year 2248
 * (2^53 / 1024 ms).
 */
export const HLC_LOGICAL_BITS = 10;
const LOGICAL_RANGE = 2 ** HLC_LOGICAL_BITS; // 1024
export const HLC_MAX_LOGICAL = LOGICAL_RANGE - 1;

export function makeHlc(physicalMs: number, logical: number): number {
  return physicalMs * LOGICAL_RANGE + logical;
}

export function hlcPhysicalMs(hlc: number): number {
  return Math.floor(hlc / LOGICAL_RANGE);
}

export function hlcLogical(hlc: number): number {
  return hlc % LOGICAL_RANGE;
}

const utf8 = new TextEncoder();

/** A node's 32-bit version tie-break tag: unsigned FNV-1a of the UTF-8 node id. */
export function nodeTagOf(nodeId: string): number {
  return fnv1a32(utf8.encode(nodeId));
}

/**
 * Last-writer-wins order of two versions: by HLC, then by writer node tag.
 * Negative when a is older than b, positive when newer, 0 when identical.
 */
export function compareVersions(aHlc: number, aNode: number, bHlc: number, bNode: number): number {
  if (aHlc !== bHlc) return aHlc < bHlc ? -1 : 1;
  if (aNode !== bNode) return aNode < bNode ? -1 : 1;
  return 0;
}

export class HybridLogicalClock {
  private last = 0;

  constructor(
    /** The writer tag stamped on versions: set from the committed view once the node is a member. */
    public nodeTag: number,
    private readonly wallClock: () => number = Date.now,
  ) {}

  /**
   * A new timestamp for a local event, strictly greater than every timestamp
   * this clock has returned or observed. When 1024 events share one wall
   * millisecond the logical counter would overflow; the integer encoding then
   * carries into the physical part, i.e. the clock runs up to a few ms ahead
   * of wall time instead of repeating or reordering a timestamp. It falls back
   * in line as soon as wall time catches up.
   */
  now(): number {
    const wall = Math.floor(this.wallClock()) * LOGICAL_RANGE;
    const next = wall > this.last ? wall : this.last + 1;
    this.last = next;
    return next;
  }

  /**
   * Merges a timestamp received from another node and returns a new local
   * timestamp greater than both it and everything this clock issued before.
   */
  observe(remoteHlc: number): number {
    if (!Number.isSafeInteger(remoteHlc) || remoteHlc < 0) {
      throw new RangeError(`HLC timestamp must be a non-negative safe integer, got ${remoteHlc}`);
    }
    const wall = Math.floor(this.wallClock()) * LOGICAL_RANGE;
    const base = remoteHlc > this.last ? remoteHlc : this.last;
    const next = wall > base ? wall : base + 1;
    this.last = next;
    return next;
  }

  /** The latest timestamp issued or observed (0 before the first). */
  get current(): number {
    return this.last;
  }
}
