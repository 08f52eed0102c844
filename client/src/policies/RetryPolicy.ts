import type { OpType, SetCondition } from '@meshcache/proto';

/** What a {@link RetryPolicy} may look at. */
export interface RetryCandidate {
  readonly type: OpType;
  readonly condition: SetCondition;
}

/**
 * Decides which operations that were in flight when their connection was lost
 * are sent again after a reconnect (while their deadline lasts). The others
 * fail with `CONNECTION_LOST`, since the server may or may not have applied
 * them. Swap in your own through `ClientOptions.retry`.
 */
export interface RetryPolicy {
  retryAfterConnectionLoss(op: RetryCandidate): boolean;
}
