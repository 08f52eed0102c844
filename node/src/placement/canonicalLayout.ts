import { SlotTable } from '@meshcache/proto';
import { SLOT_COUNT } from '@meshcache/proto';
import type { PlacementMember } from './computePlacement.js';

const S = SLOT_COUNT;

/**
 * The ring the canonical layout uses: members in a circular order where any
 * `width` consecutive ones hold at most `zoneCap` of one zone (so replicas
 * land in distinct zones when there are enough). Greedy: each next place
 * goes to the zone with the most members left that the last width-1 places
 * allow (ties: lower zone), taking its lowest id. Undefined when the order
 * it finds breaks the rule across the wrap (unbalanced zones).
 */
export function ringOrder(
  members: readonly PlacementMember[],
  width: number,
  zoneCap: number,
): number[] | undefined {
  const zones = [...new Set(members.map((m) => m.zone))].sort();
  const queues = zones.map((z) => members.map((m, i) => (m.zone === z ? i : -1)).filter((i) => i >= 0));
  const zoneOf = members.map((m) => zones.indexOf(m.zone));
  const order: number[] = [];
  const recent = new Array<number>(zones.length).fill(0);
  for (let step = 0; step < members.length; step++) {
    let pick = -1;
    for (let z = 0; z < zones.length; z++) {
      if (queues[z]!.length === 0 || recent[z]! >= zoneCap) continue;
      if (pick < 0 || queues[z]!.length > queues[pick]!.length) pick = z;
    }
    if (pick < 0) return undefined;
    const m = queues[pick]!.shift()!;
    order.push(m);
    recent[pick]!++;
    if (order.length >= width) recent[zoneOf[order[order.length - width]!]!]!--;
  }
  // Check every window, the wrap included.
  const n = order.length;
  for (let i = 0; i < n; i++) {
    const count = new Map<number, number>();
    for (let k = 0; k < Math.min(width, n); k++) {
      const z = zoneOf[order[(i + k) % n]!]!;
      count.set(z, (count.get(z) ?? 0) + 1);
      if (count.get(z)! > zoneCap) return undefined;
    }
  }
  return order;
}

/**
 * The canonical table: the ring cut into equal runs, one per member; run i's
 * replicas are the ring's members i, i-1, ..., i-width+1, so each member is
 * primary of one run and holds `width` consecutive runs: one range (two
 * for the first width-1 members, across the wrap), exactly balanced. Used
 * for a table made from nothing, and whenever a change moves so much that
 * starting over costs no more.
 */
export function canonicalTable(
  members: readonly PlacementMember[],
  order: readonly number[],
  replicationFactor: number,
  width: number,
  rotation = 0,
): SlotTable {
  const n = order.length;
  const cells = new Uint16Array(S * width);
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * S) / n);
    const to = Math.floor(((i + 1) * S) / n);
    for (let s = from; s < to; s++) {
      for (let k = 0; k < width; k++) cells[s * width + k] = order[(i + rotation - k + 2 * n) % n]!;
    }
  }
  return new SlotTable(
    replicationFactor,
    members.map((m) => m.id),
    width,
    cells,
  );
}
