import { EventEmitter } from 'node:events';
import { Placement } from '@meshcache/proto';
import {
  DEFAULT_CACHE_NAME,
  type Member,
  MemberState,
  type PlacementTable,
  type Topology,
} from '@meshcache/proto';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { MemberRecord } from '../membership/FailureDetector.js';
import type { Liveness, View } from '../membership/messages.js';
import { rangesOfPayload } from './evenSlotRanges.js';

export interface LocalMember {
  id: string;
  zone: string;
  grpcAddress: string;
  redisAddress: string;
  adminAddress: string;
  meshAddress: string;
}

const STATES: Record<Liveness, MemberState> = {
  alive: MemberState.ALIVE,
  suspect: MemberState.SUSPECT,
  dead: MemberState.DEAD,
  left: MemberState.LEFT,
};

/** Advertised-address keys in membership metadata. */
export const META = {
  grpc: 'grpc',
  redis: 'redis',
  admin: 'admin',
  mesh: 'mesh',
  external: 'external',
  replica: 'replica',
} as const;

/**
 * The topology a node serves (WatchTopology, /v1/cluster/topology, the epoch
 * in every reply): the members of its committed view with their liveness and
 * latest advertised addresses, and the placement committed with the view
 * (one slot table per replication factor; `ranges` is the default cache's).
 * Before the node joins a view it shows itself alone, at epoch 0, owning nothing.
 */
export class ClusterTopology extends EventEmitter<{ change: [Topology] }> {
  private current: Topology;
  private self: LocalMember;
  private text = '';
  private placementValue = new Placement();
  /** The payload last parsed, and what it gave (views are immutable: parse each once). */
  private parsed: { payload: unknown; placement: Placement; tables: PlacementTable[] } | undefined;

  constructor(
    self: LocalMember,
    private readonly caches: CacheRegistry,
  ) {
    super();
    this.self = self;
    this.current = {
      epoch: 0,
      members: [{ ...self, state: MemberState.ALIVE }],
      ranges: [],
      caches: caches.describe(),
      tables: [],
    };
  }

  get epoch(): number {
    return this.current.epoch;
  }

  /** The slot tables of the committed view (empty before the node holds a view with one). */
  get placement(): Placement {
    return this.placementValue;
  }

  snapshot(): Topology {
    return this.current;
  }

  /** Replaces this node's advertised addresses (ports are known only after binding). */
  updateSelf(patch: Partial<LocalMember>): void {
    this.self = { ...this.self, ...patch };
    if (this.current.epoch === 0) {
      this.set({ ...this.current, members: [{ ...this.self, state: MemberState.ALIVE }] });
    }
  }

  /** Rebuilds from the committed view and current liveness; emits `change` when anything differs. */
  apply(view: View | undefined, liveness: (id: string) => MemberRecord | undefined): void {
    if (!view) return;
    const members: Member[] = view.members.map((m) => {
      const r = liveness(m.id);
      // Addresses from the newest process of this id (a restart may have moved ports).
      const meta = r && r.inst >= m.inst ? r.meta : m.meta;
      const state = r ? STATES[r.state] : MemberState.DEAD;
      return {
        id: m.id,
        zone: m.zone,
        state,
        grpcAddress: meta[META.grpc] ?? '',
        redisAddress: meta[META.redis] ?? '',
        adminAddress: meta[META.admin] ?? '',
        meshAddress: meta[META.mesh] ?? '',
      };
    });
    let parsed = this.parsed;
    if (!parsed || parsed.payload !== view.payload) {
      const placement = Placement.tryFromJSON(view.payload);
      parsed = {
        payload: view.payload,
        placement,
        tables: placement.tables.map((t) => ({
          replicationFactor: t.replicationFactor,
          ranges: t.toRanges(),
          pending: (placement.pending(t.replicationFactor)?.toJSON() ?? []).map((p) => ({
            ...p,
            since: p.since,
          })),
        })),
      };
      this.parsed = parsed;
    }
    const { placement, tables } = parsed;
    const factor = this.defaultReplicationFactor();
    this.placementValue = placement;
    this.set({
      epoch: view.epoch,
      members,
      ranges: tables.find((t) => t.replicationFactor === factor)?.ranges ?? rangesOfPayload(view.payload),
      caches: this.caches.describe(),
      tables,
    });
  }

  /** The default cache's replication factor (else the first cache's). */
  private defaultReplicationFactor(): number {
    const caches = this.caches.describe();
    return (caches.find((c) => c.name === DEFAULT_CACHE_NAME) ?? caches[0])?.replicationFactor ?? 1;
  }

  private set(next: Topology): void {
    const text = JSON.stringify(next);
    if (text === this.text) return;
    this.text = text;
    this.current = next;
    this.emit('change', next);
  }
}
