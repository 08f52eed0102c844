import { describe, expect, it } from '@jest/globals';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorCode } from '@meshcache/proto';
import { compareVersions, versionsEqual } from '../../../src/compareVersions.js';
import { ErrorCodes, isRetryableCode } from '../../../src/errors/ErrorCodes.js';
import { errorFromGrpc } from '../../../src/errors/errorFromGrpc.js';
import { errorCodeName, errorFromServer } from '../../../src/errors/errorFromServer.js';
import { MeshcacheError, isMeshcacheError } from '../../../src/errors/MeshcacheError.js';
import { NoNodeAvailableError } from '../../../src/errors/NoNodeAvailableError.js';

describe('errors', () => {
  it('MeshcacheError carries code, retryable, nodeId and ES2022 cause', () => {
    const cause = new Error('socket hang up');
    const err = new MeshcacheError(ErrorCodes.CONNECTION_LOST, 'lost', { nodeId: 'n2', cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('MeshcacheError');
    expect(err.code).toBe('CONNECTION_LOST');
    expect(err.retryable).toBe(true);
    expect(err.nodeId).toBe('n2');
    expect(err.cause).toBe(cause);
    expect(new MeshcacheError(ErrorCodes.TIMEOUT, 't', { retryable: false }).retryable).toBe(false);
    expect(isMeshcacheError(err)).toBe(true);
    expect(isMeshcacheError(err, ErrorCodes.TIMEOUT)).toBe(false);
    expect(isMeshcacheError(cause)).toBe(false);
  });

  it('has a string code for every non-OK wire ErrorCode', () => {
    for (const [name, value] of Object.entries(ErrorCode)) {
      if (typeof value !== 'number' || value === ErrorCode.OK || value < 0) continue;
      expect(errorCodeName(value)).toBe(name);
      expect((ErrorCodes as Record<string, string>)[name]).toBe(name);
    }
    expect(errorCodeName(999)).toBe('INTERNAL');
  });

  it('keeps the server message and node id of error results', () => {
    const err = errorFromServer(ErrorCode.VALUE_TOO_LARGE, 'value of 2000000 bytes > 1048576', 'n1');
    expect(err).toMatchObject({
      code: 'VALUE_TOO_LARGE',
      message: 'value of 2000000 bytes > 1048576',
      nodeId: 'n1',
    });
    expect(err.retryable).toBe(false);
    expect(errorFromServer(ErrorCode.SHUTTING_DOWN, '').retryable).toBe(true);
    expect(errorFromServer(ErrorCode.NOT_OWNER, 'moved').retryable).toBe(true);
    expect(errorFromServer(ErrorCode.UNSUPPORTED_PROTOCOL, '').message).toBe('UNSUPPORTED_PROTOCOL');
    expect(errorFromServer(77, '').message).toBe('server error code 77');
  });

  it('maps gRPC failures', () => {
    const grpcError = (code: number): Error => Object.assign(new Error('x'), { code, details: 'd' });
    expect(errorFromGrpc(grpcError(GrpcStatus.DEADLINE_EXCEEDED), 'handshake').code).toBe('TIMEOUT');
    expect(errorFromGrpc(grpcError(GrpcStatus.CANCELLED), 'handshake').code).toBe('CANCELLED');
    const lost = errorFromGrpc(grpcError(GrpcStatus.UNAVAILABLE), 'stream', 'n1');
    expect(lost).toMatchObject({ code: 'CONNECTION_LOST', retryable: true, nodeId: 'n1' });
    expect(lost.message).toBe('stream: d');
  });

  it('NoNodeAvailableError keeps a cause per node', () => {
    const causes = new Map<string, Error>([
      ['a:1', new Error('refused')],
      ['b:2', new MeshcacheError(ErrorCodes.TIMEOUT, 'slow')],
    ]);
    const err = new NoNodeAvailableError(causes);
    expect(err).toBeInstanceOf(MeshcacheError);
    expect(err.code).toBe('NO_NODE_AVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.causes.get('b:2')?.message).toBe('slow');
    expect(err.message).toBe('no node available (a:1: refused; b:2: slow)');
  });

  it('classifies retryable codes', () => {
    expect(isRetryableCode('QUEUE_FULL')).toBe(true);
    expect(isRetryableCode('CLIENT_CLOSED')).toBe(false);
    expect(isRetryableCode('INVALID_CONFIG')).toBe(false);
    expect(isRetryableCode('CANCELLED')).toBe(false);
  });
});

describe('compareVersions', () => {
  it('orders by physical ms, then logical, then node', () => {
    const v = (physicalMs: number, logical: number, node: number) => ({ physicalMs, logical, node });
    expect(compareVersions(v(1, 9, 9), v(2, 0, 0))).toBeLessThan(0);
    expect(compareVersions(v(2, 1, 0), v(2, 0, 9))).toBeGreaterThan(0);
    expect(compareVersions(v(2, 1, 3), v(2, 1, 4))).toBeLessThan(0);
    expect(compareVersions(v(2, 1, 3), v(2, 1, 3))).toBe(0);
    expect(versionsEqual(v(2, 1, 3), v(2, 1, 3))).toBe(true);
  });
});
