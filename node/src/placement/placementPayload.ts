import { PendingMoves, Placement, type PlacementJson, SLOT_COUNT, SlotTable } from '@meshcache/proto';
import { computePlacement, type PlacementMember, type PlacementOptions } from './computePlacement.js';
import { nextWriterTags, type WriterTags } from './writerTags.js';

/** Members being drained, as committed with the view (their slots move away; then they are removed). */
export interface Draining {
  draining: string[];
}

/** The view's payload: the placement, the writer tags, and the members being drained. */
export type ViewPayload = PlacementJson & WriterTags & Draining;

/** What decides the next placement besides the previous payload and the members. */
export interface PlacementStep {
  /** Epoch of the view being proposed (a move that becomes pending records it). */
  epoch: number;
  /** Members whose slots move away (a drain); placement gives them nothing new. */
  draining?: readonly string[];
  /**
   * Whether the move of `slot` (factor `rf`), pending since `since`, may be
   * cut over: every new replica filled it, and every live member of both
   * sets holds the pending epoch. Defaults to never.
   */
  finished?: (rf: number, slot: number, since: number) => boolean;
  /** Factors whose targets must not change in this step (a move refused: its targets lack memory). */
  freeze?: readonly number[];
  options?: PlacementOptions;
}

/** The members being drained according to a view's payload. */
export function drainingOf(payload: unknown): string[] {
  if (payload === null || typeof payload !== 'object') return [];
  const d = (payload as Partial<Draining>).draining;
  return Array.isArray(d) ? d.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * The placement committed with a view (the view's payload): one table per
 * replication factor the caches use. A slot whose replica set changes does
 * not switch at once: it becomes pending (its committed set stays the old
 * one, its target is recorded with the epoch it became pending), writes go
 * to both sets, the new replicas fill it, and a later view cuts it over
 * (`finished`). A change made while moves are pending is computed from the
 * pending targets; a slot's committed set is always its last cut-over set.
 * A reordering of the same members (a new primary) and a slot none of whose
 * old replicas is still a member take effect at once: nothing can be moved.
 * Deterministic in its inputs, so a re-proposal of the same step gives the
 * same payload. The payload also carries the members' writer tags (see
 * writerTags.ts) and the members being drained.
 */
export function placementPayload(
  previousPayload: unknown,
  members: readonly PlacementMember[],
  replicationFactors: readonly number[],
  step: PlacementStep = { epoch: 1 },
): ViewPayload {
  const previous = Placement.tryFromJSON(previousPayload);
  const factors = [...new Set(replicationFactors)].sort((a, b) => a - b);
  const memberIds = new Set(members.map((m) => m.id));
  const draining = [...new Set(step.draining ?? [])].filter((id) => memberIds.has(id)).sort();
  let placed = members.filter((m) => !draining.includes(m.id));
  if (placed.length === 0) placed = [...members];
  const tables: SlotTable[] = [];
  const pending: PendingMoves[] = [];
  for (const rf of factors) {
    const committed = previous.table(rf);
    if (committed === undefined || committed.width === 0) {
      // A new factor (or a new cluster): no copy of anything exists yet.
      tables.push(computePlacement(undefined, placed, rf, step.options));
      continue;
    }
    const base = previous.target(rf)!;
    const target = step.freeze?.includes(rf) ? base : computePlacement(base, placed, rf, step.options);
    const next = stepTable(rf, committed, previous.pending(rf), target, memberIds, step);
    tables.push(next.table);
    if (next.pending) pending.push(next.pending);
  }
  return {
    ...new Placement(tables, pending).toJSON(),
    ...nextWriterTags(
      previousPayload,
      members.map((m) => m.id),
    ),
    draining,
  };
}

function stepTable(
  rf: number,
  committed: SlotTable,
  previousPending: PendingMoves | undefined,
  target: SlotTable,
  members: ReadonlySet<string>,
  step: PlacementStep,
): { table: SlotTable; pending: PendingMoves | undefined } {
  const since = new Uint32Array(SLOT_COUNT);
  const lists: string[][] = new Array(SLOT_COUNT);
  let anyPending = false;
  for (let s = 0; s < SLOT_COUNT; s++) {
    const old = committed.replicas(s);
    if (
      committed.sameSlot(target, s) ||
      committed.sameMembers(target, s) ||
      !old.some((id) => members.has(id))
    ) {
      lists[s] = target.replicas(s);
      continue;
    }
    const kept = previousPending?.isPending(s) && previousPending.target.sameSlot(target, s);
    const at = kept ? previousPending!.since[s]! : step.epoch;
    if (step.finished?.(rf, s, at)) {
      lists[s] = target.replicas(s);
      continue;
    }
    lists[s] = old;
    since[s] = at;
    anyPending = true;
  }
  const width = Math.max(committed.width, target.width);
  const table = SlotTable.fromSlots(rf, width, (s) => lists[s]!);
  return { table, pending: anyPending ? new PendingMoves(target, since) : undefined };
}

/** Whether `id` holds any slot (committed or pending target) in the payload's placement. */
export function holdsSlots(payload: unknown, id: string): boolean {
  const placement = Placement.tryFromJSON(payload);
  for (const t of placement.tables) {
    if (t.indexOf(id) >= 0 && t.counts().replicas.get(id)! > 0) return true;
    const p = placement.pending(t.replicationFactor);
    if (p && p.target.indexOf(id) >= 0 && p.target.counts().replicas.get(id)! > 0) return true;
  }
  return false;
}
