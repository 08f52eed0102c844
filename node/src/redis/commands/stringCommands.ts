import { ExpireCondition, OpType, SetCondition } from '@meshcache/proto';
import { DEFAULT_EXPIRY, type EntrySink, KEEP_TTL } from '../../engine/OperationExecutor.js';
import type { ArenaStore } from '../../store/index.js';
import type { CommandSpec } from '../RedisCommand.js';
import type { RedisConnection } from '../RedisConnection.js';
import type { RespWriter } from '../RespWriter.js';
import { RedisReplyError, SYNTAX_ERROR, wrongArity } from '../RedisReplyError.js';
import { argBytes, bulkOrNull, check, execute, getThen, keyOp, newOp, type ReplyWriter } from '../remote.js';
import { expireArg, integerArg, is, MILLISECONDS, SECONDS } from './args.js';

// String commands. Every value is a string in meshcache, so WRONGTYPE never applies.

const EX = 1;
const PX = 2;
const EXAT = 4;
const PXAT = 8;
const KEEPTTL = 16;
const PERSIST = 32;
const NX = 64;
const XX = 128;
const GET = 256;
const ANY_EXPIRE = EX | PX | EXAT | PXAT;

/**
 * MGET's reply, written one value at a time as the executor looks the keys
 * up: under LRU each get may move or evict what the previous one returned.
 * Reused (handlers run one at a time).
 */
class MgetReply implements EntrySink {
  out: RespWriter | undefined = undefined;
  begin(count: number): void {
    this.out!.array(count);
  }
  entry(store: ArenaStore, h: number): void {
    bulkValue(this.out!, store, h);
  }
}
const mgetReply = new MgetReply();

/** A value as a bulk string straight from the store's bytes, or null for -1. */
function bulkValue(out: RespWriter, store: ArenaStore, h: number): void {
  if (h < 0) out.null();
  else out.bulkBytes(store.valueSource(h), store.valueOffset(h), store.valueLength(h));
}

/** The value of entry `h` of the connection's database as a bulk reply (null for -1). */
function replyValue(c: RedisConnection, h: number): void {
  bulkValue(c.out, c.server.executor.storeAt(c.db), h);
}

/** Result of parseStringOptions: the flags and the expire option's argument, if any. */
interface StringOptions {
  flags: number;
  expire: string | undefined;
}
const parsed: StringOptions = { flags: 0, expire: undefined };

/**
 * Parses SET / GETEX options from argv[from..argc) as redis-server's
 * parseExtendedStringArgumentsOrReply does, including which combinations are
 * a syntax error. Fills `parsed`.
 */
function parseStringOptions(
  argv: readonly string[],
  from: number,
  argc: number,
  forSet: boolean,
): StringOptions {
  let flags = 0;
  let expire: string | undefined;
  for (let j = from; j < argc; j++) {
    const opt = argv[j]!;
    const hasNext = j + 1 < argc;
    if (forSet && is(opt, 'nx') && !(flags & XX)) flags |= NX;
    else if (forSet && is(opt, 'xx') && !(flags & NX)) flags |= XX;
    else if (forSet && is(opt, 'get')) flags |= GET;
    else if (forSet && is(opt, 'keepttl') && !(flags & (PERSIST | ANY_EXPIRE))) flags |= KEEPTTL;
    else if (!forSet && is(opt, 'persist') && !(flags & (KEEPTTL | ANY_EXPIRE))) flags |= PERSIST;
    else if (is(opt, 'ex') && !(flags & (KEEPTTL | PERSIST | PX | EXAT | PXAT)) && hasNext) {
      flags |= EX;
      expire = argv[++j];
    } else if (is(opt, 'px') && !(flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT)) && hasNext) {
      flags |= PX;
      expire = argv[++j];
    } else if (is(opt, 'exat') && !(flags & (KEEPTTL | PERSIST | EX | PX | PXAT)) && hasNext) {
      flags |= EXAT;
      expire = argv[++j];
    } else if (is(opt, 'pxat') && !(flags & (KEEPTTL | PERSIST | EX | PX | EXAT)) && hasNext) {
      flags |= PXAT;
      expire = argv[++j];
    } else {
      throw new RedisReplyError(SYNTAX_ERROR);
    }
  }
  parsed.flags = flags;
  parsed.expire = expire;
  return parsed;
}

/** The absolute expiry an expire option asks for (redis-server's getExpireMillisecondsOrReply rules). */
function expiryOf(options: StringOptions, command: string): number {
  const { flags, expire } = options;
  const unit = flags & (EX | EXAT) ? SECONDS : MILLISECONDS;
  return expireArg(expire!, unit, (flags & (EXAT | PXAT)) !== 0, command, Date.now());
}

/** GET's and SET's raw argument positions: the key (1) and SET's value (2). */
const RAW_KEY = 1 << 1;
const RAW_VALUE = 1 << 2;
const RAW_KEY_VALUE = RAW_KEY | RAW_VALUE;

/** GET, with the key as bytes when the parser left it raw. */
function get(c: RedisConnection, argv: readonly string[]): void {
  const ex = c.server.executor;
  const p = c.parser;
  const h =
    (p.rawMask & RAW_KEY) !== 0
      ? ex.getEntryAt(c.db, p.rawBuf[1]!, p.rawStart[1]!, p.rawLen[1]!)
      : ex.getEntry(c.db, argv[1]!);
  bulkValue(c.out, ex.storeAt(c.db), h);
}

/** The SET write, with key and value as bytes when the parser left them raw. */
function setValue(
  c: RedisConnection,
  argv: readonly string[],
  expiresAt: number,
  condition: SetCondition,
  wantPrevious: boolean,
): number {
  const ex = c.server.executor;
  const p = c.parser;
  if ((p.rawMask & RAW_KEY_VALUE) === RAW_KEY_VALUE) {
    const b = p.rawBuf;
    const start = p.rawStart;
    const len = p.rawLen;
    return ex.setEntryAt(
      c.db,
      b[1]!,
      start[1]!,
      len[1]!,
      b[2]!,
      start[2]!,
      len[2]!,
      expiresAt,
      condition,
      wantPrevious,
    );
  }
  // Inline commands (and a mask with only one of the two, which no parser makes) take strings.
  const key = (p.rawMask & RAW_KEY) !== 0 ? p.arg(1) : argv[1]!;
  const value = (p.rawMask & RAW_VALUE) !== 0 ? p.arg(2) : argv[2]!;
  return ex.setEntry(c.db, key, value, expiresAt, condition, wantPrevious);
}

function set(c: RedisConnection, argv: readonly string[], argc: number): void {
  const ex = c.server.executor;
  if (argc === 3) {
    setValue(c, argv, DEFAULT_EXPIRY, SetCondition.ALWAYS, false);
    c.out.ok();
    return;
  }
  const options = parseStringOptions(argv, 3, argc, true);
  const flags = options.flags;
  const expiresAt = flags & ANY_EXPIRE ? expiryOf(options, 'set') : 0;
  const condition =
    flags & NX ? SetCondition.IF_ABSENT : flags & XX ? SetCondition.IF_PRESENT : SetCondition.ALWAYS;
  const expiry = flags & ANY_EXPIRE ? expiresAt : flags & KEEPTTL ? KEEP_TTL : DEFAULT_EXPIRY;
  const wantPrevious = (flags & GET) !== 0;
  const written = setValue(c, argv, expiry, condition, wantPrevious);
  if (wantPrevious) {
    // The replaced value was copied out before the write (which may have reused its bytes).
    if (ex.savedLength < 0) c.out.null();
    else c.out.bulkBytes(ex.savedValue, 0, ex.savedLength);
  } else if (written < 0) c.out.null();
  else c.out.ok();
}

function getex(c: RedisConnection, argv: readonly string[], argc: number): void {
  const ex = c.server.executor;
  // As redis-server: options first, then the key (absent: null), then the expire value.
  const flags = argc > 2 ? parseStringOptions(argv, 2, argc, false).flags : 0;
  const key = argv[1]!;
  const h = ex.getEntry(c.db, key);
  if (h < 0 || flags === 0) {
    replyValue(c, h);
    return;
  }
  if (flags & ANY_EXPIRE) {
    const expiresAt = expiryOf(parsed, 'getex');
    // Copied first: changing the expiry may grow the TTL array and reclaim the value's segment.
    ex.saveValue(c.db, h);
    if (expiresAt <= Date.now()) ex.deleteEntry(c.db, key);
    else ex.expireEntry(c.db, key, expiresAt);
  } else if (flags & PERSIST && ex.storeAt(c.db).expiresAtOf(h) !== 0) {
    ex.saveValue(c.db, h);
    ex.expireEntry(c.db, key, 0);
  } else {
    replyValue(c, h);
    return;
  }
  c.out.bulkBytes(ex.savedValue, 0, ex.savedLength);
}

function incrBy(c: RedisConnection, key: string, delta: number): void {
  c.out.integer(c.server.executor.incrementEntry(c.db, key, delta));
}

/** An INCRBY/DECRBY argument: an integer within the range the executor keeps exact. */
function deltaArg(arg: string): number {
  const v = integerArg(arg);
  if (!Number.isSafeInteger(v)) throw new RedisReplyError('ERR increment or decrement would overflow');
  return v;
}

/** SETEX / PSETEX: SET with an expire time in argv[2] and the value in argv[3]. */
function setexCommand(unit: number, name: string) {
  return (c: RedisConnection, argv: readonly string[]): void => {
    const expiresAt = expireArg(argv[2]!, unit, false, name, Date.now());
    c.server.executor.setEntry(c.db, argv[1]!, argv[3]!, expiresAt);
    c.out.ok();
  };
}

function setnx(c: RedisConnection, argv: readonly string[]): void {
  const h = c.server.executor.setEntry(c.db, argv[1]!, argv[2]!, DEFAULT_EXPIRY, SetCondition.IF_ABSENT);
  c.out.integer(h < 0 ? 0 : 1);
}

function getset(c: RedisConnection, argv: readonly string[]): void {
  const ex = c.server.executor;
  ex.setEntry(c.db, argv[1]!, argv[2]!, DEFAULT_EXPIRY, SetCondition.ALWAYS, true);
  if (ex.savedLength < 0) c.out.null();
  else c.out.bulkBytes(ex.savedValue, 0, ex.savedLength);
}

// ---------------------------------------------------------------------------
// Remote forms (through the coordinator): the same argument checks, the same
// replies, from wire Operations. Every expiry goes out absolute
// (expires_at_ms), as computed here, so every replica keeps the same one.

function getRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  return getThen(c, argv, (out, r) => bulkOrNull(out, r.found, r.value));
}

function setRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  let flags = 0;
  let expiresAt = 0;
  if (argc > 3) {
    const options = parseStringOptions(argv, 3, argc, true);
    flags = options.flags;
    if (flags & ANY_EXPIRE) expiresAt = expiryOf(options, 'set');
  }
  const op = keyOp(c, OpType.SET, argv);
  op.value = argBytes(c, argv, 2);
  op.condition =
    flags & NX ? SetCondition.IF_ABSENT : flags & XX ? SetCondition.IF_PRESENT : SetCondition.ALWAYS;
  op.expiresAtMs = expiresAt;
  op.keepTtl = (flags & KEEPTTL) !== 0;
  const wantPrevious = (op.returnPrevious = (flags & GET) !== 0);
  return execute(c, op).then((r) => (out) => {
    check(r);
    if (wantPrevious) bulkOrNull(out, r.found, r.value);
    else if (r.applied) out.ok();
    else out.null();
  });
}

function getdelRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.DELETE, argv);
  op.returnPrevious = true;
  return execute(c, op).then((r) => (out) => bulkOrNull(out, check(r).found, r.value));
}

function getexRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  const flags = argc > 2 ? parseStringOptions(argv, 2, argc, false).flags : 0;
  if (flags === 0) return getRemote(c, argv);
  const op = keyOp(c, OpType.TOUCH, argv);
  op.returnPrevious = true;
  if (flags & ANY_EXPIRE) {
    let expiresAt: number;
    try {
      expiresAt = expiryOf(parsed, 'getex');
    } catch (err) {
      // As redis-server (and the local form): an absent key answers null before the time is checked.
      return getThen(c, argv, (out, r) => {
        if (r.found) throw err;
        out.null();
      });
    }
    op.expiresAtMs = expiresAt;
  } else {
    // PERSIST: only an entry that has an expiry changes.
    op.ttlMs = -1;
    op.expireCondition = ExpireCondition.EXPIRE_IF_SET;
  }
  return execute(c, op).then((r) => (out) => bulkOrNull(out, check(r).found, r.value));
}

function mgetRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  const op = newOp(c, OpType.GET_MANY);
  for (let i = 1; i < argc; i++) op.keys.push(argBytes(c, argv, i));
  return execute(c, op).then((r) => (out) => {
    const entries = check(r).entries;
    out.array(entries.length);
    for (const e of entries) bulkOrNull(out, e.found, e.value);
  });
}

function msetRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  if (argc % 2 === 0) throw new RedisReplyError(wrongArity('mset'));
  const op = newOp(c, OpType.SET_MANY);
  for (let i = 1; i + 1 < argc; i += 2) {
    op.entries.push({ key: argBytes(c, argv, i), value: argBytes(c, argv, i + 1), ttlMs: 0 });
  }
  return execute(c, op).then((r) => (out) => {
    check(r);
    out.ok();
  });
}

function appendRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.APPEND, argv);
  op.value = argBytes(c, argv, 2);
  return execute(c, op).then((r) => (out) => out.integer(check(r).number));
}

function incrByRemote(c: RedisConnection, argv: readonly string[], delta: number): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.INCREMENT, argv);
  op.delta = delta;
  return execute(c, op).then((r) => (out) => out.integer(check(r).number));
}

function setexRemote(unit: number, name: string) {
  return (c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> => {
    const expiresAt = expireArg(argv[2]!, unit, false, name, Date.now());
    const op = keyOp(c, OpType.SET, argv);
    op.value = argBytes(c, argv, 3);
    op.expiresAtMs = expiresAt;
    return execute(c, op).then((r) => (out) => {
      check(r);
      out.ok();
    });
  };
}

function setnxRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.SET, argv);
  op.value = argBytes(c, argv, 2);
  op.condition = SetCondition.IF_ABSENT;
  return execute(c, op).then((r) => (out) => out.integer(check(r).applied ? 1 : 0));
}

function getsetRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.SET, argv);
  op.value = argBytes(c, argv, 2);
  op.returnPrevious = true;
  return execute(c, op).then((r) => (out) => bulkOrNull(out, check(r).found, r.value));
}

const READ = ['read', 'string', 'fast'];
const WRITE = ['write', 'string', 'fast'];

export const stringCommands: readonly CommandSpec[] = [
  {
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: READ,
    summary: 'Returns the string value of a key.',
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: getRemote,
    handler: get,
    rawArgs: RAW_KEY,
  },
  {
    name: 'set',
    arity: -3,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['write', 'string', 'slow'],
    summary: 'Sets the string value of a key, ignoring its type. The key is created if it does not exist.',
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: setRemote,
    handler: set,
    rawArgs: RAW_KEY_VALUE,
  },
  {
    name: 'setnx',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary: "Set the string value of a key only when the key doesn't exist.",
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: setnxRemote,
    handler: setnx,
  },
  {
    name: 'setex',
    arity: 4,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['write', 'string', 'slow'],
    summary: 'Sets the string value and expiration time of a key. Creates the key if it does not exist.',
    since: '2.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: setexRemote(SECONDS, 'setex'),
    handler: setexCommand(SECONDS, 'setex'),
  },
  {
    name: 'psetex',
    arity: 4,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['write', 'string', 'slow'],
    summary:
      'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist.',
    since: '2.6.0',
    group: 'string',
    complexity: 'O(1)',
    remote: setexRemote(MILLISECONDS, 'psetex'),
    handler: setexCommand(MILLISECONDS, 'psetex'),
  },
  {
    name: 'getset',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary: 'Returns the previous string value of a key after setting it to a new value.',
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: getsetRemote,
    handler: getset,
  },
  {
    name: 'getdel',
    arity: 2,
    flags: ['write', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary: 'Returns the string value of a key after deleting the key.',
    since: '6.2.0',
    group: 'string',
    complexity: 'O(1)',
    remote: getdelRemote,
    handler: (c, argv) => replyValue(c, c.server.executor.takeEntry(c.db, argv[1]!)),
  },
  {
    name: 'getex',
    arity: -2,
    flags: ['write', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary: 'Returns the string value of a key after setting its expiration time.',
    since: '6.2.0',
    group: 'string',
    complexity: 'O(1)',
    remote: getexRemote,
    handler: getex,
  },
  {
    name: 'mget',
    arity: -2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: READ,
    summary: 'Atomically returns the string values of one or more keys.',
    since: '1.0.0',
    group: 'string',
    complexity: 'O(N) where N is the number of keys to retrieve.',
    remote: mgetRemote,
    handler: (c, argv, argc) => {
      mgetReply.out = c.out;
      try {
        c.server.executor.getEntries(c.db, argv, 1, argc, mgetReply);
      } finally {
        mgetReply.out = undefined;
      }
    },
  },
  {
    name: 'mset',
    arity: -3,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: -1,
    step: 2,
    categories: ['write', 'string', 'slow'],
    summary: 'Atomically creates or modifies the string values of one or more keys.',
    since: '1.0.1',
    group: 'string',
    complexity: 'O(N) where N is the number of keys to set.',
    remote: msetRemote,
    handler: (c, argv, argc) => {
      if (argc % 2 === 0) throw new RedisReplyError(wrongArity('mset'));
      c.server.executor.setEntries(c.db, argv, 1, argc);
      c.out.ok();
    },
  },
  {
    name: 'append',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    since: '2.0.0',
    group: 'string',
    complexity: 'O(1).',
    remote: appendRemote,
    handler: (c, argv) => c.out.integer(c.server.executor.appendValue(c.db, argv[1]!, argv[2]!)),
  },
  {
    name: 'strlen',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: READ,
    summary: 'Returns the length of a string value.',
    since: '2.2.0',
    group: 'string',
    complexity: 'O(1)',
    remote: (c, argv) => getThen(c, argv, (out, r) => out.integer(r.found ? r.value.length : 0)),
    handler: (c, argv) => {
      const ex = c.server.executor;
      const h = ex.peekEntry(c.db, argv[1]!);
      c.out.integer(h < 0 ? 0 : ex.storeAt(c.db).valueLength(h));
    },
  },
  {
    name: 'incr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary:
      "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: (c, argv) => incrByRemote(c, argv, 1),
    handler: (c, argv) => incrBy(c, argv[1]!, 1),
  },
  {
    name: 'decr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary:
      "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: (c, argv) => incrByRemote(c, argv, -1),
    handler: (c, argv) => incrBy(c, argv[1]!, -1),
  },
  {
    name: 'incrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary:
      "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: (c, argv) => incrByRemote(c, argv, deltaArg(argv[2]!)),
    handler: (c, argv) => incrBy(c, argv[1]!, deltaArg(argv[2]!)),
  },
  {
    name: 'decrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: WRITE,
    summary:
      "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    since: '1.0.0',
    group: 'string',
    complexity: 'O(1)',
    remote: (c, argv) => incrByRemote(c, argv, -deltaArg(argv[2]!)),
    handler: (c, argv) => {
      const delta = deltaArg(argv[2]!);
      incrBy(c, argv[1]!, -delta);
    },
  },
];
