import { CodecError } from './CodecError.js';

/** Shared zero-length Buffer for absent `bytes` fields (nothing can be written into it). */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

const TWO_POW_32 = 4294967296;
/** The highest `hi` word (bits 32..63) of a value that is still <= Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_HI = 0x1fffff;
/** Nesting limit for skipping (deprecated) groups of unknown fields. */
const MAX_GROUP_DEPTH = 32;
/** Strings up to this many bytes go through the one-entry memo in `string()`. */
const MEMO_MAX_BYTES = 32;

/** Wire types. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

function truncated(): CodecError {
  return new CodecError('truncated input');
}

// One-entry memo of the last short string decoded: frames repeat the same cache
// name in every operation, and comparing a few bytes is cheaper than decoding.
const memoBytes = Buffer.alloc(MEMO_MAX_BYTES);
let memoLength = -1;
let memoString = '';

/**
 * A bounds-checked protobuf wire reader over one Buffer. Every read checks
 * against `end`, the end of the message being decoded (the whole input at the
 * top level, the sub-message's end inside `enter()`/`leave()`), and throws
 * `CodecError` instead of reading past it.
 *
 * `bytes()` returns views of the input (no copy).
 */
export class ProtoReader {
  readonly buf: Buffer;
  pos: number;
  end: number;
  // Scratch for the last 64-bit varint read: low and high 32-bit words.
  private lo = 0;
  private hi = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
  }

  /** Reads a field tag; rejects field number 0, wire types 6 and 7, and tags beyond 32 bits. */
  tag(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      // Fast path: field numbers 1..15 with a valid wire type fit one byte.
      if (b < 0x80 && b >= 8 && (b & 7) < 6) {
        this.pos = pos + 1;
        return b;
      }
    }
    const tag = this.strictVarint32();
    if (tag >>> 3 === 0) throw new CodecError('invalid tag: field number 0');
    if ((tag & 7) > 5) throw new CodecError(`invalid tag: wire type ${tag & 7}`);
    return tag;
  }

  /**
   * A varint of at most 5 bytes whose value fits 32 bits (tags and lengths);
   * anything longer is malformed.
   */
  private strictVarint32(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end) throw truncated();
      const b = buf[pos++];
      if (shift === 28) {
        if (b > 0x0f) throw new CodecError('varint overflows 32 bits');
        result = (result | (b << 28)) >>> 0;
        break;
      }
      result |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    this.pos = pos;
    return result >>> 0;
  }

  /**
   * A `uint32` value: a varint of up to 10 bytes, truncated to its low 32 bits
   * (as protobuf parsers do).
   */
  uint32(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw truncated();
    let b = buf[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (pos >= end) throw truncated();
      b = buf[pos++];
      result |= (b & 0x7f) << shift; // bits past 31 fall off the 32-bit shift
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // Bytes 6 to 10 only carry bits above 32: consume them.
    for (let i = 5; i < 10; i++) {
      if (pos >= end) throw truncated();
      if (buf[pos++] < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw new CodecError('varint longer than 10 bytes');
  }

  /** An `int32` or enum value: the low 32 bits of the varint, signed. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A `bool`: any non-zero varint is true. */
  bool(): boolean {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b !== 0;
      }
    }
    this.varint64();
    return (this.lo | this.hi) !== 0;
  }

  /** A `uint64` as a number; throws `CodecError` beyond Number.MAX_SAFE_INTEGER. */
  uint64(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.varint64();
    const hi = this.hi >>> 0;
    if (hi > MAX_SAFE_HI) throw new CodecError('uint64 value exceeds Number.MAX_SAFE_INTEGER');
    return hi * TWO_POW_32 + (this.lo >>> 0);
  }

  /**
   * An `int64` as a number (negative values are ten-byte two's-complement
   * varints); throws `CodecError` outside the safe integer range.
   */
  int64(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.varint64();
    const lo = this.lo;
    const hi = this.hi;
    if (hi >= 0) {
      if (hi > MAX_SAFE_HI) throw new CodecError('int64 value exceeds Number.MAX_SAFE_INTEGER');
      return hi * TWO_POW_32 + (lo >>> 0);
    }
    // Negative: the magnitude is the two's complement of (hi, lo).
    const mlo = (~lo + 1) >>> 0;
    const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
    if (mhi > MAX_SAFE_HI) throw new CodecError('int64 value is below Number.MIN_SAFE_INTEGER');
    return -(mhi * TWO_POW_32 + mlo);
  }

  /** Reads a varint of up to 10 bytes into `lo` and `hi` (signed 32-bit words). */
  private varint64(): void {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let hi: number;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw truncated();
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    // Fifth byte: 4 bits to lo, 3 bits to hi.
    if (pos >= end) throw truncated();
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos >= end) throw truncated();
        b = buf[pos++];
        if (shift === 31) {
          // Tenth byte: only its lowest bit is significant.
          if (b >= 0x80) throw new CodecError('varint longer than 10 bytes');
          hi |= (b & 0x01) << 31;
          break;
        }
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.lo = lo;
    this.hi = hi;
  }

  /** Reads a length prefix and checks that many bytes remain in the current message. */
  length(): number {
    const pos = this.pos;
    let len: number;
    if (pos < this.end && this.buf[pos] < 0x80) {
      len = this.buf[pos];
      this.pos = pos + 1;
    } else {
      len = this.strictVarint32();
    }
    if (len > this.end - this.pos) throw truncated();
    return len;
  }

  /** A `bytes` value: a view of the input, not a copy (the shared empty Buffer when empty). */
  bytes(): Buffer {
    const len = this.length();
    if (len === 0) return EMPTY_BYTES;
    const start = this.pos;
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** A `string` value, decoded as UTF-8 (invalid sequences become U+FFFD). */
  string(): string {
    const len = this.length();
    const start = this.pos;
    const buf = this.buf;
    this.pos = start + len;
    if (len === 0) return '';
    if (len > MEMO_MAX_BYTES) return buf.toString('utf8', start, start + len);
    if (len === memoLength) {
      let i = 0;
      while (i < len && buf[start + i] === memoBytes[i]) i++;
      if (i === len) return memoString;
    }
    const s = buf.toString('utf8', start, start + len);
    buf.copy(memoBytes, 0, start, start + len);
    memoLength = len;
    memoString = s;
    return s;
  }

  /**
   * Enters a length-delimited sub-message: reads its length and narrows `end`
   * to it. Returns the enclosing end, to pass to `leave()`.
   */
  enter(): number {
    const len = this.length();
    const saved = this.end;
    this.end = this.pos + len;
    return saved;
  }

  /** Leaves a sub-message entered with `enter()`. */
  leave(saved: number): void {
    this.end = saved;
  }

  /** Skips the value of a field this decoder does not know, per its wire type. */
  skip(tag: number): void {
    this.skipValue(tag & 7, tag >>> 3, 0);
  }

  private skipValue(wireType: number, fieldNumber: number, depth: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN: {
        const len = this.length(); // before reading this.pos, which length() advances
        this.pos += len;
        return;
      }
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new CodecError('groups nested too deeply');
        for (;;) {
          const tag = this.tag();
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== fieldNumber) throw new CodecError('mismatched end-group tag');
            return;
          }
          this.skipValue(tag & 7, tag >>> 3, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        throw new CodecError('unexpected end-group tag');
      default:
        throw new CodecError(`invalid wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw truncated();
    this.pos += n;
  }
}

/** Wraps a Uint8Array as a Buffer over the same memory (no copy). */
export function asBuffer(input: Uint8Array): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (!(input instanceof Uint8Array)) throw new CodecError('input is not a Uint8Array');
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
