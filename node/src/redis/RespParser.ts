import { splitInlineArgs } from './splitInlineArgs.js';

/** Limits a parser enforces; exceeding one is a protocol error that closes the connection. */
export interface RespParserLimits {
  /** Largest bulk string accepted (Redis proto-max-bulk-len). */
  maxBulkBytes: number;
  /** Most arguments one command may carry (the multibulk count). */
  maxArgs: number;
  /** Most bytes one command may buffer while it arrives (Redis client-query-buffer-limit). */
  maxQueryBufferBytes: number;
}

/**
 * Receives each complete command. `argv` is reused for the next command: a
 * handler must not keep it (the strings in it are its own to keep). Return
 * false to suspend parsing: the unparsed bytes are kept until resume() (or
 * dropped by stop(), when the connection is closing).
 */
export type CommandSink = (argv: string[], argc: number) => boolean;

/**
 * Asked once per multibulk command, with its name (argv[0] as sent, any
 * case): which argument positions to leave as raw byte ranges instead of
 * strings, as a bit mask (bit i = argv[i]; bit 0 and bits from RAW_MAX_ARGS
 * up are ignored). 0 = none.
 */
export type RawArgsLookup = (name: string) => number;

/** Raw argument positions are below this (a bit mask of one int32). */
export const RAW_MAX_ARGS = 31;

/** Redis's limit on an inline command and on a `*` or `$` line without its CRLF. */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Redis's limits before AUTH when a password is set. */
export const UNAUTHENTICATED_MAX_ARGS = 10;
export const UNAUTHENTICATED_MAX_BULK_BYTES = 16 * 1024;
/** A bulk string at least this long that has not fully arrived collects in a buffer of its own. */
const BIG_BULK_BYTES = 32 * 1024;

const CR = 13;
const STAR = 42;
const DOLLAR = 36;
const MINUS = 45;
const LF = 10;
/** readLength outcomes other than a position. */
const NEED_MORE = -1;
const INVALID = -2;

const EMPTY = Buffer.alloc(0);
/** rawMask bits the parser honours: positions 1 .. RAW_MAX_ARGS - 1. */
const RAW_POSITIONS = 0x7ffffffe;

interface Latin1Buffer {
  latin1Slice(start: number, end: number): string;
}
/**
 * Bytes [start, end) as a latin1 string. Short ones (command names, small
 * keys and numbers) are built in JavaScript, several times faster than a
 * native call for a few bytes.
 */
function sliceLatin1(b: Buffer, start: number, end: number): string {
  const s = start;
  switch (end - start) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(b[s]!);
    case 2:
      return String.fromCharCode(b[s]!, b[s + 1]!);
    case 3:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    default:
      return (b as unknown as Latin1Buffer).latin1Slice(start, end);
  }
}

/**
 * A command name (argument 0) as a string: GET, get, SET and set, byte for
 * byte, come back as constants, so the commonest commands allocate no name;
 * anything else is sliceLatin1.
 */
function commandName(b: Buffer, start: number, end: number): string {
  if (end - start === 3) {
    const c0 = b[start]!;
    const c1 = b[start + 1]!;
    const c2 = b[start + 2]!;
    if (c1 === 69 && c2 === 84) {
      if (c0 === 71) return 'GET';
      if (c0 === 83) return 'SET';
    } else if (c1 === 101 && c2 === 116) {
      if (c0 === 103) return 'get';
      if (c0 === 115) return 'set';
    }
  }
  return sliceLatin1(b, start, end);
}

/**
 * Incremental RESP request parser over Buffers: multibulk (`*N` of `$len`
 * bulks) and inline commands, as redis-server reads them. Arguments become
 * latin1 strings (one char per byte) straight from the network buffer, the
 * form the store keeps, so each byte is copied once. Only the unparsed tail
 * of a chunk (a partial header or bulk) is kept between chunks; a large bulk
 * that spans chunks grows a buffer of its own instead of re-concatenating.
 *
 * RAW ARGUMENTS. Given a RawArgsLookup, the parser asks it, once a
 * multibulk command's name has arrived, which later positions the command
 * takes as bytes (GET's key, SET's key and value). Those arguments are not
 * turned into strings: argv[i] holds '' and bit i of `rawMask` is set, and
 * the bytes are rawBuf[i][rawStart[i] .. rawStart[i] + rawLen[i]). The
 * buffer is the parser's input (or the buffer a big bulk collected in), so
 * the ranges are valid ONLY during the synchronous sink call for that
 * command: copy what must outlive it. Inline commands, and every command
 * when no lookup is given, have rawMask 0 (all strings). arg(i) builds the
 * string of any argument when a caller needs one. Limits, errors and byte
 * accounting are the same whichever form an argument takes.
 *
 * Errors use redis-server's texts (without the `ERR ` prefix); after one the
 * parser is stopped and the connection must close after replying.
 */
export class RespParser {
  /** Set when a password is required and the client has not authenticated. */
  unauthenticated = false;
  /**
   * During a sink call: bit i set = argv[i] arrived as the raw range
   * rawBuf[i], rawStart[i], rawLen[i] (and argv[i] is ''). 0 otherwise.
   */
  rawMask = 0;
  /** Raw ranges by argument position; only those in rawMask mean anything, only during the sink call. */
  readonly rawBuf: Buffer[] = new Array<Buffer>(RAW_MAX_ARGS).fill(EMPTY);
  readonly rawStart: number[] = new Array<number>(RAW_MAX_ARGS).fill(0);
  readonly rawLen: number[] = new Array<number>(RAW_MAX_ARGS).fill(0);
  private readonly argv: string[] = [];
  private argc = 0;
  /** Unparsed bytes: buf[pos..]. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Arguments still expected in the current multibulk; 0 = at the start of a command. */
  private pendingArgs = 0;
  /** Length of the bulk being read; -1 = its `$` line comes next. */
  private bulkLen = -1;
  /** Collects a large bulk that spans chunks. */
  private big: Buffer | null = null;
  private bigFill = 0;
  /** Bytes of the arguments completed so far in the current command. */
  private commandBytes = 0;
  /** Value read by readLength. */
  private num = 0;
  private stopped = false;
  private suspended = false;

  constructor(
    private readonly limits: RespParserLimits,
    private readonly sink: CommandSink,
    private readonly rawArgsOf?: RawArgsLookup,
  ) {}

  /** Argument i of the command being dispatched as a string (built from its bytes when it is raw). */
  arg(i: number): string {
    if (i < RAW_MAX_ARGS && ((this.rawMask >>> i) & 1) !== 0) {
      const start = this.rawStart[i]!;
      return sliceLatin1(this.rawBuf[i]!, start, start + this.rawLen[i]!);
    }
    return this.argv[i]!;
  }

  /** Bytes held for the command in progress (Redis's qbuf). */
  get bufferedBytes(): number {
    return this.commandBytes + (this.buf.length - this.pos) + this.bigFill;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True when the sink suspended parsing and bytes wait for resume(). */
  get isSuspended(): boolean {
    return this.suspended && !this.stopped;
  }

  /** Continues after the sink suspended parsing; same contract as feed(). */
  resume(): string | undefined {
    this.suspended = false;
    return this.feed(EMPTY);
  }

  /** Stops parsing for good and drops what is buffered. */
  stop(): void {
    this.stopped = true;
    this.buf = EMPTY;
    this.pos = 0;
    this.big = null;
    this.bigFill = 0;
    this.argv.length = 0;
    this.rawMask = 0;
    this.rawBuf.fill(EMPTY);
  }

  /**
   * Parses a chunk, calling the sink for every complete command. Returns
   * undefined, or a protocol error message (the parser is then stopped).
   */
  feed(chunk: Buffer): string | undefined {
    if (this.stopped) return undefined;
    let data = chunk;
    if (this.big !== null && !this.suspended) {
      const used = this.fillBig(chunk);
      if (used < 0) return this.checkQueryBuffer();
      if (this.stopped) return undefined;
      data = chunk.subarray(used);
    }
    if (this.suspended) {
      // Still suspended (more arrived before resume()): keep it, unparsed.
      if (data.length > 0) {
        this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), data]) : data;
        this.pos = 0;
      }
      return this.checkQueryBuffer();
    }
    if (this.pos < this.buf.length) {
      data =
        data.length === 0 ? this.buf.subarray(this.pos) : Buffer.concat([this.buf.subarray(this.pos), data]);
    }
    this.buf = EMPTY;
    this.pos = 0;
    const error = this.parse(data);
    if (error !== undefined) {
      this.stop();
      return error;
    }
    return this.checkQueryBuffer();
  }

  private checkQueryBuffer(): string | undefined {
    if (this.stopped || this.bufferedBytes <= this.limits.maxQueryBufferBytes) return undefined;
    this.stop();
    return 'Protocol error: query buffer limit exceeded';
  }

  /** Appends to the big bulk; returns the bytes of chunk used, or -1 when all were and it is still short. */
  private fillBig(chunk: Buffer): number {
    const need = this.bulkLen + 2;
    let big = this.big!;
    const take = Math.min(need - this.bigFill, chunk.length);
    if (this.bigFill + take > big.length) {
      // Grow by doubling, so a client that announces a huge bulk and sends little costs little.
      const grown = Buffer.allocUnsafe(Math.min(need, Math.max(big.length * 2, this.bigFill + take)));
      big.copy(grown, 0, 0, this.bigFill);
      big = this.big = grown;
    }
    chunk.copy(big, this.bigFill, 0, take);
    this.bigFill += take;
    if (this.bigFill < need) return -1;
    const i = this.argc;
    // A raw range keeps `big` referenced (in rawBuf) until the command has dispatched.
    if (i < RAW_MAX_ARGS && ((this.rawMask >>> i) & 1) !== 0) this.addRaw(big, 0, this.bulkLen);
    else this.addArg(sliceLatin1(big, 0, this.bulkLen));
    this.big = null;
    this.bigFill = 0;
    if (this.pendingArgs === 0) this.dispatch();
    return take;
  }

  private addArg(arg: string): void {
    const i = this.argc++;
    this.argv[i] = arg;
    this.commandBytes += arg.length;
    this.bulkLen = -1;
    this.pendingArgs--;
    if (i === 0) this.rawMask = this.rawArgsOf === undefined ? 0 : this.rawArgsOf(arg) & RAW_POSITIONS;
  }

  /** Records argument `argc` as the range buf[start, start + len) (its bit is in rawMask). */
  private addRaw(buf: Buffer, start: number, len: number): void {
    const i = this.argc++;
    this.argv[i] = '';
    this.rawBuf[i] = buf;
    this.rawStart[i] = start;
    this.rawLen[i] = len;
    this.commandBytes += len;
    this.bulkLen = -1;
    this.pendingArgs--;
  }

  private dispatch(): void {
    const argc = this.argc;
    const bytes = this.commandBytes;
    this.argc = 0;
    this.commandBytes = 0;
    const ok = this.sink(this.argv, argc);
    if (!ok) this.suspended = true;
    // Do not keep large arguments (or the buffers raw ones point into) alive until a later command.
    if (bytes > BIG_BULK_BYTES) this.argv.fill('', 0, argc);
    const mask = this.rawMask;
    if (mask !== 0) {
      this.rawMask = 0;
      const last = Math.min(argc, RAW_MAX_ARGS);
      for (let i = 1; i < last; i++) if (((mask >>> i) & 1) !== 0) this.rawBuf[i] = EMPTY;
    }
  }

  /**
   * Reads `[-]digits\r\n` from `start` (just past the type byte) with Redis's
   * string2ll rules (no `+`, no leading zeros, no `-0`, at most 15 digits here,
   * which is above every limit). Returns the position after the CRLF with the
   * value in `num`, NEED_MORE or INVALID.
   */
  private readLength(buf: Buffer, start: number, len: number): number {
    let i = start;
    let negative = false;
    if (i < len && buf[i] === MINUS) {
      negative = true;
      i++;
    }
    const digitsStart = i;
    let n = 0;
    while (i < len) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      if (i - digitsStart >= 15) return INVALID;
      n = n * 10 + (c - 48);
      i++;
    }
    if (i >= len) return NEED_MORE;
    if (buf[i] !== CR) return INVALID;
    const digits = i - digitsStart;
    if (digits === 0 || (digits > 1 && buf[digitsStart] === 48) || (negative && n === 0)) return INVALID;
    if (i + 1 >= len) return NEED_MORE;
    this.num = negative ? -n : n;
    return i + 2; // like redis-server, the byte after CR is taken to be LF
  }

  private parse(buf: Buffer): string | undefined {
    const len = buf.length;
    let pos = 0;
    while (pos < len && !this.stopped && !this.suspended) {
      if (this.pendingArgs === 0) {
        if (buf[pos] !== STAR) {
          const next = this.parseInline(buf, pos, len);
          if (next === NEED_MORE) break;
          if (next === INVALID) return 'Protocol error: unbalanced quotes in request';
          if (next === -3) return 'Protocol error: too big inline request';
          pos = next;
          continue;
        }
        const next = this.readLength(buf, pos + 1, len);
        if (next === NEED_MORE) {
          if (len - pos > INLINE_MAX_BYTES) return 'Protocol error: too big mbulk count string';
          break;
        }
        const count = this.num;
        if (next === INVALID || count > this.limits.maxArgs)
          return 'Protocol error: invalid multibulk length';
        if (this.unauthenticated && count > UNAUTHENTICATED_MAX_ARGS) {
          return 'Protocol error: unauthenticated multibulk length';
        }
        pos = next;
        if (count <= 0) continue; // `*0` and `*-1` are empty commands, skipped
        this.pendingArgs = count;
        this.argc = 0;
        this.commandBytes = 0;
        this.rawMask = 0;
        continue;
      }
      let bulkLen = this.bulkLen;
      if (bulkLen < 0) {
        const type = buf[pos]!;
        if (type !== DOLLAR) return `Protocol error: expected '$', got '${String.fromCharCode(type)}'`;
        const next = this.readLength(buf, pos + 1, len);
        if (next === NEED_MORE) {
          if (len - pos > INLINE_MAX_BYTES) return 'Protocol error: too big bulk count string';
          break;
        }
        bulkLen = this.num;
        if (next === INVALID || bulkLen < 0 || bulkLen > this.limits.maxBulkBytes) {
          return 'Protocol error: invalid bulk length';
        }
        if (this.unauthenticated && bulkLen > UNAUTHENTICATED_MAX_BULK_BYTES) {
          return 'Protocol error: unauthenticated bulk length';
        }
        this.bulkLen = bulkLen;
        pos = next;
      }
      const end = pos + bulkLen;
      if (end + 2 > len) {
        if (bulkLen >= BIG_BULK_BYTES) {
          const have = len - pos;
          this.big = Buffer.allocUnsafe(Math.min(bulkLen + 2, Math.max(2 * have, 64 * 1024)));
          buf.copy(this.big, 0, pos, len);
          this.bigFill = have;
          pos = len;
        }
        break;
      }
      const i = this.argc;
      if (i < RAW_MAX_ARGS && ((this.rawMask >>> i) & 1) !== 0) this.addRaw(buf, pos, bulkLen);
      else this.addArg(i === 0 ? commandName(buf, pos, end) : sliceLatin1(buf, pos, end));
      pos = end + 2; // like redis-server, the two bytes after a bulk are taken to be CRLF
      if (this.pendingArgs === 0) this.dispatch();
    }
    if (pos < len && !this.stopped) {
      this.buf = buf;
      this.pos = pos;
    }
    return undefined;
  }

  /** Parses one inline command line; returns the next position, NEED_MORE, INVALID or -3 (too big). */
  private parseInline(buf: Buffer, pos: number, len: number): number {
    const nl = buf.indexOf(LF, pos);
    if (nl < 0) return len - pos > INLINE_MAX_BYTES ? -3 : NEED_MORE;
    const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    if (end === pos) return nl + 1; // empty line
    const argc = splitInlineArgs(sliceLatin1(buf, pos, end), this.argv);
    if (argc < 0) return INVALID;
    if (argc > 0) {
      this.rawMask = 0;
      this.argc = argc;
      this.commandBytes = end - pos;
      this.dispatch();
    }
    return nl + 1;
  }
}
