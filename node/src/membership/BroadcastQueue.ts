import { gossipSize } from './codec.js';
import type { GossipMessage } from './messages.js';

interface Item {
  readonly key: string;
  readonly message: GossipMessage;
  readonly size: number;
  transmits: number;
  live: boolean;
}

/**
 * Updates waiting to be piggybacked, each sent a limited number of times
 * (least-sent first). A newer update about the same key (member id)
 * replaces the queued one.
 */
export class BroadcastQueue {
  /** buckets[i] holds items sent i times; order inside a bucket does not matter. */
  private readonly buckets: Item[][] = [];
  private readonly byKey = new Map<string, Item>();

  get size(): number {
    return this.byKey.size;
  }

  enqueue(key: string, message: GossipMessage): void {
    const old = this.byKey.get(key);
    if (old) old.live = false;
    const item: Item = { key, message, size: gossipSize(message), transmits: 0, live: true };
    this.byKey.set(key, item);
    (this.buckets[0] ??= []).push(item);
  }

  /**
   * Takes messages whose sizes sum to at most `budget` bytes (each plus one
   * separator byte), counting a transmission for each and dropping those sent
   * `limit` times.
   */
  take(budget: number, limit: number, into: GossipMessage[]): void {
    if (this.byKey.size === 0) return;
    const moved: Item[] = [];
    let remaining = budget;
    for (let t = 0; t < this.buckets.length && remaining > 16; t++) {
      const bucket = this.buckets[t];
      if (!bucket) continue;
      for (let i = bucket.length - 1; i >= 0 && remaining > 16; i--) {
        const item = bucket[i]!;
        if (item.live && item.size + 1 > remaining) continue;
        bucket[i] = bucket[bucket.length - 1]!;
        bucket.pop();
        if (!item.live) continue;
        into.push(item.message);
        remaining -= item.size + 1;
        item.transmits++;
        if (item.transmits >= limit) {
          item.live = false;
          this.byKey.delete(item.key);
        } else {
          moved.push(item);
        }
      }
    }
    for (const item of moved) (this.buckets[item.transmits] ??= []).push(item);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Forgets everything about one key. */
  drop(key: string): void {
    const old = this.byKey.get(key);
    if (old) {
      old.live = false;
      this.byKey.delete(key);
    }
  }
}
