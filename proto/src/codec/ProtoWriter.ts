import { CodecError } from './CodecError.js';

// Size-then-write protobuf encoding helpers. The encoders first add up a
// message's exact size with the *Size functions (which also validate values),
// allocate one Buffer, then fill it with the write* functions, which take the
// buffer and a position and return the position after what they wrote.

const TWO_POW_32 = 4294967296;
/** Strings and byte arrays shorter than this are copied with a plain loop. */
const SMALL_COPY = 32;
/** Protobuf's limit on a message's size. */
export const MAX_MESSAGE_BYTES = 0x7fffffff;

export function checkUint32(value: number, field: string): number {
  if (value >>> 0 !== value) throw new CodecError(`${field}: not a uint32: ${String(value)}`);
  return value;
}

export function checkInt32(value: number, field: string): number {
  if ((value | 0) !== value) throw new CodecError(`${field}: not an int32: ${String(value)}`);
  return value;
}

export function checkInt64(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw new CodecError(`${field}: not a safe integer: ${String(value)}`);
  return value;
}

export function checkUint64(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CodecError(`${field}: not a non-negative safe integer: ${String(value)}`);
  }
  return value;
}

/** Encoded size of an unsigned 32-bit varint. */
export function varint32Size(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Encoded size of an int32/enum varint: negative values are sign-extended to ten bytes. */
export function int32Size(value: number): number {
  return value < 0 ? 10 : varint32Size(value);
}

/** Encoded size of an int64/uint64 varint of a safe integer. */
export function int64Size(value: number): number {
  if (value < 0) return 10;
  if (value < 0x10000000) return varint32Size(value);
  if (value < 0x800000000) return 5; // 2^35
  if (value < 0x40000000000) return 6; // 2^42
  if (value < 0x2000000000000) return 7; // 2^49
  return 8; // up to 2^56, which covers every safe integer
}

/** Size of a length-delimited field's length prefix plus content. */
export function lenSize(length: number): number {
  return varint32Size(length) + length;
}

// One-entry memo of the last string measured: frames repeat the cache name.
let memoString = '';
let memoLength = 0;

/** UTF-8 byte length of a string (lone surrogates count as U+FFFD, as Buffer and TextEncoder write them). */
export function utf8Length(value: string): number {
  if (value === memoString) return memoLength;
  const n = value.length;
  let length = n;
  if (n <= SMALL_COPY) {
    for (let i = 0; i < n; i++) {
      if (value.charCodeAt(i) >= 0x80) {
        length = Buffer.byteLength(value, 'utf8');
        break;
      }
    }
  } else {
    length = Buffer.byteLength(value, 'utf8');
  }
  memoString = value;
  memoLength = length;
  return length;
}

export function writeVarint32(buf: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

/** Writes a varint from its low and high unsigned 32-bit words. */
function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi > 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** Writes an int32/enum: negative values as ten-byte sign-extended varints. */
export function writeInt32(buf: Buffer, pos: number, value: number): number {
  if (value >= 0) return writeVarint32(buf, pos, value);
  return writeVarint64(buf, pos, value >>> 0, 0xffffffff);
}

/** Writes an int64/uint64 safe integer: negative values in two's complement (ten bytes). */
export function writeInt64(buf: Buffer, pos: number, value: number): number {
  if (value >= 0) {
    if (value <= 0xffffffff) return writeVarint32(buf, pos, value);
    const lo = value >>> 0;
    return writeVarint64(buf, pos, lo, (value - lo) / TWO_POW_32);
  }
  const magnitude = -value;
  const mlo = magnitude >>> 0;
  const mhi = (magnitude - mlo) / TWO_POW_32;
  const lo = (~mlo + 1) >>> 0;
  const hi = (~mhi + (lo === 0 ? 1 : 0)) >>> 0;
  return writeVarint64(buf, pos, lo, hi);
}

/** Writes a length-prefixed byte array. */
export function writeBytes(buf: Buffer, pos: number, value: Uint8Array): number {
  const n = value.length;
  pos = writeVarint32(buf, pos, n);
  if (n < SMALL_COPY) {
    for (let i = 0; i < n; i++) buf[pos + i] = value[i];
  } else {
    buf.set(value, pos);
  }
  return pos + n;
}

/** Writes a length-prefixed string whose UTF-8 length (from `utf8Length`) is `length`. */
export function writeString(buf: Buffer, pos: number, value: string, length: number): number {
  pos = writeVarint32(buf, pos, length);
  if (length === value.length && length <= SMALL_COPY) {
    // All ASCII (a UTF-8 length equal to the UTF-16 length means no code unit >= 0x80).
    for (let i = 0; i < length; i++) buf[pos + i] = value.charCodeAt(i);
  } else if (buf.write(value, pos, length, 'utf8') !== length) {
    throw new CodecError('string length changed while encoding');
  }
  return pos + length;
}
