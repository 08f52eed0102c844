import { ErrorCode, ExpireCondition, OpType } from '@meshcache/proto';
import type { CommandSpec } from '../RedisCommand.js';
import type { RedisConnection } from '../RedisConnection.js';
import { invalidExpireTime, RedisReplyError } from '../RedisReplyError.js';
import { argBytes, check, execute, getThen, keyOp, newOp, type ReplyWriter } from '../remote.js';
import { checkExpiryBound, expireArgOrPast, is, MILLISECONDS, SECONDS } from './args.js';

// Generic key commands over the selected database's cache.

function del(c: RedisConnection, argv: readonly string[], argc: number): void {
  const ex = c.server.executor;
  for (let i = 1; i < argc; i++) ex.checkKey(argv[i]!); // a bad key deletes nothing
  let deleted = 0;
  for (let i = 1; i < argc; i++) if (ex.deleteEntry(c.db, argv[i]!)) deleted++;
  c.out.integer(deleted);
}

function exists(c: RedisConnection, argv: readonly string[], argc: number): void {
  const ex = c.server.executor;
  for (let i = 1; i < argc; i++) ex.checkKey(argv[i]!);
  let found = 0;
  for (let i = 1; i < argc; i++) if (ex.peekEntry(c.db, argv[i]!) >= 0) found++;
  c.out.integer(found);
}

/** DEL / UNLINK through the coordinator: one DELETE per key (keys checked first: a bad one deletes nothing). */
function delRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  const ex = c.server.executor;
  for (let i = 1; i < argc; i++) ex.checkKey(argv[i]!);
  const results = [];
  for (let i = 1; i < argc; i++) results.push(execute(c, keyOp(c, OpType.DELETE, argv, i)));
  return Promise.all(results).then((rs) => (out) => {
    let deleted = 0;
    for (const r of rs) if (check(r).found) deleted++;
    out.integer(deleted);
  });
}

/** EXISTS through the coordinator: one GET_MANY (a key named twice counts twice, as in Redis). */
function existsRemote(c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> {
  const ex = c.server.executor;
  for (let i = 1; i < argc; i++) ex.checkKey(argv[i]!);
  const op = newOp(c, OpType.GET_MANY);
  for (let i = 1; i < argc; i++) op.keys.push(argBytes(c, argv, i));
  return execute(c, op).then((r) => (out) => {
    let found = 0;
    for (const e of check(r).entries) if (e.found) found++;
    out.integer(found);
  });
}

const NX = 1;
const XX = 2;
const GT = 4;
const LT = 8;

/** The EXPIRE options in argv[3..argc), with redis-server's errors for bad ones and bad combinations. */
function expireFlags(argv: readonly string[], argc: number): number {
  let flags = 0;
  for (let j = 3; j < argc; j++) {
    const opt = argv[j]!;
    if (is(opt, 'nx')) flags |= NX;
    else if (is(opt, 'xx')) flags |= XX;
    else if (is(opt, 'gt')) flags |= GT;
    else if (is(opt, 'lt')) flags |= LT;
    else throw new RedisReplyError(`ERR Unsupported option ${opt}`);
  }
  if (flags & NX && flags & (XX | GT | LT)) {
    throw new RedisReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags & GT && flags & LT) {
    throw new RedisReplyError('ERR GT and LT options at the same time are not compatible');
  }
  return flags;
}

/** The wire condition for EXPIRE flags (XX GT is GT: GT already needs an expiry). */
function expireConditionOf(flags: number): ExpireCondition {
  if (flags & NX) return ExpireCondition.EXPIRE_IF_NONE;
  if (flags & GT) return ExpireCondition.EXPIRE_IF_LATER;
  if (flags & LT)
    return flags & XX ? ExpireCondition.EXPIRE_IF_SET_AND_EARLIER : ExpireCondition.EXPIRE_IF_EARLIER;
  if (flags & XX) return ExpireCondition.EXPIRE_IF_SET;
  return ExpireCondition.EXPIRE_ALWAYS;
}

/**
 * The EXPIRE family through the coordinator: one TOUCH with the absolute
 * time and the condition. The executor checks in redis-server's order (an
 * absent key answers 0, then the 10-year bound, then the condition; a time
 * already past deletes), so the replies are the local form's.
 */
function expireRemote(unit: number, absolute: boolean, name: string) {
  return (c: RedisConnection, argv: readonly string[], argc: number): Promise<ReplyWriter> => {
    const flags = expireFlags(argv, argc);
    const when = expireArgOrPast(argv[2]!, unit, absolute, name, Date.now());
    const op = keyOp(c, OpType.TOUCH, argv);
    op.expireCondition = expireConditionOf(flags);
    // expires_at_ms must be a positive safe integer: an unsafe time is over the bound (the
    // local form's error for a present key); zero or negative is past (1 ms after the epoch).
    op.expiresAtMs = !Number.isSafeInteger(when) ? Number.MAX_SAFE_INTEGER : when <= 0 ? 1 : when;
    return execute(c, op).then((r) => (out) => {
      if (r.code === ErrorCode.INVALID_TTL) throw invalidExpireTime(name);
      out.integer(check(r).applied ? 1 : 0);
    });
  };
}

function ttlRemote(c: RedisConnection, argv: readonly string[], ms: boolean): Promise<ReplyWriter> {
  return getThen(c, argv, (out, r) => {
    if (!r.found) out.integer(-2);
    else if (r.ttlMs < 0) out.integer(-1);
    else out.integer(ms ? r.ttlMs : Math.floor((r.ttlMs + 500) / 1000));
  });
}

function persistRemote(c: RedisConnection, argv: readonly string[]): Promise<ReplyWriter> {
  const op = keyOp(c, OpType.TOUCH, argv);
  op.ttlMs = -1;
  op.expireCondition = ExpireCondition.EXPIRE_IF_SET;
  return execute(c, op).then((r) => (out) => out.integer(check(r).applied ? 1 : 0));
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX / XX / GT / LT, as redis-server's expireGenericCommand. */
function expireCommand(unit: number, absolute: boolean, name: string) {
  return (c: RedisConnection, argv: readonly string[], argc: number): void => {
    const flags = expireFlags(argv, argc);
    const now = Date.now();
    const when = expireArgOrPast(argv[2]!, unit, absolute, name, now);
    const ex = c.server.executor;
    const key = argv[1]!;
    const h = ex.peekEntry(c.db, key);
    if (h < 0) {
      c.out.integer(0);
      return;
    }
    checkExpiryBound(when, name, now);
    if (flags) {
      const current = ex.storeAt(c.db).expiresAtOf(h); // 0 = no expiry, which counts as infinite
      if (
        (flags & NX && current !== 0) ||
        (flags & XX && current === 0) ||
        (flags & GT && (current === 0 || when <= current)) ||
        (flags & LT && current !== 0 && when >= current)
      ) {
        c.out.integer(0);
        return;
      }
    }
    if (when <= now) ex.deleteEntry(c.db, key);
    else ex.expireEntry(c.db, key, when);
    c.out.integer(1);
  };
}

function ttl(c: RedisConnection, key: string, ms: boolean): void {
  const ex = c.server.executor;
  const h = ex.peekEntry(c.db, key);
  if (h < 0) return c.out.integer(-2);
  const expiresAt = ex.storeAt(c.db).expiresAtOf(h);
  if (expiresAt === 0) return c.out.integer(-1);
  const left = Math.max(0, expiresAt - Date.now());
  c.out.integer(ms ? left : Math.floor((left + 500) / 1000));
}

function persist(c: RedisConnection, argv: readonly string[]): void {
  const ex = c.server.executor;
  const h = ex.peekEntry(c.db, argv[1]!);
  if (h < 0 || ex.storeAt(c.db).expiresAtOf(h) === 0) return c.out.integer(0);
  ex.expireEntry(c.db, argv[1]!, 0);
  c.out.integer(1);
}

const EXPIRE_DOC = {
  arity: -3,
  flags: ['write', 'fast'] as const,
  firstKey: 1,
  lastKey: 1,
  step: 1,
  categories: ['keyspace', 'write', 'fast'],
  group: 'generic',
  complexity: 'O(1)',
};

export const keyCommands: readonly CommandSpec[] = [
  {
    name: 'del',
    arity: -2,
    flags: ['write'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['keyspace', 'write', 'slow'],
    summary: 'Deletes one or more keys.',
    since: '1.0.0',
    group: 'generic',
    complexity: 'O(N) where N is the number of keys that will be removed.',
    remote: delRemote,
    handler: del,
  },
  {
    name: 'unlink',
    arity: -2,
    flags: ['write', 'fast'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['keyspace', 'write', 'fast'],
    summary: 'Asynchronously deletes one or more keys.',
    since: '4.0.0',
    group: 'generic',
    complexity: 'O(1) for each key removed regardless of its size.',
    remote: delRemote,
    handler: del,
  },
  {
    name: 'exists',
    arity: -2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    categories: ['keyspace', 'read', 'fast'],
    summary: 'Determines whether one or more keys exist.',
    since: '1.0.0',
    group: 'generic',
    complexity: 'O(N) where N is the number of keys to check.',
    remote: existsRemote,
    handler: exists,
  },
  {
    ...EXPIRE_DOC,
    name: 'expire',
    summary: 'Sets the expiration time of a key in seconds.',
    since: '1.0.0',
    remote: expireRemote(SECONDS, false, 'expire'),
    handler: expireCommand(SECONDS, false, 'expire'),
  },
  {
    ...EXPIRE_DOC,
    name: 'pexpire',
    summary: 'Sets the expiration time of a key in milliseconds.',
    since: '2.6.0',
    remote: expireRemote(MILLISECONDS, false, 'pexpire'),
    handler: expireCommand(MILLISECONDS, false, 'pexpire'),
  },
  {
    ...EXPIRE_DOC,
    name: 'expireat',
    summary: 'Sets the expiration time of a key to a Unix timestamp.',
    since: '1.2.0',
    remote: expireRemote(SECONDS, true, 'expireat'),
    handler: expireCommand(SECONDS, true, 'expireat'),
  },
  {
    ...EXPIRE_DOC,
    name: 'pexpireat',
    summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.',
    since: '2.6.0',
    remote: expireRemote(MILLISECONDS, true, 'pexpireat'),
    handler: expireCommand(MILLISECONDS, true, 'pexpireat'),
  },
  {
    name: 'ttl',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['keyspace', 'read', 'fast'],
    summary: 'Returns the expiration time in seconds of a key.',
    since: '1.0.0',
    group: 'generic',
    complexity: 'O(1)',
    remote: (c, argv) => ttlRemote(c, argv, false),
    handler: (c, argv) => ttl(c, argv[1]!, false),
  },
  {
    name: 'pttl',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['keyspace', 'read', 'fast'],
    summary: 'Returns the expiration time in milliseconds of a key.',
    since: '2.6.0',
    group: 'generic',
    complexity: 'O(1)',
    remote: (c, argv) => ttlRemote(c, argv, true),
    handler: (c, argv) => ttl(c, argv[1]!, true),
  },
  {
    name: 'persist',
    arity: 2,
    flags: ['write', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['keyspace', 'write', 'fast'],
    summary: 'Removes the expiration time of a key.',
    since: '2.2.0',
    group: 'generic',
    complexity: 'O(1)',
    remote: persistRemote,
    handler: persist,
  },
  {
    name: 'type',
    arity: 2,
    flags: ['readonly', 'fast'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    categories: ['keyspace', 'read', 'fast'],
    summary: 'Determines the type of value stored at a key.',
    since: '1.0.0',
    group: 'generic',
    complexity: 'O(1)',
    remote: (c, argv) => getThen(c, argv, (out, r) => out.simple(r.found ? 'string' : 'none')),
    handler: (c, argv) => c.out.simple(c.server.executor.peekEntry(c.db, argv[1]!) >= 0 ? 'string' : 'none'),
  },
];
