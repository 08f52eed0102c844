// End-to-end: ioredis and node-redis from npm against a real meshcache-node,
// covering every command of the Redis front door, their errors, TTLs,
// pipelining, RESP2 and RESP3, and SELECT -> cache mapping (checked against
// the gRPC data plane, which shares the store).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OpType } from '@meshcache/proto';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import { NodeProcess } from '../src/NodeProcess.js';
import { op, RawCacheClient } from '../src/RawCacheClient.js';
import { RawRedisConnection } from '../src/redisReplies.js';
import { waitFor } from '../src/waitFor.js';

type NodeRedis = ReturnType<typeof createClient>;

/** The message of a rejected promise. */
async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error reply');
}

/** TTL is whole seconds rounded: allow one second of slack for a slow machine between the write and the read. */
async function expectTtl(r: Redis, key: string, seconds: number): Promise<void> {
  const ttl = await r.ttl(key);
  expect(ttl).toBeLessThanOrEqual(seconds);
  expect(ttl).toBeGreaterThanOrEqual(seconds - 1);
}

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

describe('Redis clients against a node', () => {
  let node: NodeProcess;
  let io: Redis;
  let nr: NodeRedis;
  const opened: Redis[] = [];

  const ioredis = async (options: RedisOptions = {}): Promise<Redis> => {
    const r = new Redis({
      host: '127.0.0.1',
      port: node.redisPort,
      lazyConnect: true,
      protocol: 2,
      ...options,
    });
    await r.connect();
    opened.push(r);
    return r;
  };

  beforeAll(async () => {
    node = await NodeProcess.start({
      args: [
        '--max-key-bytes',
        '256',
        '--caches',
        '[{name: default}, {name: second}, {name: small, maxValueBytes: 1Ki}]',
      ],
    });
    io = await ioredis();
    nr = createClient({ url: `redis://127.0.0.1:${node.redisPort}` });
    nr.on('error', () => {});
    await nr.connect();
  });

  afterAll(async () => {
    for (const r of opened) r.disconnect();
    await nr?.close();
    await node?.stop();
  });

  describe('strings', () => {
    it('GET, SET, GETDEL, APPEND, STRLEN, TYPE, MGET, MSET', async () => {
      expect(await io.set('s:a', 'hello')).toBe('OK');
      expect(await io.get('s:a')).toBe('hello');
      expect(await io.get('s:missing')).toBeNull();
      expect(await io.append('s:a', ' world')).toBe(11);
      expect(await io.append('s:new', 'x')).toBe(1);
      expect(await io.strlen('s:a')).toBe(11);
      expect(await io.strlen('s:missing')).toBe(0);
      expect(await io.type('s:a')).toBe('string');
      expect(await io.type('s:missing')).toBe('none');
      expect(await io.mset('s:m1', '1', 's:m2', '2')).toBe('OK');
      expect(await io.mget('s:m1', 's:missing', 's:m2')).toEqual(['1', null, '2']);
      expect(await io.getdel('s:a')).toBe('hello world');
      expect(await io.getdel('s:a')).toBeNull();
      expect(await io.exists('s:a')).toBe(0);
    });

    it('is binary-safe', async () => {
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await io.set(Buffer.from([0, 255, 13, 10]), value);
      expect(Buffer.compare((await io.getBuffer(Buffer.from([0, 255, 13, 10])))!, value)).toBe(0);
    });

    it('SET with NX, XX, GET and KEEPTTL', async () => {
      expect(await io.set('o:k', 'v1', 'NX')).toBe('OK');
      expect(await io.set('o:k', 'v2', 'NX')).toBeNull();
      expect(await io.set('o:none', 'v', 'XX')).toBeNull();
      expect(await io.exists('o:none')).toBe(0);
      expect(await io.set('o:k', 'v2', 'XX')).toBe('OK');
      expect(await io.set('o:k', 'v3', 'GET')).toBe('v2');
      expect(await io.set('o:fresh', 'v', 'GET')).toBeNull();
      expect(await io.call('set', 'o:k', 'v4', 'NX', 'GET')).toBe('v3'); // not applied, old value returned
      expect(await io.get('o:k')).toBe('v3');
      await io.set('o:k', 'v', 'EX', 100);
      expect(await io.set('o:k', 'v5', 'KEEPTTL')).toBe('OK');
      expect(await io.ttl('o:k')).toBeGreaterThan(90);
      await io.set('o:k', 'v6');
      expect(await io.ttl('o:k')).toBe(-1); // a plain SET clears the TTL
    });

    it('SET with EX, PX, EXAT and PXAT', async () => {
      await io.set('t:ex', 'v', 'EX', 100);
      await expectTtl(io, 't:ex', 100);
      await io.set('t:px', 'v', 'PX', 50_000);
      const pttl = await io.pttl('t:px');
      expect(pttl).toBeGreaterThan(49_000);
      expect(pttl).toBeLessThanOrEqual(50_000);
      const at = Math.floor(Date.now() / 1000) + 200;
      await io.set('t:exat', 'v', 'EXAT', at);
      expect(Math.abs((await io.ttl('t:exat')) - 200)).toBeLessThanOrEqual(1);
      await io.set('t:pxat', 'v', 'PXAT', Date.now() + 300_000);
      expect(Math.abs((await io.pttl('t:pxat')) - 300_000)).toBeLessThan(2000);
      expect(await io.set('t:past', 'v', 'EXAT', 1)).toBe('OK'); // already expired: gone at once
      expect(await io.get('t:past')).toBeNull();
    });

    it('GETEX with EX, PX, EXAT, PXAT and PERSIST', async () => {
      await io.set('gx', 'v');
      expect(await io.getex('gx')).toBe('v');
      expect(await io.ttl('gx')).toBe(-1);
      expect(await io.getex('gx', 'EX', 100)).toBe('v');
      await expectTtl(io, 'gx', 100);
      expect(await io.getex('gx', 'PX', 200_000)).toBe('v');
      await expectTtl(io, 'gx', 200);
      expect(await io.getex('gx', 'EXAT', Math.floor(Date.now() / 1000) + 300)).toBe('v');
      expect(Math.abs((await io.ttl('gx')) - 300)).toBeLessThanOrEqual(1);
      expect(await io.getex('gx', 'PXAT', Date.now() + 400_000)).toBe('v');
      expect(Math.abs((await io.ttl('gx')) - 400)).toBeLessThanOrEqual(1);
      expect(await io.getex('gx', 'PERSIST')).toBe('v');
      expect(await io.ttl('gx')).toBe(-1);
      expect(await io.getex('gx:missing', 'EX', 10)).toBeNull();
      expect(await errorOf(io.call('getex', 'gx', 'EX', 10, 'PX', 10))).toBe('ERR syntax error');
      expect(await errorOf(io.call('getex', 'gx', 'KEEPTTL'))).toBe('ERR syntax error');
    });

    it('INCR, DECR, INCRBY, DECRBY', async () => {
      expect(await io.incr('n')).toBe(1);
      expect(await io.incrby('n', 41)).toBe(42);
      expect(await io.decr('n')).toBe(41);
      expect(await io.decrby('n', 50)).toBe(-9);
      expect(await io.get('n')).toBe('-9');
      await io.set('n:ttl', '5', 'EX', 100);
      expect(await io.incr('n:ttl')).toBe(6);
      expect(await io.ttl('n:ttl')).toBeGreaterThan(90); // INCR keeps the TTL
      await io.set('n:text', 'abc');
      expect(await errorOf(io.incr('n:text'))).toBe('ERR value is not an integer or out of range');
      expect(await errorOf(io.call('incrby', 'n', 'x'))).toBe('ERR value is not an integer or out of range');
      expect(await errorOf(io.call('incrby', 'n', '1.5'))).toBe(
        'ERR value is not an integer or out of range',
      );
      await io.set('n:max', String(Number.MAX_SAFE_INTEGER));
      expect(await errorOf(io.incr('n:max'))).toMatch(/^ERR increment or decrement would overflow/);
    });
  });

  describe('keys and expiry', () => {
    it('DEL, UNLINK and EXISTS count keys', async () => {
      await io.mset('d:1', 'a', 'd:2', 'b', 'd:3', 'c');
      expect(await io.exists('d:1', 'd:2', 'd:none', 'd:1')).toBe(3);
      expect(await io.del('d:1', 'd:none')).toBe(1);
      expect(await io.unlink('d:2', 'd:3', 'd:3')).toBe(2);
      expect(await io.exists('d:1', 'd:2', 'd:3')).toBe(0);
    });

    it('EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, PERSIST', async () => {
      await io.set('e:k', 'v');
      expect(await io.ttl('e:k')).toBe(-1);
      expect(await io.ttl('e:missing')).toBe(-2);
      expect(await io.pttl('e:missing')).toBe(-2);
      expect(await io.expire('e:k', 100)).toBe(1);
      await expectTtl(io, 'e:k', 100);
      expect(await io.pexpire('e:k', 150_000)).toBe(1);
      await expectTtl(io, 'e:k', 150);
      expect(await io.expireat('e:k', Math.floor(Date.now() / 1000) + 250)).toBe(1);
      expect(Math.abs((await io.ttl('e:k')) - 250)).toBeLessThanOrEqual(1);
      expect(await io.pexpireat('e:k', Date.now() + 350_000)).toBe(1);
      expect(Math.abs((await io.ttl('e:k')) - 350)).toBeLessThanOrEqual(1);
      expect(await io.persist('e:k')).toBe(1);
      expect(await io.persist('e:k')).toBe(0);
      expect(await io.ttl('e:k')).toBe(-1);
      expect(await io.expire('e:missing', 10)).toBe(0);
      expect(await io.expire('e:k', -1)).toBe(1); // a time in the past deletes
      expect(await io.exists('e:k')).toBe(0);
      await io.set('e:k', 'v');
      expect(await io.expireat('e:k', 1)).toBe(1);
      expect(await io.get('e:k')).toBeNull();
    });

    it('EXPIRE with NX, XX, GT and LT', async () => {
      await io.set('x:k', 'v');
      expect(await io.call('expire', 'x:k', 100, 'XX')).toBe(0); // no TTL yet
      expect(await io.call('expire', 'x:k', 100, 'GT')).toBe(0); // no TTL counts as infinite
      expect(await io.call('expire', 'x:k', 100, 'LT')).toBe(1);
      expect(await io.call('expire', 'x:k', 200, 'NX')).toBe(0);
      expect(await io.call('expire', 'x:k', 50, 'GT')).toBe(0);
      expect(await io.call('expire', 'x:k', 200, 'GT')).toBe(1);
      expect(await io.call('expire', 'x:k', 300, 'LT')).toBe(0);
      expect(await io.call('expire', 'x:k', 30, 'XX', 'LT')).toBe(1);
      await expectTtl(io, 'x:k', 30);
      expect(await errorOf(io.call('expire', 'x:k', 10, 'NX', 'XX'))).toBe(
        'ERR NX and XX, GT or LT options at the same time are not compatible',
      );
      expect(await errorOf(io.call('expire', 'x:k', 10, 'GT', 'LT'))).toBe(
        'ERR GT and LT options at the same time are not compatible',
      );
      expect(await errorOf(io.call('expire', 'x:k', 10, 'FOO'))).toBe('ERR Unsupported option FOO');
    });

    it('expired keys disappear: lazily on access and actively without one', async () => {
      const infoStat = async (name: string) =>
        Number(new RegExp(`${name}:(\\d+)`).exec(await io.info('stats'))![1]);
      const expiredBefore = await infoStat('expired_keys');
      // One round trip: the value is there right after the write, whatever the machine's load.
      const [[, setOk], [, first]] = (await io
        .pipeline()
        .set('ttl:lazy', 'v', 'PX', 300)
        .get('ttl:lazy')
        .exec())!;
      expect([setOk, first]).toEqual(['OK', 'v']);
      await io.set('ttl:pexpire', 'v');
      await io.pexpire('ttl:pexpire', 100);
      await waitFor(async () => (await io.get('ttl:lazy')) === null, { what: 'ttl:lazy to expire' });
      await waitFor(async () => (await io.exists('ttl:pexpire')) === 0, { what: 'ttl:pexpire to expire' });
      expect(await io.ttl('ttl:lazy')).toBe(-2);
      // Keys nobody reads are collected by the active expiry cycle: DBSIZE (which counts
      // expired entries not yet collected) falls back to where it was.
      const db = await ioredis({ db: 1 });
      const sizeBefore = await db.dbsize();
      await db.set('ttl:active:1', 'v', 'PX', 100);
      await db.set('ttl:active:2', 'v', 'PX', 100);
      await waitFor(async () => (await db.dbsize()) <= sizeBefore, { what: 'active expiry' });
      expect(await infoStat('expired_keys')).toBeGreaterThanOrEqual(expiredBefore + 4);
    });
  });

  describe('errors', () => {
    it('uses redis-server texts', async () => {
      expect(await errorOf(io.call('foo', 'a', 'b'))).toBe(
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
      );
      expect(await errorOf(io.call('get'))).toBe("ERR wrong number of arguments for 'get' command");
      expect(await errorOf(io.call('get', 'a', 'b'))).toBe("ERR wrong number of arguments for 'get' command");
      expect(await errorOf(io.call('mset', 'a', 'b', 'c'))).toBe(
        "ERR wrong number of arguments for 'mset' command",
      );
      expect(await errorOf(io.call('set', 'k', 'v', 'NX', 'XX'))).toBe('ERR syntax error');
      expect(await errorOf(io.call('set', 'k', 'v', 'EX', 10, 'PX', 10))).toBe('ERR syntax error');
      expect(await errorOf(io.call('set', 'k', 'v', 'EX'))).toBe('ERR syntax error');
      expect(await errorOf(io.call('set', 'k', 'v', 'EX', 0))).toBe(
        "ERR invalid expire time in 'set' command",
      );
      expect(await errorOf(io.call('set', 'k', 'v', 'EX', 'soon'))).toBe(
        'ERR value is not an integer or out of range',
      );
      expect(await errorOf(io.call('set', 'k', 'v', 'PX', '9223372036854775807'))).toBe(
        "ERR invalid expire time in 'set' command",
      );
      expect(await errorOf(io.call('expire', 'k', '9223372036854775807'))).toBe(
        "ERR invalid expire time in 'expire' command",
      );
      expect(await errorOf(io.call('client', 'foo'))).toBe("ERR unknown subcommand 'foo'. Try CLIENT HELP.");
      expect(await errorOf(io.call('client'))).toBe("ERR wrong number of arguments for 'client' command");
      expect(await errorOf(io.call('client', 'setname'))).toBe(
        "ERR wrong number of arguments for 'client|setname' command",
      );
      expect(await errorOf(io.call('config', 'set', 'x', 'y'))).toBe(
        "ERR unknown subcommand 'set'. Try CONFIG HELP.",
      );
      expect(await errorOf(io.call('select', 'x'))).toBe('ERR value is not an integer or out of range');
      expect(await errorOf(io.call('hello', '4'))).toBe('NOPROTO unsupported protocol version');
      expect(await errorOf(io.call('auth', 'pw'))).toMatch(
        /^ERR AUTH <password> called without any password/,
      );
      expect(await errorOf(io.call('auth', 'someone', 'pw'))).toBe(
        'WRONGPASS invalid username-password pair or user is disabled.',
      );
    });

    it('reports meshcache limits with the gRPC data plane messages', async () => {
      expect(await errorOf(io.set('k'.repeat(257), 'v'))).toBe(
        'ERR key is 257 bytes; the limit is 256 (maxKeyBytes)',
      );
      expect(await errorOf(io.get('k'.repeat(300)))).toMatch(/^ERR key is 300 bytes/);
      const small = await ioredis({ db: 2 });
      expect(await errorOf(small.set('big', 'x'.repeat(1025)))).toBe(
        "ERR value is 1025 bytes; cache 'small' allows at most 1024 (maxValueBytes)",
      );
      expect(await errorOf(small.mset('a', 'ok', 'b', 'x'.repeat(2000)))).toMatch(/entries\[1\]\.value/);
      expect(await small.exists('a')).toBe(0); // MSET is all or nothing
      await small.set('grow', 'x'.repeat(1000));
      expect(await errorOf(small.append('grow', 'y'.repeat(100)))).toMatch(/^ERR value is 1100 bytes/);
    });
  });

  describe('pipelining', () => {
    it('runs an ioredis pipeline of 2000 commands with replies in order', async () => {
      const p = io.pipeline();
      for (let i = 0; i < 1000; i++) p.set(`p:${i}`, String(i));
      for (let i = 0; i < 1000; i++) p.get(`p:${i}`);
      const results = (await p.exec())!;
      expect(results).toHaveLength(2000);
      for (let i = 0; i < 1000; i++) {
        expect(results[i]).toEqual([null, 'OK']);
        expect(results[1000 + i]).toEqual([null, String(i)]);
      }
    });

    it('keeps going after an error inside a pipeline', async () => {
      const results = (await io.pipeline().set('pe', 'x').incr('pe').get('pe').exec())!;
      expect(results[0]).toEqual([null, 'OK']);
      expect((results[1]![0] as Error).message).toBe('ERR value is not an integer or out of range');
      expect(results[2]).toEqual([null, 'x']);
    });

    it('runs node-redis commands issued together (auto-pipelined)', async () => {
      const n = 500;
      const replies = await Promise.all(Array.from({ length: n }, () => nr.incr('np:counter')));
      expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    });
  });

  describe('databases map to caches', () => {
    it('SELECT n uses the n-th configured cache, shared with the gRPC data plane', async () => {
      const db0 = io;
      const db1 = await ioredis({ db: 1 });
      await db0.set('shared:k', 'in default');
      await db1.set('shared:k', 'in second');
      expect(await db0.get('shared:k')).toBe('in default');
      expect(await db1.get('shared:k')).toBe('in second');

      const grpc = new RawCacheClient(node.grpcAddress);
      try {
        const res = await grpc.executeBatch(
          [
            op({ id: 1, type: OpType.GET, key: Buffer.from('shared:k') }),
            op({ id: 2, type: OpType.GET, cache: 'second', key: Buffer.from('shared:k') }),
            op({
              id: 3,
              type: OpType.SET,
              cache: 'second',
              key: Buffer.from('from:grpc'),
              value: Buffer.from('g'),
            }),
          ],
          '1',
        );
        expect(Buffer.from(res.results[0]!.value).toString()).toBe('in default');
        expect(Buffer.from(res.results[1]!.value).toString()).toBe('in second');
        // Versions come from the node's hybrid logical clock, whichever door wrote.
        expect(Math.abs(res.results[1]!.version!.physicalMs - Date.now())).toBeLessThan(60_000);
        expect(await db1.get('from:grpc')).toBe('g');
      } finally {
        grpc.close();
      }
      expect(await errorOf(db0.select(3))).toBe('ERR DB index is out of range');
      expect(await errorOf(db0.select(-1))).toBe('ERR DB index is out of range');
      expect(await db0.config('GET', 'databases')).toEqual(['databases', '3']);
      const keyspace = await db0.info('keyspace');
      expect(keyspace).toMatch(/^db0:keys=\d+,expires=\d+,avg_ttl=0$/m);
      expect(keyspace).toMatch(/^db1:keys=\d+,expires=\d+,avg_ttl=0$/m);
      expect(await db1.dbsize()).toBeGreaterThanOrEqual(2);
    });

    it('node-redis selects a database with its option and SELECT', async () => {
      const c = createClient({ url: `redis://127.0.0.1:${node.redisPort}`, database: 1 });
      c.on('error', () => {});
      await c.connect();
      try {
        expect(await c.get('shared:k')).toBe('in second');
        await c.select(0);
        expect(await c.get('shared:k')).toBe('in default');
      } finally {
        await c.close();
      }
    });
  });

  describe('connection and server commands', () => {
    it('PING, ECHO, CLIENT SETNAME/GETNAME/ID/INFO/LIST', async () => {
      expect(await io.ping()).toBe('PONG');
      expect(await io.ping('hi')).toBe('hi');
      expect(await io.echo('echo me')).toBe('echo me');
      expect(await errorOf(io.call('ping', 'a', 'b'))).toBe(
        "ERR wrong number of arguments for 'ping' command",
      );
      const c = await ioredis({ connectionName: 'named-conn' });
      expect(await c.client('GETNAME')).toBe('named-conn');
      expect(await c.client('SETNAME', 'renamed')).toBe('OK');
      expect(await c.client('GETNAME')).toBe('renamed');
      expect(await errorOf(c.client('SETNAME', 'has space'))).toBe(
        'ERR Client names cannot contain spaces, newlines or special characters.',
      );
      const id = (await c.client('ID')) as number;
      expect(id).toBeGreaterThan(0);
      const info = (await c.client('INFO')) as string;
      expect(info).toContain(`id=${id} `);
      expect(info).toContain('name=renamed ');
      expect(info).toContain('lib-name=ioredis');
      const list = (await io.client('LIST')) as string;
      expect(list).toContain(`id=${id} `);
      expect(list.trim().split('\n').length).toBeGreaterThanOrEqual(2);
      expect(await c.client('SETNAME', '')).toBe('OK');
      expect(await c.client('GETNAME')).toBeNull();
    });

    it('QUIT replies OK and closes; RESET restores db 0, RESP2 and no name', async () => {
      const raw = await RawRedisConnection.open(node.redisPort);
      expect(await raw.call('SELECT', '1')).toBe('OK');
      expect(await raw.call('CLIENT', 'SETNAME', 'x')).toBe('OK');
      await raw.call('HELLO', '3');
      expect(await raw.call('GET', 'nope')).toBeNull();
      expect(await raw.call('RESET')).toBe('RESET');
      expect(await raw.call('GET', 'shared:k')).toBe('in default');
      expect(await raw.call('CLIENT', 'GETNAME')).toBeNull();
      expect(await raw.call('CLIENT', 'INFO')).toMatch(/ resp=2 /);
      raw.command('QUIT');
      raw.command('PING'); // after QUIT: never answered
      expect(await raw.waitClosed()).toEqual(['OK']);
    });

    it('INFO, DBSIZE, CONFIG GET', async () => {
      const info = await io.info();
      for (const section of ['Server', 'Clients', 'Memory', 'Stats', 'Keyspace']) {
        expect(info).toContain(`# ${section}\r\n`);
      }
      expect(info).toMatch(/redis_version:7\.\d+\.\d+/);
      expect(info).toContain(`tcp_port:${node.redisPort}`);
      expect(info).toMatch(/connected_clients:\d+/);
      expect(info).toMatch(/used_memory:\d+/);
      expect(info).toMatch(/keyspace_hits:\d+/);
      expect(info).toContain('loading:0');
      expect(await io.info('memory')).not.toContain('# Server');
      expect(await io.info('commandstats')).toMatch(/cmdstat_get:calls=\d+/);
      expect(await io.dbsize()).toBeGreaterThan(0);
      expect(await io.config('GET', 'maxmemory')).toEqual(['maxmemory', String(3 * 256 * 1024 * 1024)]);
      expect(await io.config('GET', 'save')).toEqual(['save', '']);
      expect(await io.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      const many = (await io.call('config', 'get', 'max*', 'databases')) as string[];
      expect(many).toEqual(
        expect.arrayContaining(['maxmemory', 'maxmemory-policy', 'maxclients', 'databases']),
      );
      expect(await io.config('GET', 'nosuch')).toEqual([]);
    });

    it('COMMAND, COMMAND COUNT / INFO / DOCS / GETKEYS / LIST', async () => {
      const count = (await io.call('command', 'count')) as number;
      expect(count).toBeGreaterThanOrEqual(33);
      const all = (await io.call('command')) as unknown[][];
      expect(all).toHaveLength(count);
      const [get, nope] = (await io.call('command', 'info', 'get', 'nope')) as [unknown[], null];
      expect(get.slice(0, 6)).toEqual(['get', 2, ['readonly', 'fast'], 1, 1, 1]);
      expect(nope).toBeNull();
      const [mset] = (await io.call('command', 'info', 'mset')) as [unknown[]];
      expect(mset.slice(3, 6)).toEqual([1, -1, 2]);
      const docs = (await io.call('command', 'docs', 'set')) as unknown[];
      expect(docs[0]).toBe('set');
      expect(docs[1]).toEqual(expect.arrayContaining(['summary', 'since', 'group', 'string']));
      expect(await io.call('command', 'getkeys', 'mset', 'a', '1', 'b', '2')).toEqual(['a', 'b']);
      expect(await errorOf(io.call('command', 'getkeys', 'ping', 'x'))).toBe(
        'ERR The command has no key arguments',
      );
      expect(await io.call('command', 'list')).toEqual(expect.arrayContaining(['get', 'set', 'client']));
    });
  });

  describe('RESP3', () => {
    it('node-redis negotiates RESP3 with HELLO 3 and gets RESP3 types', async () => {
      const hello = (await nr.sendCommand(['HELLO', '3'])) as Record<string, unknown>;
      expect(hello).toMatchObject({
        server: 'redis',
        proto: 3,
        mode: 'standalone',
        role: 'master',
        modules: [],
      });
      expect(await nr.get('r3:none')).toBeNull();
      expect(await nr.set('r3:k', 'v', { expiration: { type: 'PX', value: 100_000 } })).toBe('OK');
      expect(await nr.get('r3:k')).toBe('v');
      expect(await nr.configGet('databases')).toEqual({ databases: '3' });
      expect(await nr.mGet(['r3:k', 'r3:none'])).toEqual(['v', null]);
      const info = await nr.clientInfo();
      expect(info.resp).toBe(3);
      expect(info.libName).toBe('node-redis');
      expect(await errorOf(nr.sendCommand(['NOPE']))).toBe(
        "ERR unknown command 'NOPE', with args beginning with: ",
      );
    });

    it('sends RESP3 bytes after HELLO 3 and RESP2 bytes before', async () => {
      const raw = await RawRedisConnection.open(node.redisPort);
      raw.send(
        'GET r3:none\r\nCONFIG GET databases\r\nHELLO 3\r\nGET r3:none\r\nCONFIG GET databases\r\nINFO keyspace\r\n',
      );
      const [nil2, cfg2, hello, nil3, cfg3, info3] = await raw.next(6);
      expect(nil2).toBeNull();
      expect(cfg2).toEqual(['databases', '3']);
      expect(hello).toMatchObject({ map: expect.arrayContaining([['proto', 3]]) });
      expect(nil3).toBeNull();
      expect(cfg3).toEqual({ map: [['databases', '3']] });
      expect(info3).toMatchObject({ verbatim: expect.stringMatching(/^txt:# Keyspace/) });
      raw.close();
    });

    it('ioredis works over RESP3 too', async () => {
      const r3 = await ioredis({ protocol: 3 });
      expect(await r3.set('io3', 'v')).toBe('OK');
      expect(await r3.get('io3')).toBe('v');
      expect(await r3.get('io3:none')).toBeNull();
      expect(await r3.mget('io3', 'io3:none')).toEqual(['v', null]);
    });

    it('node-redis works over RESP2', async () => {
      const c = createClient({ url: `redis://127.0.0.1:${node.redisPort}`, RESP: 2 });
      c.on('error', () => {});
      await c.connect();
      try {
        expect(await c.set('nr2', '1')).toBe('OK');
        expect(await c.incrBy('nr2', 2)).toBe(3);
        expect(await c.configGet('databases')).toEqual({ databases: '3' });
        expect((await c.clientInfo()).resp).toBe(2);
      } finally {
        await c.close();
      }
    });
  });

  it('counts Redis commands in the operation metrics and in Redis metrics', async () => {
    const scrape = async () => (await fetch(`${node.adminUrl}/metrics`)).text();
    const before = await scrape();
    for (let i = 0; i < 10; i++) await io.get('metrics:k');
    await io.set('metrics:k', 'v');
    await errorOf(io.call('nosuchcommand'));
    const after = await scrape();
    const ops = (text: string, o: string) =>
      metricValue(text, 'meshcache_operations_total', { cache: 'default', op: o, result: 'OK' });
    expect(ops(after, 'GET') - ops(before, 'GET')).toBeGreaterThanOrEqual(10);
    expect(ops(after, 'SET') - ops(before, 'SET')).toBeGreaterThanOrEqual(1);
    const calls = (text: string) => metricValue(text, 'meshcache_redis_commands_total', { command: 'get' });
    expect(calls(after) - calls(before)).toBeGreaterThanOrEqual(10);
    expect(metricValue(after, 'meshcache_redis_unknown_commands_total', {})).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^meshcache_redis_open_connections\{[^}]*\} [1-9]/m);
  });
});
