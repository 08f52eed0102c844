/**
 * A 32-bit hash of key bytes for the arena's index, written for short keys:
 * the key is read as little-endian 32-bit words (the last one zero-padded),
 * each word goes through MurmurHash3's block mix (two multiplies and a rotate
 * before it meets the state), and the result through its finalizer; the
 * length seeds the state.
 *
 * Why a full block mix: a cheaper one-multiply fold (FxHash's) let
 * differences in the high bytes of one word cancel against the next word:
 * with 100k keys like `k1xxxxxxxxxxxxxx`, a third of all lookups met another
 * key with the same 32-bit hash and paid a second probe and key compare. The
 * block mix costs about 1-2 ns more per 16-byte key and collides as often as
 * a random function would (a unit test checks it on structured key families).
 *
 * Why by hand: the loop runs on every get and set, and it leaves the key's
 * words in a scratch Int32Array that the index compares against the arena
 * four bytes at a time, so the caller's bytes are read once. Node has no fast
 * non-cryptographic hash of a Uint8Array to reuse.
 *
 * Three entry points, equal for equal bytes: from a caller's key (filling the
 * scratch words), from an Int32Array (keys stored in segments, 4-byte aligned),
 * and from a byte array (keys of large items).
 */
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const ROUND_ADD = 0xe6546b64;

/** Folds one 32-bit word into the state. */
function mix(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + ROUND_ADD) | 0;
}

/** Hash of `len` bytes of `bytes` from `start`, leaving their words (last one zero-padded) in `words`. */
export function hashKey(bytes: Uint8Array, start: number, len: number, words: Int32Array): number {
  // Kept small (the tail is a function of its own) so that V8 inlines it
  // into ArenaStore.getAt even when getAt is itself inlined into a caller.
  const end = start + (len & ~3);
  let h = len;
  let w = 0;
  for (let p = start; p < end; p += 4) {
    const k = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
    words[w++] = k;
    h = mix(h, k);
  }
  return finish((len & 3) === 0 ? h : tail(bytes, end, len & 3, words, w, h));
}

/** hashKey's last 1-3 bytes. */
function tail(bytes: Uint8Array, p: number, rest: number, words: Int32Array, w: number, h: number): number {
  let k = bytes[p]!;
  if (rest > 1) k |= bytes[p + 1]! << 8;
  if (rest > 2) k |= bytes[p + 2]! << 16;
  words[w] = k;
  return mix(h, k);
}

/** Hash of `len` key bytes stored from word `start` of `i32` (bytes after the key are ignored). */
export function hashWords(i32: Int32Array, start: number, len: number): number {
  const n = len >>> 2;
  let h = len;
  for (let i = 0; i < n; i++) h = mix(h, i32[start + i]!);
  const rest = len & 3;
  if (rest !== 0) h = mix(h, i32[start + n]! & tailMask(rest));
  return finish(h);
}

/** Hash of `len` bytes of `bytes` from `start` (no scratch words). */
export function hashBytes(bytes: Uint8Array, start: number, len: number): number {
  const end = start + (len & ~3);
  let h = len;
  let p = start;
  for (; p < end; p += 4) {
    h = mix(h, bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24));
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = bytes[p]!;
    if (rest > 1) k |= bytes[p + 1]! << 8;
    if (rest > 2) k |= bytes[p + 2]! << 16;
    h = mix(h, k);
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
