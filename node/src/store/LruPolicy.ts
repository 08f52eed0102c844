import type { Entry } from './Entry.js';
import { EntryList } from './EntryList.js';
import type { EvictionPolicy } from './EvictionPolicy.js';

const IN_LIST = 1;

/**
 * Least recently used: one intrusive doubly-linked list, most recently used at
 * the head, victims from the tail. Every operation is O(1) and allocates nothing.
 */
export class LruPolicy implements EvictionPolicy {
  readonly name = 'lru' as const;
  private readonly list = new EntryList();

  get size(): number {
    return this.list.count;
  }

  onInsert(entry: Entry): void {
    entry.queue = IN_LIST;
    this.list.pushHead(entry);
  }

  onAccess(entry: Entry): void {
    if (entry.queue === IN_LIST) this.list.moveToHead(entry);
  }

  onRemove(entry: Entry): void {
    if (entry.queue !== IN_LIST) return;
    this.list.remove(entry);
    entry.queue = 0;
  }

  evict(): Entry | undefined {
    const victim = this.list.tail;
    if (victim === null) return undefined;
    this.list.remove(victim);
    victim.queue = 0;
    return victim;
  }

  /** Entries from most to least recently used (tests and debugging). */
  order(): IterableIterator<Entry> {
    return this.list[Symbol.iterator]();
  }
}
