import { ErrorCode } from '@meshcache/proto';
import { type ErrorCodeName, ErrorCodes } from './ErrorCodes.js';
import { MeshcacheError } from './MeshcacheError.js';

/** Wire enum value -> stable string code. Index = enum number. */
const BY_NUMBER: readonly (ErrorCodeName | undefined)[] = (() => {
  const table: (ErrorCodeName | undefined)[] = [];
  for (const [name, value] of Object.entries(ErrorCode)) {
    if (typeof value === 'number' && value !== ErrorCode.OK && name in ErrorCodes) {
      table[value] = name as ErrorCodeName;
    }
  }
  return table;
})();

/** The stable string code for a wire `ErrorCode` (unknown numbers map to `INTERNAL`). */
export function errorCodeName(code: ErrorCode | number): ErrorCodeName {
  return BY_NUMBER[code] ?? ErrorCodes.INTERNAL;
}

/**
 * A server-reported failure (a `Result` or `ResultFrame` whose code is not OK)
 * as a {@link MeshcacheError} carrying the server's message.
 */
export function errorFromServer(code: ErrorCode | number, message: string, nodeId?: string): MeshcacheError {
  const name = errorCodeName(code);
  const known = BY_NUMBER[code] !== undefined;
  const text = message || (known ? name : `server error code ${code}`);
  return new MeshcacheError(name, text, { nodeId });
}
