import type { SlotRange } from '../gen/meshcache/v1/cache.js';
import { keySlot } from './keySlot.js';
import { SlotTable, SlotTableError } from './SlotTable.js';

/** One table in its JSON / wire form. */
export interface PlacementTableJson {
  replicationFactor: number;
  ranges: SlotRange[];
}

/** The placement as committed with a view (its payload) and served in the topology. */
export interface PlacementJson {
  tables: PlacementTableJson[];
}

/**
 * The slot tables of a cluster, one per replication factor in use (caches of
 * equal replication factor share a table). Clients never compute placement:
 * they map key -> slot and read the table here.
 */
export class Placement {
  private readonly byFactor = new Map<number, SlotTable>();

  constructor(tables: readonly SlotTable[] = []) {
    for (const t of tables) {
      if (this.byFactor.has(t.replicationFactor)) {
        throw new SlotTableError(`two tables for replication factor ${t.replicationFactor}`);
      }
      this.byFactor.set(t.replicationFactor, t);
    }
  }

  /** Tables in ascending replication factor. */
  get tables(): SlotTable[] {
    return [...this.byFactor.values()].sort((a, b) => a.replicationFactor - b.replicationFactor);
  }

  get empty(): boolean {
    return this.byFactor.size === 0;
  }

  table(replicationFactor: number): SlotTable | undefined {
    return this.byFactor.get(replicationFactor);
  }

  /** The replicas (primary first) of `key` in a cache of `replicationFactor`; [] when no table has it. */
  replicasOfKey(key: string | Uint8Array, replicationFactor: number): string[] {
    return this.table(replicationFactor)?.replicas(keySlot(key)) ?? [];
  }

  toJSON(): PlacementJson {
    return {
      tables: this.tables.map((t) => ({ replicationFactor: t.replicationFactor, ranges: t.toRanges() })),
    };
  }

  /** Parses a placement from its JSON form; throws SlotTableError when it is malformed. */
  static fromJSON(json: unknown): Placement {
    if (json === null || typeof json !== 'object' || !Array.isArray((json as PlacementJson).tables)) {
      throw new SlotTableError('placement must be an object with a tables array');
    }
    return new Placement(
      (json as PlacementJson).tables.map((t) => {
        if (t === null || typeof t !== 'object' || !Array.isArray(t.ranges)) {
          throw new SlotTableError('each table needs replicationFactor and ranges');
        }
        for (const r of t.ranges) {
          if (r === null || typeof r !== 'object' || !Array.isArray(r.replicas)) {
            throw new SlotTableError('each range needs start, end and replicas');
          }
          if (!r.replicas.every((id) => typeof id === 'string')) {
            throw new SlotTableError('replica ids must be strings');
          }
        }
        return SlotTable.fromRanges(t.replicationFactor, t.ranges);
      }),
    );
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
