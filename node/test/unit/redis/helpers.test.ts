import { describe, expect, it } from '@jest/globals';
import { parseInteger } from '../../../src/redis/commands/args.js';
import { CommandTable } from '../../../src/redis/CommandTable.js';
import { globMatch } from '../../../src/redis/globMatch.js';
import { unknownCommand } from '../../../src/redis/RedisReplyError.js';
import { splitInlineArgs } from '../../../src/redis/splitInlineArgs.js';

describe('parseInteger (redis string2ll rules)', () => {
  it.each([
    ['0', 0],
    ['-1', -1],
    ['42', 42],
    ['9007199254740991', 9007199254740991],
    ['-9223372036854775808', -(2 ** 63)],
    ['9223372036854775807', Number('9223372036854775807')],
  ])('accepts %s', (s, v) => expect(parseInteger(s)).toBe(v));

  it.each(['', '-', '+1', '01', '-0', ' 1', '1 ', '1.5', 'abc', '9223372036854775808', '1e3'])(
    'refuses %j',
    (s) => expect(parseInteger(s)).toBeUndefined(),
  );
});

describe('globMatch', () => {
  it.each([
    ['*', 'maxmemory', true],
    ['max*', 'maxmemory', true],
    ['*memory*', 'maxmemory-policy', true],
    ['maxmemory', 'maxmemory-policy', false],
    ['m?xmemory', 'maxmemory', true],
    ['[ab]ppendonly', 'appendonly', true],
    ['[^ab]ppendonly', 'appendonly', false],
    ['[a-c]ave', 'save', false],
    ['[r-t]ave', 'save', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
  ])('%s vs %s', (p, s, expected) => expect(globMatch(p, s)).toBe(expected));

  it('matches without case when asked', () => {
    expect(globMatch('MAXMEMORY', 'maxmemory', true)).toBe(true);
    expect(globMatch('MAXMEMORY', 'maxmemory')).toBe(false);
  });
});

describe('splitInlineArgs', () => {
  const split = (line: string) => {
    const out: string[] = [];
    const n = splitInlineArgs(line, out);
    return n < 0 ? null : out.slice(0, n);
  };
  it('splits like sdssplitargs', () => {
    expect(split('  set  a b ')).toEqual(['set', 'a', 'b']);
    expect(split('"a\\tb" \'c d\'')).toEqual(['a\tb', 'c d']);
    expect(split('a"b c"')).toEqual(['ab c']);
    expect(split('"\\x4a\\x4B"')).toEqual(['JK']);
    expect(split('')).toEqual([]);
  });
  it('refuses unbalanced quotes', () => {
    expect(split('"abc')).toBeNull();
    expect(split("'abc")).toBeNull();
    expect(split('"a"b')).toBeNull();
  });
});

describe('command table', () => {
  const table = new CommandTable();

  it('finds commands in any case', () => {
    expect(table.lookup('get')?.name).toBe('get');
    expect(table.lookup('GET')?.name).toBe('get');
    expect(table.lookup('gEt')?.name).toBe('get');
    expect(table.lookup('nope')).toBeUndefined();
  });

  it('serves every command issue 3 asks for', () => {
    const wanted =
      'get set getdel getex mget mset del unlink exists expire pexpire expireat ttl pttl persist incr decr ' +
      'incrby decrby append strlen type ping echo hello auth select client quit reset command info dbsize config';
    for (const name of wanted.split(' ')) expect(table.lookup(name)).toBeDefined();
    for (const sub of ['setname', 'getname', 'id', 'info']) {
      expect(table.lookup('client')!.subcommands!.get(sub)).toBeDefined();
    }
    for (const sub of ['count', 'docs', 'info']) {
      expect(table.lookup('command')!.subcommands!.get(sub)).toBeDefined();
    }
  });

  it('knows key positions (for slot routing later)', () => {
    expect(table.lookup('get')!.keyPositions(2)).toEqual([1]);
    expect(table.lookup('mset')!.keyPositions(7)).toEqual([1, 3, 5]);
    expect(table.lookup('del')!.keyPositions(4)).toEqual([1, 2, 3]);
    expect(table.lookup('ping')!.keyPositions(1)).toEqual([]);
  });

  it('checks arity the Redis way', () => {
    expect(table.lookup('get')!.arityAllows(2)).toBe(true);
    expect(table.lookup('get')!.arityAllows(3)).toBe(false);
    expect(table.lookup('set')!.arityAllows(5)).toBe(true);
    expect(table.lookup('set')!.arityAllows(2)).toBe(false);
  });
});

describe('error texts', () => {
  it('quotes the first arguments of an unknown command, up to 128 characters, like redis-server', () => {
    expect(unknownCommand(['foo', 'a', 'b'], 3)).toBe(
      "ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
    );
    expect(unknownCommand(['foo'], 1)).toBe("ERR unknown command 'foo', with args beginning with: ");
    const long = unknownCommand(['foo', 'x'.repeat(500), 'y'], 3);
    expect(long.length).toBeLessThan(200);
    expect(long).not.toContain('y');
  });
});
