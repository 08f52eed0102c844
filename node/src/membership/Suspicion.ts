import type { Scheduler, Timer } from './runtime.js';

/**
 * A Lifeguard suspicion timer: it starts at `maxMs` and shrinks toward `minMs`
 * as independent members confirm the suspicion, by
 * max - (max - min) * log(c + 1) / log(k + 1) after c of k confirmations.
 */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  private readonly startedAt: number;
  private timer: Timer;
  private done = false;

  constructor(
    private readonly scheduler: Scheduler,
    /** The member whose suspicion started this one; it does not count as a confirmation. */
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly fire: () => void,
  ) {
    this.confirmers.add(from);
    this.startedAt = scheduler.now();
    this.timer = scheduler.schedule(this.timeout(), () => this.expire());
  }

  get confirmations(): number {
    return this.confirmers.size - 1;
  }

  timeout(): number {
    if (this.k < 1) return this.minMs;
    const c = Math.min(this.confirmations, this.k);
    const frac = Math.log(c + 1) / Math.log(this.k + 1);
    return Math.max(this.minMs, Math.floor(this.maxMs - frac * (this.maxMs - this.minMs)));
  }

  /** Records an independent confirmation; true if it was new (and should be passed on). */
  confirm(from: string): boolean {
    if (this.done || this.confirmations >= this.k || this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.timer.cancel();
    const remaining = this.timeout() - (this.scheduler.now() - this.startedAt);
    this.timer = this.scheduler.schedule(Math.max(0, remaining), () => this.expire());
    return true;
  }

  /** Re-arms the expiry `delayMs` from now (the owner was frozen and wants to hear refutations first). */
  defer(delayMs: number): void {
    if (this.done) return;
    this.timer.cancel();
    this.timer = this.scheduler.schedule(delayMs, () => this.expire());
  }

  cancel(): void {
    this.done = true;
    this.timer.cancel();
  }

  private expire(): void {
    if (this.done) return;
    this.fire();
  }
}
