// End-to-end: the Redis door of a three-node cluster goes through the
// coordinator (proxy semantics). Any node serves any key: commands whose keys
// are not all local (every key of a three-copy cache; the keys of a
// single-copy cache that another node owns) become wire Operations, and the
// replies must still be redis-server's byte for byte, in request order.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { Cluster } from '../src/Cluster.js';
import { RawRedisConnection, type RespValue } from '../src/redisReplies.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(120_000);

const CACHES = '[{name: default, replicationFactor: 3}, {name: single, replicationFactor: 1}]';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Command sequences whose replies do not depend on timing; keys spread over many slots. */
const SEQUENCES: string[][][] = [
  [
    ['SET', 'p:s', 'v'],
    ['GET', 'p:s'],
    ['GET', 'p:none'],
    ['APPEND', 'p:s', 'xyz'],
    ['APPEND', 'p:new', 'abc'],
    ['STRLEN', 'p:s'],
    ['STRLEN', 'p:none'],
    ['TYPE', 'p:s'],
    ['TYPE', 'p:none'],
  ],
  [
    ['SET', 'p:g', 'gone'],
    ['GETDEL', 'p:g'],
    ['GETDEL', 'p:g'],
    ['EXISTS', 'p:s', 'p:s', 'p:g', 'p:new'],
    ['MSET', 'p:a', '1', 'p:b', '2', 'p:c', '3'],
    ['MGET', 'p:a', 'p:none', 'p:b', 'p:c'],
    ['DEL', 'p:a', 'p:none', 'p:b'],
    ['UNLINK', 'p:c', 'p:c'],
    ['MSET', 'p:a', '1', 'p:b'],
  ],
  [
    ['SET', 'p:k', 'v', 'NX'],
    ['SET', 'p:k', 'w', 'NX'],
    ['SET', 'p:k', 'w', 'XX', 'GET'],
    ['SET', 'p:n', 'v', 'XX'],
    ['SET', 'p:k', 'v', 'NX', 'GET'],
    ['SET', 'p:k2', 'v', 'GET'],
    ['SET', 'p:k', 'v', 'EX', '100'],
    ['TTL', 'p:k'],
    ['SET', 'p:k', 'x', 'KEEPTTL'],
    ['TTL', 'p:k'],
    ['PERSIST', 'p:k'],
    ['PERSIST', 'p:k'],
    ['TTL', 'p:k'],
    ['PTTL', 'p:k'],
    ['PTTL', 'p:none'],
  ],
  [
    ['SETNX', 'p:nx', '1'],
    ['SETNX', 'p:nx', '2'],
    ['GETSET', 'p:nx', '3'],
    ['GETSET', 'p:gs', '1'],
    ['GET', 'p:nx'],
    ['SETEX', 'p:sx', '100', 'v'],
    ['TTL', 'p:sx'],
    ['PSETEX', 'p:sx', '100000', 'w'],
    ['TTL', 'p:sx'],
    ['GET', 'p:sx'],
    ['SETEX', 'p:sx', '0', 'v'],
    ['PSETEX', 'p:sx', 'x', 'v'],
    ['SETEX', 'p:sx', '-3', 'v'],
  ],
  [
    ['SET', 'p:x', 'v', 'EXAT', '1'],
    ['GET', 'p:x'],
    ['SET', 'p:x', 'v', 'PXAT', '1'],
    ['EXISTS', 'p:x'],
    ['SET', 'p:x', 'v', 'NX', 'XX'],
    ['SET', 'p:x', 'v', 'EX', '0'],
    ['SET', 'p:x', 'v', 'EX', 'x'],
  ],
  [
    ['SET', 'p:e', 'v'],
    ['GETEX', 'p:e', 'EX', '200'],
    ['TTL', 'p:e'],
    ['GETEX', 'p:e', 'PERSIST'],
    ['TTL', 'p:e'],
    ['GETEX', 'p:e', 'EX', '-1'],
    ['GETEX', 'p:none', 'EX', '-1'],
    ['GETEX', 'p:e', 'PXAT', '1'],
    ['GET', 'p:e'],
  ],
  [
    ['INCR', 'p:i'],
    ['INCRBY', 'p:i', '41'],
    ['DECR', 'p:i'],
    ['DECRBY', 'p:i', '10'],
    ['INCRBY', 'p:i', 'x'],
    ['SET', 'p:t', 'text'],
    ['INCR', 'p:t'],
  ],
  [
    ['SET', 'p:x', 'v'],
    ['EXPIRE', 'p:x', '100'],
    ['TTL', 'p:x'],
    ['EXPIRE', 'p:x', '50', 'GT'],
    ['EXPIRE', 'p:x', '500', 'GT'],
    ['EXPIRE', 'p:x', '50', 'LT'],
    ['TTL', 'p:x'],
    ['EXPIRE', 'p:x', '60', 'NX'],
    ['EXPIRE', 'p:x', '40', 'XX', 'LT'],
    ['EXPIRE', 'p:none', '40'],
    ['EXPIRE', 'p:x', '1', 'NX', 'XX'],
    ['EXPIRE', 'p:x', '1', 'FOO'],
    ['PEXPIRE', 'p:x', '-1'],
    ['EXISTS', 'p:x'],
    ['SET', 'p:x', 'v'],
    ['EXPIREAT', 'p:x', '1'],
    ['GET', 'p:x'],
  ],
];

describe('Redis door of a three-node cluster (through the coordinator)', () => {
  let cluster: Cluster;
  let redis: ChildProcess;
  let redisPort = 0;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redisPort = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    cluster = await Cluster.start(3, { args: ['--caches', CACHES] });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    await waitFor(
      async () => {
        const c = await RawRedisConnection.open(redisPort);
        try {
          return (await c.call('PING')) === 'PONG';
        } finally {
          c.close();
        }
      },
      { what: 'redis-server to accept connections' },
    );
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    redis?.kill('SIGTERM');
    await cluster?.stopAll();
  });

  async function run(port: number, commands: string[][], db = 0): Promise<RespValue[]> {
    const c = await RawRedisConnection.open(port);
    try {
      c.command('SELECT', String(db));
      for (const cmd of commands) c.command(...cmd);
      return (await c.next(commands.length + 1)).slice(1);
    } finally {
      c.close();
    }
  }

  it.each(SEQUENCES.map((s, i) => [i, s]))(
    'sequence %i matches redis-server, in both caches, pipelined to one node',
    async (i, commands) => {
      // What the sequence leaves is deleted after it, so the next one starts clean everywhere.
      const keys = [...new Set((commands as string[][]).flat().filter((a) => a.startsWith('p:')))];
      const expected = await run(redisPort, commands as string[][]);
      await run(redisPort, [['DEL', ...keys]]);
      for (const db of [0, 1]) {
        const node = cluster.nodes[((i as number) + db) % 3]!;
        const actual = await run(node.redisPort, commands as string[][], db);
        expect(actual).toEqual(expected);
        await run(node.redisPort, [['DEL', ...keys]], db);
      }
    },
  );

  it('any node serves any key: written through one node, read through the others', async () => {
    for (const node of cluster.nodes) clients.push(new Redis({ port: node.redisPort, host: '127.0.0.1' }));
    const keys = Array.from({ length: 60 }, (_, i) => `any:${i}`);
    for (const db of [0, 1]) {
      for (const c of clients) await c.select(db);
      const writer = clients[db]!;
      for (const k of keys) expect(await writer.set(k, `${k}@${db}`)).toBe('OK');
      for (const c of clients) {
        expect(await c.mget(...keys)).toEqual(keys.map((k) => `${k}@${db}`));
        for (const k of keys.slice(0, 10)) expect(await c.get(k)).toBe(`${k}@${db}`);
      }
      // Counters through every node in turn.
      for (let i = 0; i < 30; i++) expect(await clients[i % 3]!.incr(`ctr:${db}`)).toBe(i + 1);
    }
    // DBSIZE is each node's own copy: the single-copy cache's keys are split among the nodes.
    const sizes = await Promise.all(clients.map((c) => c.select(1).then(() => c.dbsize())));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(keys.length + 1);
    expect(Math.max(...sizes)).toBeLessThan(keys.length + 1);
  });

  it('keeps request order in a deep pipeline whose keys live on every node', async () => {
    const c = new Redis({ port: cluster.nodes[1]!.redisPort, host: '127.0.0.1' });
    clients.push(c);
    for (const db of [0, 1]) {
      await c.select(db);
      const pipeline = c.pipeline();
      for (let i = 0; i < 300; i++) {
        pipeline.set(`pipe:${i}`, `v${i}`);
        pipeline.get(`pipe:${i}`);
        pipeline.incr(`pipe:n`);
        pipeline.echo(`e${i}`);
      }
      const results = (await pipeline.exec())!;
      for (let i = 0; i < 300; i++) {
        expect(results.slice(4 * i, 4 * i + 4)).toEqual([
          [null, 'OK'],
          [null, `v${i}`],
          [null, i + 1],
          [null, `e${i}`],
        ]);
      }
    }
  });
});
