import {
  MemberState,
  type PendingMoves,
  type Placement,
  SLOT_COUNT,
  type SlotTable,
  type Topology,
} from '@meshcache/proto';
import { SlotRoute } from './SlotRoute.js';

/** What ReplicaSets reads: the committed view as the node serves it (ClusterTopology). */
export interface ReplicaSetsSource {
  readonly placement: Placement;
  readonly epoch: number;
  snapshot(): Topology;
  on(event: 'change', listener: (t: Topology) => void): unknown;
}

/** Per replication factor: what a slot's route is computed from. */
interface FactorState {
  table: SlotTable;
  pending: PendingMoves | undefined;
  /** Epoch at which each slot's write targets last gained a member (what replicas fence by). */
  changedAt: Float64Array;
  /** Per slot cut over at an epoch not yet installed everywhere: the set it was cut over from. */
  cutFrom: Map<number, { epoch: number; replicas: string[] }>;
  /** Routes computed so far (cleared whenever an input changes). */
  routes: (SlotRoute | undefined)[];
}

/**
 * Key -> replicas for the coordinator. Per replication factor, each slot's
 * committed (last cut-over) set from the view's table, its pending target
 * while it moves, and the set it was cut over from until every live member
 * has installed the cutover's epoch. From these a `SlotRoute`: reads use the
 * committed set; writes need their level in each of the route's sets (old
 * and new while a slot moves or a cutover is not installed everywhere).
 * Also: the liveness of each member, the epochs peers are known to have
 * installed, and the epoch at which each slot's write targets last gained a
 * member (what a replica fences stale requests by: a coordinator of an older
 * epoch would leave the new member out).
 */
export class ReplicaSets {
  private states = new Map<string, MemberState>();
  private readonly factors = new Map<number, FactorState>();
  private lastEpoch = 0;
  private readonly listeners: ((epoch: number) => void)[] = [];
  /** Highest epoch each peer is known to have installed (from its frames, replies and SYNC answers). */
  private readonly installed = new Map<string, number>();
  /** Highest cutover epoch some slot still waits on (0 when none). */
  private outstandingCut = 0;

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

  /** The committed table of a replication factor, undefined before the node holds a committed view with one. */
  table(replicationFactor: number): SlotTable | undefined {
    const t = this.factors.get(replicationFactor)?.table;
    return t === undefined || t.width === 0 ? undefined : t;
  }

  /** The moves pending in a factor's table. */
  pending(replicationFactor: number): PendingMoves | undefined {
    return this.factors.get(replicationFactor)?.pending;
  }

  /** Committed replicas of a slot, primary first; undefined without a table. */
  replicas(replicationFactor: number, slot: number): string[] | undefined {
    return this.table(replicationFactor)?.replicas(slot);
  }

  /** How a slot's reads and writes are distributed now; undefined without a table. */
  route(replicationFactor: number, slot: number): SlotRoute | undefined {
    const f = this.factors.get(replicationFactor);
    if (f === undefined || f.table.width === 0) return undefined;
    let r = f.routes[slot];
    if (r === undefined) {
      const read = f.table.replicas(slot);
      const sets: string[][] = [read];
      const p = f.pending;
      if (p !== undefined && p.isPending(slot)) sets.push(p.targetOf(slot));
      else {
        const cut = f.cutFrom.get(slot);
        if (cut !== undefined) sets.unshift(cut.replicas);
      }
      r = new SlotRoute(read, sets);
      f.routes[slot] = r;
    }
    return r;
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

  /** Whether a request made at `epoch` predates the last time the slot's write targets gained a member. */
  staleEpoch(replicationFactor: number, slot: number, epoch: number): boolean {
    const at = this.factors.get(replicationFactor)?.changedAt;
    return at !== undefined && epoch < at[slot]!;
  }

  /** A peer showed it holds `epoch` (a frame, a reply, a SYNC answer). */
  noteEpoch(id: string, epoch: number): void {
    if (epoch <= (this.installed.get(id) ?? 0)) return;
    this.installed.set(id, epoch);
    if (this.outstandingCut !== 0 && this.allInstalled(this.outstandingCut)) this.retireCutovers();
  }

  /** The highest epoch `id` is known to hold (this node: its own). */
  installedEpoch(id: string): number {
    return id === this.selfId ? this.epoch : (this.installed.get(id) ?? 0);
  }

  /** Whether every live member of the view (this node included) is known to hold `epoch`. */
  allInstalled(epoch: number, among?: readonly string[]): boolean {
    if (this.epoch < epoch) return false;
    for (const id of among ?? this.states.keys()) {
      if (id === this.selfId || !this.isLive(id)) continue;
      if ((this.installed.get(id) ?? 0) < epoch) return false;
    }
    return true;
  }

  /** Live peers not yet known to hold this node's epoch (whom a SYNC should ask). */
  laggingPeers(): string[] {
    const out: string[] = [];
    for (const id of this.states.keys()) {
      if (id !== this.selfId && this.isLive(id) && (this.installed.get(id) ?? 0) < this.epoch) out.push(id);
    }
    return out;
  }

  /** Whether some slot is pending or cut over without every member knowing yet. */
  get transitioning(): boolean {
    if (this.outstandingCut !== 0) return true;
    for (const f of this.factors.values()) if (f.pending !== undefined) return true;
    return false;
  }

  private retireCutovers(): void {
    for (const f of this.factors.values()) {
      if (f.cutFrom.size === 0) continue;
      for (const [slot, cut] of f.cutFrom) {
        if (this.allInstalled(cut.epoch)) {
          f.cutFrom.delete(slot);
          f.routes[slot] = undefined;
        }
      }
    }
    let max = 0;
    for (const f of this.factors.values()) for (const c of f.cutFrom.values()) max = Math.max(max, c.epoch);
    this.outstandingCut = max;
  }

  private refresh(t: Topology): void {
    const before = this.states;
    this.states = new Map(t.members.map((m) => [m.id, m.state]));
    if (t.epoch === this.lastEpoch) {
      // A member turning DEAD no longer holds back a cutover.
      if (this.outstandingCut !== 0 && livenessChanged(before, this.states)) this.retireCutovers();
      return;
    }
    const placement = this.source.placement;
    const seen = new Set<number>();
    for (const table of placement.tables) {
      const rf = table.replicationFactor;
      seen.add(rf);
      const pending = placement.pending(rf);
      const prev = this.factors.get(rf);
      if (prev === undefined || prev.table.width === 0) {
        // First table of this factor seen by this node: it cannot know older
        // changes, so it treats every slot as changed now (refusing requests
        // of older epochs is the safe side).
        this.factors.set(rf, {
          table,
          pending,
          changedAt: new Float64Array(SLOT_COUNT).fill(t.epoch),
          cutFrom: new Map(),
          routes: new Array<SlotRoute | undefined>(SLOT_COUNT),
        });
        continue;
      }
      for (let s = 0; s < SLOT_COUNT; s++) {
        const wasPending = prev.pending !== undefined && prev.pending.isPending(s);
        const isPending = pending !== undefined && pending.isPending(s);
        if (!prev.table.sameMembers(table, s) && wasPending && !isPending) {
          // Cut over: writes keep reaching the old set until every member holds this epoch.
          prev.cutFrom.set(s, { epoch: t.epoch, replicas: prev.table.replicas(s) });
        } else if (isPending) {
          prev.cutFrom.delete(s);
        }
        if (gainedMember(prev, table, pending, s)) prev.changedAt[s] = t.epoch;
      }
      prev.table = table;
      prev.pending = pending;
      prev.routes.fill(undefined);
    }
    for (const rf of [...this.factors.keys()]) if (!seen.has(rf)) this.factors.delete(rf);
    this.lastEpoch = t.epoch;
    let max = 0;
    for (const f of this.factors.values()) for (const c of f.cutFrom.values()) max = Math.max(max, c.epoch);
    this.outstandingCut = max;
    if (max !== 0 && this.allInstalled(max)) this.retireCutovers();
    for (const l of this.listeners) l(t.epoch);
  }
}

/** Whether the slot's write targets (committed set, plus target while pending) gained a member. */
function gainedMember(
  prev: FactorState,
  table: SlotTable,
  pending: PendingMoves | undefined,
  slot: number,
): boolean {
  const before = new Set(prev.table.replicas(slot));
  if (prev.pending?.isPending(slot)) for (const id of prev.pending.targetOf(slot)) before.add(id);
  for (const id of table.replicas(slot)) if (!before.has(id)) return true;
  if (pending?.isPending(slot)) for (const id of pending.targetOf(slot)) if (!before.has(id)) return true;
  return false;
}

function livenessChanged(a: Map<string, MemberState>, b: Map<string, MemberState>): boolean {
  if (a.size !== b.size) return true;
  for (const [id, s] of b) if (a.get(id) !== s) return true;
  return false;
}
