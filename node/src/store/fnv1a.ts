/**
 * 32-bit FNV-1a (Fowler/Noll/Vo), offset basis 2166136261, prime 16777619.
 * Results are unsigned 32-bit integers.
 */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over bytes. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * FNV-1a over a latin1 string (one char per byte, as the store keeps keys), so
 * it equals `fnv1a32(Buffer.from(s, 'latin1'))` without allocating.
 */
export function fnv1a32Latin1(s: string): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ (s.charCodeAt(i) & 0xff), FNV_PRIME);
  }
  return h >>> 0;
}
