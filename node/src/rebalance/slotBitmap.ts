import { SLOT_COUNT } from '@meshcache/proto';

/** Bytes of a slot bitmap on the wire (one bit per slot). */
export const SLOT_BITMAP_BYTES = SLOT_COUNT / 8;

/** A slot mask (one byte per slot, nonzero = included, what the store's scan takes) as a wire bitmap. */
export function toBitmap(mask: Uint8Array): Buffer {
  const out = Buffer.alloc(SLOT_BITMAP_BYTES);
  for (let s = 0; s < SLOT_COUNT; s++) if (mask[s] !== 0) out[s >> 3]! |= 1 << (s & 7);
  return out;
}

/** A wire bitmap as a slot mask; undefined when it is not SLOT_BITMAP_BYTES long. */
export function fromBitmap(bits: Uint8Array): Uint8Array | undefined {
  if (bits.length !== SLOT_BITMAP_BYTES) return undefined;
  const mask = new Uint8Array(SLOT_COUNT);
  for (let s = 0; s < SLOT_COUNT; s++) if ((bits[s >> 3]! >> (s & 7)) & 1) mask[s] = 1;
  return mask;
}

/** The slots of a mask, ascending. */
export function slotsOf(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) if (mask[s] !== 0) out.push(s);
  return out;
}

/** The slots of a mask as compact ranges ("0-99,200"), for logs and the admin API. */
export function describeSlots(mask: Uint8Array): string {
  const parts: string[] = [];
  let s = 0;
  while (s < SLOT_COUNT) {
    if (mask[s] === 0) {
      s++;
      continue;
    }
    const start = s;
    while (s + 1 < SLOT_COUNT && mask[s + 1] !== 0) s++;
    parts.push(start === s ? String(start) : `${start}-${s}`);
    s++;
  }
  return parts.join(',');
}
