import { ErrorCode } from '@meshcache/proto';

/**
 * Keeps a node from coordinating writes with a clock that could reorder them:
 * - at start, until its clock has moved above every version its peers
 *   reported in their hellos (or `maxClockSkewMs` has passed, the most any
 *   peer's clock may be ahead);
 * - while its wall clock is more than `maxClockSkewMs` from the median of its
 *   peers' (each reply frame carries the sender's wall clock), so a node
 *   whose clock jumped stops stamping versions until it is back in bound.
 * Offsets are measured on frames over one network hop: a frame's stamp
 * against the time it arrives. Delivery delay (a stalled event loop, a busy
 * machine) only ever makes the sender look behind, so each peer's offset is
 * the largest sample of the last few seconds: the least delayed frame.
 */
/** Offset samples are kept in buckets of this length ... */
const BUCKET_MS = 1000;
/** ... this many of them (the estimate covers the last few seconds). */
const BUCKETS = 5;

/** One peer's recent offset samples: the largest per bucket. */
class OffsetWindow {
  private readonly maxima = new Float64Array(BUCKETS).fill(-Infinity);
  private readonly stamps = new Float64Array(BUCKETS).fill(-1);

  add(offsetMs: number, now: number): void {
    const bucket = Math.floor(now / BUCKET_MS);
    const i = bucket % BUCKETS;
    if (this.stamps[i] !== bucket) {
      this.stamps[i] = bucket;
      this.maxima[i] = offsetMs;
    } else if (offsetMs > this.maxima[i]!) {
      this.maxima[i] = offsetMs;
    }
  }

  /** The offset estimate, or undefined with no sample in the window (no evidence either way). */
  estimate(now: number): number | undefined {
    const bucket = Math.floor(now / BUCKET_MS);
    let best = -Infinity;
    for (let i = 0; i < BUCKETS; i++) {
      if (bucket - this.stamps[i]! < BUCKETS && this.maxima[i]! > best) best = this.maxima[i]!;
    }
    return best === -Infinity ? undefined : best;
  }
}

export class ClockGuard {
  private readonly offsets = new Map<string, OffsetWindow>();
  private readonly startedAt: number;
  private warmedUp = false;
  private outOfBound = false;
  /** Largest absolute offset seen to any peer, ms (metrics). */
  maxAbsOffsetMs = 0;

  constructor(
    private readonly maxClockSkewMs: number,
    private readonly monotonic: () => number,
    private readonly onChange: (outOfBound: boolean, medianOffsetMs: number) => void,
  ) {
    this.startedAt = monotonic();
  }

  /** Every peer this node expects a hello from has answered: its clock is above theirs. */
  helloComplete(): void {
    this.warmedUp = true;
    this.warm?.resolve();
  }

  private warm: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * Undefined once warmed up; else a promise that settles when the hellos are
   * in or maxClockSkewMs has passed since start, whichever comes first (a
   * write waits for it rather than being refused).
   */
  whenWarm(): Promise<void> | undefined {
    if (this.warmedUp) return undefined;
    const left = this.maxClockSkewMs - (this.monotonic() - this.startedAt);
    if (left <= 0) {
      this.warmedUp = true;
      return undefined;
    }
    if (this.warm === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.warm = { promise, resolve };
      setTimeout(() => {
        this.warmedUp = true;
        resolve();
      }, left).unref();
    }
    return this.warm.promise;
  }

  observe(peerId: string, peerWallMs: number, localWallMs: number): void {
    let window = this.offsets.get(peerId);
    if (window === undefined) this.offsets.set(peerId, (window = new OffsetWindow()));
    const now = this.monotonic();
    window.add(peerWallMs - localWallMs, now);
    this.reassess();
  }

  private reassess(): void {
    const now = this.monotonic();
    let max = 0;
    for (const w of this.offsets.values()) max = Math.max(max, Math.abs(w.estimate(now) ?? 0));
    this.maxAbsOffsetMs = max;
    const median = this.medianOffsetMs();
    const out = Math.abs(median) > this.maxClockSkewMs;
    if (out !== this.outOfBound) {
      this.outOfBound = out;
      this.onChange(out, median);
    }
  }

  /** A peer left the view: its offset no longer counts. */
  forget(peerId: string): void {
    if (this.offsets.delete(peerId)) this.reassess();
  }

  /** Peers with an offset on record. */
  peers(): string[] {
    return [...this.offsets.keys()];
  }

  /**
   * Median of the peers' clocks minus ours, ms; with an even number of peers
   * this node counts too, as 0, so the median is one real clock: in three
   * nodes with one clock 2 s off, the two good nodes see {0, 0, 2000} (median
   * 0, in bound) and the bad one {-2000, -2000, 0} (out), so only the odd one
   * out stops writing. With one peer there is no telling who is off: both stop.
   */
  medianOffsetMs(): number {
    const now = this.monotonic();
    const values = [...this.offsets.values()]
      .map((w) => w.estimate(now))
      .filter((v): v is number => v !== undefined);
    if (values.length === 0) return 0;
    if (values.length % 2 === 0) values.push(0);
    values.sort((a, b) => a - b);
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  }

  /** Why writes must not be coordinated now, or undefined. */
  blocker(): { code: ErrorCode; message: string } | undefined {
    if (!this.warmedUp && this.monotonic() - this.startedAt < this.maxClockSkewMs) {
      return { code: ErrorCode.NOT_READY, message: 'node is starting: its clock is not yet above its peers' };
    }
    if (this.outOfBound) {
      return {
        code: ErrorCode.CLOCK_SKEW,
        message: `this node's clock is ${Math.round(this.medianOffsetMs())} ms from its peers'; the limit is ${this.maxClockSkewMs} (maxClockSkewMs)`,
      };
    }
    return undefined;
  }
}
