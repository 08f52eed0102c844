/**
 * A 32-bit hash of key bytes for the arena's index, written for short keys:
 * the key is read as little-endian 32-bit words (the last one zero-padded);
 * each word is folded in with a rotate, xor and multiply (as FxHash does) and
 * the result goes through MurmurHash3's 32-bit finalizer, so every input bit
 * reaches the low bits the table uses; the length seeds the state.
 *
 * Why by hand: the loop runs on every get and set. Measured on Node 24 here,
 * reading 16 key bytes costs as much as the rest of a lookup, so the hash does
 * one multiply per four bytes (MurmurHash3's block mix, three, measured
 * 1-2 ns slower per 16-byte key; FNV-1a, one per byte, slower still), and it
 * leaves the key's words in a scratch Int32Array that the index compares
 * against the arena four bytes at a time, so the caller's bytes are read once.
 * Node has no fast non-cryptographic hash of a Uint8Array to reuse.
 *
 * Three entry points, equal for equal bytes: from a caller's key (filling the
 * scratch words), from an Int32Array (keys stored in segments, 4-byte aligned),
 * and from a byte array (keys of large items).
 */
const K = 0x9e3779b1;

/** Hash of `len` bytes of `bytes` from `start`, leaving their words (last one zero-padded) in `words`. */
export function hashKey(bytes: Uint8Array, start: number, len: number, words: Int32Array): number {
  const end = start + (len & ~3);
  let h = len;
  let w = 0;
  let p = start;
  for (; p < end; p += 4) {
    const k = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
    words[w++] = k;
    h = Math.imul(((h << 5) | (h >>> 27)) ^ k, K);
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = bytes[p]!;
    if (rest > 1) k |= bytes[p + 1]! << 8;
    if (rest > 2) k |= bytes[p + 2]! << 16;
    words[w] = k;
    h = Math.imul(((h << 5) | (h >>> 27)) ^ k, K);
  }
  return finish(h);
}

/** Hash of `len` key bytes stored from word `start` of `i32` (bytes after the key are ignored). */
export function hashWords(i32: Int32Array, start: number, len: number): number {
  const n = len >>> 2;
  let h = len;
  for (let i = 0; i < n; i++) h = Math.imul(((h << 5) | (h >>> 27)) ^ i32[start + i]!, K);
  const rest = len & 3;
  if (rest !== 0) h = Math.imul(((h << 5) | (h >>> 27)) ^ (i32[start + n]! & tailMask(rest)), K);
  return finish(h);
}

/** Hash of `len` bytes of `bytes` from `start` (no scratch words). */
export function hashBytes(bytes: Uint8Array, start: number, len: number): number {
  const end = start + (len & ~3);
  let h = len;
  let p = start;
  for (; p < end; p += 4) {
    const k = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
    h = Math.imul(((h << 5) | (h >>> 27)) ^ k, K);
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = bytes[p]!;
    if (rest > 1) k |= bytes[p + 1]! << 8;
    if (rest > 2) k |= bytes[p + 2]! << 16;
    h = Math.imul(((h << 5) | (h >>> 27)) ^ k, K);
  }
  return finish(h);
}

/** Mask of the low `rest` bytes (1-3) of a little-endian word. */
export function tailMask(rest: number): number {
  return (1 << (rest << 3)) - 1;
}

/** MurmurHash3's fmix32. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
