import { SLOT_COUNT } from '../protocol.js';
import type { SlotRange } from '../gen/meshcache/v1/cache.js';

/**
 * Marks an empty replica cell. Target tables are uniform; a committed table
 * may have slots with fewer replicas than `width` while a change of width
 * (a cluster growing past its replication factor) is cut over slot by slot.
 */
export const NO_REPLICA = 0xffff;
const NONE = NO_REPLICA;

/** Why a slot table (or its range encoding) is not acceptable. */
export class SlotTableError extends Error {
  override readonly name = 'SlotTableError';
}

/**
 * The placement of one replication factor: for each of the 16384 slots, an
 * ordered replica list (primary first) of member ids, `width` =
 * min(replicationFactor, members) cells per slot. Immutable; cells index into
 * `members` (sorted ids). A slot may list fewer than `width` replicas (its
 * trailing cells NO_REPLICA) only in a committed table in the middle of a
 * width change; tables computed by placement are uniform (`uniform`).
 */
export class SlotTable {
  private index: Map<string, number> | undefined;
  private uniformValue: boolean | undefined;

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

  /** The replica at `position` (0 = primary) of `slot`, as a member index (NO_REPLICA when empty). */
  cell(slot: number, position: number): number {
    return this.cells[slot * this.width + position]!;
  }

  /** The replicas of `slot`, primary first. */
  replicas(slot: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.width; k++) {
      const c = this.cells[slot * this.width + k]!;
      if (c !== NONE) out.push(this.members[c]!);
    }
    return out;
  }

  /** How many replicas `slot` lists (`width`, except in the middle of a width change). */
  countOf(slot: number): number {
    let n = 0;
    for (let k = 0; k < this.width; k++) if (this.cells[slot * this.width + k] !== NONE) n++;
    return n;
  }

  /** Whether every slot lists `width` replicas. */
  get uniform(): boolean {
    if (this.uniformValue === undefined) this.uniformValue = !this.cells.includes(NONE);
    return this.uniformValue;
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
        if (m === NONE) continue;
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
   * slot exactly once, and list distinct replicas each (at least one, at most
   * the replication factor); the widest range sets `width`.
   */
  static fromRanges(replicationFactor: number, ranges: readonly SlotRange[]): SlotTable {
    if (ranges.length === 0) return SlotTable.empty(replicationFactor);
    let width = 0;
    for (const r of ranges) if (Array.isArray(r.replicas)) width = Math.max(width, r.replicas.length);
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
      if (r.replicas.length === 0) {
        throw new SlotTableError(`range ${r.start}..${r.end} lists no replicas`);
      }
      if (new Set(r.replicas).size !== r.replicas.length) {
        throw new SlotTableError(`range ${r.start}..${r.end} lists a replica twice`);
      }
      for (let s = r.start; s <= r.end; s++) {
        for (let k = 0; k < r.replicas.length; k++) cells[s * width + k] = index.get(r.replicas[k]!)!;
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

  /** Whether `slot` lists the same replicas, in the same order, in both tables. */
  sameSlot(other: SlotTable, slot: number): boolean {
    const n = this.countOf(slot);
    if (other.countOf(slot) !== n) return false;
    for (let k = 0; k < n; k++) {
      if (this.members[this.cell(slot, k)] !== other.members[other.cell(slot, k)]) return false;
    }
    return true;
  }

  /** Whether `slot` holds the same members, in any order, in both tables. */
  sameMembers(other: SlotTable, slot: number): boolean {
    const a = this.replicas(slot);
    const b = other.replicas(slot);
    return a.length === b.length && a.every((id) => b.includes(id));
  }

  /**
   * A table whose slots are given one by one (each 1..width distinct ids, in
   * order); used to assemble a committed table from a cut-over and a pending
   * one.
   */
  static fromSlots(
    replicationFactor: number,
    width: number,
    replicasOf: (slot: number) => readonly string[],
  ): SlotTable {
    const lists: (readonly string[])[] = new Array(SLOT_COUNT);
    const ids = new Set<string>();
    let widest = 0;
    for (let s = 0; s < SLOT_COUNT; s++) {
      const list = replicasOf(s);
      if (list.length === 0 || list.length > width) {
        throw new SlotTableError(`slot ${s} lists ${list.length} replicas; width is ${width}`);
      }
      lists[s] = list;
      widest = Math.max(widest, list.length);
      for (const id of list) ids.add(id);
    }
    width = widest;
    const members = [...ids].sort();
    const index = new Map(members.map((m, i) => [m, i]));
    const cells = new Uint16Array(SLOT_COUNT * width).fill(NONE);
    for (let s = 0; s < SLOT_COUNT; s++) {
      const list = lists[s]!;
      for (let k = 0; k < list.length; k++) cells[s * width + k] = index.get(list[k]!)!;
    }
    return new SlotTable(replicationFactor, members, width, cells);
  }
}

function sameList(cells: Uint16Array, a: number, b: number, w: number): boolean {
  for (let k = 0; k < w; k++) if (cells[a + k] !== cells[b + k]) return false;
  return true;
}
