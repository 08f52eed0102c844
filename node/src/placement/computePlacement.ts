import { SlotTable } from '@meshcache/proto';
import { SLOT_COUNT } from '@meshcache/proto';
import { balanceWindow } from './balanceWindow.js';
import { canonicalTable, ringOrder } from './canonicalLayout.js';
import { fairShares } from './fairShares.js';
import { holeFlow } from './holeFlow.js';

const S = SLOT_COUNT;
const EPS = 1e-9;
/** How much dearer than the cheapest (in moves) a more centred balance window may be. */
const WINDOW_COST_SLACK = 0.02;
const PRIMARY_WINDOW_COST_SLACK = 0.03;

/** A member as placement sees it. */
export interface PlacementMember {
  id: string;
  /** Failure domain; replicas of a slot go to distinct zones when there are enough. */
  zone: string;
}

export interface PlacementOptions {
  /**
   * Largest/smallest slot count allowed, for primaries and for all replicas
   * (relative to each node's fair share when zones cap some shares). A wider
   * band lets a change take from (or give to) fewer nodes, in fewer, larger
   * pieces. Default 1.045, under the 1.05 goal.
   */
  balance?: number;
}

export const DEFAULT_PLACEMENT_BALANCE = 1.045;

/**
 * The placement table for one replication factor, computed from the previous
 * table and the new members. Deterministic: the same inputs give the same
 * table on every node. See docs/placement.md for the reasoning; in short:
 *
 * 1. Keep every replica whose node is still a member, in order (so a departed
 *    primary's next replica moves up), dropping any that would break the zone
 *    rule. What is missing is a hole.
 * 2. Fair shares of the slot-replica cells by water-filling over zones, and
 *    the balance window [m, ratio * m] (times each share) that forces the
 *    fewest moves from the counts kept in step 1.
 * 3. Fill holes contiguously: each run of holes goes first to nodes below the
 *    window, then to nodes with room, preferring a node that already holds the
 *    slot next to the run, so its range grows instead of a new one starting.
 * 4. Nodes still below the window (a joining node) take contiguous segments
 *    from nodes above its floor, choosing each time the segment that adds the
 *    fewest ranges (the end of a donor's range, next to the taker's own range,
 *    adds none), then the longest, then from the fullest donor. Nodes above the
 *    window give the same way. When no pair of nodes can trade directly, a
 *    chain of nodes passes the units along.
 * 5. Primaries the same way, moving only the primary role between replicas of
 *    a slot: slots whose old primary is gone are holes (their primary changes
 *    anyway), filled first; then role swaps, preferring those holes again.
 */
export function computePlacement(
  prev: SlotTable | undefined,
  members: readonly PlacementMember[],
  replicationFactor: number,
  options: PlacementOptions = {},
): SlotTable {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new RangeError(`replication factor must be a positive integer, got ${replicationFactor}`);
  }
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) throw new RangeError(`member ${sorted[i]!.id} is listed twice`);
  }
  if (sorted.length === 0) return SlotTable.empty(replicationFactor);
  const placer = new Placer(sorted, replicationFactor, options.balance ?? DEFAULT_PLACEMENT_BALANCE);
  const order = ringOrder(sorted, placer.r, placer.zoneCap);
  const fresh = !prev || prev.width === 0;
  if (fresh && order) return canonicalTable(sorted, order, replicationFactor, placer.r);
  if (!fresh) placer.carryOver(prev);
  placer.placeReplicas();
  placer.placePrimaries();
  const incremental = placer.table();
  if (fresh || !order || !largeChange(prev, sorted, placer.r)) return incremental;
  // Most of the table moves anyway (a cluster forming, or half of it replaced): start
  // over from the canonical layout, turned to keep the most, if that moves no more.
  let best = incremental;
  let bestCost = changesBetween(prev, incremental);
  for (let rotation = 0; rotation < order.length; rotation++) {
    const candidate = canonicalTable(sorted, order, replicationFactor, placer.r, rotation);
    const cost = changesBetween(prev, candidate);
    if (
      cost.copies < bestCost.copies ||
      (cost.copies === bestCost.copies && cost.primaries < bestCost.primaries)
    ) {
      best = candidate;
      bestCost = cost;
    }
  }
  return best;
}

/** Whether few of the new members held the previous table (at most the width, or at most half). */
function largeChange(prev: SlotTable, members: readonly PlacementMember[], width: number): boolean {
  const kept = members.filter((m) => prev.indexOf(m.id) >= 0).length;
  return kept <= width || kept * 2 <= members.length;
}

/** (slot, member) pairs `next` has that `prev` lacks, and slots whose primary differs. */
function changesBetween(prev: SlotTable, next: SlotTable): { copies: number; primaries: number } {
  const map = next.members.map((id) => prev.indexOf(id));
  let copies = 0;
  let primaries = 0;
  for (let s = 0; s < S; s++) {
    for (let k = 0; k < next.width; k++) {
      const p = map[next.cell(s, k)]!;
      let held = false;
      if (p >= 0) for (let j = 0; j < prev.width && !held; j++) held = prev.cell(s, j) === p;
      if (!held) copies++;
      if (k === 0 && p !== prev.cell(s, 0)) primaries++;
    }
  }
  return { copies, primaries };
}

/** A contiguous run of slots that moves from giver v to taker u. */
interface Segment {
  u: number;
  v: number;
  from: number;
  to: number;
  /** Change in the number of ranges (taker's plus giver's). */
  ranges: number;
}

/** One balancing problem: cells (replicas) or primary roles. */
interface Units {
  readonly primaries: boolean;
  readonly count: Int32Array;
  readonly share: Float64Array;
  lo: Int32Array;
  hi: Int32Array;
}

class Placer {
  readonly n: number;
  /** Replicas per slot. */
  readonly r: number;
  /** At most this many replicas of one slot per zone. */
  readonly zoneCap: number;
  readonly zoneOf: Int32Array;
  /** r cells per slot, filled from position 0; -1 is a hole. */
  readonly cells: Int32Array;
  readonly fill: Uint8Array;
  /** Each slot's primary in the previous table as a member index (-1: none, or it left). */
  readonly oldPrimary: Int32Array;
  /** Whether the slot's primary is settled (kept, or assigned in step 5). */
  readonly primarySet: Uint8Array;
  readonly replicas: Units;
  readonly primaries: Units;
  /** Slots each node is at position 0 of, kept current while replicas move. */
  readonly firsts: Int32Array;

  constructor(
    readonly members: readonly PlacementMember[],
    readonly replicationFactor: number,
    readonly ratio: number,
  ) {
    const n = members.length;
    this.n = n;
    this.r = Math.min(replicationFactor, n);
    const zones = [...new Set(members.map((m) => m.zone))].sort();
    const zoneIndex = new Map(zones.map((z, i) => [z, i]));
    this.zoneOf = Int32Array.from(members, (m) => zoneIndex.get(m.zone)!);
    const sizes = zones.map((_, z) => members.filter((m) => zoneIndex.get(m.zone) === z).length);
    // Distinct zones when there are enough; otherwise as even as possible (at most ceil(r / zones) each).
    let cap = Math.ceil(this.r / zones.length);
    while (sizes.reduce((a, s) => a + Math.min(cap, s), 0) < this.r) cap++;
    this.zoneCap = cap;
    this.cells = new Int32Array(S * this.r).fill(-1);
    this.fill = new Uint8Array(S);
    this.oldPrimary = new Int32Array(S).fill(-1);
    this.primarySet = new Uint8Array(S);
    this.firsts = new Int32Array(n);
    const replicaShares = fairShares(
      S * this.r,
      this.zoneOf,
      sizes.map((s) => S * Math.min(cap, s)),
      S,
    );
    this.replicas = {
      primaries: false,
      count: new Int32Array(n),
      share: replicaShares,
      lo: new Int32Array(n),
      hi: new Int32Array(n),
    };
    this.primaries = {
      primaries: true,
      count: new Int32Array(n),
      share: new Float64Array(n).fill(S / n),
      lo: new Int32Array(n),
      hi: new Int32Array(n),
    };
  }

  // ------------------------------------------------------------------ cells

  holds(s: number, u: number): boolean {
    const base = s * this.r;
    const f = this.fill[s]!;
    for (let k = 0; k < f; k++) if (this.cells[base + k] === u) return true;
    return false;
  }

  isPrimary(s: number, u: number): boolean {
    return this.fill[s]! > 0 && this.cells[s * this.r] === u;
  }

  /** Whether u may hold slot s (in place of the replica at position `replacing`, or in a hole). */
  canPlace(s: number, u: number, replacing = -1): boolean {
    const base = s * this.r;
    const f = this.fill[s]!;
    const zone = this.zoneOf[u]!;
    let inZone = 0;
    for (let k = 0; k < f; k++) {
      if (k === replacing) continue;
      const m = this.cells[base + k]!;
      if (m === u) return false;
      if (this.zoneOf[m] === zone) inZone++;
    }
    return inZone < this.zoneCap;
  }

  private place(s: number, u: number): void {
    if (this.fill[s] === 0) this.firsts[u]!++;
    this.cells[s * this.r + this.fill[s]!] = u;
    this.fill[s]!++;
    this.replicas.count[u]!++;
  }

  /** What u should reach when it has to gain: its fair share, inside the window. */
  private target(units: Units, u: number): number {
    return Math.min(units.hi[u]!, Math.max(units.lo[u]!, Math.floor(units.share[u]! + EPS)));
  }

  private setWindow(units: Units, total: number): void {
    // Replicas may pay a little more for a centred window (fewer, larger pieces next
    // time). Primaries take the nearly-cheapest window that leaves the fewest nodes
    // outside it: a node forced to give up (or gain) primaries can only trade with the
    // few nodes sharing its slots, so forcing every node to give a few (when a joiner
    // needs some from each) sends long chains of role swaps around the ring, while a
    // window that holds them lets the joiner's own givers give more.
    const w = units.primaries
      ? balanceWindow(
          units.count,
          units.share,
          total,
          this.ratio,
          S,
          PRIMARY_WINDOW_COST_SLACK,
          'fewest-outside',
        )
      : balanceWindow(units.count, units.share, total, this.ratio, S, WINDOW_COST_SLACK);
    if (w) {
      units.lo = w.lo;
      units.hi = w.hi;
      return;
    }
    // No window holds the total (zones leave no balanced table): aim at the shares.
    for (let i = 0; i < this.n; i++) {
      units.lo[i] = Math.floor(units.share[i]! + EPS);
      units.hi[i] = Math.min(S, Math.ceil(units.share[i]! - EPS));
    }
  }

  // ------------------------------------------------------------- 1. carry over

  carryOver(prev: SlotTable): void {
    const index = new Map(this.members.map((m, i) => [m.id, i]));
    const map = prev.members.map((id) => index.get(id) ?? -1);
    for (let s = 0; s < S; s++) {
      this.oldPrimary[s] = map[prev.cell(s, 0)]!;
      for (let k = 0; k < prev.width && this.fill[s]! < this.r; k++) {
        const u = map[prev.cell(s, k)]!;
        if (u >= 0 && this.canPlace(s, u)) this.place(s, u);
      }
    }
  }

  // ------------------------------------------------------------- 2-4. replicas

  placeReplicas(): void {
    const units = this.replicas;
    this.setWindow(units, S * this.r);
    this.fillReplicaHoles();
    this.balance(units);
  }

  /**
   * Holes first go where a maximum flow says: each member takes up to what it
   * must gain to reach the window's floor, and the flow decides which member takes how
   * many holes of each group of slots (same members able to fill them), so no
   * member is left needing cells only others' holes could have given (which
   * would cost a chain of extra moves). Within a group each member's share is
   * one contiguous piece, the member that holds the slot before the group
   * first and the one that holds the slot after it last.
   */
  private fillHolesByFlow(): void {
    const units = this.replicas;
    const groups = new Map<string, { eligible: number[]; missing: number; slots: number[] }>();
    for (let s = 0; s < S; s++) {
      const missing = this.r - this.fill[s]!;
      if (missing <= 0) continue;
      const eligible: number[] = [];
      for (let u = 0; u < this.n; u++) if (this.canPlace(s, u)) eligible.push(u);
      const key = `${missing}:${eligible.join(',')}`;
      const group = groups.get(key);
      if (group) group.slots.push(s);
      else groups.set(key, { eligible, missing, slots: [s] });
    }
    if (groups.size === 0) return;
    const list = [...groups.values()];
    // Only what members must gain (up to the window's floor): the rest of the holes go to
    // neighbours growing their ranges (fewer, larger pieces) in the passes after this.
    const need = Array.from({ length: this.n }, (_, u) => Math.max(0, units.lo[u]! - units.count[u]!));
    const { taken } = holeFlow(
      list.map((g) => ({ eligible: g.eligible, missing: g.missing, slots: g.slots.length })),
      need,
    );
    list.forEach((group, gi) => {
      const slots = group.slots;
      const first = slots[0]!;
      const last = slots.at(-1)!;
      const rank = (u: number) =>
        first > 0 && this.holds(first - 1, u) ? 0 : last < S - 1 && this.holds(last + 1, u) ? 2 : 1;
      const takers = group.eligible
        .map((u, k) => ({ u, amount: taken[gi]![k]! }))
        .filter((t) => t.amount > 0)
        .sort((a, b) => rank(a.u) - rank(b.u) || a.u - b.u);
      // Wrap-around order over the group's holes: a share of at most one per slot never lands twice in a slot.
      let p = 0;
      for (const { u, amount } of takers) {
        for (let t = 0; t < amount; t++) {
          const s = slots[(p + t) % slots.length]!;
          if (this.fill[s]! < this.r && this.canPlace(s, u)) this.place(s, u);
        }
        p += amount;
      }
    });
  }

  private fillReplicaHoles(): void {
    this.fillHolesByFlow();
    const units = this.replicas;
    const { count, lo, hi } = units;
    type Pass = { eligible: (u: number) => boolean; limit: (u: number) => number; deficit: boolean };
    const passes: Pass[] = [];
    // Nodes below the window first, zone by zone, the zone with the fewest holes it may
    // fill per cell it needs going first (so flexible zones do not take what only a
    // constrained zone could use, which would force chains of extra moves later).
    for (const z of this.zonesByScarcity()) {
      passes.push({
        eligible: (u) => this.zoneOf[u] === z && count[u]! < lo[u]!,
        limit: (u) => this.target(units, u),
        deficit: true,
      });
    }
    passes.push(
      { eligible: (u) => count[u]! < lo[u]!, limit: (u) => this.target(units, u), deficit: true },
      { eligible: (u) => count[u]! < hi[u]!, limit: (u) => hi[u]!, deficit: false },
      { eligible: () => true, limit: () => S, deficit: false },
    );
    for (const pass of passes) {
      let s = 0;
      while (s < S) {
        if (this.fill[s]! >= this.r) {
          s++;
          continue;
        }
        let e = s + 1;
        while (e < S && this.fill[e]! < this.r) e++;
        let best = -1;
        let bestScore = 0;
        let fromRight = false;
        for (let u = 0; u < this.n; u++) {
          if (!pass.eligible(u)) continue;
          const room = pass.limit(u) - count[u]!;
          if (room <= 0 || !this.canPlace(s, u)) continue;
          const left = s > 0 && this.holds(s - 1, u);
          const right = e < S && this.holds(e, u);
          const covers = room >= e - s;
          // New ranges for u: one, less one for each neighbouring range it joins.
          const delta = 1 - (left ? 1 : 0) - (right && (covers || !left) ? 1 : 0);
          const score =
            delta * 1e12 - (pass.deficit ? (lo[u]! - count[u]!) * 1e6 : 0) - Math.min(room, 999_999);
          if (best < 0 || score < bestScore) {
            best = u;
            bestScore = score;
            fromRight = right && !left && !covers;
          }
        }
        if (best < 0) {
          s++;
          continue;
        }
        const limit = pass.limit(best);
        let placed = 0;
        if (fromRight) {
          // Grow best's range leftwards from e, so the run's far end joins it.
          for (let t = e - 1; t >= s && count[best]! < limit && this.canPlace(t, best); t--) {
            this.place(t, best);
            placed++;
          }
        }
        if (placed === 0) {
          for (let t = s; t < e && count[best]! < limit && this.canPlace(t, best); t++) this.place(t, best);
        }
      }
    }
  }

  /** Zones in the order their below-window nodes should fill holes: fewest usable holes per needed cell first. */
  private zonesByScarcity(): number[] {
    const { count, lo } = this.replicas;
    const zones = Math.max(...this.zoneOf) + 1;
    if (zones < 2) return [];
    const need = new Float64Array(zones);
    for (let u = 0; u < this.n; u++)
      need[this.zoneOf[u]!]! += Math.max(0, this.target(this.replicas, u) - count[u]!);
    const sizes = new Int32Array(zones);
    for (let u = 0; u < this.n; u++) sizes[this.zoneOf[u]!]!++;
    const usable = new Float64Array(zones);
    const inZone = new Int32Array(zones);
    for (let s = 0; s < S; s++) {
      const f = this.fill[s]!;
      if (f >= this.r) continue;
      inZone.fill(0);
      for (let k = 0; k < f; k++) inZone[this.zoneOf[this.cells[s * this.r + k]!]!]!++;
      for (let z = 0; z < zones; z++) {
        if (inZone[z]! < this.zoneCap && inZone[z]! < sizes[z]!) usable[z]! += this.r - f;
      }
    }
    const order: number[] = [];
    for (let z = 0; z < zones; z++)
      if (need[z]! > 0 && lo.some((l, u) => this.zoneOf[u] === z && count[u]! < l)) order.push(z);
    return order.sort((a, b) => usable[a]! / need[a]! - usable[b]! / need[b]! || a - b);
  }

  // ------------------------------------------------------------- 5. primaries

  placePrimaries(): void {
    const units = this.primaries;
    const r = this.r;
    for (let s = 0; s < S; s++) {
      const p = this.cells[s * r]!;
      if (p === this.oldPrimary[s]) {
        this.primarySet[s] = 1;
        units.count[p]!++;
      }
    }
    this.setWindow(units, S);
    this.fillPrimaryHoles();
    if (r >= 2) this.balance(units);
  }

  /** Slots whose primary left: give the role to one of their replicas, contiguously, needy nodes first. */
  private fillPrimaryHoles(): void {
    const units = this.primaries;
    const { count, lo, hi } = units;
    const r = this.r;
    const passes: { eligible: (u: number) => boolean; limit: (u: number) => number; deficit: boolean }[] = [
      { eligible: (u) => count[u]! < lo[u]!, limit: (u) => this.target(units, u), deficit: true },
      { eligible: (u) => count[u]! < hi[u]!, limit: (u) => hi[u]!, deficit: false },
      { eligible: () => true, limit: () => S, deficit: false },
    ];
    for (const pass of passes) {
      let s = 0;
      while (s < S) {
        if (this.primarySet[s]) {
          s++;
          continue;
        }
        let best = -1;
        let bestScore = 0;
        for (let k = 0; k < r; k++) {
          const u = this.cells[s * r + k]!;
          if (!pass.eligible(u)) continue;
          const room = pass.limit(u) - count[u]!;
          if (room <= 0) continue;
          const left = s > 0 && this.primarySet[s - 1] === 1 && this.isPrimary(s - 1, u);
          // Needy nodes by need first (a node short of many primaries can only take them where
          // it holds replicas; one short of few finds them anywhere), then a primary range
          // that grows rather than a new one.
          const score =
            (pass.deficit ? -(lo[u]! - count[u]!) * 1e12 : 0) + (left ? 0 : 1e6) - Math.min(room, 999_999);
          if (best < 0 || score < bestScore || (score === bestScore && u < best)) {
            best = u;
            bestScore = score;
          }
        }
        if (best < 0) {
          s++;
          continue;
        }
        const limit = pass.limit(best);
        let t = s;
        for (; t < S && !this.primarySet[t] && count[best]! < limit; t++) {
          const k = this.positionOf(t, best);
          if (k < 0) break;
          this.cells[t * r + k] = this.cells[t * r]!;
          this.cells[t * r] = best;
          this.primarySet[t] = 1;
          count[best]!++;
        }
        s = t;
      }
    }
  }

  private positionOf(s: number, u: number): number {
    const base = s * this.r;
    for (let k = 0; k < this.fill[s]!; k++) if (this.cells[base + k] === u) return k;
    return -1;
  }

  // ------------------------------------------------------------- steals

  /**
   * Moves units until every node is inside its window: to nodes below their
   * floor from nodes above theirs, then from nodes above their ceiling to
   * nodes with room.
   */
  private balance(units: Units): void {
    const n = this.n;
    const { count, lo, hi } = units;
    const slack = new Int32Array(n);
    const want = new Int32Array(n);
    const stuck = new Uint8Array(n);
    let budget = 50 * n + 1000;
    for (; budget > 0; budget--) {
      let u = -1;
      for (let i = 0; i < n; i++) {
        if (stuck[i] || count[i]! >= lo[i]!) continue;
        if (u < 0 || lo[i]! - count[i]! > lo[u]! - count[u]!) u = i;
      }
      if (u < 0) break;
      want.fill(0);
      want[u] = this.target(units, u) - count[u]!;
      // What nodes above their ceiling must give first (else it moves twice), then any slack.
      for (let i = 0; i < n; i++) slack[i] = Math.max(0, count[i]! - hi[i]!);
      let seg = this.findSegment(units, want, slack);
      if (!seg) {
        for (let i = 0; i < n; i++) slack[i] = Math.max(0, count[i]! - lo[i]!);
        seg = this.findSegment(units, want, slack);
      }
      if (seg) this.apply(units, seg);
      else if (!this.augment(units, u, true)) stuck[u] = 1;
    }
    stuck.fill(0);
    for (; budget > 0; budget--) {
      let v = -1;
      for (let i = 0; i < n; i++) {
        if (stuck[i] || count[i]! <= hi[i]!) continue;
        if (v < 0 || count[i]! - hi[i]! > count[v]! - hi[v]!) v = i;
      }
      if (v < 0) break;
      slack.fill(0);
      slack[v] = count[v]! - hi[v]!;
      for (let i = 0; i < n; i++) want[i] = i === v ? 0 : Math.max(0, hi[i]! - count[i]!);
      const seg = this.findSegment(units, want, slack);
      if (seg) this.apply(units, seg);
      else if (!this.augment(units, v, false)) stuck[v] = 1;
    }
  }

  private apply(units: Units, seg: Segment): void {
    const r = this.r;
    for (let s = seg.from; s <= seg.to; s++) {
      const base = s * r;
      if (units.primaries) {
        const k = this.positionOf(s, seg.u);
        this.cells[base + k] = seg.v;
        this.cells[base] = seg.u;
      } else {
        const k = this.positionOf(s, seg.v);
        this.cells[base + k] = seg.u;
        if (k === 0) {
          this.firsts[seg.u]!++;
          this.firsts[seg.v]!--;
        }
      }
    }
    const len = seg.to - seg.from + 1;
    units.count[seg.u]! += len;
    units.count[seg.v]! -= len;
  }

  /**
   * Moves units along a chain x0 -> x1 -> ... -> xk where each node can take
   * from the one before it: into `end` (below its floor) from the nearest node
   * with slack, or out of `end` (above its ceiling) to the nearest node with
   * room. Returns false when no chain exists.
   */
  private augment(units: Units, end: number, into: boolean): boolean {
    const n = this.n;
    const r = this.r;
    const { count, lo, hi } = units;
    const edge = new Uint8Array(n * n);
    for (let s = 0; s < S; s++) {
      const base = s * r;
      const f = this.fill[s]!;
      if (units.primaries) {
        const x = this.cells[base]!;
        for (let k = 1; k < f; k++) edge[x * n + this.cells[base + k]!] = 1;
      } else {
        for (let k = 0; k < f; k++) {
          const x = this.cells[base + k]!;
          for (let y = 0; y < n; y++) if (!edge[x * n + y] && this.canPlace(s, y, k)) edge[x * n + y] = 1;
        }
      }
    }
    const prev = new Int32Array(n).fill(-1);
    prev[end] = end;
    const queue = [end];
    let found = -1;
    for (let q = 0; q < queue.length && found < 0; q++) {
      const x = queue[q]!;
      for (let y = 0; y < n; y++) {
        if (prev[y]! >= 0 || !(into ? edge[y * n + x] : edge[x * n + y])) continue;
        prev[y] = x;
        if (into ? count[y]! > lo[y]! : count[y]! < hi[y]!) {
          found = y;
          break;
        }
        queue.push(y);
      }
    }
    if (found < 0) return false;
    // (giver, taker) pairs from the giving end; applied from the taking end so
    // every node in between gives what it has just been given.
    const pairs: [number, number][] = [];
    for (let x = found; x !== end; x = prev[x]!) pairs.push(into ? [x, prev[x]!] : [prev[x]!, x]);
    if (!into) pairs.reverse();
    let amount = into
      ? Math.min(this.target(units, end) - count[end]!, count[found]! - lo[found]!)
      : Math.min(count[end]! - hi[end]!, hi[found]! - count[found]!);
    const want = new Int32Array(n);
    const slack = new Int32Array(n);
    let moved = false;
    for (let i = pairs.length - 1; i >= 0 && amount > 0; i--) {
      const [giver, taker] = pairs[i]!;
      want.fill(0);
      slack.fill(0);
      want[taker] = amount;
      slack[giver] = amount;
      const seg = this.findSegment(units, want, slack);
      if (!seg) break;
      this.apply(units, seg);
      amount = seg.to - seg.from + 1;
      moved = true;
    }
    return moved;
  }

  /**
   * The best contiguous segment a taker (want > 0) can take from a giver
   * (slack > 0): over every maximal run of slots where the giver holds a cell
   * the taker may replace (for primaries: where the giver is primary and the
   * taker a replica), either end of the run, as much as want and slack allow.
   * Preference: for primaries, slots whose primary changes anyway first; then
   * givers above their ceiling (they must give anyway); fewest new ranges; longest; for cells, the end whose share of the giver's
   * primaries best matches what the taker still needs of them; fullest giver;
   * lowest slot and index.
   */
  private findSegment(units: Units, want: Int32Array, slack: Int32Array): Segment | undefined {
    const r = this.r;
    const n = this.n;
    const primaries = units.primaries;
    const takers: number[] = [];
    for (let i = 0; i < n; i++) if (want[i]! > 0) takers.push(i);
    if (takers.length === 0) return undefined;
    const has = primaries
      ? (s: number, m: number) => this.isPrimary(s, m)
      : (s: number, m: number) => this.holds(s, m);
    let best: Segment | undefined;
    let bestKey: number[] = [];
    // Cells each (taker, giver) pair could trade, over all runs: a giver above its ceiling
    // with few such cells to spare goes first, before others use up the slots it needs.
    const reach = new Map<number, number>();
    const consider = (u: number, v: number, a: number, b: number, cost: number) => {
      const len = Math.min(want[u]!, slack[v]!, b - a + 1);
      if (len <= 0) return;
      // For cells: the fraction of u's remaining need that should be primaries (if it becomes primary of them).
      // For cells: prefer slots where v is not primary. Taking v's primary role with its
      // replica leaves v short of primaries, and in a ring of ranges only v's neighbours
      // share slots with it, so that gap would travel along a chain of role swaps; the
      // taker gets its primaries by role swaps spread over all its givers instead.
      const firstsWanted = 0;
      for (const [x, y] of [
        [a, a + len - 1],
        [b - len + 1, b],
      ] as const) {
        const uL = x > 0 && has(x - 1, u);
        const uR = y < S - 1 && has(y + 1, u);
        const vL = x > 0 && has(x - 1, v);
        const vR = y < S - 1 && has(y + 1, v);
        const ranges =
          1 -
          (uL ? 1 : 0) -
          (uR ? 1 : 0) +
          (vL && vR ? 1 : !vL && !vR ? -1 : 0) +
          this.tableDelta(x, y, u, v, primaries);
        let mismatch = 0;
        if (!primaries) {
          let prim = 0;
          for (let s = x; s <= y; s++) if (this.cells[s * r] === v) prim++;
          mismatch = Math.abs(prim - Math.min(len, firstsWanted));
        }
        // A giver above its ceiling must give anyway: taking from it saves a later move.
        const forced = units.count[v]! > units.hi[v]! ? 0 : 1;
        // Replacing a replica of the taker's own zone keeps every slot's zone mix, so it
        // never uses up a slot that only another zone's giver could have given.
        const otherZone = primaries || this.zoneOf[u] === this.zoneOf[v] ? 0 : 1;
        const spare = forced === 0 && !primaries ? Math.max(0, (reach.get(u * n + v) ?? 0) - slack[v]!) : 0;
        const key = [
          cost,
          forced,
          otherZone,
          spare,
          mismatch,
          ranges,
          -len,
          -(units.count[v]! - units.share[v]!),
          x,
          v,
          u,
        ];
        let better = !best;
        for (let i = 0; !better && i < key.length; i++) {
          if (key[i]! !== bestKey[i]!) {
            better = key[i]! < bestKey[i]!;
            break;
          }
        }
        if (better) {
          best = { u, v, from: x, to: y, ranges };
          bestKey = key;
        }
        if (len === b - a + 1) break;
      }
    };
    // Open runs: key (u * n + v) * 2 + cost -> first slot.
    const open = new Map<number, number>();
    const runs: number[] = [];
    const valid: number[] = [];
    for (let s = 0; s <= S; s++) {
      valid.length = 0;
      if (s < S) {
        const base = s * r;
        const f = this.fill[s]!;
        if (primaries) {
          const v = this.cells[base]!;
          if (slack[v]! > 0) {
            const cost = this.oldPrimary[s] === v ? 1 : 0;
            for (let k = 1; k < f; k++) {
              const u = this.cells[base + k]!;
              if (want[u]! > 0) valid.push((u * n + v) * 2 + cost);
            }
          }
        } else {
          for (let k = 0; k < f; k++) {
            const v = this.cells[base + k]!;
            if (slack[v]! === 0) continue;
            for (const u of takers) if (u !== v && this.canPlace(s, u, k)) valid.push((u * n + v) * 2);
          }
        }
      }
      for (const [key, start] of open) {
        if (valid.includes(key)) continue;
        runs.push(key, start, s - 1);
        reach.set(key >> 1, (reach.get(key >> 1) ?? 0) + s - start);
        open.delete(key);
      }
      for (const key of valid) if (!open.has(key)) open.set(key, s);
    }
    for (let i = 0; i < runs.length; i += 3) {
      const pair = runs[i]! >> 1;
      consider(Math.floor(pair / n), pair % n, runs[i + 1]!, runs[i + 2]!, runs[i]! & 1);
    }
    return best;
  }

  /**
   * How many table ranges (runs of slots with one replica list) moving
   * [x, y] from v to u adds at its two ends (negative: removes).
   */
  private tableDelta(x: number, y: number, u: number, v: number, primaries: boolean): number {
    const r = this.r;
    const map = (m: number) => (m === v ? u : primaries && m === u ? v : m);
    // Whether slot a's list differs from slot b's list after the move (b inside, a outside).
    const differs = (a: number, b: number, moved: boolean) => {
      if (this.fill[a] !== this.fill[b]) return true;
      for (let k = 0; k < this.fill[a]!; k++) {
        const mb = this.cells[b * r + k]!;
        if (this.cells[a * r + k] !== (moved ? map(mb) : mb)) return true;
      }
      return false;
    };
    let delta = 0;
    if (x > 0) delta += (differs(x - 1, x, true) ? 1 : 0) - (differs(x - 1, x, false) ? 1 : 0);
    if (y < S - 1) delta += (differs(y + 1, y, true) ? 1 : 0) - (differs(y + 1, y, false) ? 1 : 0);
    return delta;
  }

  table(): SlotTable {
    const cells = new Uint16Array(S * this.r);
    for (let i = 0; i < cells.length; i++) {
      const m = this.cells[i]!;
      if (m < 0) throw new Error(`placement left slot ${Math.floor(i / this.r)} without a replica`);
      cells[i] = m;
    }
    return new SlotTable(
      this.replicationFactor,
      this.members.map((m) => m.id),
      this.r,
      cells,
    );
  }
}
