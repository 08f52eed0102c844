import { ErrorCode } from '@meshcache/proto';
import { errorCodeOf, errorMessageOf } from '../engine/OperationError.js';

/** An error reply, with its Redis code first (`ERR syntax error`, `WRONGPASS ...`). */
export class RedisReplyError extends Error {
  constructor(readonly reply: string) {
    super(reply);
    this.name = 'RedisReplyError';
  }
}

/** redis-server's reply texts, verbatim. */
export const SYNTAX_ERROR = 'ERR syntax error';
export const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';
export const NOAUTH = 'NOAUTH Authentication required.';
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

export function invalidExpireTime(command: string): RedisReplyError {
  return new RedisReplyError(`ERR invalid expire time in '${command}' command`);
}

export function wrongArity(fullName: string): string {
  return `ERR wrong number of arguments for '${fullName}' command`;
}

/** `ERR unknown command 'foo', with args beginning with: 'a' 'b' ` (redis-server's form). */
export function unknownCommand(argv: readonly string[], argc: number): string {
  let args = '';
  for (let i = 1; i < argc && args.length < 128; i++) {
    args += `'${argv[i]!.slice(0, 128 - args.length)}' `;
  }
  return `ERR unknown command '${argv[0]!.slice(0, 128)}', with args beginning with: ${args}`;
}

export function unknownSubcommand(sub: string, container: string): string {
  return `ERR unknown subcommand '${sub.slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`;
}

/**
 * The reply for anything a handler threw, or an error Result of the
 * coordinator (as an OperationError, see remote.check): its own reply, or
 * the stable code mapped onto Redis conventions. Messages are the same as
 * the gRPC data plane's; the Redis code prefix is ERR, except:
 * - OOM for an entry over the cache's memory budget;
 * - CLUSTERDOWN when nothing was tried (UNAVAILABLE: too few replicas live;
 *   NOT_READY; SHUTTING_DOWN): safe to retry;
 * - TIMEOUT when the consistency level was missed after sending (TIMEOUT,
 *   CANCELLED): the outcome is unknown, a write may still apply. Not
 *   TRYAGAIN, which cluster clients retry on their own (an INCR would then
 *   count twice).
 */
export function replyFor(err: unknown): string {
  if (err instanceof RedisReplyError) return err.reply;
  const code = errorCodeOf(err);
  switch (code) {
    case ErrorCode.NOT_AN_INTEGER:
      return NOT_AN_INTEGER;
    case ErrorCode.OUT_OF_MEMORY:
      return `OOM ${errorMessageOf(err)}`;
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.NOT_READY:
    case ErrorCode.SHUTTING_DOWN:
      return `CLUSTERDOWN ${errorMessageOf(err)}`;
    case ErrorCode.TIMEOUT:
    case ErrorCode.CANCELLED:
      return `TIMEOUT ${errorMessageOf(err)}`;
    default:
      return `ERR ${errorMessageOf(err)}`;
  }
}
