import { performance } from 'node:perf_hooks';
import { Consistency, ErrorCode, type Operation, OpType, type Result } from '@meshcache/proto';
import { OperationError } from '../engine/OperationError.js';
import { RAW_MAX_ARGS } from './RespParser.js';
import type { RedisConnection } from './RedisConnection.js';
import type { RespWriter } from './RespWriter.js';

// Helpers for the remote forms of commands (see RemoteHandler in
// RedisCommand.ts): build wire Operations from argv, run them through the
// coordinator, and turn non-OK Results into the errors the local path
// throws, so replyFor gives the same reply text either way.

/** Writes a command's reply once its operations are answered; throws for an error reply. */
export type ReplyWriter = (out: RespWriter) => void;

const EMPTY = Buffer.alloc(0);

/** argv[i] as bytes of its own (a raw range is only valid during the dispatch call, so it is copied). */
export function argBytes(c: RedisConnection, argv: readonly string[], i: number): Buffer {
  const p = c.parser;
  if (i < RAW_MAX_ARGS && ((p.rawMask >>> i) & 1) !== 0) {
    const start = p.rawStart[i]!;
    return Buffer.copyBytesFrom(p.rawBuf[i]!, start, p.rawLen[i]!);
  }
  return Buffer.from(argv[i]!, 'latin1');
}

/** An Operation of `type` on `key` in the connection's database, every other field at its default. */
export function newOp(c: RedisConnection, type: OpType, key: Buffer = EMPTY): Operation {
  return {
    id: 0,
    type,
    cache: c.server.caches.names[c.db]!,
    key,
    value: EMPTY,
    ttlMs: 0,
    condition: 0,
    expectedVersion: undefined,
    delta: 0,
    keys: [],
    entries: [],
    consistency: Consistency.CONSISTENCY_DEFAULT,
    returnPrevious: false,
    expireCondition: 0,
    keepTtl: false,
    expiresAtMs: 0,
  };
}

/** A single-key operation on argv[i]. */
export function keyOp(c: RedisConnection, type: OpType, argv: readonly string[], i = 1): Operation {
  return newOp(c, type, argBytes(c, argv, i));
}

/**
 * Runs an operation through the coordinator at the cache's default level,
 * with the listener's per-command deadline (RedisServerOptions.commandTimeoutMs).
 */
export function execute(c: RedisConnection, op: Operation): Promise<Result> {
  const server = c.server;
  return server.coordinator!.execute(op, {
    consistency: Consistency.CONSISTENCY_DEFAULT,
    deadline: performance.now() + server.commandTimeoutMs,
  });
}

/** A non-OK result as the OperationError the local path would have thrown (replyFor maps it). */
export function check(r: Result): Result {
  if (r.code !== ErrorCode.OK) throw new OperationError(r.code, r.message);
  return r;
}

/** A found value as a bulk string, else null (GET, GETDEL, GETEX, SET ... GET). */
export function bulkOrNull(out: RespWriter, found: boolean, value: Uint8Array): void {
  if (found) out.bulkBytes(value, 0, value.length);
  else out.null();
}

/** GET of argv[1], then `write` with its result (EXISTS-like reads, TTL, TYPE, STRLEN). */
export function getThen(
  c: RedisConnection,
  argv: readonly string[],
  write: (out: RespWriter, r: Result) => void,
): Promise<ReplyWriter> {
  return execute(c, keyOp(c, OpType.GET, argv)).then((r) => (out) => write(out, check(r)));
}
