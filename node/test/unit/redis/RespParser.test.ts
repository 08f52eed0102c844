import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RespParser, type RespParserLimits } from '../../../src/redis/RespParser.js';

const LIMITS: RespParserLimits = { maxBulkBytes: 1 << 20, maxArgs: 1000, maxQueryBufferBytes: 4 << 20 };

/** Encodes a command as a RESP multibulk (arguments are latin1 strings). */
function encode(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    parts.push(Buffer.from(`$${a.length}\r\n`), Buffer.from(a, 'latin1'), Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

interface Run {
  commands: string[][];
  error: string | undefined;
  parser: RespParser;
}

/** Feeds the chunks in order and collects every command (copied) and the first error. */
function run(chunks: readonly Buffer[], limits: Partial<RespParserLimits> = {}, stopAfter = Infinity): Run {
  const commands: string[][] = [];
  const parser = new RespParser({ ...LIMITS, ...limits }, (argv, argc) => {
    commands.push(argv.slice(0, argc));
    return commands.length < stopAfter;
  });
  let error: string | undefined;
  for (const chunk of chunks) {
    error = parser.feed(chunk);
    if (error !== undefined) break;
  }
  return { commands, error, parser };
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** Splits a buffer at the given cut points. */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => Math.min(buf.length, Math.max(0, p))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('RespParser: multibulk', () => {
  it('parses one command', () => {
    expect(run([encode(['SET', 'key', 'value'])]).commands).toEqual([['SET', 'key', 'value']]);
  });

  it('parses pipelined commands from one chunk, in order', () => {
    const buf = Buffer.concat([encode(['GET', 'a']), encode(['SET', 'b', '1']), encode(['PING'])]);
    expect(run([buf]).commands).toEqual([['GET', 'a'], ['SET', 'b', '1'], ['PING']]);
  });

  it('gives the same commands whatever the chunking, down to one byte at a time', () => {
    const buf = Buffer.concat([
      encode(['SET', 'k', 'v'.repeat(300)]),
      encode(['GET', 'k']),
      bytes('PING\r\n'),
    ]);
    const expected = run([buf]).commands;
    const oneByte = [...buf].map((b) => Buffer.from([b]));
    expect(run(oneByte).commands).toEqual(expected);
  });

  it('keeps every byte value (binary-safe, latin1)', () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    expect(run([encode(['SET', all, all + '\r\n'])]).commands).toEqual([['SET', all, all + '\r\n']]);
  });

  it('accepts empty bulks and skips *0 and *-1', () => {
    const buf = Buffer.concat([bytes('*0\r\n*-1\r\n'), encode(['SET', '', ''])]);
    expect(run([buf]).commands).toEqual([['SET', '', '']]);
  });

  it('collects a large bulk that spans many chunks', () => {
    const value = 'x'.repeat(200_000) + 'end';
    const buf = encode(['SET', 'big', value]);
    const chunks = cut(
      buf,
      Array.from({ length: 40 }, (_, i) => 10 + i * 5_003),
    );
    const r = run(chunks);
    expect(r.error).toBeUndefined();
    expect(r.commands).toHaveLength(1);
    expect(r.commands[0]![2]).toBe(value);
  });

  it('continues with the command after a large bulk in the same chunk', () => {
    const value = 'y'.repeat(50_000);
    const buf = Buffer.concat([encode(['SET', 'k', value]), encode(['GET', 'k'])]);
    const r = run([buf.subarray(0, 100), buf.subarray(100)]);
    expect(r.commands.map((c) => c[0])).toEqual(['SET', 'GET']);
    expect(r.commands[0]![2]).toBe(value);
  });

  it('takes the two bytes after a bulk as CRLF without checking them, like redis-server', () => {
    expect(run([bytes('*1\r\n$4\r\nPING\n\n*1\r\n$4\r\nPING\r\n')]).commands).toEqual([['PING'], ['PING']]);
  });

  it('reports the bytes held for a command in progress', () => {
    const r = run([bytes('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab')]);
    expect(r.commands).toEqual([]);
    expect(r.parser.bufferedBytes).toBe(3 + 1 + 2); // SET, k and the partial bulk
  });

  it('suspends when the sink returns false, keeps what arrives, and resumes in order', () => {
    const buf = Buffer.concat([encode(['GET', 'a']), encode(['GET', 'b'])]);
    const r = run([buf, encode(['GET', 'c'])], {}, 1);
    expect(r.commands).toEqual([['GET', 'a']]);
    expect(r.parser.isSuspended).toBe(true);
    expect(r.parser.resume()).toBeUndefined();
    expect(r.commands).toEqual([
      ['GET', 'a'],
      ['GET', 'b'],
    ]);
    expect(r.parser.resume()).toBeUndefined();
    expect(r.parser.resume()).toBeUndefined();
    expect(r.commands.map((c) => c[1])).toEqual(['a', 'b', 'c']);
    expect(r.parser.isSuspended).toBe(false);
  });

  it('drops everything on stop()', () => {
    const r = run([Buffer.concat([encode(['QUIT']), encode(['PING'])])], {}, 1);
    r.parser.stop();
    expect(r.parser.resume()).toBeUndefined();
    expect(r.commands).toEqual([['QUIT']]);
    expect(r.parser.isStopped).toBe(true);
  });

  it('property: any commands, any chunking, parse back to themselves', () => {
    const arg = fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(arg, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(2000), { maxLength: 10 }),
        (commands, points) => {
          const buf = Buffer.concat(commands.map(encode));
          const r = run(cut(buf, points));
          expect(r.error).toBeUndefined();
          expect(r.commands).toEqual(commands);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('RespParser: inline commands', () => {
  it('splits on whitespace, with CRLF or LF endings, and skips empty lines', () => {
    expect(run([bytes('SET  a\t1\r\n\r\n\nGET a\n')]).commands).toEqual([
      ['SET', 'a', '1'],
      ['GET', 'a'],
    ]);
  });

  it('handles double-quoted escapes and single quotes like redis-cli', () => {
    expect(run([bytes('SET "a b" "x\\x41\\n\\"y"\r\nECHO \'it\\\'s\'\r\n')]).commands).toEqual([
      ['SET', 'a b', 'xA\n"y'],
      ['ECHO', "it's"],
    ]);
  });

  it('waits for the end of an inline line across chunks', () => {
    expect(run([bytes('PI'), bytes('NG'), bytes('\r\n')]).commands).toEqual([['PING']]);
  });
});

describe('RespParser: protocol errors (redis-server texts)', () => {
  it.each([
    ['a type other than $ in a multibulk', '*1\r\n+foo\r\n', "Protocol error: expected '$', got '+'"],
    ['a non-numeric multibulk length', '*x\r\n', 'Protocol error: invalid multibulk length'],
    ['a multibulk length with a leading zero', '*01\r\n', 'Protocol error: invalid multibulk length'],
    ['a negative bulk length', '*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
    ['a non-numeric bulk length', '*1\r\n$abc\r\n', 'Protocol error: invalid bulk length'],
    ['a bulk length with +', '*1\r\n$+3\r\n', 'Protocol error: invalid bulk length'],
    ['unbalanced double quotes', 'SET "a b\r\n', 'Protocol error: unbalanced quotes in request'],
    ['a closing quote followed by text', 'ECHO "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
  ])('%s', (_name, input, message) => {
    const r = run([bytes(input)]);
    expect(r.error).toBe(message);
    expect(r.parser.isStopped).toBe(true);
  });

  it('runs the commands before the error, then stops', () => {
    const r = run([Buffer.concat([encode(['PING']), bytes('*1\r\n:1\r\n'), encode(['PING'])])]);
    expect(r.commands).toEqual([['PING']]);
    expect(r.error).toMatch(/expected '\$', got ':'/);
  });

  it('refuses more arguments than maxArgs', () => {
    expect(run([bytes('*11\r\n')], { maxArgs: 10 }).error).toBe('Protocol error: invalid multibulk length');
    expect(run([bytes('*10\r\n')], { maxArgs: 10 }).error).toBeUndefined();
  });

  it('refuses a bulk longer than maxBulkBytes', () => {
    expect(run([bytes('*1\r\n$101\r\n')], { maxBulkBytes: 100 }).error).toBe(
      'Protocol error: invalid bulk length',
    );
  });

  it('refuses an inline line over 64 KiB without a newline', () => {
    expect(run([Buffer.alloc(70_000, 'a')]).error).toBe('Protocol error: too big inline request');
  });

  it('refuses a multibulk count line that never ends', () => {
    expect(run([bytes('*1'), Buffer.alloc(70_000, '1')]).error).toBe(
      'Protocol error: invalid multibulk length',
    );
  });

  it('closes a command that buffers more than maxQueryBufferBytes', () => {
    const r = run([bytes('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n'), Buffer.alloc(600)], {
      maxQueryBufferBytes: 500,
    });
    expect(r.error).toBe('Protocol error: query buffer limit exceeded');
  });

  it('applies redis-server limits before AUTH', () => {
    const p = (input: string) => {
      const parser = new RespParser(LIMITS, () => true);
      parser.unauthenticated = true;
      return parser.feed(bytes(input));
    };
    expect(p('*11\r\n')).toBe('Protocol error: unauthenticated multibulk length');
    expect(p('*1\r\n$16385\r\n')).toBe('Protocol error: unauthenticated bulk length');
    expect(p('*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n')).toBeUndefined();
  });

  it('property: random bytes never throw; the parser either waits, parses or reports an error', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (chunks) => {
        const r = run(chunks.map((c) => Buffer.from(c)));
        if (r.error !== undefined) expect(r.error).toMatch(/^Protocol error: /);
      }),
      { seed: 7, numRuns: 3000 },
    );
  });
});

describe('RespParser: raw arguments', () => {
  /** GET takes argv[1] raw, SET argv[1] and argv[2] (any case), as the command table says. */
  const lookup = (name: string): number => {
    const lower = name.toLowerCase();
    return lower === 'get' ? 0b10 : lower === 'set' ? 0b110 : 0;
  };

  interface RawRun {
    /** Each command with raw arguments written as `raw:<latin1>`. */
    commands: string[][];
    /** arg(i) for every argument, raw or not. */
    args: string[][];
    error: string | undefined;
    parser: RespParser;
  }

  function runRaw(chunks: readonly Buffer[], limits: Partial<RespParserLimits> = {}): RawRun {
    const commands: string[][] = [];
    const args: string[][] = [];
    const parser: RespParser = new RespParser(
      { ...LIMITS, ...limits },
      (argv, argc) => {
        const cmd: string[] = [];
        const all: string[] = [];
        for (let i = 0; i < argc; i++) {
          all.push(parser.arg(i));
          if (((parser.rawMask >>> i) & 1) === 0) {
            cmd.push(argv[i]!);
            continue;
          }
          expect(argv[i]).toBe('');
          const start = parser.rawStart[i]!;
          cmd.push(`raw:${parser.rawBuf[i]!.toString('latin1', start, start + parser.rawLen[i]!)}`);
        }
        commands.push(cmd);
        args.push(all);
        return true;
      },
      lookup,
    );
    let error: string | undefined;
    for (const chunk of chunks) {
      error = parser.feed(chunk);
      if (error !== undefined) break;
    }
    return { commands, args, error, parser };
  }

  const pipeline = Buffer.concat([
    encode(['SET', 'k', 'v'.repeat(300)]),
    encode(['GET', 'k']),
    bytes('GET inline\r\n'),
    encode(['set', 'key\r\n', '\x00\xff', 'EX', '10']),
    encode(['MGET', 'a', 'b']),
    encode(['GeT', '']),
    encode(['sEt', '', '']),
    encode(['GET', 'a', 'b']),
    encode(['PING']),
  ]);
  const expected = [
    ['SET', 'raw:k', `raw:${'v'.repeat(300)}`],
    ['GET', 'raw:k'],
    ['GET', 'inline'],
    ['set', 'raw:key\r\n', 'raw:\x00\xff', 'EX', '10'],
    ['MGET', 'a', 'b'],
    ['GeT', 'raw:'],
    ['sEt', 'raw:', 'raw:'],
    ['GET', 'raw:a', 'b'],
    ['PING'],
  ];

  it('leaves the lookup positions as ranges, whatever the case of the name; inline commands stay strings', () => {
    const r = runRaw([pipeline]);
    expect(r.error).toBeUndefined();
    expect(r.commands).toEqual(expected);
    expect(r.args).toEqual(run([pipeline]).commands);
  });

  it('returns every command name byte for byte (GET, get, SET and set are constants)', () => {
    const names = [
      'GET',
      'get',
      'SET',
      'set',
      'GEt',
      'sET',
      'Set',
      'xET',
      'GEX',
      'SEx',
      'gex',
      'ge',
      'GETS',
      '\xc7ET',
    ];
    const buf = Buffer.concat(names.map((n) => encode([n, 'k'])));
    expect(run([buf]).commands).toEqual(names.map((n) => [n, 'k']));
    expect(runRaw([buf]).args).toEqual(names.map((n) => [n, 'k']));
  });

  it('gives the same ranges when the input is split at any byte, or fed one byte at a time', () => {
    for (let p = 0; p <= pipeline.length; p++) {
      const r = runRaw([pipeline.subarray(0, p), pipeline.subarray(p)]);
      expect(r.error).toBeUndefined();
      expect(r.commands).toEqual(expected);
    }
    expect(runRaw([...pipeline].map((b) => Buffer.from([b]))).commands).toEqual(expected);
  });

  it('takes a big bulk (collected in a buffer of its own) as a range of that buffer', () => {
    const key = 'K'.repeat(40_000);
    const value = 'x'.repeat(200_000) + 'end';
    const buf = Buffer.concat([encode(['SET', key, value]), encode(['GET', key])]);
    const chunks = cut(
      buf,
      Array.from({ length: 60 }, (_, i) => 7 + i * 4_999),
    );
    const r = runRaw(chunks);
    expect(r.error).toBeUndefined();
    expect(r.commands).toEqual([
      ['SET', `raw:${key}`, `raw:${value}`],
      ['GET', `raw:${key}`],
    ]);
    // Nothing is kept once the commands have run.
    expect(r.parser.rawMask).toBe(0);
    expect(r.parser.rawBuf.every((b) => b.length === 0)).toBe(true);
  });

  it('keeps the limits and the byte accounting of string arguments', () => {
    const partial = bytes('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab');
    expect(runRaw([partial]).parser.bufferedBytes).toBe(run([partial]).parser.bufferedBytes);
    const big = [bytes('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n'), Buffer.alloc(600)];
    expect(runRaw(big, { maxQueryBufferBytes: 500 }).error).toBe(
      'Protocol error: query buffer limit exceeded',
    );
    expect(runRaw([encode(['SET', 'k', 'v'.repeat(11)])], { maxBulkBytes: 10 }).error).toBe(
      'Protocol error: invalid bulk length',
    );
    const huge = [bytes('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n'), Buffer.alloc(60_000)];
    expect(runRaw(huge, { maxQueryBufferBytes: 50_000 }).error).toBe(
      'Protocol error: query buffer limit exceeded',
    );
  });

  it('property: any commands, any chunking, give the same arguments as string parsing', () => {
    const arg = fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    });
    const name = fc.constantFrom('GET', 'get', 'Get', 'SET', 'set', 'sET', 'PING', 'MGET');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.array(arg, { maxLength: 5 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(2000), { maxLength: 10 }),
        (parts, points) => {
          const commands = parts.map(([n, rest]) => [n, ...rest]);
          const buf = Buffer.concat(commands.map(encode));
          const r = runRaw(cut(buf, points));
          expect(r.error).toBeUndefined();
          expect(r.args).toEqual(commands);
        },
      ),
      { seed: 43, numRuns: 500 },
    );
  });
});
