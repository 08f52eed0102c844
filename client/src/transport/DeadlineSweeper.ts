/** Something holding operations with deadlines (a node connection). */
export interface Sweepable {
  /**
   * Fails every operation whose deadline is at or before `nowMs` and returns
   * the earliest deadline still pending (`Infinity` when none is).
   */
  sweep(nowMs: number): number;
}

/** The monotonic clock deadlines are measured on. */
export const monotonicNowMs: () => number = () => performance.now();

/**
 * Enforces every deadline of a client with ONE coarse interval timer instead
 * of a timer per operation. An operation only records its deadline
 * (`track`, a comparison); the interval runs every `resolutionMs` while
 * anything is pending, and scans the sources only once the earliest known
 * deadline has passed. It stops itself when nothing is pending. A call thus
 * fails at most `resolutionMs` (plus event-loop lag) after its deadline.
 */
export class DeadlineSweeper {
  private readonly sources = new Set<Sweepable>();
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  /** A lower bound of the earliest pending deadline. */
  private nextDeadlineAt = Infinity;
  private readonly tickBound = (): void => this.tick();

  constructor(
    readonly resolutionMs: number,
    private readonly now: () => number = monotonicNowMs,
  ) {}

  add(source: Sweepable): void {
    this.sources.add(source);
  }

  remove(source: Sweepable): void {
    this.sources.delete(source);
  }

  /** Notes a new deadline; starts the interval if it is not running. */
  track(deadlineAt: number): void {
    if (deadlineAt < this.nextDeadlineAt) this.nextDeadlineAt = deadlineAt;
    if (this.timer === undefined) this.timer = setInterval(this.tickBound, this.resolutionMs);
  }

  /** Whether the interval is running (for tests and diagnostics). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Sweeps now if a deadline may have passed. */
  tick(): void {
    const now = this.now();
    if (now < this.nextDeadlineAt) return;
    let next = Infinity;
    for (const source of this.sources) {
      const sourceNext = source.sweep(now);
      if (sourceNext < next) next = sourceNext;
    }
    // Deadlines tracked while sweeping (a failed op's caller issuing a new one) are kept.
    if (next < this.nextDeadlineAt || this.nextDeadlineAt <= now) this.nextDeadlineAt = next;
    if (this.nextDeadlineAt === Infinity) this.stop();
  }

  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.nextDeadlineAt = Infinity;
  }
}
