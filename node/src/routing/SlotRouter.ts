import type { Placement } from '@meshcache/proto';
import { keySlot } from '@meshcache/proto';
import { DEFAULT_CACHE_NAME, type Member, type Operation, OpType } from '@meshcache/proto';

/** Where the operations on one key go. */
export interface Route {
  /** This node serves it. */
  local: boolean;
  slot: number;
  /** The owner's member id (the slot's primary), when not local. */
  owner?: string;
  /** The owner's gRPC address, when known. */
  address?: string;
}

/** What the router reads: the committed placement and members (ClusterTopology). */
export interface RoutingSource {
  readonly placement: Placement;
  readonly epoch: number;
  snapshot(): { members: Member[] };
}

/**
 * Key -> slot -> owner for this node: the owner of a key is its slot's primary
 * in the table of the cache's replication factor (until replication lands,
 * the primary holds the only copy). With no table for a cache yet (before the
 * node holds a committed view), the node serves everything itself.
 */
export class SlotRouter {
  private readonly factors: Map<string, number>;

  constructor(
    readonly selfId: string,
    private readonly source: RoutingSource,
    caches: readonly { name: string; replicationFactor: number }[],
  ) {
    this.factors = new Map(caches.map((c) => [c.name, c.replicationFactor]));
  }

  get epoch(): number {
    return this.source.epoch;
  }

  /** Whether this node serves `key` in `cache`: route(...).local without building a Route. */
  isLocal(cache: string, key: Uint8Array): boolean {
    const factor = this.factors.get(cache === '' ? DEFAULT_CACHE_NAME : cache);
    const table = factor === undefined ? undefined : this.source.placement.table(factor);
    return !table || table.width === 0 || table.primary(keySlot(key)) === this.selfId;
  }

  /** Whether this node serves every key of every operation of a frame (the common case: one check, no Routes). */
  allLocal(ops: readonly Operation[]): boolean {
    for (const op of ops) {
      if (op.type === OpType.GET_MANY) {
        for (const k of op.keys) if (!this.isLocal(op.cache, k)) return false;
      } else if (op.type === OpType.SET_MANY) {
        for (const e of op.entries) if (!this.isLocal(op.cache, e.key)) return false;
      } else if (!this.isLocal(op.cache, op.key)) {
        return false;
      }
    }
    return true;
  }

  /** The route of `key` in `cache` ('' is the default cache). Unknown caches run locally (and fail there). */
  route(cache: string, key: Uint8Array): Route {
    const slot = keySlot(key);
    const factor = this.factors.get(cache === '' ? DEFAULT_CACHE_NAME : cache);
    const table = factor === undefined ? undefined : this.source.placement.table(factor);
    if (!table || table.width === 0) return { local: true, slot };
    const owner = table.primary(slot)!;
    if (owner === this.selfId) return { local: true, slot };
    const address = this.source.snapshot().members.find((m) => m.id === owner)?.grpcAddress || undefined;
    return { local: false, slot, owner, address };
  }
}
