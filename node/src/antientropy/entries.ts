import { keySlot } from '@meshcache/proto';
import { AntiEntropyWireError, type ByteWriter } from './bytes.js';
import { leftOutAt } from './SlotDigests.js';
import { scanAll, type ReplicaStore, type ScanSource } from './scanSource.js';
import { readEntries, writeEntry } from './wire.js';

/**
 * Appends the entries of the slots in `mask` to `w`: every tombstone, and
 * every value the round's digests counted (values expiring by the cutoff
 * are left out here too: the peer did not count them either, and they are
 * about to go). Budgeted like a digest build. Returns how many were written.
 */
export async function writeSlotEntries(
  w: ByteWriter,
  source: ScanSource,
  mask: Uint8Array,
  cutoffMs: number,
  scanWork: number,
  yieldTurn: () => Promise<void>,
): Promise<number> {
  let n = 0;
  await scanAll(source, mask, scanWork, yieldTurn, (h) => {
    if (leftOutAt(source, h, cutoffMs)) return;
    writeEntry(w, source, h);
    n++;
  });
  return n;
}

/**
 * Applies the entries of `bytes` from `at` to `store` (last writer wins, in
 * the store), refusing the whole message up front if any entry's key is
 * outside `mask`: a peer may only repair the slots the round agreed on.
 * Returns how many entries changed the store.
 */
export function applySlotEntries(
  store: ReplicaStore,
  bytes: Uint8Array,
  at: number,
  mask: Uint8Array,
): number {
  readEntries(bytes, at, (e) => {
    const slot = keySlot(bytes.subarray(e.keyAt, e.keyAt + e.keyLen));
    if (mask[slot] === 0)
      throw new AntiEntropyWireError(`entry of slot ${slot}, outside the slots being repaired`);
  });
  let changed = 0;
  readEntries(bytes, at, (e) => {
    if (
      store.applyAt(
        bytes,
        e.keyAt,
        e.keyLen,
        bytes,
        e.valueAt,
        e.valueLen,
        e.expiresAt,
        e.hlc,
        e.node,
        e.tombstone,
      )
    ) {
      changed++;
    }
  });
  return changed;
}
