// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '../../../src/createClient.js';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import { MeshcacheError } from '../../../src/errors/MeshcacheError.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import { rawSerializer } from '../../../src/serializers/rawSerializer.js';
import { stringSerializer } from '../../../src/serializers/stringSerializer.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';

describe('MeshcacheClient against the test double', () => {
  const node = new FakeCacheNode({
    nodeId: 'n1',
    epoch: 7,
    caches: ['default', 'sessions'],
    maxKeyBytes: 64,
  });
  let client: MeshcacheClient;

  beforeAll(async () => {
    await node.start();
    client = createClient({ url: node.address, clientName: 'unit' });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    node.stop();
  });

  it('connects with a handshake and learns node id and epoch', () => {
    expect(client.state).toBe('ready');
    expect(client.nodeId).toBe('n1');
    expect(client.epoch).toBe(7);
  });

  it('sets and gets JSON values; missing keys are undefined', async () => {
    expect(await client.set('user:1', { name: 'ada', n: [1, 2] })).toBe(true);
    expect(await client.get('user:1')).toEqual({ name: 'ada', n: [1, 2] });
    expect(await client.get('user:missing')).toBeUndefined();
  });

  it('accepts Buffer keys, equal to their UTF-8 string form', async () => {
    await client.set(Buffer.from('ключ', 'utf8'), 1);
    expect(await client.get('ключ')).toBe(1);
  });

  it('returns entries with version and ttl, and does compare-and-set on versions', async () => {
    await client.set('cas', 'a', { ttlMs: 60_000 });
    const entry = await client.getEntry<string>('cas');
    expect(entry?.value).toBe('a');
    expect(entry!.ttlMs).toBeGreaterThan(59_000);
    expect(entry!.version.physicalMs).toBeGreaterThan(0);
    expect(await client.compareAndSet('cas', entry!.version, 'b')).toBe(true);
    expect(await client.compareAndSet('cas', entry!.version, 'c')).toBe(false);
    expect(await client.get('cas')).toBe('b');
    await client.set('forever', 1, { ttlMs: -1 });
    expect((await client.getEntry('forever'))?.ttlMs).toBe(-1);
  });

  it('honours set conditions', async () => {
    expect(await client.set('nx', 1, { condition: 'ifPresent' })).toBe(false);
    expect(await client.set('nx', 1, { condition: 'ifAbsent' })).toBe(true);
    expect(await client.set('nx', 2, { condition: 'ifAbsent' })).toBe(false);
    expect(await client.set('nx', 3, { condition: 'ifPresent' })).toBe(true);
    expect(await client.get('nx')).toBe(3);
  });

  it('deletes and touches', async () => {
    await client.set('d', 1);
    expect(await client.touch('d', 5_000)).toBe(true);
    expect(await client.delete('d')).toBe(true);
    expect(await client.delete('d')).toBe(false);
    expect(await client.touch('d', 5_000)).toBe(false);
  });

  it('increments decimal integers, readable through the JSON serializer', async () => {
    expect(await client.incr('counter')).toBe(1);
    expect(await client.incr('counter', 41)).toBe(42);
    expect(await client.incr('counter', -2)).toBe(40);
    expect(await client.get('counter')).toBe(40);
    await client.set('text', 'abc');
    await expect(client.incr('text')).rejects.toMatchObject({ code: ErrorCodes.NOT_AN_INTEGER });
  });

  it('gets and sets many in one operation each', async () => {
    expect(
      await client.setMany<unknown>([
        { key: 'm1', value: 1 },
        { key: 'm2', value: { two: 2 }, ttlMs: 10_000 },
      ]),
    ).toBe(2);
    expect(await client.getMany(['m1', 'nope', 'm2'])).toEqual([1, undefined, { two: 2 }]);
    expect(await client.getMany([])).toEqual([]);
    expect(await client.setMany([])).toBe(0);
  });

  it('targets named caches', async () => {
    await client.set('k', 'in-sessions', { cache: 'sessions' });
    expect(await client.get('k', { cache: 'sessions' })).toBe('in-sessions');
    expect(await client.get('k')).toBeUndefined();
    const err = await client.get('k', { cache: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshcacheError);
    expect(err).toMatchObject({ code: ErrorCodes.UNKNOWN_CACHE, retryable: false, nodeId: 'n1' });
    expect((err as Error).message).toContain("unknown cache 'nope'");
  });

  it("refuses keys and values over the node's handshake limits without sending them", async () => {
    const before = node.opsReceived;
    await expect(client.get('x'.repeat(65))).rejects.toMatchObject({
      code: ErrorCodes.KEY_TOO_LARGE,
      message: "key of 65 bytes exceeds the node's limit of 64",
      nodeId: 'n1',
    });
    await expect(client.set('v', 'x'.repeat(2 * 1024 * 1024))).rejects.toMatchObject({
      code: ErrorCodes.VALUE_TOO_LARGE,
    });
    expect(node.opsReceived).toBe(before);
  });

  it('rejects bad arguments locally', async () => {
    await expect(client.set('k', 1, { ttlMs: -2 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_TTL });
    await expect(client.set('k', 1, { ttlMs: 1.5 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_TTL });
    await expect(client.get(42 as unknown as string)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    await expect(client.get('k', { timeoutMs: 0 })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    await expect(client.incr('k', 0.5)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('fails a call whose value cannot be serialized with SERIALIZATION', async () => {
    await expect(client.set('k', undefined)).rejects.toMatchObject({ code: ErrorCodes.SERIALIZATION });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(client.set('k', cyclic)).rejects.toMatchObject({ code: ErrorCodes.SERIALIZATION });
  });

  it('fails a read whose bytes cannot be deserialized with SERIALIZATION', async () => {
    const raw = createClient({ url: node.address, serializer: stringSerializer });
    try {
      await raw.set('not-json', '{oops');
      await expect(client.get('not-json')).rejects.toMatchObject({ code: ErrorCodes.SERIALIZATION });
    } finally {
      await raw.close();
    }
  });

  it('works with the raw serializer', async () => {
    const raw = createClient({ url: node.address, serializer: rawSerializer });
    try {
      const bytes = Buffer.from([0, 1, 2, 255]);
      await raw.set('bin', bytes);
      expect(await raw.get<Buffer>('bin')).toEqual(bytes);
    } finally {
      await raw.close();
    }
  });

  it('pings', async () => {
    const pong = await client.ping();
    expect(pong.nodeId).toBe('n1');
    expect(pong.epoch).toBe(7);
    expect(pong.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('tracks the highest epoch seen in any reply', async () => {
    node.epoch = 9;
    await client.get('any');
    expect(client.epoch).toBe(9);
    node.epoch = 8; // a lower epoch never lowers it
    await client.get('any');
    expect(client.epoch).toBe(9);
  });
});
