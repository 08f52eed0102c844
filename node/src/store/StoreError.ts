import { ErrorCode } from '@meshcache/proto';
import { NodeError } from '../errors/NodeError.js';

export type StoreErrorCode =
  'KEY_TOO_LARGE' | 'VALUE_TOO_LARGE' | 'OUT_OF_MEMORY' | 'INVALID_TTL' | 'NOT_AN_INTEGER' | 'OVERFLOW';

/** A request the store refuses: a NodeError whose message names the limit and the value. */
export class StoreError extends NodeError {
  constructor(code: StoreErrorCode, message: string) {
    super(ErrorCode[code], message);
    this.name = 'StoreError';
  }
}
