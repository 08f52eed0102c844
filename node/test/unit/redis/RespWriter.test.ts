import { describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import { RespWriter } from '../../../src/redis/RespWriter.js';

/** A stand-in socket that records what is written; `accept` is write()'s answer. */
class RecordingSocket {
  readonly writes: Buffer[] = [];
  destroyed = false;
  writableNeedDrain = false;
  corked = 0;
  accept = true;
  write(chunk: Buffer | string, encoding?: BufferEncoding): boolean {
    this.writes.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk));
    return this.accept;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {}
  get text(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

function written(resp: number, fill: (w: RespWriter) => void): string {
  const w = new RespWriter();
  w.resp = resp;
  fill(w);
  const s = new RecordingSocket();
  w.flush(s as unknown as Socket);
  return s.text;
}

describe('RespWriter', () => {
  it('encodes the RESP2 types', () => {
    expect(written(2, (w) => w.simple('OK'))).toBe('+OK\r\n');
    expect(written(2, (w) => w.error('ERR bad'))).toBe('-ERR bad\r\n');
    expect(written(2, (w) => w.integer(-42))).toBe(':-42\r\n');
    expect(written(2, (w) => w.integer(7))).toBe(':7\r\n');
    expect(written(2, (w) => w.bulk('héllo'))).toBe('$5\r\nh\xe9llo\r\n');
    expect(written(2, (w) => w.bulk(''))).toBe('$0\r\n\r\n');
    expect(written(2, (w) => w.bulk(undefined))).toBe('$-1\r\n');
    expect(written(2, (w) => w.nullArray())).toBe('*-1\r\n');
    expect(written(2, (w) => w.bulks(['a', 'bc']))).toBe('*2\r\n$1\r\na\r\n$2\r\nbc\r\n');
  });

  it('degrades RESP3 types to RESP2 forms on a RESP2 connection', () => {
    expect(written(2, (w) => w.map(1))).toBe('*2\r\n');
    expect(written(2, (w) => w.set(3))).toBe('*3\r\n');
    expect(written(2, (w) => w.boolean(true))).toBe(':1\r\n');
    expect(written(2, (w) => w.verbatim('x'))).toBe('$1\r\nx\r\n');
  });

  it('encodes the RESP3 types', () => {
    expect(written(3, (w) => w.null())).toBe('_\r\n');
    expect(written(3, (w) => w.nullArray())).toBe('_\r\n');
    expect(written(3, (w) => w.map(2))).toBe('%2\r\n');
    expect(written(3, (w) => w.set(1))).toBe('~1\r\n');
    expect(written(3, (w) => w.boolean(false))).toBe('#f\r\n');
    expect(written(3, (w) => w.verbatim('hi'))).toBe('=6\r\ntxt:hi\r\n');
  });

  it('never lets CR or LF into an error line', () => {
    expect(written(2, (w) => w.error("ERR unknown command 'a\r\nb'"))).toBe(
      "-ERR unknown command 'a  b'\r\n",
    );
  });

  it('sends the replies of one batch in one write', () => {
    const w = new RespWriter();
    for (let i = 0; i < 100; i++) w.bulk(`value-${i}`);
    const s = new RecordingSocket();
    w.flush(s as unknown as Socket);
    expect(s.writes).toHaveLength(1);
    expect(s.text.startsWith('$7\r\nvalue-0\r\n')).toBe(true);
    expect(w.pendingBytes).toBe(0);
  });

  it('sends large values as their own chunks in one corked batch, in order', () => {
    const big = 'z'.repeat(100_000);
    const w = new RespWriter();
    w.simple('A');
    w.bulk(big);
    w.simple('B');
    const s = new RecordingSocket();
    w.flush(s as unknown as Socket);
    expect(s.corked).toBe(1);
    expect(s.text).toBe(`+A\r\n$100000\r\n${big}\r\n+B\r\n`);
  });

  it('keeps earlier flushed bytes intact while later replies are written (no reuse of a region)', () => {
    const w = new RespWriter();
    const s = new RecordingSocket();
    const views: Buffer[] = [];
    const keep = { write: (b: Buffer) => (views.push(b), true), destroyed: false, writableNeedDrain: false };
    w.simple('first');
    w.flush(keep as unknown as Socket);
    for (let i = 0; i < 20_000; i++) w.bulk('filler-filler-filler'); // crosses slab boundaries
    w.flush(s as unknown as Socket);
    expect(views[0]!.toString()).toBe('+first\r\n');
  });

  it('writes bulk strings from byte ranges, copied before the source changes', () => {
    for (const length of [0, 5, 31, 32, 1000, 16 * 1024 + 1, 300_000]) {
      const src = Buffer.alloc(length + 10);
      for (let i = 0; i < src.length; i++) src[i] = (i * 7) & 0xff;
      const expected = src.toString('latin1', 3, 3 + length);
      const w = new RespWriter();
      w.simple('A');
      w.bulkBytes(src, 3, length);
      src.fill(0); // the store's next write may reuse the bytes before the flush
      w.bulkBytes(new Uint8Array([104, 105]), 0, 2);
      const s = new RecordingSocket();
      w.flush(s as unknown as Socket);
      expect(s.text).toBe(`+A\r\n$${length}\r\n${expected}\r\n$2\r\nhi\r\n`);
    }
  });

  it("reports the socket's backpressure", () => {
    const w = new RespWriter();
    w.ok();
    const s = new RecordingSocket();
    s.accept = false;
    expect(w.flush(s as unknown as Socket)).toBe(false);
  });
});
