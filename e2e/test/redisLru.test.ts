// End-to-end: reads and read-modify-writes under the LRU policy in a small
// cache, where every hit moves the item in the store's log and writes reclaim
// segments, so a value read through a handle one call too late would come
// back as other bytes. Over the Redis front door and the gRPC data plane.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCode, OpType } from '@meshcache/proto';
import { Redis } from 'ioredis';
import { NodeProcess } from '../src/NodeProcess.js';
import { op, RawCacheClient } from '../src/RawCacheClient.js';

/** A recognisable 100-byte value per key index. */
const valueOf = (i: number) => `value-${i}-`.padEnd(100, String.fromCharCode(97 + (i % 26)));
const KEYS = 100;
/** Keys forward, backward, forward: each pass moves every item again. */
const ORDER: number[] = [];
for (let p = 0; p < 3; p++) for (let i = 0; i < KEYS; i++) ORDER.push(p === 1 ? KEYS - 1 - i : i);

describe('LRU cache with a small budget', () => {
  let node: NodeProcess;
  let io: Redis;
  let grpc: RawCacheClient;

  beforeAll(async () => {
    node = await NodeProcess.start({
      args: [
        // A small key limit keeps the store's fixed part small, so 64 KiB is mostly segments.
        '--max-key-bytes',
        '64',
        '--caches',
        '[{name: default, maxMemoryBytes: 64Ki, maxValueBytes: 4Ki, evictionPolicy: lru}]',
      ],
    });
    io = new Redis({ host: '127.0.0.1', port: node.redisPort, protocol: 2 });
    grpc = new RawCacheClient(node.grpcAddress);
  });

  afterAll(async () => {
    io?.disconnect();
    grpc?.close();
    await node?.stop();
  });

  beforeEach(async () => {
    await io.del(...Array.from({ length: KEYS }, (_, i) => `k:${i}`));
    for (let i = 0; i < KEYS; i++) await io.set(`k:${i}`, valueOf(i));
  });

  it('MGET of many keys returns every value', async () => {
    const got = await io.mget(...ORDER.map((i) => `k:${i}`), 'k:none');
    expect(got).toEqual([...ORDER.map(valueOf), null]);
  });

  it('gRPC GET_MANY returns every value', async () => {
    const s = grpc.openStream();
    const frame = await s.roundTrip([
      op({ id: 1, type: OpType.GET_MANY, keys: ORDER.map((i) => Buffer.from(`k:${i}`)) }),
    ]);
    s.end();
    const r = frame.results[0]!;
    expect(r.code).toBe(ErrorCode.OK);
    expect(r.entries.map((e) => Buffer.from(e.value).toString('latin1'))).toEqual(ORDER.map(valueOf));
  });

  it('SET key value GET returns the old value', async () => {
    const large = 'L'.repeat(3000); // stored in a buffer of its own, released by the overwrite
    await io.set('big', large);
    expect(await io.set('big', 'small', 'GET')).toBe(large);
    for (let i = 0; i < 300; i++) {
      expect(await io.set(`k:${i % KEYS}`, valueOf(i + KEYS), 'GET')).toBe(valueOf(i));
    }
  });

  it('GETEX with EX returns the value and sets the TTL', async () => {
    await io.set('g', 'G'.repeat(3000));
    for (let i = 0; i < KEYS; i++) {
      expect(await io.getex(`k:${i}`, 'EX', 100 + i)).toBe(valueOf(i));
    }
    expect(await io.getex('g', 'EX', 100)).toBe('G'.repeat(3000));
    expect(await io.ttl('g')).toBe(100);
    expect(await io.ttl(`k:${KEYS - 1}`)).toBe(100 + KEYS - 1);
  });

  it('APPEND on an existing key builds on its value', async () => {
    await io.set('big', 'L'.repeat(3000));
    expect(await io.append('big', 'tail')).toBe(3004);
    expect(await io.get('big')).toBe(`${'L'.repeat(3000)}tail`);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < KEYS; i++) {
        expect(await io.append(`k:${i}`, `+${round}`)).toBe(100 + 2 * (round + 1));
      }
    }
    const got = await io.mget(...Array.from({ length: KEYS }, (_, i) => `k:${i}`));
    expect(got).toEqual(Array.from({ length: KEYS }, (_, i) => `${valueOf(i)}+0+1+2+3+4`));
  });
});
