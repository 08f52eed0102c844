import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../src/config/ConfigError.js';
import { loadNodeConfig } from '../../../src/config/loadNodeConfig.js';

const load = (argv: string[], env: Record<string, string> = {}) => loadNodeConfig({ argv, env });

describe('Redis settings', () => {
  it("default to redis-server's limits and no password", () => {
    const o = load([]);
    expect(o.redisPort).toBe(6379);
    expect(o.redisMaxBulkBytes).toBe(512 * 1024 * 1024);
    expect(o.redisMaxArgs).toBe(1024 * 1024);
    expect(o.redisMaxQueryBufferBytes).toBe(1024 * 1024 * 1024);
    expect(o.redisMaxClients).toBe(10_000);
    expect(o.redisPassword).toBe('');
  });

  it('come from flags (byte sizes accepted) and the environment', () => {
    const o = load(
      ['--redis-max-bulk-bytes', '1Mi', '--redis-max-args', '100', '--redis-max-query-buffer-bytes', '2Mi'],
      { MESHCACHE_REDIS_PASSWORD: 'pw', MESHCACHE_REDIS_MAX_CLIENTS: '7' },
    );
    expect(o.redisMaxBulkBytes).toBe(1024 * 1024);
    expect(o.redisMaxArgs).toBe(100);
    expect(o.redisMaxQueryBufferBytes).toBe(2 * 1024 * 1024);
    expect(o.redisMaxClients).toBe(7);
    expect(o.redisPassword).toBe('pw');
  });

  it('refuse a non-positive limit, naming the field', () => {
    expect(() => load(['--redis-max-args', '0'])).toThrow(ConfigError);
    expect(() => load(['--redis-max-args', '0'])).toThrow(/redisMaxArgs/);
  });
});
