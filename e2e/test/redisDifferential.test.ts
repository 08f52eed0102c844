// End-to-end, differential: the same commands and the same malformed bytes
// sent to a real redis-server (Debian) and to a real meshcache-node must get
// byte-for-byte the same replies, errors included.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NodeProcess } from '../src/NodeProcess.js';
import { RawRedisConnection, type RespValue, sendAndCollect } from '../src/redisReplies.js';
import { waitFor } from '../src/waitFor.js';

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

/** Command sequences whose replies do not depend on timing or on what the server is. */
const SEQUENCES: string[][][] = [
  [
    ['SET', 'd:s', 'v'],
    ['GET', 'd:s'],
    ['GET', 'd:none'],
    ['APPEND', 'd:s', 'xyz'],
    ['STRLEN', 'd:s'],
    ['TYPE', 'd:s'],
  ],
  [
    ['TYPE', 'd:none'],
    ['STRLEN', 'd:none'],
    ['GETDEL', 'd:s'],
    ['GETDEL', 'd:s'],
    ['EXISTS', 'd:s', 'd:s'],
  ],
  [
    ['MSET', 'd:a', '1', 'd:b', '2'],
    ['MGET', 'd:a', 'd:none', 'd:b'],
    ['DEL', 'd:a', 'd:none'],
    ['UNLINK', 'd:b', 'd:b'],
  ],
  [
    ['SET', 'd:k', 'v', 'NX'],
    ['SET', 'd:k', 'w', 'NX'],
    ['SET', 'd:k', 'w', 'XX', 'GET'],
    ['SET', 'd:n', 'v', 'XX'],
  ],
  [
    ['SET', 'd:k', 'v', 'NX', 'GET'],
    ['SET', 'd:k2', 'v', 'GET'],
    ['SET', 'd:k', 'v', 'EX', '100'],
    ['TTL', 'd:k'],
  ],
  [
    ['SET', 'd:k', 'x', 'KEEPTTL'],
    ['TTL', 'd:k'],
    ['PERSIST', 'd:k'],
    ['PERSIST', 'd:k'],
    ['TTL', 'd:k'],
  ],
  [
    ['SET', 'd:k', 'v', 'EXAT', '1'],
    ['GET', 'd:k'],
    ['SET', 'd:k', 'v', 'PXAT', '1'],
    ['EXISTS', 'd:k'],
  ],
  [
    ['SET', 'k', 'v', 'NX', 'XX'],
    ['SET', 'k', 'v', 'EX', '10', 'PX', '10'],
    ['SET', 'k', 'v', 'EX'],
    ['SET', 'k', 'v', 'FOO'],
  ],
  [
    ['SET', 'k', 'v', 'EX', '0'],
    ['SET', 'k', 'v', 'PX', '-5'],
    ['SET', 'k', 'v', 'EX', 'x'],
    ['SET', 'k', 'v', 'KEEPTTL', 'EX', '1'],
  ],
  [
    ['SET', 'k', 'v', 'EX', '9223372036854775807'],
    ['SET', 'k', 'v', 'EX', '1.5'],
    ['SET', 'k', 'v', 'EX', '01'],
  ],
  [
    ['SET', 'd:g', 'v'],
    ['GETEX', 'd:g'],
    ['GETEX', 'd:g', 'EX', '100'],
    ['TTL', 'd:g'],
    ['GETEX', 'd:g', 'PERSIST'],
    ['TTL', 'd:g'],
  ],
  [
    ['GETEX', 'd:g', 'EX', '1', 'PX', '1'],
    ['GETEX', 'd:g', 'KEEPTTL'],
    ['GETEX', 'd:g', 'PERSIST', 'EX', '1'],
    ['GETEX', 'd:none'],
  ],
  [
    ['SET', 'd:e', 'v'],
    ['EXPIRE', 'd:e', '100', 'XX'],
    ['EXPIRE', 'd:e', '100', 'GT'],
    ['EXPIRE', 'd:e', '100', 'LT'],
  ],
  [
    ['EXPIRE', 'd:e', '200', 'NX'],
    ['EXPIRE', 'd:e', '50', 'GT'],
    ['EXPIRE', 'd:e', '200', 'GT'],
    ['TTL', 'd:e'],
  ],
  [
    ['EXPIRE', 'd:e', '10', 'NX', 'XX'],
    ['EXPIRE', 'd:e', '10', 'GT', 'LT'],
    ['EXPIRE', 'd:e', '10', 'FOO'],
    ['EXPIRE', 'd:e', 'x'],
  ],
  [
    ['PEXPIRE', 'd:e', '100000'],
    ['TTL', 'd:e'],
    ['EXPIRE', 'd:none', '10'],
    ['TTL', 'd:none'],
    ['PTTL', 'd:none'],
  ],
  [
    ['EXPIRE', 'd:e', '-1'],
    ['EXISTS', 'd:e'],
    ['SET', 'd:e', 'v'],
    ['EXPIREAT', 'd:e', '1'],
    ['GET', 'd:e'],
  ],
  [
    ['EXPIRE', 'k', '9223372036854775807'],
    ['PEXPIREAT', 'k', '9223372036854775807'],
    ['TTL', 'k', 'k'],
  ],
  [
    ['INCR', 'd:i'],
    ['INCRBY', 'd:i', '41'],
    ['DECR', 'd:i'],
    ['DECRBY', 'd:i', '50'],
    ['GET', 'd:i'],
  ],
  [
    ['SET', 'd:t', 'abc'],
    ['INCR', 'd:t'],
    ['INCRBY', 'd:i', 'x'],
    ['INCRBY', 'd:i', '1.5'],
    ['DECRBY', 'd:i', ''],
  ],
  [
    ['SET', 'd:t', ' 1'],
    ['INCR', 'd:t'],
    ['SET', 'd:t', '01'],
    ['INCR', 'd:t'],
    ['SET', 'd:t', '+1'],
    ['INCR', 'd:t'],
  ],
  [['PING'], ['PING', 'hello'], ['PING', 'a', 'b'], ['ECHO', 'x'], ['ECHO'], ['ECHO', 'a', 'b']],
  [
    ['GET'],
    ['GET', 'a', 'b'],
    ['SET', 'a'],
    ['MSET', 'a'],
    ['MSET', 'a', 'b', 'c'],
    ['MGET'],
    ['DEL'],
    ['EXISTS'],
  ],
  [['INCR'], ['INCRBY', 'a'], ['APPEND', 'a'], ['TTL'], ['PERSIST'], ['TYPE'], ['GETEX'], ['GETDEL']],
  [['FOO'], ['foo', 'a', 'b'], ['foo', 'x'.repeat(200)], ['NOSUCHCMD', 'a', 'b', 'c', 'd']],
  [['SELECT', 'x'], ['SELECT', '99'], ['SELECT', '-1'], ['SELECT', '1'], ['SELECT', '0'], ['SELECT']],
  [['CLIENT'], ['CLIENT', 'FOO'], ['CLIENT', 'SETNAME'], ['CLIENT', 'SETNAME', 'a b'], ['CLIENT', 'GETNAME']],
  [
    ['CLIENT', 'SETNAME', 'n1'],
    ['CLIENT', 'GETNAME'],
    ['CLIENT', 'SETNAME', ''],
    ['CLIENT', 'GETNAME'],
  ],
  [
    ['CONFIG'],
    ['CONFIG', 'FOO'],
    ['CONFIG', 'GET'],
    ['CONFIG', 'GET', 'save'],
    ['CONFIG', 'GET', 'appendonly'],
  ],
  [
    ['COMMAND', 'FOO'],
    ['COMMAND', 'GETKEYS', 'mset', 'a', '1', 'b', '2'],
    ['COMMAND', 'GETKEYS', 'get'],
  ],
  [
    ['HELLO', 'x'],
    ['HELLO', '4'],
    ['HELLO', '1'],
    ['HELLO', '3', 'FOO'],
    ['AUTH', 'pw'],
    ['AUTH', 'u', 'p'],
    ['AUTH', 'a', 'b', 'c'],
  ],
  [
    ['AUTH', 'default', 'anything'],
    ['DBSIZE', 'x'],
    ['QUIT', 'x'],
  ],
];

SEQUENCES.push(
  [
    ['set', 'd:c', 'v', 'ex', '100', 'nx'],
    ['ttl', 'd:c'],
    ['Set', 'd:c', 'w', 'Get', 'xX'],
    ['get', 'd:c'],
  ],
  [
    ['SET', 'd:c', 'v', 'EX', '10', 'EX', '100'],
    ['TTL', 'd:c'],
    ['SET', 'd:c', 'v', 'GET', 'GET'],
    ['SET', 'd:c', 'v', 'NX', 'NX'],
  ],
  [
    ['SET', 'd:gx', 'v'],
    ['GETEX', 'd:gx', 'EX', '0'],
    ['GETEX', 'd:gx', 'PXAT', '1'],
    ['EXISTS', 'd:gx'],
    ['GETEX', 'd:gx', 'EX', 'x'],
  ],
  [
    ['MSET', 'd:m', '1', 'd:m', '2'],
    ['GET', 'd:m'],
    ['MGET', 'd:m', 'd:m'],
    ['DEL', 'd:m', 'd:m'],
    ['STRLEN', 'd:m'],
  ],
  [
    ['SET', 'd:big', '9007199254740990'],
    ['INCR', 'd:big'],
    ['SET', 'd:neg', '-5'],
    ['DECRBY', 'd:neg', '-10'],
  ],
);

/** Sequences run after HELLO 3: nulls, maps, sets and errors in RESP3 form. */
const RESP3_SEQUENCES: string[][][] = [
  [
    ['GET', 'r3:none'],
    ['MGET', 'r3:none', 'r3:none'],
    ['SET', 'r3:k', 'v'],
    ['SET', 'r3:k', 'v', 'NX'],
    ['GETDEL', 'r3:k'],
  ],
  [
    ['CONFIG', 'GET', 'save'],
    ['CONFIG', 'GET', 'appendonly'],
    ['CONFIG', 'GET', 'nosuch'],
    ['CLIENT', 'GETNAME'],
  ],
  [
    ['PING'],
    ['PING', 'x'],
    ['ECHO', 'y'],
    ['INCR', 'r3:n'],
    ['TTL', 'r3:none'],
    ['TYPE', 'r3:none'],
    ['FOO'],
  ],
  [
    ['COMMAND', 'GETKEYS', 'mset', 'a', '1'],
    ['SET', 'r3:k', 'v', 'GET'],
    ['GETEX', 'r3:none'],
    ['EXISTS', 'r3:k'],
  ],
  [['RESET'], ['GET', 'r3:none'], ['CONFIG', 'GET', 'save']],
];

/** Raw bytes, each on its own connection. */
const RAW_INPUTS = [
  '*1\r\n+PING\r\n',
  '*x\r\n',
  '*01\r\n',
  '*1\r\n$-1\r\n',
  '*1\r\n$abc\r\n',
  '*1\r\n$+4\r\nPING\r\n',
  'SET "a b\r\n',
  'ECHO "a"b\r\n',
  "ECHO 'a\r\n",
  'ECHO "\\x41\\n\\t"\r\nECHO \'x y\'\r\n',
  '\r\n\r\n*0\r\n*-1\r\nPING\r\n',
  '*2\r\n$4\r\nECHO\r\n$3\r\nabcXYPING\r\n',
  '*1\r\n$4\r\nPING\n\n*1\r\n$4\r\nPING\r\n',
  'PING\r\n*1\r\n:5\r\nPING\r\n',
  '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nQUIT\r\nPING\r\n',
];

describe('replies match redis-server byte for byte', () => {
  let node: NodeProcess;
  let redis: ChildProcess;
  let redisPort = 0;

  beforeAll(async () => {
    redisPort = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    node = await NodeProcess.start({ args: ['--caches', '[{name: default}, {name: second}]'] });
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
    redis?.kill('SIGTERM');
    await node?.stop();
  });

  async function run(port: number, commands: string[][]): Promise<RespValue[]> {
    const c = await RawRedisConnection.open(port);
    try {
      for (const cmd of commands) c.command(...cmd);
      return await c.next(commands.length);
    } finally {
      c.close();
    }
  }

  it.each(SEQUENCES.map((s, i) => [i, s]))('sequence %i', async (_i, commands) => {
    const expected = await run(redisPort, commands as string[][]);
    const actual = await run(node.redisPort, commands as string[][]);
    expect(actual).toEqual(expected);
  });

  it.each(RESP3_SEQUENCES.map((s, i) => [i, s]))(
    'RESP3 sequence %i (after HELLO 3)',
    async (_i, commands) => {
      const withHello = [['HELLO', '3'], ...(commands as string[][])];
      // HELLO's own reply names the server and the client id: compare what follows it.
      const expected = (await run(redisPort, withHello)).slice(1);
      const actual = (await run(node.redisPort, withHello)).slice(1);
      expect(actual).toEqual(expected);
    },
  );

  it.each(RAW_INPUTS.map((s) => [JSON.stringify(s), s]))('raw input %s', async (_name, input) => {
    // Sent on a fresh connection that the client then half-closes: every byte until the server closes.
    const payload = Buffer.from(input, 'latin1');
    const expected = await sendAndCollect(redisPort, payload);
    const actual = await sendAndCollect(node.redisPort, payload);
    expect(actual.toString('latin1')).toBe(expected.toString('latin1'));
  });
});
