import type { PendingMoves, SlotTable } from '@meshcache/proto';
import { SLOT_COUNT } from '@meshcache/proto';

/**
 * The decider's record of which new replicas have filled which pending
 * slots: FILLED reports, keyed by factor and the epoch the move became
 * pending (a report for an older pending epoch says nothing about a move
 * retargeted since). Kept on every node (any node may become the decider;
 * targets repeat their reports until the cutover commits).
 */
export class MoveTracker {
  /** `${rf}:${since}` -> member -> slot mask. */
  private readonly reports = new Map<string, Map<string, Uint8Array>>();
  /** Reports received (metrics). */
  received = 0;

  report(member: string, rf: number, since: number, slots: Uint8Array): void {
    this.received++;
    const key = `${rf}:${since}`;
    let byMember = this.reports.get(key);
    if (byMember === undefined) {
      byMember = new Map();
      this.reports.set(key, byMember);
    }
    let mask = byMember.get(member);
    if (mask === undefined) {
      mask = new Uint8Array(SLOT_COUNT);
      byMember.set(member, mask);
    }
    for (let s = 0; s < SLOT_COUNT; s++) if (slots[s] !== 0) mask[s] = 1;
  }

  /** Whether `member` reported `slot` filled for the move of factor `rf` pending since `since`. */
  filled(member: string, rf: number, since: number, slot: number): boolean {
    return this.reports.get(`${rf}:${since}`)?.get(member)?.[slot] === 1;
  }

  /**
   * Whether every new replica of a pending slot (in the target, not in the
   * committed set) reported it filled. A slot that only loses replicas has
   * none to wait for.
   */
  newcomersFilled(committed: SlotTable, pending: PendingMoves, slot: number): boolean {
    const since = pending.since[slot]!;
    const old = committed.replicas(slot);
    for (const id of pending.targetOf(slot)) {
      if (!old.includes(id) && !this.filled(id, committed.replicationFactor, since, slot)) return false;
    }
    return true;
  }

  /** Forgets every report of a member (its process restarted: what it filled is gone). */
  forget(member: string): void {
    for (const byMember of this.reports.values()) byMember.delete(member);
  }

  /** Forgets reports for moves no longer pending (keeps memory bounded). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.reports.keys()) if (!live.has(key)) this.reports.delete(key);
  }
}
