import { type ErrorCodeName, isRetryableCode } from './ErrorCodes.js';

/** Extra fields of a {@link MeshcacheError}. */
export interface MeshcacheErrorOptions {
  /** Defaults to whether the code is retryable ({@link isRetryableCode}). */
  retryable?: boolean;
  /** The node that raised or reported the error, when one is known. */
  nodeId?: string;
  /** The underlying error (ES2022 `Error.cause`). */
  cause?: unknown;
}

/**
 * The one error class of the client. `code` is stable (see `ErrorCodes`);
 * `message` is for humans and may change.
 */
export class MeshcacheError extends Error {
  override name = 'MeshcacheError';
  readonly code: ErrorCodeName;
  readonly retryable: boolean;
  readonly nodeId: string | undefined;

  constructor(code: ErrorCodeName, message: string, options: MeshcacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? isRetryableCode(code);
    this.nodeId = options.nodeId;
  }
}

/** Whether `err` is a {@link MeshcacheError}, optionally with the given code. */
export function isMeshcacheError(err: unknown, code?: ErrorCodeName): err is MeshcacheError {
  return err instanceof MeshcacheError && (code === undefined || err.code === code);
}
