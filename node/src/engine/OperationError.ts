import { ErrorCode } from '@meshcache/proto';
import { NodeError } from '../errors/NodeError.js';

/** Raised inside an operation to end it with a stable code (a NodeError of the executor). */
export class OperationError extends NodeError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'OperationError';
  }
}

/** The stable code for anything an operation threw: its own code, or INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof NodeError ? err.code : ErrorCode.INTERNAL;
}

/** The message that goes with errorCodeOf(err). */
export function errorMessageOf(err: unknown): string {
  if (err instanceof NodeError) return err.message;
  return `internal error: ${(err as Error)?.message ?? String(err)}`;
}
