/**
 * One cached entry. Keys and values are latin1 strings (one char per byte):
 * V8 keeps them as one-byte sequential strings, far more compact than a Buffer
 * per entry (no ArrayBuffer and backing store each), and a string never retains
 * the network buffer it was decoded from.
 *
 * Every field is assigned in the constructor, in the same order, with values of
 * its final type, so all entries share one hidden class and the hot paths that
 * read them stay monomorphic.
 */
export class Entry {
  /** Key bytes as a latin1 string. */
  readonly key: string;
  /** Value bytes as a latin1 string. */
  readonly value: string;
  /** Epoch ms after which the entry is gone; 0 = never expires. */
  expiresAt: number;
  /** Version: hybrid logical clock timestamp of the write. */
  readonly hlc: number;
  /** Version tie-break: the writer's node tag. */
  readonly node: number;
  /** Accounted size: key + value + ENTRY_OVERHEAD_BYTES. */
  readonly bytes: number;

  // Eviction policy bookkeeping (intrusive, so policies allocate nothing).
  /** Previous entry in the policy's list (towards the head), or null. */
  prev: Entry | null;
  /** Next entry in the policy's list (towards the tail), or null. */
  next: Entry | null;
  /** Access frequency counter (S3-FIFO: 0..3). */
  freq: number;
  /** Which policy queue holds the entry; 0 = none. */
  queue: number;
  /** Position in the store's array of entries with a TTL; -1 exactly when expiresAt is 0 (while stored). */
  ttlIndex: number;

  constructor(key: string, value: string, expiresAt: number, hlc: number, node: number, bytes: number) {
    this.key = key;
    this.value = value;
    this.expiresAt = expiresAt;
    this.hlc = hlc;
    this.node = node;
    this.bytes = bytes;
    this.prev = null;
    this.next = null;
    this.freq = 0;
    this.queue = 0;
    this.ttlIndex = -1;
  }
}
