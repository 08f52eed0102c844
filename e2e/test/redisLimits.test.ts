// End-to-end: the Redis front door's limits, backpressure, AUTH and shutdown,
// against real meshcache-node processes. Each refused request gets
// redis-server's error text and, where redis-server closes, a closed
// connection; a bystander connection keeps working throughout.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { NodeProcess } from '../src/NodeProcess.js';
import { encodeCommand, RawRedisConnection } from '../src/redisReplies.js';
import { waitFor } from '../src/waitFor.js';

async function metric(node: NodeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('Redis limits and backpressure', () => {
  let node: NodeProcess;
  let bystander: Redis;
  let round = 0;

  async function bystanderStillWorks(): Promise<void> {
    const n = String(++round);
    await bystander.set('bystander', n);
    expect(await bystander.get('bystander')).toBe(n);
  }

  /** Sends bytes on a fresh connection and returns the replies received before the server closed it. */
  async function refusedWith(bytes: Buffer | string): Promise<unknown[]> {
    const raw = await RawRedisConnection.open(node.redisPort);
    raw.send(bytes);
    return raw.waitClosed();
  }

  beforeAll(async () => {
    node = await NodeProcess.start({
      args: [
        '--redis-max-bulk-bytes',
        '1Mi',
        '--redis-max-args',
        '100',
        '--redis-max-query-buffer-bytes',
        '2Mi',
        '--redis-max-clients',
        '20',
        '--caches',
        '[{name: default, maxValueBytes: 512Ki}]',
      ],
    });
    bystander = new Redis({ host: '127.0.0.1', port: node.redisPort, protocol: 2 });
    await bystanderStillWorks();
  });

  afterAll(async () => {
    if (bystander !== undefined && bystander.status !== 'end') bystander.disconnect();
    await node?.stop();
  });

  it('refuses a bulk over the bulk limit and closes', async () => {
    expect(await refusedWith(`*2\r\n$3\r\nGET\r\n$${1024 * 1024 + 1}\r\n`)).toEqual([
      { error: 'ERR Protocol error: invalid bulk length' },
    ]);
    await bystanderStillWorks();
  });

  it('refuses more arguments than the limit and closes', async () => {
    expect(await refusedWith('*101\r\n')).toEqual([
      { error: 'ERR Protocol error: invalid multibulk length' },
    ]);
    await bystanderStillWorks();
  });

  it('closes a command that outgrows the query buffer limit', async () => {
    const part = 'x'.repeat(900 * 1024);
    const replies = await refusedWith(encodeCommand(['MSET', 'a', part, 'b', part, 'c', part]));
    expect(replies).toEqual([{ error: 'ERR Protocol error: query buffer limit exceeded' }]);
    await bystanderStillWorks();
  });

  it('refuses an inline request over 64 KiB and closes', async () => {
    expect(await refusedWith(Buffer.alloc(70 * 1024, 'a'))).toEqual([
      { error: 'ERR Protocol error: too big inline request' },
    ]);
    await bystanderStillWorks();
  });

  it('answers malformed requests with the protocol error and runs what came before', async () => {
    expect(await refusedWith('PING\r\n*1\r\n+PING\r\nPING\r\n')).toEqual([
      'PONG',
      { error: "ERR Protocol error: expected '$', got '+'" },
    ]);
    expect(await refusedWith('SET "unbalanced v\r\n')).toEqual([
      { error: 'ERR Protocol error: unbalanced quotes in request' },
    ]);
    await bystanderStillWorks();
  });

  it('keeps the connection for a value over the cache limit (a command error, not a protocol error)', async () => {
    const raw = await RawRedisConnection.open(node.redisPort);
    expect(await raw.call('SET', 'too-big', 'x'.repeat(600 * 1024))).toEqual({
      error: "ERR value is 614400 bytes; cache 'default' allows at most 524288 (maxValueBytes)",
    });
    expect(await raw.call('PING')).toBe('PONG');
    raw.close();
  });

  it('refuses connections beyond maxclients', async () => {
    await waitFor(async () => (await bystander.info('clients')).includes('connected_clients:1\r\n'), {
      what: 'only the bystander to be connected',
    });
    const conns = await Promise.all(
      Array.from({ length: 21 }, () => RawRedisConnection.open(node.redisPort)),
    );
    // The refused ones are told so and closed at once, before sending anything.
    await waitFor(() => conns.filter((c) => c.closed).length === 2, {
      what: 'two connections to be refused',
    });
    for (const c of conns.filter((c) => c.closed)) {
      expect(await c.waitClosed()).toEqual([{ error: 'ERR max number of clients reached' }]);
    }
    const accepted = conns.filter((c) => !c.closed);
    expect(accepted).toHaveLength(19);
    for (const c of accepted) expect(await c.call('PING')).toBe('PONG');
    for (const c of conns) c.close();
    expect(await bystander.info('stats')).toMatch(/rejected_connections:2\r\n/);
    await waitFor(async () => (await bystander.info('clients')).includes('connected_clients:1\r\n'), {
      what: 'refused and closed connections to be gone',
    });
    await bystanderStillWorks();
  });

  it('stops reading a client that does not read its replies, and catches up when it does', async () => {
    const valueBytes = 64 * 1024;
    await bystander.set('bp:big', 'v'.repeat(valueBytes));
    const requests = 2000; // 128 MiB of replies
    const replyBytes = `$${valueBytes}\r\n`.length + valueBytes + 2;
    const rssBefore = await metric(node, 'process_resident_memory_bytes');
    const pausesBefore = await metric(node, 'meshcache_redis_backpressure_pauses_total');

    let received = 0;
    const socket = connect({ host: '127.0.0.1', port: node.redisPort });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause(); // not reading replies
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.write(Buffer.concat(Array.from({ length: requests }, () => encodeCommand(['GET', 'bp:big']))));

    await waitFor(
      async () => (await metric(node, 'meshcache_redis_backpressure_pauses_total')) > pausesBefore,
      {
        what: 'the node to stop reading the connection',
      },
    );
    await bystanderStillWorks(); // other connections are served meanwhile
    const rssPaused = await metric(node, 'process_resident_memory_bytes');
    // Without backpressure the node would hold up to 128 MiB of replies for this client.
    expect(rssPaused - rssBefore).toBeLessThan(64 * 1024 * 1024);

    socket.resume();
    await waitFor(() => received >= requests * replyBytes, { timeoutMs: 30_000, what: 'every reply' });
    expect(received).toBe(requests * replyBytes);
    socket.destroy();
    await bystanderStillWorks();
  });

  it('closes Redis connections on SIGTERM and exits cleanly', async () => {
    await bystander.quit();
    const raw = await RawRedisConnection.open(node.redisPort);
    expect(await raw.call('PING')).toBe('PONG');
    expect(await node.stop()).toBe(0);
    await raw.waitClosed();
  });
});

describe('Redis AUTH', () => {
  const PASSWORD = 's3cret-Pa55word';
  let node: NodeProcess;

  beforeAll(async () => {
    node = await NodeProcess.start({ env: { MESHCACHE_REDIS_PASSWORD: PASSWORD } });
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('needs AUTH before anything but AUTH, HELLO, QUIT and RESET', async () => {
    const raw = await RawRedisConnection.open(node.redisPort);
    expect(await raw.call('GET', 'k')).toEqual({ error: 'NOAUTH Authentication required.' });
    expect(await raw.call('PING')).toEqual({ error: 'NOAUTH Authentication required.' });
    expect(await raw.call('HELLO', '3')).toEqual({
      error: expect.stringMatching(/^NOAUTH HELLO must be called with the client already authenticated/),
    });
    expect(await raw.call('AUTH', 'wrong')).toEqual({
      error: 'WRONGPASS invalid username-password pair or user is disabled.',
    });
    expect(await raw.call('AUTH', 'someone', PASSWORD)).toEqual({
      error: 'WRONGPASS invalid username-password pair or user is disabled.',
    });
    expect(await raw.call('AUTH', PASSWORD)).toBe('OK');
    expect(await raw.call('SET', 'k', 'v')).toBe('OK');
    expect(await raw.call('AUTH', 'default', PASSWORD)).toBe('OK');
    expect(await raw.call('RESET')).toBe('RESET');
    expect(await raw.call('GET', 'k')).toEqual({ error: 'NOAUTH Authentication required.' });
    const hello = await raw.call('HELLO', '3', 'AUTH', 'default', PASSWORD, 'SETNAME', 'authed');
    expect(hello).toMatchObject({ map: expect.arrayContaining([['proto', 3]]) });
    expect(await raw.call('GET', 'k')).toBe('v');
    expect(await raw.call('CLIENT', 'GETNAME')).toBe('authed');
    raw.close();
  });

  it("applies redis-server's stricter request limits before AUTH", async () => {
    const raw = await RawRedisConnection.open(node.redisPort);
    raw.send('*11\r\n');
    expect(await raw.waitClosed()).toEqual([
      { error: 'ERR Protocol error: unauthenticated multibulk length' },
    ]);
    const raw2 = await RawRedisConnection.open(node.redisPort);
    raw2.send('*2\r\n$3\r\nGET\r\n$20000\r\n');
    expect(await raw2.waitClosed()).toEqual([{ error: 'ERR Protocol error: unauthenticated bulk length' }]);
  });

  it('lets ioredis and node-redis in with the password', async () => {
    const io = new Redis({ host: '127.0.0.1', port: node.redisPort, password: PASSWORD, protocol: 2 });
    const nr = createClient({ url: `redis://127.0.0.1:${node.redisPort}`, password: PASSWORD });
    nr.on('error', () => {});
    try {
      expect(await io.set('io', '1')).toBe('OK');
      await nr.connect();
      expect(await nr.get('io')).toBe('1');
      const errors: string[] = [];
      const bad = new Redis({
        host: '127.0.0.1',
        port: node.redisPort,
        password: 'nope',
        protocol: 2,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      bad.on('error', (err: Error) => errors.push(err.message));
      await waitFor(() => errors.some((m) => m.includes('WRONGPASS')), {
        what: 'WRONGPASS for a bad password',
      });
      if (bad.status !== 'end') bad.disconnect();
    } finally {
      io.disconnect();
      await nr.close();
    }
  });

  it('never shows the password in logs, info or metrics', async () => {
    const info = await (await fetch(`${node.adminUrl}/v1/info`)).text();
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    const io = new Redis({ host: '127.0.0.1', port: node.redisPort, password: PASSWORD, protocol: 2 });
    const config = (await io.config('GET', '*')) as string[];
    io.disconnect();
    for (const text of [node.logs.join('\n'), node.stderr, info, metrics, config.join(' ')]) {
      expect(text).not.toContain(PASSWORD);
    }
    expect(await metric(node, 'meshcache_redis_auth_failures_total')).toBeGreaterThanOrEqual(3);
  });
});
