import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../src/config/ConfigError.js';
import {
  envName,
  flagName,
  loadNodeConfig,
  validateNodeOptions,
} from '../../../src/config/loadNodeConfig.js';
import { DEFAULT_CACHE_OPTIONS, DEFAULT_NODE_OPTIONS } from '../../../src/config/NodeOptions.js';
import { parseByteSize } from '../../../src/config/byteSize.js';

function load(argv: string[], env: Record<string, string> = {}) {
  return loadNodeConfig({ argv, env });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadNodeConfig', () => {
  it('derives flag and environment names from the setting key', () => {
    expect(flagName('grpcPort')).toBe('grpc-port');
    expect(envName('grpcPort')).toBe('MESHCACHE_GRPC_PORT');
    expect(envName('activeExpiryIntervalMs')).toBe('MESHCACHE_ACTIVE_EXPIRY_INTERVAL_MS');
  });

  it('uses the documented defaults', () => {
    const o = load(['--id', 'n1']);
    expect(o.id).toBe('n1');
    expect(o.grpcPort).toBe(7070);
    expect(o.adminPort).toBe(8080);
    expect(o.gossipPort).toBe(7946);
    expect(o.redisPort).toBe(6379);
    expect(o.caches).toEqual([{ name: 'default', ...DEFAULT_CACHE_OPTIONS }]);
    expect(o.maxKeyBytes).toBe(DEFAULT_NODE_OPTIONS.maxKeyBytes);
  });

  it('defaults caches to three copies at QUORUM and takes the replication settings', () => {
    const o = load(['--id', 'n1', '--replica-port', '7171', '--read-repair-chance', '0.25'], {
      MESHCACHE_MAX_CLOCK_SKEW_MS: '300',
      MESHCACHE_TEST_CLOCK_OFFSET_MS: '-200',
    });
    expect(o.caches[0]).toMatchObject({ replicationFactor: 3, defaultConsistency: 'QUORUM' });
    expect(o.replicaPort).toBe(7171);
    expect(o.readRepairChance).toBe(0.25);
    expect(o.maxClockSkewMs).toBe(300);
    expect(o.testClockOffsetMs).toBe(-200);
  });

  it('refuses a hint age at or above the tombstone grace, naming both', () => {
    const err = configError(() =>
      load(['--id', 'n1', '--max-hint-age-ms', '60000', '--tombstone-grace-ms', '60000']),
    );
    expect(err.field).toBe('maxHintAgeMs');
    expect(err.message).toContain('tombstoneGraceMs');
  });

  it('refuses a frame limit that cannot carry the largest value of a cache', () => {
    const err = configError(() =>
      load(['--id', 'n1', '--max-frame-bytes', '1Mi', '--caches', '[{name: big, maxValueBytes: 1Mi}]']),
    );
    expect(err.field).toBe('maxFrameBytes');
    expect(err.message).toContain('largest value');
    expect(
      load(['--id', 'n1', '--max-frame-bytes', '2Mi', '--caches', '[{name: big, maxValueBytes: 1Mi}]'])
        .maxFrameBytes,
    ).toBe(2 * 1024 * 1024);
  });

  it('refuses a read repair chance outside 0..1 and a non-number', () => {
    expect(configError(() => load(['--id', 'n1', '--read-repair-chance', '1.5'])).field).toBe(
      'readRepairChance',
    );
    expect(configError(() => load(['--id', 'n1', '--read-repair-chance', 'often'])).message).toContain(
      'must be a number',
    );
  });

  it('prefers flags over environment over file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'n.yaml');
    writeFileSync(file, 'zone: file\nredisPort: 7000\nadminPort: 9000\nseeds: [a:1]\n');
    const o = load(['--config', file, '--zone', 'flag'], {
      MESHCACHE_ZONE: 'env',
      MESHCACHE_REDIS_PORT: '7001',
      MESHCACHE_SEEDS: 'x:1, y:2',
    });
    expect(o.zone).toBe('flag');
    expect(o.redisPort).toBe(7001);
    expect(o.adminPort).toBe(9000);
    expect(o.seeds).toEqual(['x:1', 'y:2']);
  });

  it('fills cache defaults and accepts byte sizes with units', () => {
    const o = load([
      '--caches',
      '[{name: a, maxMemoryBytes: 64Mi}, {name: b, maxValueBytes: "2MB", evictionPolicy: lru}]',
    ]);
    expect(o.caches[0]).toEqual({ ...DEFAULT_CACHE_OPTIONS, name: 'a', maxMemoryBytes: 64 * 1024 * 1024 });
    expect(o.caches[1]!.maxValueBytes).toBe(2_000_000);
    expect(o.caches[1]!.evictionPolicy).toBe('lru');
  });

  it.each([
    [['--admin-port', '-1'], 'adminPort', /must be 0..65535/],
    [['--caches', '[]'], 'caches', /at least one cache/],
    [['--caches', '[{name: "Bad Name"}]'], 'caches.0.name', /a-z, 0-9/],
    [['--caches', '[{name: a, replicationFactor: 0}]'], 'caches.0.replicationFactor', /greater than 0/],
    [['--caches', '[{name: a, colour: red}]'], 'caches.0', /unknown setting\(s\) "colour"/],
    [['--max-ops-per-frame', '0'], 'maxOpsPerFrame', /greater than 0/],
    [['--caches', '[{name: a, maxMemoryBytes: 32Ki}]'], 'caches.0.maxMemoryBytes', /at least 65536 \(64Ki\)/],
    [['--caches', '[{name: a, maxMemoryBytes: 17Gi}]'], 'caches.0.maxMemoryBytes', /at most .* \(16Gi\)/],
    [['--caches', '{{{'], 'caches', /not valid YAML or JSON/],
  ])('%j names field %s', (argv, field, rule) => {
    const err = configError(() => load(argv));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(rule);
    expect(err.code).toBe('INVALID_CONFIG');
  });

  it('reports an unreadable config file by path', () => {
    const err = configError(() => load(['--config', '/nonexistent/meshcache.yaml']));
    expect(err.field).toBe('config');
    expect(err.message).toMatch(/\/nonexistent\/meshcache.yaml/);
  });

  it('validates a complete object once', () => {
    expect(() => validateNodeOptions({})).toThrow(ConfigError);
  });
});

describe('parseByteSize', () => {
  it.each([
    [1024, 1024],
    ['1024', 1024],
    ['64Ki', 65536],
    ['256MiB', 268435456],
    ['1G', 1e9],
    ['1.5Mi', 1572864],
  ])('%p is %p bytes', (input, bytes) => expect(parseByteSize(input)).toBe(bytes));

  it.each(['lots', '12XB', '', '-5', {}])('%p is not a size', (input) =>
    expect(parseByteSize(input)).toBeNaN(),
  );
});
