// End-to-end: the real redis-cli and redis-benchmark (Debian redis-tools)
// against a real meshcache-node process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NodeProcess } from '../src/NodeProcess.js';
import { encodeCommand } from '../src/redisReplies.js';
import { redisCli, runTool } from '../src/redisTools.js';

describe('redis-cli and redis-benchmark against a node', () => {
  let node: NodeProcess;
  const cli = (...args: string[]) => redisCli(node.redisPort, args);

  beforeAll(async () => {
    node = await NodeProcess.start({ args: ['--caches', '[{name: default}, {name: second}]'] });
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('runs commands given as arguments', async () => {
    expect((await cli('ping')).stdout).toBe('PONG\n');
    expect((await cli('set', 'cli:k', 'hello world')).stdout).toBe('OK\n');
    expect((await cli('get', 'cli:k')).stdout).toBe('hello world\n');
    expect((await cli('append', 'cli:k', '!')).stdout).toBe('12\n');
    expect((await cli('strlen', 'cli:k')).stdout).toBe('12\n');
    expect((await cli('incrby', 'cli:n', '5')).stdout).toBe('5\n');
    expect((await cli('type', 'cli:n')).stdout).toBe('string\n');
    expect((await cli('exists', 'cli:k', 'cli:n', 'cli:none')).stdout).toBe('2\n');
    expect((await cli('--raw', 'mget', 'cli:k', 'cli:none', 'cli:n')).stdout).toBe('hello world!\n\n5\n');
  });

  it('prints Redis error texts', async () => {
    // redis-cli prints an error reply followed by an empty line.
    const error = async (...args: string[]) => (await cli(...args)).stdout.replace(/\n+$/, '');
    expect(await error('foo', 'a', 'b')).toBe(
      "ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
    );
    expect(await error('get')).toBe("ERR wrong number of arguments for 'get' command");
    expect(await error('set', 'k', 'v', 'nx', 'xx')).toBe('ERR syntax error');
    expect(await error('incr', 'cli:k')).toBe('ERR value is not an integer or out of range');
    expect(await error('set', 'k', 'v', 'ex', '0')).toBe("ERR invalid expire time in 'set' command");
    expect(await error('select', '2')).toBe('ERR DB index is out of range');
  });

  it('runs commands read from standard input (a here-doc), in order', async () => {
    const res = await redisCli(node.redisPort, [], {
      input: 'set here:a 1\nincr here:a\nincr here:a\nget here:a\ndel here:a\nget here:a\n',
    });
    expect(res.stdout).toBe('OK\n2\n3\n3\n1\n\n');
  });

  it('selects a database (cache) with -n', async () => {
    expect((await cli('-n', '1', 'set', 'db1:only', 'x')).stdout).toBe('OK\n');
    expect((await cli('-n', '1', 'get', 'db1:only')).stdout).toBe('x\n');
    expect((await cli('-n', '0', 'exists', 'db1:only')).stdout).toBe('0\n');
  });

  it('speaks RESP3 with -3', async () => {
    const res = await cli('-3', 'hello', '3');
    expect(res.stdout).toMatch(/proto\s*\n?3/);
    expect((await cli('-3', 'set', 'r3', 'v')).stdout).toBe('OK\n');
  });

  it('mass-inserts through --pipe (pipelined RESP)', async () => {
    const n = 10_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) parts.push(encodeCommand(['SET', `pipe:${i}`, `v${i}`]));
    parts.push(encodeCommand(['INCR', 'pipe:counter']));
    const res = await redisCli(node.redisPort, ['--pipe'], { input: Buffer.concat(parts) });
    expect(res.stdout).toContain(`errors: 0, replies: ${n + 1}`);
    expect((await cli('get', 'pipe:9999')).stdout).toBe('v9999\n');
    expect((await cli('get', 'pipe:counter')).stdout).toBe('1\n');
  });

  it('counts --pipe errors as redis-server would', async () => {
    const input = Buffer.concat([
      encodeCommand(['SET', 'pe', 'x']),
      encodeCommand(['INCR', 'pe']),
      encodeCommand(['NOPE']),
    ]);
    const res = await redisCli(node.redisPort, ['--pipe'], { input });
    expect(res.stdout).toContain('errors: 2, replies: 3');
  });

  it('completes a short redis-benchmark run without errors', async () => {
    const res = await runTool(
      'redis-benchmark',
      ['-h', '127.0.0.1', '-p', String(node.redisPort), '-n', '20000', '-c', '10', '-t', 'get,set', '-q'],
      { timeoutMs: 60_000 },
    );
    expect(res.code).toBe(0);
    const out = res.stdout + res.stderr;
    expect(out).not.toMatch(/error/i);
    const rates = [...out.matchAll(/(SET|GET): ([\d.]+) requests per second/g)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(rates.map((r) => r[0])).toEqual(['SET', 'GET']);
    for (const [, rate] of rates) expect(rate).toBeGreaterThan(0);
    const info = (await cli('info', 'stats')).stdout;
    expect(Number(/total_commands_processed:(\d+)/.exec(info)![1])).toBeGreaterThanOrEqual(40_000);
  });

  it('completes a pipelined redis-benchmark run (-P 16)', async () => {
    const res = await runTool(
      'redis-benchmark',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(node.redisPort),
        '-n',
        '20000',
        '-c',
        '10',
        '-P',
        '16',
        '-d',
        '100',
        '-t',
        'set,get',
        '-q',
      ],
      { timeoutMs: 60_000 },
    );
    expect(res.code).toBe(0);
    expect(res.stdout + res.stderr).not.toMatch(/error/i);
    expect((await cli('strlen', 'key:__rand_int__')).stdout).toBe('100\n');
  });
});
