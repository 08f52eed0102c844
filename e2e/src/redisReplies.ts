import { connect, type Socket } from 'node:net';

/** A decoded RESP2/RESP3 reply. Errors are `{ error }`; maps become arrays of [key, value] pairs. */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | { error: string }
  | { verbatim: string }
  | { map: [RespValue, RespValue][] }
  | { set: RespValue[] }
  | RespValue[];

class Incomplete extends Error {}

/**
 * A strict reader of server replies (every RESP2 and RESP3 type), for tests
 * that need the exact bytes a node sent: what redis-server would send, and
 * nothing malformed.
 */
export function parseReplies(buf: Buffer): { replies: RespValue[]; rest: Buffer } {
  const replies: RespValue[] = [];
  let pos = 0;
  const line = (): string => {
    const cr = buf.indexOf('\r\n', pos);
    if (cr < 0) throw new Incomplete();
    const text = buf.toString('latin1', pos, cr);
    pos = cr + 2;
    return text;
  };
  const int = (text: string): number => {
    if (!/^-?\d+$/.test(text)) throw new Error(`malformed integer ${JSON.stringify(text)}`);
    return Number(text);
  };
  const bulk = (len: number): string => {
    if (pos + len + 2 > buf.length) throw new Incomplete();
    const s = buf.toString('latin1', pos, pos + len);
    if (buf[pos + len] !== 13 || buf[pos + len + 1] !== 10) throw new Error('bulk without CRLF');
    pos += len + 2;
    return s;
  };
  const value = (): RespValue => {
    if (pos >= buf.length) throw new Incomplete();
    const type = String.fromCharCode(buf[pos]!);
    pos++;
    const text = line();
    switch (type) {
      case '+':
        return text;
      case '-':
        return { error: text };
      case ':':
        return int(text);
      case '$': {
        const n = int(text);
        return n < 0 ? null : bulk(n);
      }
      case '*':
      case '~':
      case '>': {
        const n = int(text);
        if (n < 0) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) items.push(value());
        return type === '~' ? { set: items } : items;
      }
      case '%':
      case '|': {
        const n = int(text);
        const pairs: [RespValue, RespValue][] = [];
        for (let i = 0; i < n; i++) pairs.push([value(), value()]);
        return { map: pairs };
      }
      case '_':
        if (text !== '') throw new Error('malformed null');
        return null;
      case '#':
        if (text !== 't' && text !== 'f') throw new Error('malformed boolean');
        return text === 't';
      case ',':
        return Number(text);
      case '(':
        return BigInt(text);
      case '!':
        return { error: bulk(int(text)) };
      case '=':
        return { verbatim: bulk(int(text)) };
      default:
        throw new Error(`unknown reply type ${JSON.stringify(type)} at byte ${pos - 1}`);
    }
  };
  while (pos < buf.length) {
    const start = pos;
    try {
      replies.push(value());
    } catch (err) {
      if (err instanceof Incomplete) return { replies, rest: buf.subarray(start) };
      throw err;
    }
  }
  return { replies, rest: buf.subarray(pos) };
}

/** Encodes a command as a RESP multibulk. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * A raw RESP connection: send any bytes, read decoded replies. For tests that
 * need what no client library would send.
 */
export class RawRedisConnection {
  private received: Buffer = Buffer.alloc(0);
  private readonly replies: RespValue[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      const { replies, rest } = parseReplies(this.received);
      this.received = rest;
      this.replies.push(...replies);
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawRedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawRedisConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  command(...args: string[]): void {
    this.send(encodeCommand(args));
  }

  /** The next n replies (waits until they arrive, the connection closes, or the deadline). */
  async next(n = 1, timeoutMs = 10_000): Promise<RespValue[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.replies.length} of ${n} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.replies.length} of ${n} replies before the deadline`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.splice(0, n);
  }

  async call(...args: string[]): Promise<RespValue> {
    this.command(...args);
    return (await this.next(1))[0]!;
  }

  /** Waits until the server closes the connection; returns the replies received before. */
  async waitClosed(timeoutMs = 10_000): Promise<RespValue[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the server did not close the connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Sends bytes on a fresh connection, half-closes it, and collects every byte
 * the server sends until it closes. A node that wedged would never close: the
 * deadline turns that into a failure.
 */
export function sendAndCollect(port: number, payload: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no close within ${timeoutMs} ms after sending ${JSON.stringify(payload.toString('latin1'))}`,
        ),
      );
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {
      // ECONNRESET when the server closes while bytes are in flight: the replies so far count.
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.end(payload);
  });
}
