import type { Entry } from './Entry.js';
import { EntryList } from './EntryList.js';
import type { EvictionPolicy } from './EvictionPolicy.js';
import { fnv1a32Latin1 } from './fnv1a.js';
import { GhostQueue } from './GhostQueue.js';

/** Share of the byte budget given to the small (probationary) FIFO. */
export const S3FIFO_SMALL_RATIO = 0.1;
/** Access counters saturate here (2 bits). */
export const S3FIFO_MAX_FREQ = 3;

const SMALL = 1;
const MAIN = 2;

/**
 * S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction",
 * SOSP 2023): three FIFO queues and a 2-bit access counter, no reordering on
 * hits, so a hit costs one field write.
 *
 * - New keys enter the small FIFO (about 10% of the byte budget), unless their
 *   hash is in the ghost FIFO, in which case they enter the main FIFO.
 * - Leaving the small FIFO, an entry read since insertion moves to the main
 *   FIFO; one never read is evicted and its key hash goes to the ghost. This
 *   filters one-hit wonders and scans quickly.
 * - Leaving the main FIFO, an entry read since it last passed the tail is
 *   reinserted at the head with its counter decremented (CLOCK-like);
 *   otherwise it is evicted.
 * - The ghost remembers as many key hashes as the main FIFO holds entries.
 */
export class S3FifoPolicy implements EvictionPolicy {
  readonly name = 's3fifo' as const;
  private readonly small = new EntryList();
  private readonly main = new EntryList();
  private readonly ghost = new GhostQueue();
  private readonly smallTargetBytes: number;

  constructor(maxMemoryBytes: number) {
    this.smallTargetBytes = Math.floor(maxMemoryBytes * S3FIFO_SMALL_RATIO);
  }

  get smallCount(): number {
    return this.small.count;
  }

  get mainCount(): number {
    return this.main.count;
  }

  get smallBytes(): number {
    return this.small.bytes;
  }

  get mainBytes(): number {
    return this.main.bytes;
  }

  /** Off-heap bytes of the ghost table (included in ENTRY_OVERHEAD_BYTES). */
  get ghostMemoryBytes(): number {
    return this.ghost.memoryBytes;
  }

  onInsert(entry: Entry): void {
    entry.freq = 0;
    if (this.ghost.take(fnv1a32Latin1(entry.key), this.main.count)) {
      entry.queue = MAIN;
      this.main.pushHead(entry);
    } else {
      entry.queue = SMALL;
      this.small.pushHead(entry);
    }
  }

  onAccess(entry: Entry): void {
    if (entry.freq < S3FIFO_MAX_FREQ) entry.freq++;
  }

  onRemove(entry: Entry): void {
    if (entry.queue === SMALL) this.small.remove(entry);
    else if (entry.queue === MAIN) this.main.remove(entry);
    else return;
    entry.queue = 0;
  }

  evict(): Entry | undefined {
    const small = this.small;
    const main = this.main;
    while (true) {
      if (small.tail !== null && (small.bytes >= this.smallTargetBytes || main.tail === null)) {
        const e = small.tail;
        small.remove(e);
        if (e.freq > 0) {
          e.freq = 0;
          e.queue = MAIN;
          main.pushHead(e);
          continue;
        }
        this.ghost.add(fnv1a32Latin1(e.key), main.count);
        e.queue = 0;
        return e;
      }
      const e = main.tail;
      if (e === null) return undefined;
      if (e.freq > 0) {
        e.freq--;
        main.moveToHead(e);
        continue;
      }
      main.remove(e);
      e.queue = 0;
      return e;
    }
  }
}
