import type { SlotTable } from '@meshcache/proto';
import { SLOT_COUNT } from '@meshcache/proto';
import { balanceWindow } from './balanceWindow.js';
import { fairShares } from './fairShares.js';
import { holeFlow } from './holeFlow.js';
import type { PlacementMember } from './computePlacement.js';

const S = SLOT_COUNT;

/** The balance rule placement promises: largest/smallest slot count within this ratio. */
export const BALANCE_GOAL = 1.05;

export interface TableCounts {
  /** Per member id, slots it is primary of. */
  primaries: Map<string, number>;
  /** Per member id, slots it holds in any position. */
  replicas: Map<string, number>;
}

/** Largest / smallest value (Infinity when the smallest is 0 and the largest is not). */
export function spread(values: Iterable<number>): number {
  let max = -Infinity;
  let min = Infinity;
  for (const v of values) {
    max = Math.max(max, v);
    min = Math.min(min, v);
  }
  if (max === -Infinity) return 1;
  if (min === 0) return max === 0 ? 1 : Infinity;
  return max / min;
}

/**
 * The fair share of each member (slot-replica cells) given zones: equal
 * unless a zone is too small or too large to hold its share under the zone
 * rule (see fairShares). Balance is judged relative to these.
 */
export function fairSharesOf(members: readonly PlacementMember[], width: number): Map<string, number> {
  const zones = [...new Set(members.map((m) => m.zone))].sort();
  const zoneOf = Int32Array.from(members, (m) => zones.indexOf(m.zone));
  const sizes = zones.map((z) => members.filter((m) => m.zone === z).length);
  let cap = Math.ceil(width / zones.length);
  while (sizes.reduce((a, s) => a + Math.min(cap, s), 0) < width) cap++;
  const shares = fairShares(
    S * width,
    zoneOf,
    sizes.map((s) => S * Math.min(cap, s)),
    S,
  );
  return new Map(members.map((m, i) => [m.id, shares[i]!]));
}

export interface BalanceStats {
  /** Largest/smallest primary count. */
  primaries: number;
  /** Largest/smallest count of slots held in any position. */
  replicas: number;
  /** Largest/smallest of (held / fair share): equals `replicas` when zones do not bind. */
  replicasVsShare: number;
  /** The best ratio any table could have for `replicas`, given zones (1 when zones do not bind). */
  replicasBound: number;
}

export function balanceOf(table: SlotTable, members: readonly PlacementMember[]): BalanceStats {
  const counts = table.counts();
  const shares = fairSharesOf(members, table.width);
  const ids = members.map((m) => m.id);
  return {
    primaries: spread(ids.map((id) => counts.primaries.get(id) ?? 0)),
    replicas: spread(ids.map((id) => counts.replicas.get(id) ?? 0)),
    replicasVsShare: spread(ids.map((id) => (counts.replicas.get(id) ?? 0) / shares.get(id)!)),
    replicasBound: spread(shares.values()),
  };
}

export interface RangeStats {
  /** Average and largest number of maximal slot ranges a member is primary of. */
  primaryAvg: number;
  primaryMax: number;
  /** Average and largest number of maximal slot ranges a member holds (any position). */
  heldAvg: number;
  heldMax: number;
  /** Ranges with one replica list: the entries of a Redis CLUSTER SLOTS reply. */
  table: number;
}

export function rangesOf(table: SlotTable): RangeStats {
  const n = table.members.length;
  const w = table.width;
  const prim = new Array<number>(n).fill(0);
  const held = new Array<number>(n).fill(0);
  const heldPrev = new Uint8Array(n);
  const heldNow = new Uint8Array(n);
  for (let s = 0; s < S; s++) {
    heldNow.fill(0);
    for (let k = 0; k < w; k++) heldNow[table.cell(s, k)] = 1;
    for (let i = 0; i < n; i++) if (heldNow[i] && !heldPrev[i]) held[i]!++;
    heldPrev.set(heldNow);
    const p = table.cell(s, 0);
    if (s === 0 || table.cell(s - 1, 0) !== p) prim[p]!++;
  }
  const avg = (a: number[]) => (n === 0 ? 0 : a.reduce((x, y) => x + y, 0) / n);
  return {
    primaryAvg: avg(prim),
    primaryMax: n === 0 ? 0 : Math.max(...prim),
    heldAvg: avg(held),
    heldMax: n === 0 ? 0 : Math.max(...held),
    table: table.toRanges().length,
  };
}

export interface Movement {
  /** Slot-replica assignments (slot, node) in the new table that the old one lacked: copies to stream. */
  copies: number;
  /** Slots whose primary changed. */
  primaries: number;
  /** Slot-replica assignments (slot, position) whose node changed (role changes count too). */
  positions: number;
}

export function movementBetween(prev: SlotTable, next: SlotTable): Movement {
  let copies = 0;
  let primaries = 0;
  let positions = 0;
  const w = Math.max(prev.width, next.width);
  for (let s = 0; s < S; s++) {
    const before = prev.width === 0 ? [] : prev.replicas(s);
    const after = next.width === 0 ? [] : next.replicas(s);
    for (const id of after) if (!before.includes(id)) copies++;
    if (before[0] !== after[0]) primaries++;
    for (let k = 0; k < w; k++) if (before[k] !== after[k]) positions++;
  }
  return { copies, primaries, positions };
}

/**
 * The fewest units (slot-replica cells, or primaries) any table must move to
 * go from `before` counts to a table balanced within `ratio`: every member's
 * count over its fair share in [m, ratio * m] for some m, none above `cap`,
 * adding up to `total`. Each unit a member has more than before had to come
 * from somewhere, so the sum of gains is moved; departed members' units count
 * as gains of whoever takes them. Exact for that relaxation (it ignores which
 * slot goes where, so it is a true lower bound for any table obeying the
 * balance rule); see balanceWindow.
 */
export function movementLowerBound(
  before: readonly number[],
  shares: readonly number[],
  total: number,
  ratio: number = BALANCE_GOAL,
  cap: number = S,
): number {
  return balanceWindow(before, shares, total, ratio, cap)?.cost ?? Infinity;
}

/**
 * The fewest copies (new slot-replica assignments) any table for `members`
 * balanced within `ratio` needs, coming from `prev`: the larger of two lower
 * bounds, each exact for its relaxation.
 *
 * - Counts (movementLowerBound): what members must gain to reach a balanced
 *   count, ignoring which slots.
 * - Holes: every replica of a departed member (or every new position, when
 *   the table gets wider) is a hole some member must fill, and a member can
 *   only fill holes in slots it does not already hold (and whose zone mix
 *   lets it in). What members need to reach the window's floor and cannot
 *   get from holes (a maximum flow from holes to members decides how much
 *   they can) they gain elsewhere, each an extra copy; for the best window.
 */
export function copiesMinimum(
  prev: SlotTable,
  members: readonly PlacementMember[],
  width: number,
  ratio: number = BALANCE_GOAL,
): number {
  const counts = prev.counts().replicas;
  const sharesById = fairSharesOf(members, width);
  const before = members.map((m) => counts.get(m.id) ?? 0);
  const shares = members.map((m) => sharesById.get(m.id)!);
  const total = S * width;
  const byCounts = movementLowerBound(before, shares, total, ratio);
  // Holes and, per member, how many of them it may fill.
  const index = new Map(members.map((m, i) => [m.id, i]));
  const zones = [...new Set(members.map((m) => m.zone))].sort();
  const zoneOf = members.map((m) => zones.indexOf(m.zone));
  const sizes = zones.map((z) => members.filter((m) => m.zone === z).length);
  let cap = Math.ceil(width / zones.length);
  while (sizes.reduce((a, n) => a + Math.min(cap, n), 0) < width) cap++;
  // Hole groups: slots with the same members able to fill them and the same number of holes.
  const groups = new Map<string, { eligible: number[]; missing: number; slots: number }>();
  let holes = 0;
  const inZone = new Array<number>(zones.length).fill(0);
  const present = new Uint8Array(members.length);
  for (let s = 0; s < S; s++) {
    inZone.fill(0);
    present.fill(0);
    let kept = 0;
    for (const id of prev.width === 0 ? [] : prev.replicas(s)) {
      const i = index.get(id);
      if (i === undefined || kept >= width) continue;
      present[i] = 1;
      inZone[zoneOf[i]!]!++;
      kept++;
    }
    const missing = width - kept;
    if (missing <= 0) continue;
    holes += missing;
    const eligible: number[] = [];
    for (let i = 0; i < members.length; i++) {
      if (!present[i] && inZone[zoneOf[i]!]! < cap) eligible.push(i);
    }
    const key = `${missing}:${eligible.join(',')}`;
    const g = groups.get(key);
    if (g) g.slots++;
    else groups.set(key, { eligible, missing, slots: 1 });
  }
  let byHoles = holes;
  if (holes > 0) {
    let sumShares = 0;
    for (const w of shares) sumShares += w;
    const mLow = total / (ratio * sumShares);
    const mHigh = total / sumShares;
    // What members must gain beyond the holes they can fill only grows with m, so the
    // lowest feasible window is the best: try the points where a bound changes, ascending.
    const candidates: number[] = [];
    for (const w of shares) {
      if (w <= 0) continue;
      for (const scale of [1, ratio]) {
        for (let k = Math.floor(mLow * scale * w); k <= Math.ceil(mHigh * scale * w); k++) {
          const m = k / (scale * w);
          if (m >= mLow - 1e-9 && m <= mHigh + 1e-9) candidates.push(m);
        }
      }
    }
    candidates.sort((x, y) => x - y);
    for (const m of candidates) {
      let feasible = true;
      let lowSum = 0;
      let highSum = 0;
      const need: number[] = [];
      for (let i = 0; i < members.length; i++) {
        const lo = Math.ceil(m * shares[i]! - 1e-9);
        const hi = Math.min(S, Math.floor(ratio * m * shares[i]! + 1e-9));
        if (lo > hi) feasible = false;
        lowSum += lo;
        highSum += hi;
        need.push(Math.max(0, lo - before[i]!));
      }
      if (!feasible || lowSum > total || highSum < total) continue;
      // Each hole goes to one member able to fill it (a slot takes each member once): the most
      // of the members' needs the holes can meet is a maximum flow; the rest is gained elsewhere.
      const met = holeFlow([...groups.values()], need).total;
      byHoles = holes + need.reduce((a, x) => a + x, 0) - met;
      break;
    }
  }
  return Math.max(byCounts, byHoles);
}

/** The zone rule, per slot: distinct zones when there are at least as many as replicas, else at most ceil(width / zones) per zone. */
export function zoneViolations(table: SlotTable, members: readonly PlacementMember[]): number {
  const zoneOfId = new Map(members.map((m) => [m.id, m.zone]));
  const zones = new Set(members.map((m) => m.zone)).size;
  const sizes = new Map<string, number>();
  for (const m of members) sizes.set(m.zone, (sizes.get(m.zone) ?? 0) + 1);
  let cap = Math.ceil(table.width / Math.max(1, zones));
  while ([...sizes.values()].reduce((a, s) => a + Math.min(cap, s), 0) < table.width) cap++;
  let bad = 0;
  for (let s = 0; s < S; s++) {
    const seen = new Map<string, number>();
    for (const id of table.width === 0 ? [] : table.replicas(s)) {
      const z = zoneOfId.get(id)!;
      seen.set(z, (seen.get(z) ?? 0) + 1);
    }
    if ([...seen.values()].some((c) => c > cap)) bad++;
  }
  return bad;
}
