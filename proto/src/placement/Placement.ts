import type { SlotRange } from '../gen/meshcache/v1/cache.js';
import { SLOT_COUNT } from '../protocol.js';
import { keySlot } from './keySlot.js';
import { PendingMoves, type PendingRangeJson } from './PendingMoves.js';
import { SlotTable, SlotTableError } from './SlotTable.js';

/** One table in its JSON / wire form. */
export interface PlacementTableJson {
  replicationFactor: number;
  /** Each slot's committed (last cut-over) replica list. */
  ranges: SlotRange[];
  /** Slots moving to another replica set, absent when none is. */
  pending?: PendingRangeJson[];
}

/** The placement as committed with a view (its payload) and served in the topology. */
export interface PlacementJson {
  tables: PlacementTableJson[];
}

/**
 * The slot tables of a cluster, one per replication factor in use (caches of
 * equal replication factor share a table), each with the moves pending in
 * it. Clients never compute placement: they map key -> slot and read the
 * table here.
 */
export class Placement {
  private readonly byFactor = new Map<number, SlotTable>();
  private readonly pendingByFactor = new Map<number, PendingMoves>();

  constructor(tables: readonly SlotTable[] = [], pending: readonly PendingMoves[] = []) {
    for (const t of tables) {
      if (this.byFactor.has(t.replicationFactor)) {
        throw new SlotTableError(`two tables for replication factor ${t.replicationFactor}`);
      }
      this.byFactor.set(t.replicationFactor, t);
    }
    for (const p of pending) {
      const rf = p.target.replicationFactor;
      if (!this.byFactor.has(rf))
        throw new SlotTableError(`pending moves for a missing table (factor ${rf})`);
      if (p.count > 0) this.pendingByFactor.set(rf, p);
    }
  }

  /** Tables in ascending replication factor. */
  get tables(): SlotTable[] {
    return [...this.byFactor.values()].sort((a, b) => a.replicationFactor - b.replicationFactor);
  }

  get empty(): boolean {
    return this.byFactor.size === 0;
  }

  /** The committed table of a factor: each slot's last cut-over replica set. */
  table(replicationFactor: number): SlotTable | undefined {
    return this.byFactor.get(replicationFactor);
  }

  /** The moves pending in a factor's table, undefined when none is. */
  pending(replicationFactor: number): PendingMoves | undefined {
    return this.pendingByFactor.get(replicationFactor);
  }

  /** The table a factor is heading to: the pending targets, else the committed table. */
  target(replicationFactor: number): SlotTable | undefined {
    return this.pendingByFactor.get(replicationFactor)?.target ?? this.byFactor.get(replicationFactor);
  }

  /** Pending slots over every factor. */
  get pendingCount(): number {
    let n = 0;
    for (const p of this.pendingByFactor.values()) n += p.count;
    return n;
  }

  /** The replicas (primary first) of `key` in a cache of `replicationFactor`; [] when no table has it. */
  replicasOfKey(key: string | Uint8Array, replicationFactor: number): string[] {
    return this.table(replicationFactor)?.replicas(keySlot(key)) ?? [];
  }

  toJSON(): PlacementJson {
    return {
      tables: this.tables.map((t) => {
        const json: PlacementTableJson = { replicationFactor: t.replicationFactor, ranges: t.toRanges() };
        const p = this.pendingByFactor.get(t.replicationFactor);
        if (p) json.pending = p.toJSON();
        return json;
      }),
    };
  }

  /** Parses a placement from its JSON form; throws SlotTableError when it is malformed. */
  static fromJSON(json: unknown): Placement {
    if (json === null || typeof json !== 'object' || !Array.isArray((json as PlacementJson).tables)) {
      throw new SlotTableError('placement must be an object with a tables array');
    }
    const tables: SlotTable[] = [];
    const pending: PendingMoves[] = [];
    for (const t of (json as PlacementJson).tables) {
      if (t === null || typeof t !== 'object' || !Array.isArray(t.ranges)) {
        throw new SlotTableError('each table needs replicationFactor and ranges');
      }
      for (const r of t.ranges) checkRange(r);
      const table = SlotTable.fromRanges(t.replicationFactor, t.ranges);
      tables.push(table);
      if (t.pending !== undefined) {
        if (!Array.isArray(t.pending)) throw new SlotTableError('pending must be an array of ranges');
        if (t.pending.length > 0) pending.push(pendingOf(table, t.pending));
      }
    }
    return new Placement(tables, pending);
  }

  /** Like fromJSON, but an absent or malformed placement reads as no tables. */
  static tryFromJSON(json: unknown): Placement {
    try {
      return Placement.fromJSON(json);
    } catch {
      return new Placement();
    }
  }
}

function checkRange(r: unknown): void {
  if (r === null || typeof r !== 'object' || !Array.isArray((r as SlotRange).replicas)) {
    throw new SlotTableError('each range needs start, end and replicas');
  }
  if (!(r as SlotRange).replicas.every((id) => typeof id === 'string')) {
    throw new SlotTableError('replica ids must be strings');
  }
}

/** The full target table from the committed one and the pending ranges (sorted, disjoint). */
function pendingOf(table: SlotTable, ranges: readonly PendingRangeJson[]): PendingMoves {
  const since = new Uint32Array(SLOT_COUNT);
  const targets = new Map<number, string[]>();
  let next = 0;
  let width = 0;
  for (const r of ranges) {
    checkRange(r);
    const { start, end } = r;
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < next ||
      end < start ||
      end >= SLOT_COUNT
    ) {
      throw new SlotTableError(`pending range ${start}..${end} is out of order or out of bounds`);
    }
    if (!Number.isInteger(r.since) || r.since < 1 || r.since > 0xffffffff) {
      throw new SlotTableError(`pending range ${start}..${end} has no valid since epoch`);
    }
    if (r.replicas.length === 0 || new Set(r.replicas).size !== r.replicas.length) {
      throw new SlotTableError(`pending range ${start}..${end} must list distinct replicas`);
    }
    width = Math.max(width, r.replicas.length);
    for (let s = start; s <= end; s++) {
      since[s] = r.since;
      targets.set(s, r.replicas);
    }
    next = end + 1;
  }
  width = Math.max(width, table.width);
  const target = SlotTable.fromSlots(
    table.replicationFactor,
    width,
    (s) => targets.get(s) ?? table.replicas(s),
  );
  return new PendingMoves(target, since);
}
