import { describe, expect, it } from '@jest/globals';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import { MeshcacheError } from '../../../src/errors/MeshcacheError.js';
import { type ClientOptions, DEFAULT_CLIENT_OPTIONS } from '../../../src/options/ClientOptions.js';
import { resolveClientOptions } from '../../../src/options/resolveClientOptions.js';
import { ExponentialBackoffPolicy } from '../../../src/policies/ExponentialBackoffPolicy.js';
import { stringSerializer } from '../../../src/serializers/stringSerializer.js';

function configError(options: unknown): MeshcacheError {
  try {
    resolveClientOptions(options as ClientOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(MeshcacheError);
    expect((err as MeshcacheError).code).toBe(ErrorCodes.INVALID_CONFIG);
    expect((err as MeshcacheError).retryable).toBe(false);
    return err as MeshcacheError;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('resolveClientOptions', () => {
  it('fills every default from DEFAULT_CLIENT_OPTIONS', () => {
    const resolved = resolveClientOptions({ url: 'localhost:7070' });
    expect(resolved).toEqual({ url: 'localhost:7070', ...DEFAULT_CLIENT_OPTIONS });
    expect(resolved.defaultCache).toBe('default');
    expect(resolved.timeoutMs).toBe(2000);
    expect(resolved.maxOpsPerFrame).toBe(512);
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('keeps given values and treats undefined as unset', () => {
    const reconnect = new ExponentialBackoffPolicy({ initialDelayMs: 10 });
    const resolved = resolveClientOptions({
      url: '[::1]:7070',
      timeoutMs: 50,
      serializer: stringSerializer,
      reconnect,
      clientName: undefined,
      defaultConsistency: 'QUORUM',
    });
    expect(resolved.timeoutMs).toBe(50);
    expect(resolved.serializer).toBe(stringSerializer);
    expect(resolved.reconnect).toBe(reconnect);
    expect(resolved.clientName).toBe(DEFAULT_CLIENT_OPTIONS.clientName);
    expect(resolved.defaultConsistency).toBe('QUORUM');
  });

  it('names the field and the rule', () => {
    expect(configError({ url: 'localhost:7070', timeoutMs: -5 }).message).toBe(
      'timeoutMs must be a positive integer, got -5',
    );
    expect(configError({ url: 'localhost:7070', maxQueuedOps: 1.5 }).message).toBe(
      'maxQueuedOps must be a positive integer, got 1.5',
    );
    expect(configError({ url: 'localhost:7070', connectTimeoutMs: '5' }).message).toBe(
      'connectTimeoutMs must be a positive integer, got "5"',
    );
    expect(configError({ url: 'localhost:7070', maxOpsPerFrame: 0 }).message).toContain('maxOpsPerFrame');
    expect(configError({ url: 'localhost:7070', defaultCache: '' }).message).toContain('defaultCache');
    expect(configError({ url: 'localhost:7070', tracing: 'yes' }).message).toContain(
      'tracing must be a boolean',
    );
    expect(configError({ url: 'localhost:7070', defaultConsistency: 'MOST' }).message).toContain(
      'defaultConsistency',
    );
    expect(configError({ url: 'localhost:7070', serializer: {} }).message).toContain(
      'serializer must be an object with serialize and deserialize methods',
    );
    expect(configError({ url: 'localhost:7070', reconnect: { next: () => 1 } }).message).toContain(
      'reconnect',
    );
  });

  it('requires a host:port url', () => {
    expect(configError({}).message).toContain('url must be');
    expect(configError({ url: 'localhost' }).message).toContain("url must be 'host:port'");
    expect(configError({ url: 'http://x:1' }).message).toContain('url');
    expect(configError({ url: 'x:0' }).message).toContain('1..65535');
    expect(configError({ url: 'x:70000' }).message).toContain('1..65535');
    expect(configError(null).message).toContain('options must be an object');
  });

  it('rejects unknown option names (typos)', () => {
    expect(configError({ url: 'localhost:7070', timeout: 5 }).message).toBe("unknown option 'timeout'");
  });
});
