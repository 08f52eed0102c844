import { MemberState, type Placement, SLOT_COUNT, type SlotTable, type Topology } from '@meshcache/proto';

/** What ReplicaSets reads: the committed view as the node serves it (ClusterTopology). */
export interface ReplicaSetsSource {
  readonly placement: Placement;
  readonly epoch: number;
  snapshot(): Topology;
  on(event: 'change', listener: (t: Topology) => void): unknown;
}

/**
 * Key -> replicas for the coordinator: the slot's replica list (primary
 * first) in the committed table of the cache's replication factor, the
 * liveness of each member, and the epoch at which each slot's placement last
 * changed (what a replica fences stale requests by). A table is as wide as
 * the cluster allows: a factor above the member count is capped there.
 */
export class ReplicaSets {
  private states = new Map<string, MemberState>();
  /** Per replication factor: the epoch at which each slot's replica list last changed. */
  private readonly changedAt = new Map<number, Float64Array>();
  private tables = new Map<number, SlotTable>();
  private lastEpoch = 0;
  private readonly listeners: ((epoch: number) => void)[] = [];

  constructor(
    readonly selfId: string,
    private readonly source: ReplicaSetsSource,
  ) {
    source.on('change', (t) => this.refresh(t));
    this.refresh(source.snapshot());
  }

  get epoch(): number {
    return this.source.epoch;
  }

  /** Calls `listener` after every change of the committed epoch. */
  onEpoch(listener: (epoch: number) => void): void {
    this.listeners.push(listener);
  }

  /** The table of a replication factor, undefined before the node holds a committed view with one. */
  table(replicationFactor: number): SlotTable | undefined {
    const t = this.tables.get(replicationFactor);
    return t === undefined || t.width === 0 ? undefined : t;
  }

  /** Replicas of a slot, primary first; undefined without a table. */
  replicas(replicationFactor: number, slot: number): string[] | undefined {
    return this.table(replicationFactor)?.replicas(slot);
  }

  /** A member worth sending to: ALIVE or SUSPECT (a suspect may still answer; DEAD and LEFT never do). */
  isLive(id: string): boolean {
    if (id === this.selfId) return true;
    const s = this.states.get(id);
    return s === MemberState.ALIVE || s === MemberState.SUSPECT;
  }

  isAlive(id: string): boolean {
    return id === this.selfId || this.states.get(id) === MemberState.ALIVE;
  }

  /** Members of the committed view other than this node. */
  peers(): string[] {
    return [...this.states.keys()].filter((id) => id !== this.selfId);
  }

  /** Whether a request made at `epoch` predates the last change of the slot's placement. */
  staleEpoch(replicationFactor: number, slot: number, epoch: number): boolean {
    const at = this.changedAt.get(replicationFactor);
    return at !== undefined && epoch < at[slot]!;
  }

  private refresh(t: Topology): void {
    this.states = new Map(t.members.map((m) => [m.id, m.state]));
    if (t.epoch === this.lastEpoch) return;
    const placement = this.source.placement;
    const next = new Map<number, SlotTable>();
    for (const table of placement.tables) {
      next.set(table.replicationFactor, table);
      const before = this.tables.get(table.replicationFactor);
      let at = this.changedAt.get(table.replicationFactor);
      if (at === undefined || before === undefined) {
        // First table of this factor seen by this node: it cannot know older
        // changes, so it treats every slot as changed now (refusing requests
        // of older epochs is the safe side).
        at = new Float64Array(SLOT_COUNT).fill(t.epoch);
        this.changedAt.set(table.replicationFactor, at);
        continue;
      }
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (!sameReplicas(before, table, s)) at[s] = t.epoch;
      }
    }
    this.tables = next;
    this.lastEpoch = t.epoch;
    for (const l of this.listeners) l(t.epoch);
  }
}

function sameReplicas(a: SlotTable, b: SlotTable, slot: number): boolean {
  if (a.width !== b.width) return false;
  for (let i = 0; i < a.width; i++) {
    if (a.members[a.cell(slot, i)] !== b.members[b.cell(slot, i)]) return false;
  }
  return true;
}
