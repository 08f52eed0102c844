import type { Consistency } from '@meshcache/proto';
import { requiredReplicas } from './consistency.js';
import type { SlotRoute } from './SlotRoute.js';

/** Per target of a round: no answer yet. */
export const WAITING = 0;
/** Per target: answered / acknowledged / holds the version (what the round counts). */
export const COUNTED = 1;
/** Per target: will not count (unreachable, refused, failed, lost). */
export const LOST = 2;

/**
 * What a level needs over some sets of a route's targets: the level in each
 * set, one target counting toward every set it is in. Rounds keep a state per
 * target (WAITING, COUNTED, LOST, indexed like `route.targets`) and ask here
 * whether it meets the level, or can still.
 *
 * Separate from SlotRoute.meets because a read round counts over the read set
 * alone and then over every set, with the same per-target state, and because
 * the rounds call it on every reply: plain loops over precomputed needs, no
 * closures.
 */
export class Quorum {
  private readonly need: number[];

  private constructor(
    /** Per target: a bit per set of `sets` it belongs to. */
    private readonly masks: Uint8Array,
    private readonly sets: readonly (readonly string[])[],
    level: Consistency,
  ) {
    this.need = sets.map((s) => requiredReplicas(level, s.length));
  }

  /** The level in every set of the route (what a write needs). */
  static of(route: SlotRoute, level: Consistency): Quorum {
    return new Quorum(route.membership, route.sets, level);
  }

  /** The level in the route's read set only (targets outside it never count). */
  static ofRead(route: SlotRoute, level: Consistency): Quorum {
    if (!route.dual) return Quorum.of(route, level);
    const masks = new Uint8Array(route.targets.length);
    for (let i = 0; i < masks.length; i++) masks[i] = route.read.includes(route.targets[i]!) ? 1 : 0;
    return new Quorum(masks, [route.read], level);
  }

  /** Whether target `i` counts toward some set of this quorum. */
  includes(i: number): boolean {
    return this.masks[i] !== 0;
  }

  /** Targets in `state` COUNTED toward set `k`. */
  count(state: Uint8Array, k: number): number {
    const bit = 1 << k;
    let n = 0;
    for (let i = 0; i < state.length; i++) if (this.masks[i]! & bit && state[i] === COUNTED) n++;
    return n;
  }

  /** Whether the COUNTED targets meet the level in every set. */
  met(state: Uint8Array): boolean {
    for (let k = 0; k < this.sets.length; k++) if (this.count(state, k) < this.need[k]!) return false;
    return true;
  }

  /** Whether the targets not LOST can still meet the level in every set. */
  possible(state: Uint8Array): boolean {
    for (let k = 0; k < this.sets.length; k++) {
      const bit = 1 << k;
      let n = 0;
      for (let i = 0; i < state.length; i++) if (this.masks[i]! & bit && state[i] !== LOST) n++;
      if (n < this.need[k]!) return false;
    }
    return true;
  }

  /**
   * "2 of the 3 replicas it needs (of 3)" for one set; per set, named by its
   * members, for several (a slot moving between two sets).
   */
  describe(state: Uint8Array): string {
    if (this.sets.length === 1) {
      return `${this.count(state, 0)} of the ${this.need[0]} replicas it needs (of ${this.sets[0]!.length})`;
    }
    return this.sets
      .map(
        (set, k) => `${this.count(state, k)} of the ${this.need[k]} replicas it needs in (${set.join(', ')})`,
      )
      .join(' and ');
  }
}

/**
 * Whether target `i` of a route is outside its read set: a member of the set
 * a pending slot moves to (it may still be filling its copy), or of the set a
 * slot was just cut over from (it stopped holding the slot and answers reads
 * NOT_READY). Either way the read set holds every acknowledged write at the
 * level, so such a member's NOT_READY may count as an answer holding nothing.
 */
export function outsideReadSet(route: SlotRoute, i: number): boolean {
  return route.dual && !route.read.includes(route.targets[i]!);
}

/**
 * The highest epoch STALE_EPOCH refusals named, merged with one more refusal
 * naming `epoch` (0 when it names none). undefined: no refusal yet.
 */
export function mergeStale(stale: number | undefined, epoch: number): number {
  return stale === undefined ? epoch : Math.max(stale, epoch);
}
