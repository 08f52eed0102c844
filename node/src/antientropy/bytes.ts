/**
 * Little-endian byte writing and reading for anti-entropy's messages: varints
 * for counts and lengths, fixed widths for versions and times. A reader
 * throws AntiEntropyWireError on anything malformed (truncated, overlong), so
 * a bad message from a peer fails its request, never the process.
 */

export class AntiEntropyWireError extends Error {
  override readonly name = 'AntiEntropyWireError';
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
// Doubles are read through a scratch array: entries carry two each, and a view per read would allocate.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  /** The bytes written so far (a view; valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }

  /** An unsigned integer below 2^53, 7 bits a byte. */
  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** `len` bytes of `src` from `offset`, unprefixed. */
  raw(src: Uint8Array, offset = 0, len = src.length - offset): void {
    this.room(len);
    this.buf.set(src.subarray(offset, offset + len), this.len);
    this.len += len;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    const b = utf8.encode(s);
    this.varint(b.length);
    this.raw(b);
  }
}

export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new AntiEntropyWireError(
        `message truncated: ${n} bytes wanted at ${this.pos} of ${this.buf.length}`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  f64(): number {
    this.need(8);
    for (let i = 0; i < 8; i++) f64Bytes[i] = this.buf[this.pos + i]!;
    this.pos += 8;
    return f64[0]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      scale *= 0x80;
    }
    throw new AntiEntropyWireError(`varint too long at ${this.pos}`);
  }

  /** Skips `len` bytes, returning where they start. */
  skip(len: number): number {
    this.need(len);
    const at = this.pos;
    this.pos += len;
    return at;
  }

  /** `len` bytes (a view). */
  raw(len: number): Uint8Array {
    const at = this.skip(len);
    return this.buf.subarray(at, at + len);
  }

  string(): string {
    const n = this.varint();
    try {
      return utf8Decoder.decode(this.raw(n));
    } catch (err) {
      if (err instanceof AntiEntropyWireError) throw err;
      throw new AntiEntropyWireError('string is not UTF-8');
    }
  }
}
