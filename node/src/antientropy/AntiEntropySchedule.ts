import { jitter, type Random } from '../membership/runtime.js';
import type { AntiEntropyOptions } from './AntiEntropyOptions.js';

/** How a round ended, as the schedule sees it. */
export type RoundOutcome = 'clean' | 'repaired' | 'failed';

/** The schedule's key for rounds of one cache with one peer. */
export function scheduleKey(peer: string, cache: string): string {
  return `${peer}\u0000${cache}`;
}

/**
 * When the next anti-entropy round with a peer (for a cache) runs. Each key
 * has an interval: the minimum at first and after a round that repaired
 * something (replicas that just differed may differ again: a peer that was
 * away, a partition healing), doubled after a clean round up to the maximum,
 * and doubled after a failed one too (a peer that is down or overloaded is
 * not asked again at once). The delay actually used is the interval scaled
 * by a factor drawn from [1 - spread, 1], so nodes that started together
 * drift apart instead of scanning in step, and no delay exceeds the maximum
 * (which validateAntiEntropyOptions keeps below tombstoneGraceMs).
 */
export class AntiEntropySchedule {
  private readonly intervals = new Map<string, number>();

  constructor(
    private readonly options: Pick<
      AntiEntropyOptions,
      'antiEntropyMinIntervalMs' | 'antiEntropyMaxIntervalMs'
    >,
    private readonly random: Random,
    private readonly spread = 0.2,
  ) {}

  /**
   * Delay before the first round of a key: uniform in [0, minimum), so a
   * node's rounds with its peers, and nodes started together, are spread out.
   */
  first(key: string): number {
    this.intervals.set(key, this.options.antiEntropyMinIntervalMs);
    return this.random.next() * this.options.antiEntropyMinIntervalMs;
  }

  /** Records how a round ended; returns the delay before the next one. */
  next(key: string, outcome: RoundOutcome): number {
    const min = this.options.antiEntropyMinIntervalMs;
    const max = this.options.antiEntropyMaxIntervalMs;
    const interval = outcome === 'repaired' ? min : Math.min(max, 2 * this.interval(key));
    this.intervals.set(key, interval);
    return jitter(this.random, interval, this.spread);
  }

  /** The key's interval (before jitter). */
  interval(key: string): number {
    return this.intervals.get(key) ?? this.options.antiEntropyMinIntervalMs;
  }

  /** Drops a key (the peer left, or no longer shares slots of the cache). */
  forget(key: string): void {
    this.intervals.delete(key);
  }
}
