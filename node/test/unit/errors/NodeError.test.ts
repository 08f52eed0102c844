import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@meshcache/proto';
import { errorCodeOf, errorMessageOf, OperationError } from '../../../src/engine/OperationError.js';
import { NodeError } from '../../../src/errors/NodeError.js';
import { StoreError } from '../../../src/store/StoreError.js';

describe('NodeError: the node error type', () => {
  it('carries the wire code, its name and whether a retry may help', () => {
    const e = new NodeError(ErrorCode.UNAVAILABLE, '1 of 3 replicas of slot 7 are live; QUORUM needs 2');
    expect(e.codeName).toBe('UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(new NodeError(ErrorCode.VALUE_TOO_LARGE, 'x').retryable).toBe(false);
  });

  it('store and executor errors are NodeErrors with wire codes', () => {
    const s = new StoreError('OUT_OF_MEMORY', 'cache full');
    expect(s).toBeInstanceOf(NodeError);
    expect(s.code).toBe(ErrorCode.OUT_OF_MEMORY);
    expect(s.codeName).toBe('OUT_OF_MEMORY');
    const o = new OperationError(ErrorCode.NOT_AN_INTEGER, 'value is not an integer');
    expect(errorCodeOf(o)).toBe(ErrorCode.NOT_AN_INTEGER);
    expect(errorCodeOf(s)).toBe(ErrorCode.OUT_OF_MEMORY);
  });

  it('anything else is INTERNAL, with its message kept', () => {
    expect(errorCodeOf(new Error('boom'))).toBe(ErrorCode.INTERNAL);
    expect(errorMessageOf(new Error('boom'))).toBe('internal error: boom');
  });
});
