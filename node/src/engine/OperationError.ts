import { ErrorCode } from '@meshcache/proto';
import { StoreError } from '../store/index.js';

/** Raised inside an operation to end it with a stable code. */
export class OperationError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

/** The stable code for anything an operation threw: its own code, the store's, or INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  if (err instanceof OperationError) return err.code;
  if (err instanceof StoreError) return ErrorCode[err.code];
  return ErrorCode.INTERNAL;
}

/** The message that goes with errorCodeOf(err). */
export function errorMessageOf(err: unknown): string {
  if (err instanceof OperationError || err instanceof StoreError) return err.message;
  return `internal error: ${(err as Error)?.message ?? String(err)}`;
}
