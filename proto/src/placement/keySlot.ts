import crc16xmodem from 'crc/calculators/crc16xmodem';

/** Scratch space for encoding string keys without allocating (keys longer than this allocate). */
const scratch = Buffer.allocUnsafe(4096);

/**
 * The slot (0..16383) of a key, exactly as Redis Cluster computes it: CRC16
 * (XMODEM) modulo 16384 of the key's bytes, or, when the key has a `{` with a
 * `}` somewhere after it and at least one byte between the two, of the bytes
 * between the first `{` and the first `}` after it. So `{user1}.name` and
 * `{user1}.mail` share a slot, and Redis cluster clients and meshcache clients
 * route every key to the same slot. Strings count as their UTF-8 bytes.
 */
export function keySlot(key: string | Uint8Array): number {
  if (typeof key !== 'string') return bytesSlot(key);
  if (key.length * 3 <= scratch.length) {
    const n = scratch.write(key, 0, 'utf8');
    return bytesSlot(scratch.subarray(0, n));
  }
  return bytesSlot(Buffer.from(key, 'utf8'));
}

/** The slot of a key held as a latin1 string (one char per byte, as the Redis front door keeps keys). */
export function keySlotLatin1(key: string): number {
  if (key.length <= scratch.length) {
    const n = scratch.write(key, 0, 'latin1');
    return bytesSlot(scratch.subarray(0, n));
  }
  return bytesSlot(Buffer.from(key, 'latin1'));
}

function bytesSlot(bytes: Uint8Array): number {
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16xmodem(bytes.subarray(open + 1, close)) & 0x3fff;
  }
  return crc16xmodem(bytes) & 0x3fff;
}

/** The slot every key shares, or -1 when the keys map to different slots (Redis CROSSSLOT). */
export function commonSlot(keys: readonly (string | Uint8Array)[]): number {
  if (keys.length === 0) return -1;
  const slot = keySlot(keys[0]!);
  for (let i = 1; i < keys.length; i++) if (keySlot(keys[i]!) !== slot) return -1;
  return slot;
}
