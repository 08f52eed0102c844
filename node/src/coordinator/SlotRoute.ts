import { Consistency } from '@meshcache/proto';
import { requiredReplicas } from './consistency.js';

/**
 * Where one slot's operations go, as of the node's committed view:
 * - `read`: the committed (last cut-over) set, primary first. Reads, and the
 *   version and read rounds before a write, use it.
 * - `sets`: the sets a write needs its level in. One set normally; two
 *   (old, then new) while the slot moves, and after a cutover until every
 *   live member holds the cutover's epoch. One replica's ack counts toward
 *   every set it is in.
 * - `targets`: every replica a write goes to (the union of `sets`, in order
 *   of first appearance).
 * Immutable; ReplicaSets caches one per slot until its inputs change.
 */
export class SlotRoute {
  readonly targets: readonly string[];
  /** Per target: a bit per set it belongs to. */
  readonly membership: Uint8Array;
  readonly dual: boolean;

  constructor(
    readonly read: readonly string[],
    readonly sets: readonly (readonly string[])[],
  ) {
    const targets: string[] = [];
    for (const set of sets) for (const id of set) if (!targets.includes(id)) targets.push(id);
    this.targets = targets;
    this.membership = new Uint8Array(targets.length);
    sets.forEach((set, k) => {
      for (const id of set) this.membership[targets.indexOf(id)]! |= 1 << k;
    });
    this.dual = sets.length > 1;
  }

  /** Acks a level needs in each set. */
  required(level: Consistency): number[] {
    return this.sets.map((s) => requiredReplicas(level, s.length));
  }

  /**
   * Whether acks from the targets flagged in `acked` (by index into
   * `targets`) meet the level in every set.
   */
  meets(level: Consistency, acked: (i: number) => boolean): boolean {
    for (let k = 0; k < this.sets.length; k++) {
      let n = 0;
      for (let i = 0; i < this.targets.length; i++) if (this.membership[i]! & (1 << k) && acked(i)) n++;
      if (n < requiredReplicas(level, this.sets[k]!.length)) return false;
    }
    return true;
  }

  /** Whether the targets not flagged in `lost` can still meet the level in every set. */
  reachableLevel(level: Consistency, lost: (i: number) => boolean): boolean {
    return this.meets(level, (i) => !lost(i));
  }
}
