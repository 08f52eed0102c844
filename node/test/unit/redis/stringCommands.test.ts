import { describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import { DEFAULT_CACHE_OPTIONS } from '../../../src/config/NodeOptions.js';
import { CacheRegistry } from '../../../src/engine/CacheRegistry.js';
import { OperationExecutor } from '../../../src/engine/OperationExecutor.js';
import { OperationStats } from '../../../src/engine/OperationStats.js';
import { keyCommands } from '../../../src/redis/commands/keyCommands.js';
import { stringCommands } from '../../../src/redis/commands/stringCommands.js';
import type { RedisConnection } from '../../../src/redis/RedisConnection.js';
import { RespParser } from '../../../src/redis/RespParser.js';
import { RespWriter } from '../../../src/redis/RespWriter.js';
import { HybridLogicalClock } from '../../../src/store/index.js';

// The string commands' handlers run against a real executor and ArenaStore
// under LRU with a small budget, so reads move items and writes reclaim
// segments: every reply must still carry the right bytes.

const MAX_KEY_BYTES = 64;
const handlers = new Map([...stringCommands, ...keyCommands].map((spec) => [spec.name, spec.handler]));
const rawArgs = new Map([...stringCommands, ...keyCommands].map((spec) => [spec.name, spec.rawArgs ?? 0]));

/** Encodes a command as a RESP multibulk (arguments are latin1 strings). */
function encode(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n${a}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

/**
 * A connection whose commands run either with string arguments (the handler
 * called directly, as for inline commands) or through a RespParser that
 * leaves GET's and SET's key and value as raw byte ranges.
 */
function connectionFor(mode: 'strings' | 'raw') {
  const caches = new CacheRegistry(
    [
      {
        name: 'default',
        ...DEFAULT_CACHE_OPTIONS,
        maxMemoryBytes: 64 * 1024,
        maxValueBytes: 4096,
        evictionPolicy: 'lru',
      },
    ],
    MAX_KEY_BYTES,
    new HybridLogicalClock(1),
  );
  const executor = new OperationExecutor(caches, new OperationStats(caches.names), MAX_KEY_BYTES);
  const c = { server: { executor }, out: new RespWriter(), db: 0 } as unknown as RedisConnection & {
    parser: RespParser;
  };
  let failure: unknown;
  const parser = new RespParser(
    { maxBulkBytes: 1 << 20, maxArgs: 1 << 16, maxQueryBufferBytes: 1 << 24 },
    (argv, argc) => {
      try {
        handlers.get(argv[0]!.toLowerCase())!(c, argv, argc);
      } catch (err) {
        failure = err;
      }
      return true;
    },
    (name) => rawArgs.get(name.toLowerCase()) ?? 0,
  );
  c.parser = parser;
  const written: Buffer[] = [];
  const socket = {
    destroyed: false,
    writableNeedDrain: false,
    write(chunk: Buffer | string, encoding?: BufferEncoding): boolean {
      written.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
      return true;
    },
    cork(): void {},
    uncork(): void {},
  } as unknown as Socket;
  /** Runs one command and returns its reply as latin1 text. */
  const run = (...argv: string[]): string => {
    if (mode === 'strings') {
      handlers.get(argv[0]!.toLowerCase())!(c, argv, argv.length);
    } else {
      failure = undefined;
      expect(parser.feed(encode(argv))).toBeUndefined();
      if (failure !== undefined) throw failure;
    }
    c.out.flush(socket);
    const reply = Buffer.concat(written).toString('latin1');
    written.length = 0;
    return reply;
  };
  return { run, store: caches.stores[0]! };
}

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const valueOf = (i: number) => `value-${i}-`.padEnd(100, String.fromCharCode(97 + (i % 26)));

describe.each(['strings', 'raw'] as const)(
  'string commands over ArenaStore under LRU (%s arguments)',
  (mode) => {
    const lruConnection = () => connectionFor(mode);

    it('MGET of many keys, each read moving items, returns every value', () => {
      const { run, store } = lruConnection();
      for (let i = 0; i < 100; i++) expect(run('SET', `k:${i}`, valueOf(i))).toBe('+OK\r\n');
      const order: number[] = [];
      for (let p = 0; p < 3; p++) for (let i = 0; i < 100; i++) order.push(p === 1 ? 99 - i : i);
      const compactions = store.compactions + store.recycledSegments;
      const reply = run('MGET', ...order.map((i) => `k:${i}`), 'none');
      expect(reply).toBe(`*301\r\n${order.map((i) => bulk(valueOf(i))).join('')}$-1\r\n`);
      expect(store.compactions + store.recycledSegments).toBeGreaterThan(compactions);
    });

    it('GET and GETDEL reply straight from the store, large values included', () => {
      const { run } = lruConnection();
      const large = 'L'.repeat(3000);
      run('SET', 'big', large);
      run('SET', 'small', 'v\xff');
      expect(run('GET', 'big')).toBe(bulk(large));
      expect(run('GET', 'small')).toBe(bulk('v\xff'));
      expect(run('GETDEL', 'big')).toBe(bulk(large));
      expect(run('GETDEL', 'big')).toBe('$-1\r\n');
      expect(run('STRLEN', 'small')).toBe(':2\r\n');
    });

    it('SET key value GET returns the value it replaced', () => {
      const { run } = lruConnection();
      const large = 'L'.repeat(3000);
      run('SET', 'k', large);
      expect(run('SET', 'k', 'small', 'GET')).toBe(bulk(large));
      expect(run('SET', 'k', 'again', 'GET')).toBe(bulk('small'));
      expect(run('SET', 'new', 'v', 'GET')).toBe('$-1\r\n');
      expect(run('SET', 'k', 'x', 'NX', 'GET')).toBe(bulk('again'));
      let replaced = 0;
      for (let i = 0; i < 2000; i++) {
        const reply = run('SET', `r:${i % 150}`, valueOf(i), 'GET');
        if (i < 150 || reply === '$-1\r\n') continue; // new, or evicted meanwhile: the cache is full
        expect(reply).toBe(bulk(valueOf(i - 150)));
        replaced++;
      }
      expect(replaced).toBeGreaterThan(1000);
    });

    it('GETEX with EX returns the value while the TTL array grows and the cache is full', () => {
      const { run } = lruConnection();
      // Fill the budget, and the TTL array to its first capacity (16), so the next
      // expiry makes the store grow the array, reclaiming room first.
      for (let i = 0; i < 16; i++) run('SET', `t:${i}`, valueOf(i), 'EX', '1000');
      for (let i = 0; i < 600; i++) run('SET', `f:${i}`, valueOf(i));
      run('SET', 'g', 'G'.repeat(3000));
      run('SET', 'h', valueOf(7));
      expect(run('GETEX', 'g', 'EX', '100')).toBe(bulk('G'.repeat(3000)));
      expect(run('GETEX', 'h', 'PX', '100000')).toBe(bulk(valueOf(7)));
      expect(run('TTL', 'g')).toBe(':100\r\n');
      expect(run('GETEX', 'g', 'PERSIST')).toBe(bulk('G'.repeat(3000)));
      expect(run('TTL', 'g')).toBe(':-1\r\n');
      expect(run('GETEX', 'h', 'EXAT', '1')).toBe(bulk(valueOf(7))); // in the past: deleted
      expect(run('GET', 'h')).toBe('$-1\r\n');
    });

    it('APPEND on an existing key builds on its value', () => {
      const { run, store } = lruConnection();
      run('SET', 'k', 'L'.repeat(3000));
      expect(run('APPEND', 'k', 'tail')).toBe(':3004\r\n');
      expect(run('GET', 'k')).toBe(bulk(`${'L'.repeat(3000)}tail`));
      // Every APPEND overwrites, so the holes it leaves are compacted away as the log fills.
      const compactions = store.compactions + store.recycledSegments;
      const expected = new Map<string, string>();
      for (let i = 0; i < 3000; i++) {
        const key = `a:${i % 150}`;
        const next = `${expected.get(key) ?? ''}${i},`;
        expect(run('APPEND', key, `${i},`)).toBe(`:${next.length}\r\n`);
        expected.set(key, next);
      }
      expect(store.compactions + store.recycledSegments).toBeGreaterThan(compactions);
      for (const [key, value] of expected) expect(run('GET', key)).toBe(bulk(value));
    });

    it('rejects an oversized key or value with the same messages', () => {
      const { run } = lruConnection();
      const key = 'k'.repeat(MAX_KEY_BYTES + 1);
      const keyError = `key is ${MAX_KEY_BYTES + 1} bytes; the limit is ${MAX_KEY_BYTES} (maxKeyBytes)`;
      expect(() => run('SET', key, 'v')).toThrow(keyError);
      expect(() => run('SET', key, 'v', 'GET')).toThrow(keyError);
      expect(() => run('GET', key)).toThrow(keyError);
      const valueError = "value is 4097 bytes; cache 'default' allows at most 4096 (maxValueBytes)";
      expect(() => run('SET', 'k', 'v'.repeat(4097))).toThrow(valueError);
      expect(() => run('SET', 'k', 'v'.repeat(4097), 'NX')).toThrow(valueError);
      expect(run('GET', 'k')).toBe('$-1\r\n');
      expect(run('set', 'k', '\x00\xff', 'PX', '100000')).toBe('+OK\r\n');
      expect(run('gEt', 'k')).toBe(bulk('\x00\xff'));
      expect(run('SET', 'k', 'x', 'XX', 'KEEPTTL')).toBe('+OK\r\n');
      expect(run('SET', 'absent', 'x', 'XX')).toBe('$-1\r\n');
      expect(run('PTTL', 'k')).toMatch(/^:\d+\r\n$/);
    });

    it('INCR reads the stored digits', () => {
      const { run } = lruConnection();
      run('SET', 'n', '41');
      expect(run('INCR', 'n')).toBe(':42\r\n');
      expect(run('GET', 'n')).toBe(bulk('42'));
      run('SET', 's', 'x');
      expect(() => run('INCR', 's')).toThrow('value is not an integer or out of range');
    });
  },
);
