import { ErrorCode } from '@meshcache/proto';

/** Codes worth trying again unchanged: on another node, after a refresh, or a little later. */
const RETRYABLE = new Set<ErrorCode>([
  ErrorCode.UNAVAILABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.NOT_OWNER,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.STALE_EPOCH,
  ErrorCode.CLOCK_SKEW,
  ErrorCode.NOT_READY,
]);

/**
 * The node's one error type: a stable wire `ErrorCode`, a message that names
 * the field or the limit, and whether trying again may help. Every layer
 * (store, executor, coordinator, doors) throws it or a subclass, and the
 * doors map it to their protocol (a Result code, a Redis error reply).
 */
export class NodeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NodeError';
  }

  /** The code's name (`OUT_OF_MEMORY`), as clients see it. */
  get codeName(): string {
    return ErrorCode[this.code] ?? String(this.code);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}
