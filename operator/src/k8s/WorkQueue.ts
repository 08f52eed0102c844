/**
 * A keyed work queue as controllers use: a key waits at most once; a key is
 * never processed by two workers at once (if it is added while in progress,
 * it runs again afterwards); delayed adds (requeue-after) keep the earliest
 * time; failures back off exponentially per key, with jitter, capped.
 */
export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: WorkQueueOptions = {}) {}

  get depth(): number {
    return this.ready.length;
  }

  get busy(): number {
    return this.active.size;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.waiters.shift()?.();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Requeue after a failure, backing off per key. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.options.baseDelayMs ?? 200;
    const max = this.options.maxDelayMs ?? 60_000;
    const exp = Math.min(max, base * 2 ** (n - 1));
    const delay = Math.round(exp / 2 + (this.options.random ?? Math.random)() * (exp / 2));
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Next key to work on, or undefined once closed and drained. */
  async take(): Promise<string | undefined> {
    while (this.ready.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.ready.shift()!;
    this.queued.delete(key);
    this.active.add(key);
    return key;
  }

  done(key: string): void {
    this.active.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops taking new keys; waiting takers get undefined. */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.ready.length = 0;
    this.queued.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
