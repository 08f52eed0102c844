import type { Entry } from './Entry.js';

/**
 * An intrusive doubly-linked list of entries through Entry.prev/next, newest
 * at the head, oldest at the tail, with its entry count and byte total. An
 * entry is in at most one list at a time; the owner tags it with Entry.queue.
 */
export class EntryList {
  head: Entry | null = null;
  tail: Entry | null = null;
  count = 0;
  bytes = 0;

  pushHead(entry: Entry): void {
    entry.prev = null;
    entry.next = this.head;
    if (this.head === null) this.tail = entry;
    else this.head.prev = entry;
    this.head = entry;
    this.count++;
    this.bytes += entry.bytes;
  }

  remove(entry: Entry): void {
    const prev = entry.prev;
    const next = entry.next;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    entry.prev = null;
    entry.next = null;
    this.count--;
    this.bytes -= entry.bytes;
  }

  /** Moves an entry of this list to the head. */
  moveToHead(entry: Entry): void {
    const prev = entry.prev;
    if (prev === null) return; // already the head
    const next = entry.next;
    prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    entry.prev = null;
    entry.next = this.head;
    this.head!.prev = entry;
    this.head = entry;
  }

  clear(): void {
    this.head = null;
    this.tail = null;
    this.count = 0;
    this.bytes = 0;
  }

  *[Symbol.iterator](): IterableIterator<Entry> {
    for (let e = this.head; e !== null; e = e.next) yield e;
  }
}
