/** Limits of hinted handoff (validated with the node's options). */
export interface HintOptions {
  /** Most hints queued for one target; beyond it new hints are dropped (counted). */
  maxHintsPerTarget: number;
  /** Most key + value bytes queued for one target. */
  maxHintBytesPerTarget: number;
  /** A hint older than this is dropped unreplayed (expired); must stay below tombstoneGraceMs. */
  maxHintAgeMs: number;
  /** Hints in flight to one target while replaying (the replay throttle). */
  replayBatch: number;
  /** Key and value bytes in flight to one target while replaying (large values throttle by size). */
  replayBytes: number;
}

/** One write a replica missed, to deliver when it is back. */
export interface Hint {
  cache: string;
  key: Buffer;
  value: Buffer;
  hlc: number;
  node: number;
  expiresAtMs: number;
  tombstone: boolean;
  /** When the hint was queued (ms, monotonic). */
  queuedAt: number;
  /** Queue order, set by HintQueues.add. */
  seq?: number;
  /** Called once: delivered (true) or given up on (false: expired or dropped). */
  done: (delivered: boolean) => void;
}

export interface HintCounters {
  queued: number;
  replayed: number;
  expired: number;
  dropped: number;
}

/** Sends one hint; calls back with whether the target now holds that version or newer. */
export type HintSender = (target: string, hint: Hint, done: (ok: boolean) => void) => void;

/**
 * Hinted handoff: per-target queues of writes a replica missed (it was down,
 * paused or silent), bounded in count and bytes, replayed in order and
 * throttled once the target is ALIVE again. Hints live in memory: a
 * coordinator that dies loses its hints (anti-entropy covers that case).
 */
export class HintQueues {
  readonly counters: HintCounters = { queued: 0, replayed: 0, expired: 0, dropped: 0 };
  private readonly queues = new Map<
    string,
    { hints: (Hint & { seq: number })[]; bytes: number; inFlight: number; inFlightBytes: number }
  >();
  private nextSeq = 0;

  constructor(
    private readonly o: HintOptions,
    private readonly send: HintSender,
    private readonly now: () => number,
  ) {}

  /** Queues a hint, or drops it (done(false)) when the target's queue is full. */
  add(target: string, hint: Hint): void {
    let q = this.queues.get(target);
    if (q === undefined)
      this.queues.set(target, (q = { hints: [], bytes: 0, inFlight: 0, inFlightBytes: 0 }));
    const bytes = hint.key.length + hint.value.length;
    if (q.hints.length >= this.o.maxHintsPerTarget || q.bytes + bytes > this.o.maxHintBytesPerTarget) {
      this.counters.dropped++;
      hint.done(false);
      return;
    }
    hint.seq = this.nextSeq++;
    q.hints.push(hint as Hint & { seq: number });
    q.bytes += bytes;
    this.counters.queued++;
  }

  /** Hints waiting, over all targets. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.hints.length;
    return n;
  }

  /** Visits every queued hint (not those in flight) with its target; the visitor must not add or remove hints. */
  forEachQueued(visit: (target: string, hint: Hint) => void): void {
    for (const [target, q] of this.queues) for (const h of q.hints) visit(target, h);
  }

  pendingFor(target: string): number {
    return this.queues.get(target)?.hints.length ?? 0;
  }

  /**
   * One replay step: expires old hints, then sends up to `replayBatch` per
   * target that `canReplay` says is back. Called on a timer.
   */
  tick(canReplay: (target: string) => boolean): void {
    const now = this.now();
    for (const [target, q] of this.queues) {
      while (q.hints.length > 0 && now - q.hints[0]!.queuedAt > this.o.maxHintAgeMs) {
        const h = q.hints.shift()!;
        q.bytes -= h.key.length + h.value.length;
        this.counters.expired++;
        h.done(false);
      }
      if (q.hints.length === 0 && q.inFlight === 0) {
        this.queues.delete(target);
        continue;
      }
      if (!canReplay(target)) continue;
      // One failure ends this target's replay until the next tick (a send that
      // fails at once would otherwise be retried in a tight loop).
      let failed = false;
      while (!failed && q.inFlight < this.o.replayBatch && q.hints.length > 0) {
        const size = q.hints[0]!.key.length + q.hints[0]!.value.length;
        // One hint always goes, however large; more only within the byte budget.
        if (q.inFlight > 0 && q.inFlightBytes + size > this.o.replayBytes) break;
        const h = q.hints.shift()!;
        q.bytes -= size;
        q.inFlight++;
        q.inFlightBytes += size;
        this.send(target, h, (ok) => {
          q.inFlight--;
          q.inFlightBytes -= size;
          if (ok) {
            this.counters.replayed++;
            h.done(true);
          } else if (this.now() - h.queuedAt > this.o.maxHintAgeMs) {
            this.counters.expired++;
            h.done(false);
          } else {
            // Not delivered: back in its place (queue order is age order), tried on a later tick.
            failed = true;
            let at = 0;
            while (at < q.hints.length && q.hints[at]!.seq < h.seq) at++;
            q.hints.splice(at, 0, h);
            q.bytes += h.key.length + h.value.length;
          }
        });
      }
    }
  }
}
