/**
 * What anti-entropy reads from and writes to a cache's store. ArenaStore
 * satisfies these interfaces as it is, so a node passes its stores in
 * directly; tests also pass a Map-based fake.
 */
import { SCAN_DONE } from '../store/index.js';

export { SCAN_DONE };

/** How an item's fields are read, by handle (valid until the store's next mutation). */
export interface ItemReader {
  /** Version: HLC timestamp of the write. */
  hlcOf(h: number): number;
  /** Version tie-break: the writer's node tag (uint32). */
  nodeOf(h: number): number;
  /** Epoch ms after which a value is gone (0 = never); a tombstone's is its local purge time. */
  expiresAtOf(h: number): number;
  isTombstone(h: number): boolean;
  keyLength(h: number): number;
  valueLength(h: number): number;
  /**
   * The array holding the item's bytes: the value is valueLength(h) bytes from
   * valueOffset(h) and the key the keyLength(h) bytes just before it (the
   * arena's item layout, and its large items' own buffers: key then value).
   * Reading the key from there copies nothing; ArenaStore.keyBuffer would
   * allocate per item.
   */
  valueSource(h: number): Uint8Array;
  valueOffset(h: number): number;
}

export interface ScanSource extends ItemReader {
  /**
   * Visits every item (values and tombstones, expired or not) whose unsigned
   * 32-bit key hash is in [cursor, next) and whose slot is included by `slots`
   * (a SLOT_COUNT-byte mask, non-zero = included; undefined = all), examining
   * about `maxWork` positions; returns next, or SCAN_DONE after the last. An
   * item present for a whole scan is visited exactly once (it keeps its hash);
   * one written or removed between calls may or may not be. Exactly once
   * matters: slot digests are XOR folds, and a second visit would cancel the
   * first.
   */
  scan(
    cursor: number,
    maxWork: number,
    slots: Uint8Array | undefined,
    visit: (h: number, slot: number) => void,
  ): number;
}

/** A store that takes copies of writes with their versions (last writer wins), as ArenaStore.applyAt. */
export interface ReplicaStore extends ScanSource {
  /** Applies the copy if it beats what the store holds for the key; returns whether the store changed. */
  applyAt(
    key: Uint8Array,
    keyOffset: number,
    keyLen: number,
    value: Uint8Array,
    valueOffset: number,
    valueLen: number,
    expiresAt: number,
    hlc: number,
    node: number,
    tombstone: boolean,
  ): boolean;
}

/**
 * Runs a whole scan of `source`, `maxWork` positions per step, awaiting
 * `yieldTurn` between steps so other work (client requests) runs meanwhile.
 * The store may change between steps; see ScanSource.scan for what a visit
 * then guarantees.
 */
export async function scanAll(
  source: ScanSource,
  slots: Uint8Array | undefined,
  maxWork: number,
  yieldTurn: () => Promise<void>,
  visit: (h: number, slot: number) => void,
): Promise<void> {
  let cursor = 0;
  while (true) {
    const next = source.scan(cursor, maxWork, slots, visit);
    if (next >= SCAN_DONE) return;
    // A scan that does not move would loop forever: a broken source, not a slow one.
    if (!(next > cursor)) throw new Error(`scan made no progress (cursor ${cursor}, next ${next})`);
    cursor = next;
    await yieldTurn();
  }
}
