import { SLOT_COUNT } from '../protocol.js';
import type { SlotTable } from './SlotTable.js';
import { SlotTableError } from './SlotTable.js';

/** A run of pending slots with one target replica list, as committed (JSON) and served. */
export interface PendingRangeJson {
  start: number;
  end: number;
  /** The slot's new replica set, primary first. */
  replicas: string[];
  /** Epoch of the view that made these slots pending (transfers fill slots for this epoch). */
  since: number;
}

/**
 * The slots of one replication factor that are moving: for each, the target
 * replica list and the epoch the move became pending. The committed table
 * keeps each slot's last cut-over ("old") set until the cutover; `target` is
 * the full table the placement is heading to (equal to the committed table
 * where nothing is pending). Immutable.
 */
export class PendingMoves {
  readonly count: number;

  constructor(
    readonly target: SlotTable,
    /** Per slot: the epoch it became pending, 0 when it is not. */
    readonly since: Uint32Array,
  ) {
    if (since.length !== SLOT_COUNT) throw new SlotTableError(`expected ${SLOT_COUNT} since epochs`);
    let n = 0;
    for (let s = 0; s < SLOT_COUNT; s++) if (since[s] !== 0) n++;
    this.count = n;
  }

  isPending(slot: number): boolean {
    return this.since[slot] !== 0;
  }

  /** The target replicas of a pending slot (its committed set when it is not pending). */
  targetOf(slot: number): string[] {
    return this.target.replicas(slot);
  }

  /** The pending slots as maximal runs of equal target lists and since epochs. */
  toJSON(): PendingRangeJson[] {
    const out: PendingRangeJson[] = [];
    let s = 0;
    while (s < SLOT_COUNT) {
      if (this.since[s] === 0) {
        s++;
        continue;
      }
      const start = s;
      const since = this.since[s]!;
      while (s + 1 < SLOT_COUNT && this.since[s + 1] === since && sameTarget(this.target, start, s + 1)) s++;
      out.push({ start, end: s, replicas: this.target.replicas(start), since });
      s++;
    }
    return out;
  }
}

function sameTarget(t: SlotTable, a: number, b: number): boolean {
  const n = t.countOf(a);
  if (t.countOf(b) !== n) return false;
  for (let k = 0; k < n; k++) if (t.cell(a, k) !== t.cell(b, k)) return false;
  return true;
}
