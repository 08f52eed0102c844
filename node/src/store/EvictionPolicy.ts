import type { Entry } from './Entry.js';

/**
 * Decides which entry leaves when a cache is over its byte budget. The store
 * owns the entries and the byte count; a policy only orders them, through the
 * intrusive fields of Entry (prev, next, freq, queue), so onAccess allocates
 * nothing.
 */
export interface EvictionPolicy {
  readonly name: EvictionPolicyName;
  /** A new entry was stored (its `bytes` is set). */
  onInsert(entry: Entry): void;
  /** A stored entry was read. Must not allocate. */
  onAccess(entry: Entry): void;
  /** A stored entry left through delete, expiry or overwrite. */
  onRemove(entry: Entry): void;
  /**
   * Chooses a victim, detaches it from the policy's structures and returns it;
   * undefined when the policy holds no entries.
   */
  evict(): Entry | undefined;
}

export type EvictionPolicyName = 'lru' | 's3fifo';
