import { SLOT_COUNT } from '../protocol.js';
import type { SlotRange } from '../gen/meshcache/v1/cache.js';

/** Marks an empty replica cell. */
const NONE = 0xffff;

/** Why a slot table (or its range encoding) is not acceptable. */
export class SlotTableError extends Error {
  override readonly name = 'SlotTableError';
}

/**
 * The placement of one replication factor: for each of the 16384 slots, an
 * ordered replica list (primary first) of member ids. Every slot has the same
 * number of replicas, `width` = min(replicationFactor, members). Immutable;
 * cells index into `members` (sorted ids), `width` cells per slot.
 */
export class SlotTable {
  private index: Map<string, number> | undefined;

  constructor(
    readonly replicationFactor: number,
    readonly members: readonly string[],
    readonly width: number,
    readonly cells: Uint16Array,
  ) {
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      throw new SlotTableError(`replication factor must be a positive integer, got ${replicationFactor}`);
    }
    if (cells.length !== SLOT_COUNT * width) {
      throw new SlotTableError(`expected ${SLOT_COUNT * width} cells, got ${cells.length}`);
    }
    if (width > members.length || width > replicationFactor) {
      throw new SlotTableError(`width ${width} exceeds members (${members.length}) or replication factor`);
    }
  }

  /** A table with no members: no slot has a replica. */
  static empty(replicationFactor: number): SlotTable {
    return new SlotTable(replicationFactor, [], 0, new Uint16Array(0));
  }

  /** Member index of an id (in `members`), or -1. */
  indexOf(id: string): number {
    if (!this.index) this.index = new Map(this.members.map((m, i) => [m, i]));
    return this.index.get(id) ?? -1;
  }

  /** The replica at `position` (0 = primary) of `slot`, as a member index. */
  cell(slot: number, position: number): number {
    return this.cells[slot * this.width + position]!;
  }

  /** The replicas of `slot`, primary first. */
  replicas(slot: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.width; k++) out.push(this.members[this.cells[slot * this.width + k]!]!);
    return out;
  }

  /** The primary of `slot`, or undefined in an empty table. */
  primary(slot: number): string | undefined {
    return this.width === 0 ? undefined : this.members[this.cells[slot * this.width]!];
  }

  /** The position (0 = primary) of member `id` in `slot`'s list, or -1. */
  positionOf(slot: number, id: string): number {
    const i = this.indexOf(id);
    if (i < 0) return -1;
    const base = slot * this.width;
    for (let k = 0; k < this.width; k++) if (this.cells[base + k] === i) return k;
    return -1;
  }

  /** Slots per member: as primary, and in any position. */
  counts(): { primaries: Map<string, number>; replicas: Map<string, number> } {
    const p = new Array<number>(this.members.length).fill(0);
    const t = new Array<number>(this.members.length).fill(0);
    for (let s = 0; s < SLOT_COUNT; s++) {
      const base = s * this.width;
      for (let k = 0; k < this.width; k++) {
        const m = this.cells[base + k]!;
        t[m]!++;
        if (k === 0) p[m]!++;
      }
    }
    return {
      primaries: new Map(this.members.map((m, i) => [m, p[i]!])),
      replicas: new Map(this.members.map((m, i) => [m, t[i]!])),
    };
  }

  /** The table as maximal runs of slots with the same replica list (what WatchTopology sends). */
  toRanges(): SlotRange[] {
    const w = this.width;
    if (w === 0) return [];
    const ranges: SlotRange[] = [];
    let start = 0;
    for (let s = 1; s <= SLOT_COUNT; s++) {
      if (s < SLOT_COUNT && sameList(this.cells, (s - 1) * w, s * w, w)) continue;
      ranges.push({ start, end: s - 1, replicas: this.replicas(start) });
      start = s;
    }
    return ranges;
  }

  /**
   * Rebuilds a table from its ranges. The ranges must be sorted, cover every
   * slot exactly once, and list the same number of distinct replicas each (at
   * most the replication factor).
   */
  static fromRanges(replicationFactor: number, ranges: readonly SlotRange[]): SlotTable {
    if (ranges.length === 0) return SlotTable.empty(replicationFactor);
    const width = ranges[0]!.replicas.length;
    if (width < 1 || width > replicationFactor) {
      throw new SlotTableError(
        `ranges list ${width} replicas; the replication factor is ${replicationFactor}`,
      );
    }
    const ids = new Set<string>();
    for (const r of ranges) for (const id of r.replicas) ids.add(id);
    const members = [...ids].sort();
    const index = new Map(members.map((m, i) => [m, i]));
    const cells = new Uint16Array(SLOT_COUNT * width).fill(NONE);
    let next = 0;
    for (const r of ranges) {
      if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start !== next || r.end < r.start) {
        throw new SlotTableError(`range ${r.start}..${r.end} does not start at slot ${next}`);
      }
      if (r.end >= SLOT_COUNT) throw new SlotTableError(`range ends past slot ${SLOT_COUNT - 1}`);
      if (r.replicas.length !== width) {
        throw new SlotTableError(
          `range ${r.start}..${r.end} lists ${r.replicas.length} replicas, not ${width}`,
        );
      }
      if (new Set(r.replicas).size !== width) {
        throw new SlotTableError(`range ${r.start}..${r.end} lists a replica twice`);
      }
      for (let s = r.start; s <= r.end; s++) {
        for (let k = 0; k < width; k++) cells[s * width + k] = index.get(r.replicas[k]!)!;
      }
      next = r.end + 1;
    }
    if (next !== SLOT_COUNT) throw new SlotTableError(`ranges stop at slot ${next - 1}`);
    return new SlotTable(replicationFactor, members, width, cells);
  }

  /** Same replication factor and the same replica list for every slot. */
  equals(other: SlotTable): boolean {
    if (other.replicationFactor !== this.replicationFactor || other.width !== this.width) return false;
    for (let i = 0; i < this.cells.length; i++) {
      if (this.members[this.cells[i]!] !== other.members[other.cells[i]!]) return false;
    }
    return true;
  }
}

function sameList(cells: Uint16Array, a: number, b: number, w: number): boolean {
  for (let k = 0; k < w; k++) if (cells[a + k] !== cells[b + k]) return false;
  return true;
}
