/**
 * Per-slot digests of a store's contents, for anti-entropy to find the slots
 * where two replicas differ.
 *
 * An item's digest is a 128-bit hash (hash128.ts: Murmur3 x86_128's mix) of
 * its version (hlc, node tag), tombstone flag, expiry, key and value; a
 * slot's digest is the XOR of its items' digests, so the order items are
 * visited in does not matter and a build can follow the store's hash order.
 *
 * Why not a cryptographic hash (the admin tool's SHA-1, slotDigests.ts):
 * a round digests every item of a cache (about a million per node) on the
 * event loop that serves clients. node:crypto costs a native call, a Hash
 * object and copies of key and value per item: over 1M items (14-byte keys,
 * 100-byte values) SHA-1 folded per slot ran 8-14x slower than this hash in
 * the same runs (0.1-0.4 against 0.8-2.2 M items/s, on a shared 2-core
 * machine); a whole build through ArenaStore.scan, slots computed included,
 * ran at 1.3-1.7 M items/s, about 1.2 ms per 4096-position step. Collision
 * resistance against an adversary buys nothing here: a client that wants a
 * key to differ between replicas can simply write it, and a missed repair
 * lasts only until the next write or round. Accidental collisions (2^-128
 * per slot) are made independent between rounds by a seed the round's
 * initiator draws.
 *
 * What counts:
 * - values alive past the round's cutoff: a value whose expiresAt is
 *   non-zero and <= cutoffMs is left out, so replicas whose copies of an
 *   item expire (and get collected) at slightly different moments agree;
 * - every tombstone whose version is newer than the round's tombstone
 *   horizon (its start less tombstoneGraceMs), with its expiry digested as
 *   0: a tombstone's expiresAt is its local purge time, which differs
 *   between replicas.
 *
 * Why tombstones past the horizon are left out: each replica purges a
 * tombstone on its own schedule (a grace from when IT received it, then
 * settled or covered), so for a while one replica holds it and another does
 * not. Were it counted, a round in that window would copy it back to the
 * replica that purged it, with a fresh grace there, and the two could pass
 * it back and forth for good (measured: a pinned tombstone on two replicas
 * was pushed to the third every grace). No replica purges a tombstone
 * before a grace past its version, so until the horizon passes it, every
 * replica that received it still holds it, and a difference is real. Past
 * it, leaving it out loses no repair: a replica holding an OLDER value of
 * the key still counts that value, so the slot differs and the repair
 * (whose entries carry every tombstone, entries.ts) gives it the tombstone;
 * a replica holding nothing needs nothing.
 */
import { SLOT_COUNT } from '@meshcache/proto';
import { makeHlc } from '../store/HybridLogicalClock.js';
import { blocksOf, hashBytes, hashFinish, hashReset, hashWords } from './hash128.js';
import { scanAll, type ItemReader, type ScanSource } from './scanSource.js';

export const DIGEST_BYTES = 16;
const WORDS = 4;

const f64 = new Float64Array(1);
const f64Words = new Int32Array(f64.buffer);

/** A seed: four 32-bit words (both replicas of a round must use the same). */
export type DigestSeed = Int32Array;

export const ZERO_SEED: DigestSeed = new Int32Array(WORDS);

/**
 * The digest of one item given by its fields, into `out[at..at+3]` (XORed
 * into what is there when `xor`). A tombstone's value and expiry are ignored.
 */
export function digestFields(
  seed: DigestSeed,
  key: Uint8Array,
  keyOffset: number,
  keyLen: number,
  value: Uint8Array,
  valueOffset: number,
  valueLen: number,
  hlc: number,
  node: number,
  tombstone: boolean,
  expiresAt: number,
  out: Int32Array,
  at: number,
  xor: boolean,
): void {
  if (tombstone) {
    valueLen = 0;
    expiresAt = 0;
  }
  hashReset(seed[0]!, seed[1]!, seed[2]!, seed[3]!);
  f64[0] = hlc;
  const hlcLo = f64Words[0]!;
  const hlcHi = f64Words[1]!;
  f64[0] = expiresAt;
  hashWords(hlcLo, hlcHi, node | 0, tombstone ? 1 : 0);
  hashWords(f64Words[0]!, f64Words[1]!, keyLen, valueLen);
  hashBytes(key, keyOffset, keyLen);
  if (valueLen > 0) hashBytes(value, valueOffset, valueLen);
  hashFinish(2 + blocksOf(keyLen) + blocksOf(valueLen), out, at, xor);
}

/** digestFields for the item `h` of a store. */
export function digestItem(
  seed: DigestSeed,
  src: ItemReader,
  h: number,
  out: Int32Array,
  at: number,
  xor: boolean,
): void {
  const bytes = src.valueSource(h);
  const valueOffset = src.valueOffset(h);
  const keyLen = src.keyLength(h);
  digestFields(
    seed,
    bytes,
    valueOffset - keyLen,
    keyLen,
    bytes,
    valueOffset,
    src.valueLength(h),
    src.hlcOf(h),
    src.nodeOf(h),
    src.isTombstone(h),
    src.expiresAtOf(h),
    out,
    at,
    xor,
  );
}

/**
 * Whether a round with this cutoff leaves the item out of its digests: a
 * value expiring by then, or a tombstone whose version is older than
 * `horizonHlc` (0: none is; what entries use, which carry every tombstone).
 */
export function leftOutAt(src: ItemReader, h: number, cutoffMs: number, horizonHlc = 0): boolean {
  if (src.isTombstone(h)) return src.hlcOf(h) < horizonHlc;
  const expiresAt = src.expiresAtOf(h);
  return expiresAt !== 0 && expiresAt <= cutoffMs;
}

/** The HLC below which tombstones are left out, for a horizon in epoch ms (0 or less: none). */
export function horizonHlcOf(tombstoneHorizonMs: number): number {
  return tombstoneHorizonMs > 0 ? makeHlc(Math.floor(tombstoneHorizonMs), 0) : 0;
}

/**
 * The XOR-folded digests of every slot, filled item by item (add) as a scan
 * visits them; a slot with nothing in it has digest 0.
 */
export class SlotDigests {
  /** Slot s's digest is words[4s .. 4s+3]. */
  readonly words = new Int32Array(SLOT_COUNT * WORDS);
  /** The same memory as bytes (little-endian words), for the wire. */
  readonly bytes = new Uint8Array(this.words.buffer);
  /** Items digested. */
  items = 0;
  /** Values left out because they expire by the cutoff, and tombstones past the horizon. */
  leftOut = 0;
  private readonly horizonHlc: number;
  /** add as a scan visitor (bound once, so a scan step allocates nothing). */
  readonly visit = (h: number, slot: number): void => this.add(h, slot);
  private src: ItemReader | undefined;

  constructor(
    readonly cutoffMs: number,
    readonly seed: DigestSeed = ZERO_SEED,
    /** Tombstones whose version is older than this (epoch ms) are left out; 0 = none. */
    readonly tombstoneHorizonMs = 0,
  ) {
    this.horizonHlc = horizonHlcOf(tombstoneHorizonMs);
  }

  /** Where visit reads items from. */
  readFrom(src: ItemReader): this {
    this.src = src;
    return this;
  }

  /** Folds item `h` of the source (readFrom) into `slot`'s digest, unless the cutoff leaves it out. */
  add(h: number, slot: number): void {
    const src = this.src!;
    if (leftOutAt(src, h, this.cutoffMs, this.horizonHlc)) {
      this.leftOut++;
      return;
    }
    digestItem(this.seed, src, h, this.words, slot * WORDS, true);
    this.items++;
  }

  /** The same for an item given by its fields. */
  addFields(
    slot: number,
    key: Uint8Array,
    value: Uint8Array,
    hlc: number,
    node: number,
    tombstone: boolean,
    expiresAt: number,
  ): void {
    if (tombstone ? hlc < this.horizonHlc : expiresAt !== 0 && expiresAt <= this.cutoffMs) {
      this.leftOut++;
      return;
    }
    digestFields(
      this.seed,
      key,
      0,
      key.length,
      value,
      0,
      value.length,
      hlc,
      node,
      tombstone,
      expiresAt,
      this.words,
      slot * WORDS,
      true,
    );
    this.items++;
  }

  /** Slot's digest (a view, 16 bytes). */
  slot(slot: number): Uint8Array {
    return this.bytes.subarray(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES);
  }

  /** Whether the slot's digest is `other[at .. at+15]`. */
  slotIs(slot: number, other: Uint8Array, at: number): boolean {
    const b = this.bytes;
    const base = slot * DIGEST_BYTES;
    for (let i = 0; i < DIGEST_BYTES; i++) if (b[base + i] !== other[at + i]) return false;
    return true;
  }
}

/**
 * Digests of the slots in `mask` (all when undefined), built by a scan of
 * `source` in steps of `scanWork` positions with `yieldTurn` awaited between
 * them, so a build over a million items spans many event-loop turns.
 */
export async function buildSlotDigests(
  source: ScanSource,
  mask: Uint8Array | undefined,
  cutoffMs: number,
  seed: DigestSeed,
  scanWork: number,
  yieldTurn: () => Promise<void>,
  tombstoneHorizonMs = 0,
): Promise<SlotDigests> {
  const digests = new SlotDigests(cutoffMs, seed, tombstoneHorizonMs).readFrom(source);
  await scanAll(source, mask, scanWork, yieldTurn, digests.visit);
  return digests;
}
