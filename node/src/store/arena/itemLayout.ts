/**
 * The layout of one item in an arena segment. Items start on 8-byte
 * boundaries so the two float64 fields are readable through a Float64Array
 * view of the segment, and the key through an Int32Array view, four bytes per
 * compare. All offsets below are in the unit of the view named.
 *
 * ```
 * byte  0  f64  expiresAt   epoch ms, 0 = never
 * byte  8  f64  hlc         HLC version (physicalMs * 1024 + logical)
 * byte 16  i32  node        writer node tag (uint32 stored as int32)
 * byte 20  i32  valueLen    value bytes
 * byte 24  i32  ttlIndex    position in the store's TTL array, -1 = no TTL
 * byte 28  i32  meta        keyLen (bits 0-23) | flags (24-27) | freq (28-29)
 * byte 32       key bytes, then value bytes (small items), padded to 8
 * byte 32  i32  largeId     (large items only: the key and value live in their
 *                           own Buffer, see LargeValues; the stub is 40 bytes)
 * ```
 *
 * A handle (and the index's reference to an item) is one non-negative int32:
 * `segment << unitBits | (byteOffset >> 3)`, unitBits = log2(segmentBytes) - 3.
 */

/** Header bytes before the key. */
export const HEADER_BYTES = 32;
/** Header words (int32) before the key. */
export const HEADER_WORDS = HEADER_BYTES / 4;
/** Bytes of a large item's stub in its segment: header + large id, padded. */
export const LARGE_STUB_BYTES = 40;

// Float64Array offsets from the item's f64 index (= unit offset).
export const F64_EXPIRES_AT = 0;
export const F64_HLC = 1;

// Int32Array offsets from the item's i32 index (= unit offset * 2).
export const I32_NODE = 4;
export const I32_VALUE_LEN = 5;
export const I32_TTL_INDEX = 6;
export const I32_META = 7;
export const I32_LARGE_ID = 8;

/** Longest key the layout can describe (24 bits). */
export const MAX_KEY_LEN = 0xff_ffff;
export const KEY_LEN_MASK = 0xff_ffff;

/** The item was removed (deleted, overwritten, expired, moved): its bytes are a hole. */
export const FLAG_DEAD = 1 << 24;
/** The key and value live out of line in LargeValues. */
export const FLAG_LARGE = 1 << 25;
/**
 * Replicated caches: the item records a delete, an expiry or an eviction (key
 * and version, no value; see ArenaStore). Its expiresAt is the time from which
 * it may be purged, and it is always in the TTL array.
 */
export const FLAG_TOMBSTONE = 1 << 26;
/**
 * Replicated caches: this version of the key is pinned (ArenaStore.pin): it
 * is never treated as settled, so its tombstone is never purged and it is
 * never evicted without leaving a tombstone.
 */
export const FLAG_PINNED = 1 << 27;

export const FREQ_SHIFT = 28;
export const FREQ_ONE = 1 << FREQ_SHIFT;
export const FREQ_MASK = 3 << FREQ_SHIFT;

/** Bytes an item of this key and value length takes in a segment (small items). */
export function smallItemBytes(keyLen: number, valueLen: number): number {
  return (HEADER_BYTES + keyLen + valueLen + 7) & ~7;
}

/** Bytes the item with this meta word and value length takes in its segment. */
export function itemBytesOf(meta: number, valueLen: number): number {
  return (meta & FLAG_LARGE) !== 0 ? LARGE_STUB_BYTES : smallItemBytes(meta & KEY_LEN_MASK, valueLen);
}
