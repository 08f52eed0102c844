import { OpType, SetCondition } from '@meshcache/proto';
import type { RetryCandidate, RetryPolicy } from './RetryPolicy.js';

/**
 * The default {@link RetryPolicy}: resend what is safe to apply twice (GET,
 * GET_MANY, DELETE, SET without a condition, SET_MANY, TOUCH); never resend
 * INCREMENT, COMPARE_AND_SET or a conditional SET.
 */
export class IdempotentRetryPolicy implements RetryPolicy {
  retryAfterConnectionLoss(op: RetryCandidate): boolean {
    switch (op.type) {
      case OpType.GET:
      case OpType.GET_MANY:
      case OpType.DELETE:
      case OpType.SET_MANY:
      case OpType.TOUCH:
        return true;
      case OpType.SET:
        return op.condition === SetCondition.ALWAYS;
      default:
        return false;
    }
  }
}
