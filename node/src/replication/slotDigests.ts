import { createHash } from 'node:crypto';
import { keySlot } from '@meshcache/proto';
import type { ArenaStore } from '../store/index.js';

/** What `GET /v1/caches/:cache/digests` returns. */
export interface SlotDigests {
  cache: string;
  /** Items (values and tombstones) digested. */
  items: number;
  /** Slot -> hex digest, for slots holding anything. */
  slots: Record<string, string>;
}

/**
 * A digest of each slot's contents on this node: per item, a SHA-1 of its
 * key, version, tombstone flag, expiry and value, folded per slot with XOR
 * (so the order items are visited in does not matter). Replicas that hold
 * identical data give identical digests; tests compare them across nodes,
 * and anti-entropy will compare them to find slots to repair.
 * Walks the whole store synchronously: an admin and test tool, not a hot path.
 */
export function slotDigests(store: ArenaStore, slotFilter?: (slot: number) => boolean): SlotDigests {
  const folded = new Map<number, Buffer>();
  let items = 0;
  const header = Buffer.alloc(8 + 4 + 1 + 8);
  for (const h of store.allItems()) {
    const key = store.keyBuffer(h);
    const slot = keySlot(key);
    if (slotFilter !== undefined && !slotFilter(slot)) continue;
    const tombstone = store.isTombstone(h);
    header.writeDoubleLE(store.hlcOf(h), 0);
    header.writeUInt32LE(store.nodeOf(h) >>> 0, 8);
    header.writeUInt8(tombstone ? 1 : 0, 12);
    header.writeDoubleLE(tombstone ? 0 : store.expiresAtOf(h), 13);
    const hash = createHash('sha1').update(key).update(header);
    if (!tombstone) hash.update(store.valueBuffer(h));
    const digest = hash.digest();
    const acc = folded.get(slot);
    if (acc === undefined) folded.set(slot, digest);
    else for (let i = 0; i < acc.length; i++) acc[i]! ^= digest[i]!;
    items++;
  }
  const slots: Record<string, string> = {};
  for (const [slot, acc] of [...folded].sort((a, b) => a[0] - b[0]))
    slots[String(slot)] = acc.toString('hex');
  return { cache: store.name, items, slots };
}
