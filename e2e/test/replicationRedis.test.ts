// End-to-end: the Redis port and the gRPC client agree on every key of a
// three-node cluster (three copies at QUORUM), whichever node each connects
// to. Keys written through one door on one node read back through the other
// door on the other nodes; deletes, INCR and APPEND cross doors and nodes;
// pipelines (redis-cli --pipe, a raw RESP pipeline, ioredis) through one node
// keep request order while their keys live on every node.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  createClient,
  keySlot,
  type MeshcacheClient,
  rawSerializer,
  stringSerializer,
} from '@meshcache/client';
import { Redis } from 'ioredis';
import { Cluster, getJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { encodeCommand, RawRedisConnection, type RespValue } from '../src/redisReplies.js';
import { redisCli } from '../src/redisTools.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(120_000);

interface SlotsReply {
  epoch: number;
  ranges: { start: number; end: number; primary: { id: string }; replicas: { id: string }[] }[];
}

/** Every ordered pair (writer node, reader node) of distinct nodes. */
const PAIRS: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 0],
  [1, 2],
  [2, 0],
  [2, 1],
];

describe('Redis port and gRPC client on a three-node cluster', () => {
  let cluster: Cluster;
  let nodes: NodeProcess[];
  /** ioredis and gRPC clients, one of each per node (index = node). */
  const redis: Redis[] = [];
  const grpc: MeshcacheClient[] = [];
  /** Primary of every slot (the default cache's three-copy table). */
  let primaryOf: (slot: number) => string;

  const cli = (node: number, ...args: string[]) => redisCli(nodes[node]!.redisPort, args);
  /** redis-cli --raw prints a reply per line: decoded as UTF-8, the trailing newline dropped. */
  const cliRaw = async (node: number, ...args: string[]) => {
    const res = await cli(node, '--raw', ...args);
    expect(res.code).toBe(0);
    // runTool reads standard output as latin1 (bytes as they came).
    return Buffer.from(res.stdout, 'latin1').toString('utf8').replace(/\n$/, '');
  };

  beforeAll(async () => {
    cluster = await Cluster.start(3);
    nodes = cluster.nodes;
    await cluster.waitForAgreement(nodes, (v) => v.members.length === 3);
    for (const node of nodes) {
      redis.push(new Redis({ port: node.redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 }));
      grpc.push(createClient({ url: node.grpcAddress, serializer: stringSerializer, timeoutMs: 5000 }));
    }
    // Every node's replica streams are up once a write at ALL through each succeeds.
    for (const [i, c] of grpc.entries()) {
      await waitFor(
        async () => {
          try {
            return await c.set(`warm:${i}`, 'up', { consistency: 'ALL', timeoutMs: 2000 });
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `a write at ALL through node ${i}` },
      );
    }
    const slots = await getJson<SlotsReply>(`${nodes[0]!.adminUrl}/v1/cluster/slots`);
    const primaries = new Array<string>(16384);
    for (const r of slots.ranges) for (let s = r.start; s <= r.end; s++) primaries[s] = r.primary.id;
    primaryOf = (slot) => primaries[slot]!;
  });

  afterAll(async () => {
    for (const r of redis) r.disconnect();
    await Promise.all(grpc.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('spreads the slots of the default cache over every node as primary', () => {
    const primaries = new Set(Array.from({ length: 16384 }, (_, s) => primaryOf(s)));
    expect([...primaries].sort()).toEqual(nodes.map((n) => n.id).sort());
  });

  it.each(PAIRS)('a SET through node %i’s Redis port reads back through gRPC on node %i', async (w, r) => {
    const keys = Array.from({ length: 40 }, (_, i) => `r2g:${w}>${r}:${i}`);
    const values = keys.map((k, i) => (i % 4 === 0 ? `värde ✓ ${k}` : `v:${k}`));
    for (const [i, k] of keys.entries()) expect(await redis[w]!.set(k, values[i]!)).toBe('OK');
    // Through redis-cli as well.
    expect((await cli(w, 'set', `${keys[0]}:cli`, 'from redis-cli')).stdout).toBe('OK\n');
    for (const [i, k] of keys.entries()) expect(await grpc[r]!.get(k)).toBe(values[i]);
    expect(await grpc[r]!.getMany(keys)).toEqual(values);
    expect(await grpc[r]!.get(`${keys[0]}:cli`)).toBe('from redis-cli');
    // At ALL too: every copy got it.
    expect(await grpc[r]!.getMany(keys, { consistency: 'ALL' })).toEqual(values);
  });

  it.each(PAIRS)('a set through gRPC on node %i reads back through Redis on node %i', async (w, r) => {
    const keys = Array.from({ length: 40 }, (_, i) => `g2r:${w}>${r}:${i}`);
    const values = keys.map((k, i) => (i % 4 === 0 ? `värde ✓ ${k}` : `v:${k}`));
    for (const [i, k] of keys.entries()) expect(await grpc[w]!.set(k, values[i]!)).toBe(true);
    for (const [i, k] of keys.entries()) expect(await redis[r]!.get(k)).toBe(values[i]);
    expect(await redis[r]!.mget(...keys)).toEqual(values);
    expect(await cliRaw(r, 'get', keys[0]!)).toBe(values[0]);
    expect(await redis[r]!.exists(...keys)).toBe(keys.length);
    expect(await redis[r]!.strlen(keys[1]!)).toBe(Buffer.byteLength(values[1]!));
  });

  it.each(PAIRS)('a delete through node %i is gone through the other door on node %i', async (w, r) => {
    const keys = Array.from({ length: 20 }, (_, i) => `del:${w}>${r}:${i}`);
    for (const k of keys) await grpc[(w + 1) % 3]!.set(k, `v:${k}`);
    // Redis DEL (several keys in one command, over many slots) -> gRPC.
    expect(await redis[w]!.del(...keys.slice(0, 10))).toBe(10);
    expect(await grpc[r]!.getMany(keys.slice(0, 10))).toEqual(keys.slice(0, 10).map(() => undefined));
    expect(await grpc[r]!.get(keys[0]!, { consistency: 'ALL' })).toBeUndefined();
    // redis-cli DEL and UNLINK.
    expect((await cli(w, 'del', keys[10]!, 'del:none')).stdout).toBe('1\n');
    expect((await cli(w, 'unlink', keys[11]!)).stdout).toBe('1\n');
    expect(await grpc[r]!.get(keys[10]!)).toBeUndefined();
    expect(await grpc[r]!.get(keys[11]!)).toBeUndefined();
    // gRPC delete -> Redis.
    for (const k of keys.slice(12)) expect(await grpc[w]!.delete(k)).toBe(true);
    expect(await redis[r]!.exists(...keys)).toBe(0);
    expect(await redis[r]!.mget(...keys.slice(12))).toEqual(keys.slice(12).map(() => null));
    expect(await redis[r]!.del(...keys)).toBe(0);
  });

  it('agrees on edge values across doors and nodes: empty, Unicode keys, binary, large', async () => {
    const raw = nodes.map((n) =>
      createClient({ url: n.grpcAddress, serializer: rawSerializer, timeoutMs: 5000 }),
    );
    try {
      // The empty string.
      expect(await redis[0]!.set('edge:empty', '')).toBe('OK');
      expect(await grpc[1]!.get('edge:empty')).toBe('');
      expect(await grpc[2]!.set('edge:empty2', '')).toBe(true);
      expect(await redis[0]!.get('edge:empty2')).toBe('');
      expect(await redis[1]!.exists('edge:empty', 'edge:empty2')).toBe(2);
      // Keys outside ASCII (UTF-8 on both doors).
      const key = 'edge:ключ:✓:🗝';
      expect(await redis[2]!.set(key, 'unicode key')).toBe('OK');
      expect(await grpc[0]!.get(key)).toBe('unicode key');
      expect(await grpc[1]!.set(`${key}:2`, 'second')).toBe(true);
      expect(await redis[2]!.get(`${key}:2`)).toBe('second');
      // Every byte value, through ioredis Buffers and the raw serializer.
      const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
      expect(await redis[0]!.set('edge:bin', bytes)).toBe('OK');
      expect(Buffer.compare((await raw[1]!.get<Buffer>('edge:bin'))!, bytes)).toBe(0);
      expect(Buffer.compare((await raw[2]!.get<Buffer>('edge:bin', { consistency: 'ALL' }))!, bytes)).toBe(0);
      const reversed = Buffer.from(bytes).reverse();
      expect(await raw[2]!.set(Buffer.from([0xff, 0x00, 0xfe]), reversed)).toBe(true);
      expect(Buffer.compare((await redis[1]!.getBuffer(Buffer.from([0xff, 0x00, 0xfe])))!, reversed)).toBe(0);
      // A large value (most of the cache's 1 MiB limit) crosses doors and nodes whole.
      const large = Buffer.alloc(900 * 1024);
      for (let i = 0; i < large.length; i++) large[i] = (i * 31 + (i >> 10)) % 256;
      expect(await redis[1]!.set('edge:large', large)).toBe('OK');
      expect(Buffer.compare((await raw[0]!.get<Buffer>('edge:large', { consistency: 'ALL' }))!, large)).toBe(
        0,
      );
      expect(await raw[0]!.set('edge:large2', large)).toBe(true);
      expect(Buffer.compare((await redis[2]!.getBuffer('edge:large2'))!, large)).toBe(0);
      expect(await redis[2]!.strlen('edge:large')).toBe(large.length);
    } finally {
      await Promise.all(raw.map((c) => c.close()));
    }
  });

  it('agrees on expiry: TTLs set through one door are seen through the other on another node', async () => {
    expect(await redis[0]!.set('ttl:r', 'v', 'PX', 100_000)).toBe('OK');
    const entry = await grpc[1]!.getEntry<string>('ttl:r');
    expect(entry?.value).toBe('v');
    expect(entry!.ttlMs).toBeGreaterThan(90_000);
    expect(entry!.ttlMs).toBeLessThanOrEqual(100_000);
    expect(await grpc[2]!.set('ttl:g', 'v', { ttlMs: 50_000 })).toBe(true);
    const pttl = await redis[0]!.pttl('ttl:g');
    expect(pttl).toBeGreaterThan(40_000);
    expect(pttl).toBeLessThanOrEqual(50_000);
    // PERSIST through Redis, seen through gRPC elsewhere.
    expect(await redis[1]!.persist('ttl:g')).toBe(1);
    expect((await grpc[0]!.getEntry('ttl:g'))!.ttlMs).toBe(-1);
    // A short TTL written through Redis expires for gRPC readers on every node.
    expect(await redis[2]!.set('ttl:short', 'v', 'PX', 300)).toBe('OK');
    expect(await grpc[0]!.get('ttl:short')).toBe('v');
    await waitFor(
      async () =>
        (await Promise.all(grpc.map((c) => c.get('ttl:short')))).every((v) => v === undefined) &&
        (await redis[1]!.exists('ttl:short')) === 0,
      { timeoutMs: 5000, intervalMs: 50, what: 'ttl:short to expire on every node' },
    );
  });

  it('INCR and APPEND through Redis on one node are seen through gRPC on the others', async () => {
    for (let round = 0; round < 3; round++) {
      const counter = `ctr:${round}`;
      // Through every node's Redis port in turn, then both doors mixed.
      for (let i = 0; i < 30; i++) expect(await redis[(round + i) % 3]!.incr(counter)).toBe(i + 1);
      for (const r of [0, 1, 2]) expect(await grpc[r]!.get(counter)).toBe('30');
      expect(await grpc[(round + 1) % 3]!.incr(counter, 5)).toBe(35);
      expect(await redis[(round + 2) % 3]!.incrby(counter, 10)).toBe(45);
      expect(await redis[round]!.decr(counter)).toBe(44);
      expect((await cli((round + 1) % 3, 'incr', counter)).stdout).toBe('45\n');
      expect(await grpc[(round + 2) % 3]!.incr(counter, -3)).toBe(42);
      for (const r of [0, 1, 2]) {
        expect(await redis[r]!.get(counter)).toBe('42');
        expect(await grpc[r]!.get(counter, { consistency: 'ALL' })).toBe('42');
      }
      // APPEND: created by Redis, grown through every node, read through gRPC elsewhere.
      const text = `txt:${round}`;
      expect(await redis[round]!.append(text, 'ab')).toBe(2);
      expect(await grpc[(round + 1) % 3]!.get(text)).toBe('ab');
      expect(await redis[(round + 1) % 3]!.append(text, 'cd')).toBe(4);
      expect((await cli((round + 2) % 3, 'append', text, 'ef')).stdout).toBe('6\n');
      for (const r of [0, 1, 2]) expect(await grpc[r]!.get(text)).toBe('abcdef');
      // A gRPC SET then APPEND through Redis elsewhere.
      expect(await grpc[(round + 2) % 3]!.set(text, 'x')).toBe(true);
      expect(await redis[round]!.append(text, 'yz')).toBe(3);
      expect(await grpc[(round + 1) % 3]!.get(text)).toBe('xyz');
      // A number written by gRPC increments through Redis, and the reverse.
      const n = `num:${round}`;
      await grpc[round]!.set(n, '41');
      expect(await redis[(round + 1) % 3]!.incr(n)).toBe(42);
      expect(await grpc[(round + 2) % 3]!.incr(n, 8)).toBe(50);
      expect(await redis[round]!.get(n)).toBe('50');
    }
  });

  it('MSET through one node is MGET through the others and gRPC getMany; gRPC setMany is MGET', async () => {
    for (const [w, r] of PAIRS) {
      const keys = Array.from({ length: 100 }, (_, i) => `m:${w}>${r}:${i}`);
      expect(new Set(keys.map((k) => primaryOf(keySlot(k)))).size).toBe(3);
      const values = keys.map((k) => `mv:${k}`);
      expect(await redis[w]!.mset(...keys.flatMap((k, i) => [k, values[i]!]))).toBe('OK');
      expect(await redis[r]!.mget(...keys)).toEqual(values);
      expect(await grpc[r]!.getMany(keys)).toEqual(values);
      expect(await grpc[3 - w - r]!.getMany(keys, { consistency: 'ALL' })).toEqual(values);
      expect((await cliRaw(r, 'mget', keys[0]!, 'm:none', keys[99]!)).split('\n')).toEqual([
        values[0],
        '',
        values[99],
      ]);
      // The other way: gRPC setMany, Redis MGET (with a missing key in the middle).
      const again = keys.map((k) => `again:${k}`);
      expect(await grpc[w]!.setMany(keys.map((k, i) => ({ key: k, value: again[i]! })))).toBe(keys.length);
      expect(await redis[r]!.mget(keys[0]!, 'm:none', ...keys.slice(1))).toEqual([
        again[0],
        null,
        ...again.slice(1),
      ]);
      // MSET through redis-cli.
      expect((await cli(w, 'mset', keys[0]!, 'c0', keys[50]!, 'c50')).stdout).toBe('OK\n');
      expect(await grpc[r]!.getMany([keys[0]!, keys[50]!])).toEqual(['c0', 'c50']);
    }
  });

  it('redis-cli --pipe through one node: SETs over every slot range and an INCR, all seen elsewhere', async () => {
    const n = 1000;
    const keys = Array.from({ length: n }, (_, i) => `pipe:${i}`);
    expect(new Set(keys.map((k) => keySlot(k))).size).toBeGreaterThan(900);
    expect(new Set(keys.map((k) => primaryOf(keySlot(k)))).size).toBe(3);
    const parts: Buffer[] = [];
    for (const [i, k] of keys.entries()) {
      parts.push(encodeCommand(['SET', k, `pv${i}`]));
      parts.push(encodeCommand(['INCR', 'pipe:counter']));
    }
    parts.push(encodeCommand(['GET', 'pipe:counter']));
    const res = await redisCli(nodes[1]!.redisPort, ['--pipe'], { input: Buffer.concat(parts) });
    expect(res.stdout).toContain(`errors: 0, replies: ${2 * n + 1}`);
    expect(await grpc[0]!.getMany(keys)).toEqual(keys.map((_, i) => `pv${i}`));
    expect(await grpc[2]!.getMany(keys, { consistency: 'ALL' })).toEqual(keys.map((_, i) => `pv${i}`));
    expect(await grpc[2]!.get('pipe:counter')).toBe(String(n));
    expect(await redis[0]!.get('pipe:counter')).toBe(String(n));
  });

  it('redis-cli reading commands from standard input keeps their order across nodes', async () => {
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 50; i++) {
      lines.push(`set stdin:${i} s${i}`, `get stdin:${i}`, 'incr stdin:n', `append stdin:${i} !`);
      expected.push('OK', `s${i}`, String(i + 1), String(`s${i}`.length + 1));
    }
    const res = await redisCli(nodes[2]!.redisPort, [], { input: `${lines.join('\n')}\n` });
    expect(res.stdout.split('\n').slice(0, -1)).toEqual(expected);
    expect(await grpc[0]!.get('stdin:n')).toBe('50');
    expect(await grpc[1]!.get('stdin:49')).toBe('s49!');
  });

  it.each([0, 1, 2])(
    'a raw pipeline through node %i: 1000 SETs then GETs over every slot range, INCRs interleaved, in order',
    async (via) => {
      const n = 1000;
      const keys = Array.from({ length: n }, (_, i) => `raw:${via}:${i}`);
      expect(new Set(keys.map((k) => primaryOf(keySlot(k)))).size).toBe(3);
      // A counter whose primary is another node: its INCRs are forwarded while the SETs are not.
      const counter = Array.from({ length: 100 }, (_, i) => `raw:${via}:ctr${i}`).find(
        (k) => primaryOf(keySlot(k)) !== nodes[via]!.id,
      )!;
      const commands: string[][] = [];
      const expected: RespValue[] = [];
      let count = 0;
      for (const [i, k] of keys.entries()) {
        commands.push(['SET', k, `rv${i}`]);
        expected.push('OK');
        if (i % 3 === 0) {
          commands.push(['INCR', counter]);
          expected.push(++count);
        }
      }
      for (const [i, k] of keys.entries()) {
        commands.push(['GET', k]);
        expected.push(`rv${i}`);
        if (i % 3 === 1) {
          commands.push(['INCR', counter]);
          expected.push(++count);
        }
        if (i % 10 === 0) {
          commands.push(['APPEND', k, '+']);
          expected.push(`rv${i}+`.length);
          commands.push(['GET', k]);
          expected.push(`rv${i}+`);
        }
      }
      commands.push(['MGET', keys[0]!, keys[1]!, 'raw:none', keys[n - 1]!]);
      expected.push(['rv0+', 'rv1', null, `rv${n - 1}`]);
      commands.push(['DEL', keys[1]!, keys[2]!]);
      expected.push(2);
      commands.push(['GET', keys[1]!]);
      expected.push(null);
      const conn = await RawRedisConnection.open(nodes[via]!.redisPort);
      try {
        // One write: the whole pipeline arrives before the first reply goes out.
        conn.send(Buffer.concat(commands.map((c) => encodeCommand(c))));
        const replies = await conn.next(commands.length, 60_000);
        for (let i = 0; i < commands.length; i++) {
          if (replies[i] !== expected[i]) {
            expect({ at: i, command: commands[i], reply: replies[i] }).toEqual({
              at: i,
              command: commands[i],
              reply: expected[i],
            });
          }
        }
        expect(replies).toEqual(expected);
      } finally {
        conn.close();
      }
      // What the pipeline left, through the gRPC client on the other nodes.
      for (const r of [0, 1, 2].filter((x) => x !== via)) {
        expect(await grpc[r]!.get(counter)).toBe(String(count));
        const got = await grpc[r]!.getMany(keys);
        expect(got[0]).toBe('rv0+');
        expect(got[1]).toBeUndefined();
        expect(got[2]).toBeUndefined();
        expect(got[3]).toBe('rv3');
        expect(got[10]).toBe('rv10+');
        expect(got[n - 1]).toBe(`rv${n - 1}`);
      }
    },
  );

  it('an ioredis pipeline through one node keeps order while gRPC writers change other keys', async () => {
    const n = 500;
    const keys = Array.from({ length: n }, (_, i) => `io:${i}`);
    // gRPC writers on the other nodes keep writing unrelated keys meanwhile.
    let stop = false;
    const background = [0, 2].map(async (r) => {
      let writes = 0;
      for (let i = 0; !stop; i++) {
        await grpc[r]!.set(`bg:${r}:${i % 50}`, String(i));
        writes++;
      }
      return writes;
    });
    try {
      const p = redis[1]!.pipeline();
      for (const [i, k] of keys.entries()) {
        p.set(k, `io${i}`);
        p.incr('io:ctr');
        p.get(k);
        p.echo(`e${i}`);
      }
      const results = (await p.exec())!;
      for (let i = 0; i < n; i++) {
        expect(results.slice(4 * i, 4 * i + 4)).toEqual([
          [null, 'OK'],
          [null, i + 1],
          [null, `io${i}`],
          [null, `e${i}`],
        ]);
      }
    } finally {
      stop = true;
    }
    expect((await Promise.all(background)).every((w) => w > 0)).toBe(true);
    expect(await grpc[0]!.get('io:ctr')).toBe(String(n));
    expect(await grpc[2]!.getMany(keys)).toEqual(keys.map((_, i) => `io${i}`));
  });
});
