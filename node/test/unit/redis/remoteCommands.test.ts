import { afterEach, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { type Consistency, ErrorCode, keySlot, type Operation, OpType, type Result } from '@meshcache/proto';
import { DEFAULT_CACHE_OPTIONS } from '../../../src/config/NodeOptions.js';
import type { ExecuteOptions, OperationCoordinator } from '../../../src/coordinator/OperationCoordinator.js';
import { CacheRegistry } from '../../../src/engine/CacheRegistry.js';
import { OperationExecutor } from '../../../src/engine/OperationExecutor.js';
import { OperationStats } from '../../../src/engine/OperationStats.js';
import { slotOfLatin1, slotOfRange } from '../../../src/redis/keySlot.js';
import { RedisServer, type RedisServerOptions } from '../../../src/redis/RedisServer.js';
import { HybridLogicalClock } from '../../../src/store/index.js';

// The Redis door through a coordinator (proxy semantics). The coordinator here
// is a FAKE, for these tests only (the real one is node/src/coordinator/): it
// says a slot is local by a predicate, and answers execute() asynchronously,
// after a setImmediate, by running the operation on the server's own
// OperationExecutor, so the remote path sees the same data as the local one.
// It can hold answers until released, and can answer with a given error code.

const MAX_KEY_BYTES = 64;
const LOCAL_TAG = '{L}';
const REMOTE_TAG = '{R}';
const LOCAL_SLOT = keySlot('L');

class FakeCoordinator implements OperationCoordinator {
  /** Which slots run on the local executor; default: none (everything goes through execute). */
  local: (slot: number) => boolean = () => false;
  /** Holds the answers of operations it matches until release(). */
  hold: ((op: Operation) => boolean) | undefined = undefined;
  /** Answers every operation with this code and message instead of running it. */
  fail: { code: ErrorCode; message: string } | undefined = undefined;
  readonly executed: Operation[] = [];
  readonly options: ExecuteOptions[] = [];
  private held: (() => void)[] = [];
  executor!: OperationExecutor;

  isLocal(_cacheIndex: number, slot: number, _consistency: Consistency): boolean {
    return this.local(slot);
  }

  execute(op: Operation, options: ExecuteOptions): Promise<Result> {
    this.executed.push(op);
    this.options.push(options);
    return new Promise<Result>((resolve) => {
      const answer = () =>
        setImmediate(() => {
          const r = this.executor.execute(op);
          if (this.fail !== undefined) {
            r.code = this.fail.code;
            r.message = this.fail.message;
          }
          resolve(r);
        });
      if (this.hold?.(op)) this.held.push(answer);
      else answer();
    });
  }

  get heldCount(): number {
    return this.held.length;
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }
}

interface Harness {
  server: RedisServer;
  coordinator: FakeCoordinator;
  executor: OperationExecutor;
  caches: CacheRegistry;
}

const servers: RedisServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  options: Partial<RedisServerOptions> = {},
  withCoordinator = true,
): Promise<Harness & { port: number }> {
  const caches = new CacheRegistry(
    [
      { name: 'default', ...DEFAULT_CACHE_OPTIONS, maxMemoryBytes: 4 * 1024 * 1024, maxValueBytes: 300_000 },
      // A cache whose budget is smaller than its largest value: OOM.
      { name: 'tiny', ...DEFAULT_CACHE_OPTIONS, maxMemoryBytes: 64 * 1024, maxValueBytes: 1024 * 1024 },
    ],
    MAX_KEY_BYTES,
    new HybridLogicalClock(1),
  );
  const executor = new OperationExecutor(caches, new OperationStats(caches.names), MAX_KEY_BYTES);
  const coordinator = new FakeCoordinator();
  coordinator.executor = executor;
  const server = new RedisServer(
    {
      nodeId: 'n1',
      serverVersion: 'test',
      maxBulkBytes: 1 << 20,
      maxArgs: 1 << 16,
      maxQueryBufferBytes: 1 << 24,
      maxClients: 100,
      password: '',
      shutdownTimeoutMs: 1000,
      ...options,
    },
    executor,
    caches,
    pino({ level: 'silent' }),
    withCoordinator ? coordinator : undefined,
  );
  servers.push(server);
  const port = await server.listen('127.0.0.1', 0);
  return { server, coordinator, executor, caches, port };
}

/** Encodes a command as a RESP multibulk (arguments are latin1 strings). */
function encode(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n${a}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** The end of the RESP2 reply starting at `pos`, or -1 when it has not fully arrived. */
function replyEnd(b: Buffer, pos: number): number {
  if (pos >= b.length) return -1;
  const nl = b.indexOf('\r\n', pos, 'latin1');
  if (nl < 0) return -1;
  const type = String.fromCharCode(b[pos]!);
  const n = Number(b.toString('latin1', pos + 1, nl));
  if (type === '$') return n < 0 ? nl + 2 : nl + 2 + n + 2 <= b.length ? nl + 2 + n + 2 : -1;
  if (type === '*') {
    let p = nl + 2;
    for (let i = 0; i < n; i++) {
      p = replyEnd(b, p);
      if (p < 0) return -1;
    }
    return p;
  }
  return nl + 2;
}

/** A raw RESP client: sends bytes, collects whole replies (as latin1 text) in arrival order. */
class Client {
  readonly replies: string[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let end = replyEnd(this.buf, 0); end > 0; end = replyEnd(this.buf, 0)) {
        this.replies.push(this.buf.toString('latin1', 0, end));
        this.buf = this.buf.subarray(end);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Sends commands in one write (a pipeline). */
  send(...commands: string[][]): void {
    this.socket.write(Buffer.concat(commands.map(encode)));
  }

  /** Resolves once `n` replies in all have arrived (or the socket closed). */
  async until(n: number): Promise<string[]> {
    while (this.replies.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.replies.slice(0, n);
  }

  /** Sends one command and returns its reply. */
  async call(...argv: string[]): Promise<string> {
    const n = this.replies.length + 1;
    this.send(argv);
    return (await this.until(n))[n - 1]!;
  }
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;

/** Every keyed command in a script with its error cases; run once locally and once through the coordinator. */
const SCRIPT: string[][] = [
  ['SET', 'k', 'v1'],
  ['GET', 'k'],
  ['GET', 'absent'],
  ['SET', 'k', 'v2', 'GET'],
  ['SET', 'k', 'v3', 'NX'],
  ['SET', 'k', 'v3', 'NX', 'GET'],
  ['SET', 'new', 'x', 'XX'],
  ['SET', 'k', 'v4', 'XX', 'KEEPTTL'],
  ['SET', 'k', 'v5', 'EX', '100'],
  ['TTL', 'k'],
  ['SET', 'k', 'v6', 'KEEPTTL'],
  ['TTL', 'k'],
  ['SET', 'k', 'v', 'EX', '0'],
  ['SET', 'k', 'v', 'EX', 'abc'],
  ['SET', 'k', 'v', 'PX', '999999999999999'],
  ['SET', 'k', 'v', 'NX', 'XX'],
  ['SET', 'gone', 'v', 'PXAT', '1'],
  ['GET', 'gone'],
  ['SET', 'x'.repeat(MAX_KEY_BYTES + 1), 'v'],
  ['SET', 'big', 'v'.repeat(300_001)],
  ['SETNX', 'nx', '1'],
  ['SETNX', 'nx', '2'],
  ['GETSET', 'nx', '3'],
  ['GETSET', 'gs', '1'],
  ['SETEX', 'sx', '100', 'v'],
  ['TTL', 'sx'],
  ['PSETEX', 'sx', '100000', 'w'],
  ['TTL', 'sx'],
  ['SETEX', 'sx', '0', 'v'],
  ['PSETEX', 'sx', 'x', 'v'],
  ['SETEX', 'sx', '999999999999', 'v'],
  ['GET', 'sx'],
  ['GETDEL', 'k'],
  ['GETDEL', 'k'],
  ['SET', 'g', 'G'],
  ['GETEX', 'g'],
  ['GETEX', 'g', 'EX', '200'],
  ['TTL', 'g'],
  ['GETEX', 'g', 'PERSIST'],
  ['TTL', 'g'],
  ['GETEX', 'g', 'PERSIST'],
  ['GETEX', 'g', 'EX', '-5'],
  ['GETEX', 'absent', 'EX', '-5'],
  ['GETEX', 'g', 'BAD'],
  ['GETEX', 'g', 'PXAT', '1'],
  ['GET', 'g'],
  ['MSET', 'a', '1', 'b', '2', 'c', '3'],
  ['MSET', 'a', '1', 'b'],
  ['MGET', 'a', 'b', 'absent', 'c'],
  ['MGET', 'a', 'x'.repeat(MAX_KEY_BYTES + 1)],
  ['MSET', 'a', '1', 'x'.repeat(MAX_KEY_BYTES + 1), '2'],
  ['APPEND', 'a', 'bc'],
  ['APPEND', 'fresh', 'abc'],
  ['APPEND', 'a', 'v'.repeat(300_000)],
  ['STRLEN', 'a'],
  ['STRLEN', 'absent'],
  ['INCR', 'n'],
  ['INCRBY', 'n', '41'],
  ['DECR', 'n'],
  ['DECRBY', 'n', '10'],
  ['INCRBY', 'n', 'x'],
  ['INCR', 'a'],
  ['SET', 'max', '9007199254740990'],
  ['INCRBY', 'max', '5'],
  ['INCRBY', 'max', '99999999999999999999'],
  ['EXISTS', 'a', 'b', 'absent', 'a'],
  ['EXISTS', 'x'.repeat(MAX_KEY_BYTES + 1)],
  ['TYPE', 'a'],
  ['TYPE', 'absent'],
  ['EXPIRE', 'a', '100'],
  ['TTL', 'a'],
  ['EXPIRE', 'a', '50', 'GT'],
  ['EXPIRE', 'a', '500', 'GT'],
  ['EXPIRE', 'a', '50', 'LT'],
  ['TTL', 'a'],
  ['EXPIRE', 'b', '50', 'XX'],
  ['EXPIRE', 'b', '50', 'XX', 'LT'],
  ['EXPIRE', 'b', '50', 'NX'],
  ['EXPIRE', 'b', '60', 'NX'],
  ['EXPIRE', 'b', '40', 'XX', 'LT'],
  ['TTL', 'b'],
  ['EXPIRE', 'a', '1', 'NX', 'XX'],
  ['EXPIRE', 'a', '1', 'GT', 'LT'],
  ['EXPIRE', 'a', '1', 'FOO'],
  ['EXPIRE', 'a', 'x'],
  ['EXPIRE', 'a', '999999999999'],
  ['EXPIRE', 'absent', '999999999999'],
  ['EXPIRE', 'a', '99999999999999999'],
  ['PEXPIREAT', 'absent', '1'],
  ['EXPIREAT', 'c', '4102444800'],
  ['PERSIST', 'c'],
  ['PERSIST', 'c'],
  ['PERSIST', 'absent'],
  ['TTL', 'c'],
  ['PTTL', 'c'],
  ['PTTL', 'absent'],
  ['PEXPIRE', 'c', '-1'],
  ['EXISTS', 'c'],
  ['DEL', 'a', 'b', 'absent', 'c'],
  ['UNLINK', 'fresh', 'n'],
  ['DEL', 'max', 'x'.repeat(MAX_KEY_BYTES + 1)],
  ['EXISTS', 'max'],
  ['SELECT', '1'],
  ['SET', 'oom', 'v'.repeat(200_000)],
  ['GET', 'k'],
  ['SET', 'k', 'in tiny'],
  ['GET', 'k'],
  ['SELECT', '0'],
  ['GET', 'k'],
];

describe('Redis door through a coordinator (proxy semantics)', () => {
  it('replies to every keyed command exactly as the local path does, errors included', async () => {
    const runs: string[][] = [];
    for (const remote of [false, true]) {
      const { coordinator, port } = await start();
      coordinator.local = () => !remote;
      const client = await Client.open(port);
      const replies: string[] = [];
      for (const argv of SCRIPT) replies.push(await client.call(...argv));
      runs.push(replies);
      if (remote) {
        expect(coordinator.executed.length).toBeGreaterThan(SCRIPT.length - 20);
        // Every operation asked for the cache's default level, with the 5 s default deadline.
        for (const o of coordinator.options) expect(o.consistency).toBe(0);
      } else {
        expect(coordinator.executed).toHaveLength(0);
      }
    }
    const [local, remote] = runs;
    for (let i = 0; i < SCRIPT.length; i++) {
      expect([SCRIPT[i]!.join(' ').slice(0, 60), remote![i]]).toEqual([
        SCRIPT[i]!.join(' ').slice(0, 60),
        local![i],
      ]);
    }
    // The script does reach the error replies it is meant to compare.
    const all = local!.join('');
    for (const text of [
      '-OOM ',
      '-ERR value is not an integer or out of range',
      '-ERR increment or decrement would overflow',
      '-ERR key is 65 bytes',
      "-ERR value is 300001 bytes; cache 'default' allows at most 300000",
      "-ERR invalid expire time in 'expire' command",
      "-ERR invalid expire time in 'getex' command",
      '-ERR syntax error',
    ]) {
      expect(all).toContain(text);
    }
  });

  it('sends keys and values as bytes, raw or not, and expiries as absolute times', async () => {
    const { coordinator, port } = await start();
    const client = await Client.open(port);
    const before = Date.now();
    expect(await client.call('SET', 'k\xff', '\x00v', 'EX', '100')).toBe('+OK\r\n');
    expect(await client.call('GET', 'k\xff')).toBe(bulk('\x00v'));
    const set = coordinator.executed[0]!;
    expect(set).toMatchObject({ type: OpType.SET, cache: 'default', ttlMs: 0, keepTtl: false });
    expect(set.key.equals(Buffer.from('k\xff', 'latin1'))).toBe(true);
    expect(set.value.equals(Buffer.from('\x00v', 'latin1'))).toBe(true);
    expect(set.expiresAtMs).toBeGreaterThanOrEqual(before + 100_000);
    expect(set.expiresAtMs).toBeLessThanOrEqual(Date.now() + 100_000);
    const deadline = coordinator.options[0]!.deadline - performance.now();
    expect(deadline).toBeGreaterThan(4000);
    expect(deadline).toBeLessThanOrEqual(5000);
  });

  it('routes by every key: all local runs synchronously, any remote key sends the whole command', async () => {
    const { coordinator, port } = await start();
    coordinator.local = (slot) => slot === LOCAL_SLOT;
    const client = await Client.open(port);
    expect(slotOfLatin1(`${LOCAL_TAG}a`)).toBe(LOCAL_SLOT);
    await client.call('MSET', `${LOCAL_TAG}a`, '1', `${LOCAL_TAG}b`, '2');
    await client.call('GET', `${LOCAL_TAG}a`);
    await client.call('PING');
    await client.call('DBSIZE');
    expect(coordinator.executed).toHaveLength(0);
    expect(await client.call('MGET', `${LOCAL_TAG}a`, `${REMOTE_TAG}b`)).toBe(`*2\r\n${bulk('1')}$-1\r\n`);
    expect(coordinator.executed.map((o) => o.type)).toEqual([OpType.GET_MANY]);
    expect(await client.call('DEL', `${LOCAL_TAG}a`, `${REMOTE_TAG}b`, `${LOCAL_TAG}b`)).toBe(':2\r\n');
    expect(coordinator.executed.map((o) => o.type)).toEqual([
      OpType.GET_MANY,
      OpType.DELETE,
      OpType.DELETE,
      OpType.DELETE,
    ]);
  });

  it('keeps pipeline order with a mix of local and remote commands', async () => {
    const { coordinator, port, server } = await start();
    coordinator.local = (slot) => slot === LOCAL_SLOT;
    const client = await Client.open(port);
    const L = (k: string) => `${LOCAL_TAG}${k}`;
    const R = (k: string) => `${REMOTE_TAG}${k}`;
    const commands = [
      ['SET', L('a'), 'la'],
      ['SET', R('b'), 'rb'],
      ['GET', L('a')],
      ['GET', R('b')],
      ['PING'],
      ['INCR', R('c')],
      ['INCR', R('c')],
      ['GET', L('a')],
      ['ECHO', 'x'],
      ['MGET', R('b'), L('a'), R('c')],
      ['GET', R('nothing')],
      ['INCR', R('b')],
      ['APPEND', L('a'), '!'],
      ['GETDEL', R('b')],
      ['EXISTS', R('b'), L('a')],
    ];
    for (let i = 0; i < 20; i++) commands.push(i % 2 === 0 ? ['INCR', R('n')] : ['INCR', L('n')]);
    client.send(...commands);
    const replies = await client.until(commands.length);
    expect(replies.slice(0, 15)).toEqual([
      '+OK\r\n',
      '+OK\r\n',
      bulk('la'),
      bulk('rb'),
      '+PONG\r\n',
      ':1\r\n',
      ':2\r\n',
      bulk('la'),
      bulk('x'),
      `*3\r\n${bulk('rb')}${bulk('la')}${bulk('2')}`,
      '$-1\r\n',
      '-ERR value is not an integer or out of range\r\n',
      ':3\r\n',
      bulk('rb'),
      ':1\r\n',
    ]);
    const counters = replies.slice(15);
    expect(counters).toEqual(Array.from({ length: 20 }, (_, i) => `:${Math.floor(i / 2) + 1}\r\n`));
    expect(server.table.lookup('incr')!.failedCalls).toBe(1);
  });

  it("holds a connection's later commands until its remote command is answered", async () => {
    const { coordinator, port, executor } = await start();
    coordinator.local = (slot) => slot === LOCAL_SLOT;
    coordinator.hold = () => true;
    const client = await Client.open(port);
    client.send(['SET', `${REMOTE_TAG}k`, 'v'], ['SET', `${LOCAL_TAG}x`, '1'], ['GET', `${LOCAL_TAG}x`]);
    await tick(50);
    expect(client.replies).toEqual([]);
    expect(coordinator.heldCount).toBe(1);
    // The local SET behind it has not run.
    expect(executor.peekEntry(0, `${LOCAL_TAG}x`)).toBe(-1);
    // More requests arriving meanwhile wait too.
    client.send(['GET', `${REMOTE_TAG}k`]);
    await tick(20);
    expect(coordinator.heldCount).toBe(1);
    coordinator.release();
    await client.until(3);
    expect(client.replies).toEqual(['+OK\r\n', '+OK\r\n', bulk('1')]);
    await tick(20);
    coordinator.release();
    expect(await client.until(4)).toEqual(['+OK\r\n', '+OK\r\n', bulk('1'), bulk('v')]);
  });

  it('two connections proceed independently', async () => {
    const { coordinator, port } = await start();
    coordinator.local = (slot) => slot === LOCAL_SLOT;
    coordinator.hold = (op) => op.key.toString('latin1').endsWith('slow');
    const a = await Client.open(port);
    const b = await Client.open(port);
    a.send(['SET', `${REMOTE_TAG}slow`, '1'], ['PING']);
    await tick(20);
    b.send(['SET', `${REMOTE_TAG}fast`, '2'], ['GET', `${LOCAL_TAG}y`], ['GET', `${REMOTE_TAG}fast`]);
    expect(await b.until(3)).toEqual(['+OK\r\n', '$-1\r\n', bulk('2')]);
    expect(a.replies).toEqual([]);
    coordinator.release();
    expect(await a.until(2)).toEqual(['+OK\r\n', '+PONG\r\n']);
  });

  it('maps error results to the Redis errors of the local path, per command (table)', async () => {
    const { coordinator, port, server } = await start();
    const client = await Client.open(port);
    const commands: string[][] = [
      ['GET', 'k'],
      ['SET', 'k', 'v'],
      ['SET', 'k', 'v', 'EX', '10', 'GET'],
      ['GETDEL', 'k'],
      ['GETEX', 'k', 'PX', '100'],
      ['MGET', 'k', 'j'],
      ['MSET', 'k', 'v', 'j', 'w'],
      ['APPEND', 'k', 'v'],
      ['STRLEN', 'k'],
      ['INCR', 'k'],
      ['DECRBY', 'k', '3'],
      ['DEL', 'k', 'j'],
      ['UNLINK', 'k'],
      ['EXISTS', 'k'],
      ['EXPIRE', 'k', '10'],
      ['PEXPIREAT', 'k', '1', 'NX'],
      ['TTL', 'k'],
      ['PTTL', 'k'],
      ['PERSIST', 'k'],
      ['TYPE', 'k'],
    ];
    const codes: [ErrorCode, string, string][] = [
      [
        ErrorCode.UNAVAILABLE,
        'QUORUM needs 2 of 3 replicas; 1 live',
        '-CLUSTERDOWN QUORUM needs 2 of 3 replicas; 1 live',
      ],
      [ErrorCode.NOT_READY, 'slot 5 is not served yet', '-CLUSTERDOWN slot 5 is not served yet'],
      [
        ErrorCode.TIMEOUT,
        'QUORUM missed: 1 of 2 acks in 5000 ms',
        '-TIMEOUT QUORUM missed: 1 of 2 acks in 5000 ms',
      ],
      [ErrorCode.OUT_OF_MEMORY, 'entry is 70000 bytes; too large', '-OOM entry is 70000 bytes; too large'],
      [
        ErrorCode.NOT_AN_INTEGER,
        'value is not an integer or out of range',
        '-ERR value is not an integer or out of range',
      ],
      [
        ErrorCode.OVERFLOW,
        'increment or decrement would overflow',
        '-ERR increment or decrement would overflow',
      ],
      [
        ErrorCode.KEY_TOO_LARGE,
        'key is 70 bytes; the limit is 64 (maxKeyBytes)',
        '-ERR key is 70 bytes; the limit is 64 (maxKeyBytes)',
      ],
      [ErrorCode.VALUE_TOO_LARGE, 'value is 9 bytes; too large', '-ERR value is 9 bytes; too large'],
      [ErrorCode.STALE_EPOCH, 'placement changed', '-ERR placement changed'],
    ];
    for (const [code, message, reply] of codes) {
      coordinator.fail = { code, message };
      for (const argv of commands) {
        const failed = server.table.lookup(argv[0]!.toLowerCase())!.failedCalls;
        expect([argv.join(' '), await client.call(...argv)]).toEqual([argv.join(' '), `${reply}\r\n`]);
        expect(server.table.lookup(argv[0]!.toLowerCase())!.failedCalls).toBe(failed + 1);
      }
    }
    // The EXPIRE family's bound error is its own command's text.
    coordinator.fail = { code: ErrorCode.INVALID_TTL, message: 'expires_at_ms is not valid' };
    expect(await client.call('PEXPIRE', 'k', '5')).toBe("-ERR invalid expire time in 'pexpire' command\r\n");
    // Argument errors are found before anything is sent.
    coordinator.fail = undefined;
    const sent = coordinator.executed.length;
    expect(await client.call('SET', 'k', 'v', 'EX', 'x')).toBe(
      '-ERR value is not an integer or out of range\r\n',
    );
    expect(await client.call('EXPIRE', 'k', '1', 'NX', 'GT')).toMatch(/^-ERR NX and XX/);
    expect(await client.call('INCRBY', 'k', '1.5')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(coordinator.executed.length).toBe(sent);
  });

  it('a connection that closes while a command is pending drops the reply quietly', async () => {
    const { coordinator, port, server } = await start();
    coordinator.hold = () => true;
    const a = await Client.open(port);
    a.send(['SET', 'k', 'v'], ['GET', 'k']);
    await tick(30);
    expect(coordinator.heldCount).toBe(1);
    a.socket.destroy();
    await tick(30);
    expect(server.connections.size).toBe(0);
    coordinator.release();
    await tick(30);
    // The write itself happened; the GET behind it never ran.
    expect(coordinator.executed).toHaveLength(1);
    coordinator.hold = undefined;
    const b = await Client.open(port);
    expect(await b.call('GET', 'k')).toBe(bulk('v'));
  });

  it('QUIT, RESET and AUTH keep their order behind a pending command', async () => {
    const { coordinator, port } = await start({ password: 'pw' });
    const client = await Client.open(port);
    client.send(['SET', 'k', 'v'], ['AUTH', 'pw'], ['SET', 'k', 'v'], ['GET', 'k'], ['RESET'], ['GET', 'k']);
    expect(await client.until(6)).toEqual([
      '-NOAUTH Authentication required.\r\n',
      '+OK\r\n',
      '+OK\r\n',
      bulk('v'),
      '+RESET\r\n',
      '-NOAUTH Authentication required.\r\n',
    ]);
    expect(coordinator.executed).toHaveLength(2);
    coordinator.hold = () => true;
    client.send(['AUTH', 'pw'], ['GET', 'k'], ['QUIT'], ['GET', 'k']);
    await tick(30);
    expect(client.replies).toHaveLength(7);
    coordinator.release();
    expect(await client.until(9)).toEqual([...client.replies.slice(0, 7), bulk('v'), '+OK\r\n']);
    await client.until(10);
    expect(client.closed).toBe(true);
    expect(client.replies).toHaveLength(9);
    expect(coordinator.executed).toHaveLength(3);
  });

  it('shutting down waits for a pending reply, then closes', async () => {
    const { coordinator, port, server } = await start();
    coordinator.hold = () => true;
    const client = await Client.open(port);
    client.send(['SET', 'k', 'v']);
    await tick(30);
    const closed = server.close();
    await tick(30);
    expect(client.closed).toBe(false);
    coordinator.release();
    await closed;
    expect(await client.until(1)).toEqual(['+OK\r\n']);
    await client.until(2);
    expect(client.closed).toBe(true);
  });

  it('a protocol error met while a command is pending is replied after it', async () => {
    const { coordinator, port, server } = await start({ maxQueryBufferBytes: 64 * 1024 });
    coordinator.hold = () => true;
    const client = await Client.open(port);
    client.send(['SET', 'k', 'v']);
    await tick(30);
    client.socket.write(
      Buffer.concat([
        encode(['PING']),
        Buffer.from(`*2\r\n$3\r\nGET\r\n$100000\r\n`),
        Buffer.alloc(70_000, 0x61),
      ]),
    );
    await tick(50);
    expect(client.replies).toEqual([]);
    coordinator.release();
    expect(await client.until(2)).toEqual([
      '+OK\r\n',
      '-ERR Protocol error: query buffer limit exceeded\r\n',
    ]);
    await client.until(3);
    expect(client.closed).toBe(true);
    expect(server.counters.protocolErrors).toBe(1);
  });

  it('backpressure: a client that does not read its replies pauses its connection, then gets them all in order', async () => {
    const { coordinator, port, server, executor } = await start();
    coordinator.local = (slot) => slot === LOCAL_SLOT;
    const value = 'v'.repeat(200_000);
    executor.setEntry(0, `${REMOTE_TAG}big`, value, -2);
    executor.setEntry(0, `${LOCAL_TAG}big`, value, -2);
    const client = await Client.open(port);
    client.socket.pause();
    const commands: string[][] = [];
    for (let i = 0; i < 60; i++) commands.push(['GET', i % 3 === 0 ? `${LOCAL_TAG}big` : `${REMOTE_TAG}big`]);
    commands.push(['ECHO', 'end']);
    client.send(...commands);
    for (let i = 0; i < 100 && server.counters.backpressurePauses === 0; i++) await tick(20);
    expect(server.counters.backpressurePauses).toBeGreaterThan(0);
    await tick(50); // the command in flight when the pause began is answered
    const sentBefore = coordinator.executed.length;
    expect(sentBefore).toBeLessThan(40);
    await tick(100);
    expect(coordinator.executed.length).toBe(sentBefore); // nothing more runs while paused
    client.socket.resume();
    const replies = await client.until(61);
    for (let i = 0; i < 60; i++) expect(replies[i]).toBe(bulk(value));
    expect(replies[60]).toBe(bulk('end'));
    expect(coordinator.executed.length).toBe(40);
  });

  it('stops reading a connection that keeps sending while a command is pending, and resumes after', async () => {
    const { coordinator, port, server } = await start();
    coordinator.hold = (op) => op.key.toString('latin1') === 'first';
    const client = await Client.open(port);
    client.send(['SET', 'first', 'v']);
    await tick(30);
    const commands: string[][] = [];
    for (let i = 0; i < 4000; i++) commands.push(['SET', `k${i}`, 'x'.repeat(200)]);
    client.send(...commands);
    await tick(200);
    const conn = [...server.connections][0]!;
    expect(conn.isPending).toBe(true);
    // Reading stopped near PENDING_READ_BYTES (256 KiB) instead of taking all 0.9 MB.
    expect(conn.parser.bufferedBytes).toBeLessThan(700 * 1024);
    coordinator.release();
    const replies = await client.until(4001);
    expect(new Set(replies)).toEqual(new Set(['+OK\r\n']));
  });

  it('runs everything locally without a coordinator (a standalone node)', async () => {
    const { coordinator, port, server } = await start({}, false);
    expect(server.router).toBeUndefined();
    const client = await Client.open(port);
    expect(await client.call('SET', 'k', 'v')).toBe('+OK\r\n');
    expect(await client.call('GET', 'k')).toBe(bulk('v'));
    expect(coordinator.executed).toHaveLength(0);
  });

  it('every command with keys has a remote form; keyless ones have none', async () => {
    const { server } = await start();
    for (const cmd of server.table.commands) {
      expect([cmd.name, cmd.remote !== undefined]).toEqual([cmd.name, cmd.firstKey !== 0]);
    }
  });
});

describe('key slots of the Redis door', () => {
  it('slotOfLatin1 and slotOfRange equal keySlot of the same bytes', () => {
    const keys: Buffer[] = [
      Buffer.from('123456789'), // the CRC16 check value: 0x31c3
      Buffer.from(''),
      Buffer.from('{user1}.name'),
      Buffer.from('{user1}.mail'),
      Buffer.from('foo{}{bar}'),
      Buffer.from('foo{{bar}}zap'),
      Buffer.from('foo{bar}{zap}'),
      Buffer.from('{'),
      Buffer.from('}{'),
      Buffer.from([0xff, 0x00, 0x7b, 0x80, 0x7d]),
    ];
    for (let i = 0; i < 2000; i++) {
      const n = i % 40;
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 17 + (j % 3 === 0 ? 0x7b : 0)) & 0xff;
      keys.push(b);
    }
    for (const key of keys) {
      const expected = keySlot(key);
      expect(slotOfLatin1(key.toString('latin1'))).toBe(expected);
      const padded = Buffer.concat([Buffer.from('ab{'), key, Buffer.from('}z')]);
      expect(slotOfRange(padded, 3, key.length)).toBe(expected);
    }
    expect(keySlot(Buffer.from('123456789'))).toBe(0x31c3 & 0x3fff);
  });
});
