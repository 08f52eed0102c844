import type { Socket } from 'node:net';

/**
 * Output slab shared by every connection. Replies are encoded straight into
 * it and a connection's replies to one read go out as ONE socket.write of a
 * view of the slab, so there is no buffer per reply and no copy per flush.
 * Written regions are never reused (a pending write may still hold them);
 * when the slab is full a new one replaces it and the old one is collected
 * once its writes complete. Only one connection writes at a time (all on one
 * thread), and it flushes before returning to the event loop, so the open
 * region [openStart, used) always belongs to the connection writing now.
 */
const SLAB_BYTES = 256 * 1024;
/** Strings longer than this are written as chunks of their own rather than copied into the slab. */
const BIG_STRING = 16 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;
let openStart = 0;

interface Latin1Buffer {
  latin1Write(s: string, offset: number, length: number): number;
}

/**
 * Encodes replies in RESP2 or RESP3 (by `resp`) into the shared slab and
 * flushes them to a socket. RESP3-only types degrade to their RESP2 forms
 * (map -> flat array, set -> array, null -> null bulk, double -> bulk,
 * boolean -> integer, verbatim -> bulk), as redis-server does.
 */
export class RespWriter {
  /** Protocol version of the connection: 2 or 3. */
  resp = 2;
  /** Error replies written so far (the dispatcher counts failed calls by it). */
  errors = 0;
  /** Bytes handed to the socket so far. */
  bytesOut = 0;
  /** Finished chunks waiting for flush, when a reply did not fit the slab or was large. */
  private chunks: (Buffer | string)[] = [];

  /** Makes room for n bytes in the slab, closing the open region into `chunks` if a new slab is needed. */
  private ensure(n: number): void {
    if (used + n <= slab.length) return;
    if (used > openStart) this.chunks.push(slab.subarray(openStart, used));
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, n));
    used = 0;
    openStart = 0;
  }

  /** Writes ASCII/latin1 text already known to fit. */
  private put(s: string): void {
    const n = s.length;
    if (n < 24) {
      const b = slab;
      let u = used;
      for (let i = 0; i < n; i++) b[u++] = s.charCodeAt(i);
      used = u;
    } else {
      used += (slab as unknown as Latin1Buffer).latin1Write(s, used, n);
    }
  }

  /** Writes a type byte, a decimal integer and CRLF. */
  private line(type: number, n: number): void {
    this.ensure(24);
    const b = slab;
    b[used++] = type;
    if (n >= 0 && n < 10) {
      b[used++] = 48 + n;
    } else {
      this.put(String(n));
    }
    b[used++] = 13;
    b[used++] = 10;
  }

  /** Writes the payload of a bulk-like reply: bytes then CRLF. */
  private payload(s: string): void {
    const n = s.length;
    if (n > BIG_STRING) {
      if (used > openStart) this.chunks.push(slab.subarray(openStart, used));
      this.chunks.push(s);
      openStart = used;
      this.ensure(2);
    } else {
      this.ensure(n + 2);
      this.put(s);
    }
    slab[used++] = 13;
    slab[used++] = 10;
  }

  simple(s: string): void {
    this.ensure(s.length + 3);
    slab[used++] = 43; // +
    this.put(s);
    slab[used++] = 13;
    slab[used++] = 10;
  }

  ok(): void {
    this.simple('OK');
  }

  /**
   * An error reply. `message` starts with the code (`ERR ...`, `WRONGTYPE ...`);
   * CR and LF become spaces, as redis-server does, so a reply never breaks the protocol.
   */
  error(message: string): void {
    this.errors++;
    const safe = message.length > 4096 ? message.slice(0, 4096) : message;
    const clean = /[\r\n]/.test(safe) ? safe.replace(/[\r\n]/g, ' ') : safe;
    this.ensure(clean.length + 3);
    slab[used++] = 45; // -
    this.put(clean);
    slab[used++] = 13;
    slab[used++] = 10;
  }

  integer(n: number): void {
    this.line(58, n); // :
  }

  /** A bulk string (latin1), or null for the null reply. */
  bulk(s: string | null | undefined): void {
    if (s === null || s === undefined) return this.null();
    this.line(36, s.length); // $
    this.payload(s);
  }

  /**
   * A bulk string of `length` bytes of `src` from `start`. The bytes are
   * copied before this returns (into the slab, or a chunk of their own when
   * large), so `src` may change afterwards: a store's value can be written
   * straight from its arena, whose handle dies at the store's next write.
   */
  bulkBytes(src: Uint8Array, start: number, length: number): void {
    this.line(36, length); // $
    if (length > BIG_STRING) {
      if (used > openStart) this.chunks.push(slab.subarray(openStart, used));
      const chunk = Buffer.allocUnsafeSlow(length);
      Buffer.prototype.copy.call(src, chunk, 0, start, start + length);
      this.chunks.push(chunk);
      openStart = used;
      this.ensure(2);
    } else {
      this.ensure(length + 2);
      const b = slab;
      let u = used;
      if (length < 32) {
        for (let i = start, end = start + length; i < end; i++) b[u++] = src[i]!;
      } else {
        // set() on a view: cheaper than Buffer.prototype.copy's argument checks.
        b.set(src.subarray(start, start + length), u);
        u += length;
      }
      used = u;
    }
    slab[used++] = 13;
    slab[used++] = 10;
  }

  /** Null: `$-1` in RESP2, `_` in RESP3. */
  null(): void {
    if (this.resp === 3) {
      this.ensure(3);
      slab[used++] = 95; // _
      slab[used++] = 13;
      slab[used++] = 10;
    } else {
      this.line(36, -1);
    }
  }

  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nullArray(): void {
    if (this.resp === 3) this.null();
    else this.line(42, -1);
  }

  array(n: number): void {
    this.line(42, n); // *
  }

  /** A map of n pairs: `%n` in RESP3, a flat array of 2n in RESP2. */
  map(n: number): void {
    if (this.resp === 3) this.line(37, n);
    else this.line(42, n * 2);
  }

  /** A set: `~n` in RESP3, an array in RESP2. */
  set(n: number): void {
    this.line(this.resp === 3 ? 126 : 42, n);
  }

  /** A boolean: `#t`/`#f` in RESP3, 1/0 in RESP2. */
  boolean(b: boolean): void {
    if (this.resp === 3) {
      this.ensure(4);
      slab[used++] = 35; // #
      slab[used++] = b ? 116 : 102;
      slab[used++] = 13;
      slab[used++] = 10;
    } else {
      this.integer(b ? 1 : 0);
    }
  }

  /** Text for humans (INFO, CLIENT INFO): a `txt` verbatim string in RESP3, a bulk in RESP2. */
  verbatim(s: string): void {
    if (this.resp === 3) {
      this.line(61, s.length + 4); // =
      this.ensure(4);
      this.put('txt:');
      this.payload(s);
    } else {
      this.bulk(s);
    }
  }

  /** An array of bulk strings. */
  bulks(items: readonly string[]): void {
    this.array(items.length);
    for (const s of items) this.bulk(s);
  }

  /** Bytes written since the last flush. */
  get pendingBytes(): number {
    let n = used - openStart;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /**
   * Hands everything written since the last flush to the socket in one write
   * (or one corked batch when large strings were involved). Returns false when
   * the socket asks the caller to wait for 'drain'.
   */
  flush(socket: Socket): boolean {
    if (this.chunks.length === 0) {
      if (used === openStart) return !socket.writableNeedDrain;
      const view = slab.subarray(openStart, used);
      openStart = used;
      this.bytesOut += view.length;
      if (socket.destroyed) return false;
      return socket.write(view);
    }
    if (used > openStart) this.chunks.push(slab.subarray(openStart, used));
    openStart = used;
    const chunks = this.chunks;
    this.chunks = [];
    if (socket.destroyed) return false;
    socket.cork();
    let ok = true;
    for (const c of chunks) {
      this.bytesOut += c.length;
      ok = typeof c === 'string' ? socket.write(c, 'latin1') : socket.write(c);
    }
    socket.uncork();
    return ok;
  }

  /** Drops anything written since the last flush (the connection is going away). */
  discard(): void {
    this.chunks = [];
    openStart = used;
  }
}
