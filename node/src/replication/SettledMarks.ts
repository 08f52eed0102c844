import type { SettledMark, UnsettledWrite } from '@meshcache/proto';

/** One write this node stamped, open until every replica holds it (or it is given up as unsettled). */
export interface SettleToken {
  readonly hlc: number;
  open: boolean;
}

/**
 * The coordinator side of settled marks (see SettledTable). Writes are
 * stamped by this node's clock in increasing order, so the open ones form a
 * queue: the mark reaches just below the oldest write still waiting for a
 * replica (in flight, or in a hint). A write given up on (its hint expired
 * or was dropped) is published as unsettled before the mark passes it, and
 * kept for `retainMs` so peers that reconnect hear of it too.
 */
export class SettledMarks {
  private readonly queue: SettleToken[] = [];
  private head = 0;
  private readonly retained: { write: UnsettledWrite; at: number }[] = [];
  private lastSent = -1;

  constructor(
    private readonly node: () => number,
    /** The first version this process may stamp is above it: older versions are not this process's to vouch for. */
    private readonly from: number,
    private readonly current: () => number,
    private readonly retainMs: number,
    private readonly maxRetained: number,
  ) {}

  /** Registers a write just stamped `hlc` (call in the same tick as the stamp). */
  open(hlc: number): SettleToken {
    const token = { hlc, open: true };
    this.queue.push(token);
    return token;
  }

  settle(token: SettleToken): void {
    token.open = false;
  }

  /** Gives a write up: some replica may lack it for good. Returns the record to send before the next mark. */
  abandon(token: SettleToken, write: UnsettledWrite, now: number): UnsettledWrite {
    token.open = false;
    this.retained.push({ write, at: now });
    if (this.retained.length > this.maxRetained) this.retained.shift();
    return write;
  }

  /** Unsettled writes still retained (for a peer whose stream just opened). */
  retainedWrites(now: number): UnsettledWrite[] {
    while (this.retained.length > 0 && now - this.retained[0]!.at > this.retainMs) this.retained.shift();
    return this.retained.map((r) => r.write);
  }

  /** Open writes (metrics). */
  get openCount(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.open) n++;
    return n;
  }

  /** Whether a version this process stamped is covered now: no round still waits on it or anything older. */
  covers(hlc: number): boolean {
    while (this.head < this.queue.length && !this.queue[this.head]!.open) this.head++;
    const upTo = this.head < this.queue.length ? this.queue[this.head]!.hlc - 1 : this.current();
    return hlc > this.from && hlc <= upTo;
  }

  /** The mark now, or undefined when it has not moved since the last call that returned one. */
  next(): SettledMark | undefined {
    while (this.head < this.queue.length && !this.queue[this.head]!.open) this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const upTo = this.head < this.queue.length ? this.queue[this.head]!.hlc - 1 : this.current();
    if (upTo <= this.from || upTo === this.lastSent) return undefined;
    this.lastSent = upTo;
    return { node: this.node(), fromHlc: this.from, upToHlc: upTo };
  }

  /** The current mark whatever was sent (a peer whose stream just opened). */
  latest(): SettledMark | undefined {
    return this.lastSent > this.from
      ? { node: this.node(), fromHlc: this.from, upToHlc: this.lastSent }
      : undefined;
  }
}
