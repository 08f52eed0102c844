import { ErrorCodes } from './ErrorCodes.js';
import { MeshcacheError } from './MeshcacheError.js';

/**
 * No node could serve the operation. Keeps the cause seen for each node
 * address tried (`host:port`), so a caller can tell a refused connection from a
 * timeout or a server error.
 */
export class NoNodeAvailableError extends MeshcacheError {
  override name = 'NoNodeAvailableError';
  readonly causes: ReadonlyMap<string, Error>;

  constructor(causes: ReadonlyMap<string, Error>, message?: string) {
    const summary = [...causes].map(([address, err]) => `${address}: ${err.message}`).join('; ');
    super(ErrorCodes.NO_NODE_AVAILABLE, message ?? `no node available${summary ? ` (${summary})` : ''}`, {
      retryable: true,
      cause: causes.size === 1 ? [...causes.values()][0] : undefined,
    });
    this.causes = causes;
  }
}
