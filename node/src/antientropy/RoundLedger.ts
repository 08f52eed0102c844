import { SLOT_COUNT } from '@meshcache/proto';
import type { AntiEntropyStats } from './AntiEntropyStats.js';

/**
 * Which anti-entropy rounds have covered each slot, for the tombstone purge
 * rule: a tombstone may be purged once past its grace AND a round for its
 * slot that started after the tombstone was written has completed with every
 * current replica of the slot. Such a round repaired every slot where the
 * peer differed: the tombstone counted in the digests unless its version was
 * past the round's tombstone horizon, and then an older value of the key on
 * the peer still counted (see SlotDigests). So every replica holds the
 * tombstone, something newer, or nothing of the key, and no older copy can
 * come back from any of them once it is gone.
 *
 * Per cache and peer it keeps, per slot, the latest start time of a round
 * completed with that peer (rounds this node ran, and rounds peers ran with
 * it: each side records its own start). Times are this node's wall clock, as
 * a tombstone's local write time is (its expiresAt minus the grace): compare
 * those, not the tombstone's HLC, which another node's clock stamped.
 */
export class RoundLedger {
  private readonly byCache = new Map<string, Map<string, Float64Array>>();
  /** Per cache and peer: the start of the latest round recorded, and over how many slots (for /v1/info and metrics). */
  private readonly latest = new Map<string, Map<string, { startedAtMs: number; slots: number }>>();

  constructor(
    private readonly selfId: string,
    /** The slot's current replicas (this node among them or not). */
    private readonly replicasOf: (cache: string, slot: number) => readonly string[],
    private readonly stats?: AntiEntropyStats,
  ) {}

  /** A round with `peer` that started at `startedAtMs` completed over the slots of `slots` (a mask). */
  record(cache: string, peer: string, slots: Uint8Array, startedAtMs: number): void {
    let peers = this.byCache.get(cache);
    if (peers === undefined) this.byCache.set(cache, (peers = new Map()));
    let times = peers.get(peer);
    if (times === undefined) peers.set(peer, (times = new Float64Array(SLOT_COUNT).fill(NaN)));
    let n = 0;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (slots[s] === 0) continue;
      n++;
      // Rounds may complete out of order; the latest start is what vouches for the most.
      if (!(times[s]! >= startedAtMs)) times[s] = startedAtMs;
    }
    let last = this.latest.get(cache);
    if (last === undefined) this.latest.set(cache, (last = new Map()));
    const prev = last.get(peer);
    if (prev === undefined || prev.startedAtMs <= startedAtMs) last.set(peer, { startedAtMs, slots: n });
  }

  /** The latest round completed with `peer` for `cache` (either side ran it), or undefined. */
  latestRound(cache: string, peer: string): { startedAtMs: number; slots: number } | undefined {
    return this.latest.get(cache)?.get(peer);
  }

  /** Every (cache, peer) with a completed round, and its latest. */
  *rounds(): IterableIterator<{ cache: string; peer: string; startedAtMs: number; slots: number }> {
    for (const [cache, peers] of this.latest) {
      for (const [peer, r] of peers) yield { cache, peer, ...r };
    }
  }

  /**
   * The start of the latest round that every current replica of the slot
   * (other than this node) has completed with it: a tombstone written before
   * that is held by all of them. Undefined when some replica has none;
   * Infinity when the slot has no other replica.
   */
  coveredSince(cache: string, slot: number): number | undefined {
    const peers = this.byCache.get(cache);
    let since = Infinity;
    for (const r of this.replicasOf(cache, slot)) {
      if (r === this.selfId) continue;
      const t = peers?.get(r)?.[slot];
      if (t === undefined || Number.isNaN(t)) return undefined;
      if (t < since) since = t;
    }
    return since;
  }

  /**
   * Whether rounds allow purging a tombstone of the slot written (locally) at
   * `writtenAtMs`; counts stats.tombstonePurgesBlocked when not. The caller
   * checks the grace itself, and asks only about tombstones past it.
   */
  mayPurge(cache: string, slot: number, writtenAtMs: number): boolean {
    const since = this.coveredSince(cache, slot);
    if (since !== undefined && since > writtenAtMs) return true;
    if (this.stats !== undefined) this.stats.tombstonePurgesBlocked++;
    return false;
  }

  /** Forgets a peer's rounds (it left the cluster; should it come back, it must be covered again). */
  forgetPeer(peer: string): void {
    for (const peers of this.byCache.values()) peers.delete(peer);
    for (const peers of this.latest.values()) peers.delete(peer);
  }
}
