// Redis Cluster key slots for the Redis door's argument forms, without
// allocating: a latin1 string (argv) or a byte range of the parser's input
// (raw arguments). The same function as @meshcache/proto's keySlot (CRC16
// XMODEM mod 16384 of the key, or of its first non-empty {hash tag}); the
// unit tests check them against it.

/** CRC16 XMODEM (polynomial 0x1021, initial 0), a byte at a time. */
const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  CRC16[i] = crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/** The CRC16 of b[start, end), continuing from `crc`. */
function crcOfBytes(crc: number, b: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >>> 8) ^ b[i]!) & 0xff]!;
  return crc;
}

function crcOfLatin1(s: string, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >>> 8) ^ s.charCodeAt(i)) & 0xff]!;
  return crc;
}

/** The slot of the key b[start, start + length): one pass, the CRC runs until a `{` shows up. */
export function slotOfRange(b: Uint8Array, start: number, length: number): number {
  const end = start + length;
  let crc = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === OPEN) {
      for (let close = i + 1; close < end; close++) {
        if (b[close] !== CLOSE) continue;
        if (close > i + 1) return crcOfBytes(0, b, i + 1, close) & 0x3fff;
        break;
      }
      return crcOfBytes(crc, b, i, end) & 0x3fff; // no tag: the whole key
    }
    crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >>> 8) ^ c) & 0xff]!;
  }
  return crc & 0x3fff;
}

/** The slot of a key held as a latin1 string (one char per byte, as the parser makes them). */
export function slotOfLatin1(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crcOfLatin1(key, open + 1, close) & 0x3fff;
  }
  return crcOfLatin1(key, 0, key.length) & 0x3fff;
}
