/**
 * Bytes per second for transfers: a bucket holding at most one second of
 * budget. `take` returns how long to wait before sending `bytes` (0 when the
 * budget covers them now) and charges them either way, so the average rate
 * holds however large each batch is. Time is injected for tests.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Total ms callers were told to wait (the throttle-waits metric). */
  waitedMs = 0;
  waits = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly now: () => number,
  ) {
    this.tokens = bytesPerSecond;
    this.last = now();
  }

  take(bytes: number): number {
    if (!Number.isFinite(this.bytesPerSecond) || this.bytesPerSecond <= 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((t - this.last) * this.bytesPerSecond) / 1000);
    this.last = t;
    this.tokens -= bytes;
    if (this.tokens >= 0) return 0;
    const wait = (-this.tokens * 1000) / this.bytesPerSecond;
    this.waitedMs += wait;
    this.waits++;
    return wait;
  }
}
