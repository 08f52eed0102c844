import { describe, expect, it } from '@jest/globals';
import { ErrorCode, ExpireCondition, Operation, OpType, type Result, SetCondition } from '@meshcache/proto';
import { type CacheOptions, DEFAULT_CACHE_OPTIONS } from '../../../src/config/NodeOptions.js';
import { CacheRegistry } from '../../../src/engine/CacheRegistry.js';
import {
  DEFAULT_EXPIRY,
  type EntrySink,
  KEEP_TTL,
  OperationExecutor,
} from '../../../src/engine/OperationExecutor.js';
import { OperationStats } from '../../../src/engine/OperationStats.js';
import { errorCodeOf } from '../../../src/engine/OperationError.js';
import { type ArenaStore, HybridLogicalClock, MAX_TTL_MS } from '../../../src/store/index.js';

const MAX_KEY_BYTES = 64;
/** Small enough that LRU hits fill segments and force compactions or segment reuse (which overwrite moved-from bytes). */
const SMALL_LRU: Partial<CacheOptions> = {
  maxMemoryBytes: 64 * 1024,
  maxValueBytes: 4096,
  evictionPolicy: 'lru',
};

function setup(cache: Partial<CacheOptions> = {}) {
  let now = 1_000_000;
  const clock = () => now;
  const caches = new CacheRegistry(
    [
      { name: 'default', ...DEFAULT_CACHE_OPTIONS, ...cache },
      { name: 'other', ...DEFAULT_CACHE_OPTIONS },
    ],
    MAX_KEY_BYTES,
    new HybridLogicalClock(7, clock),
    clock,
  );
  const stats = new OperationStats(caches.names);
  const ex = new OperationExecutor(caches, stats, MAX_KEY_BYTES, clock);
  return {
    ex,
    stats,
    store: caches.stores[0]!,
    advance: (ms: number) => (now += ms),
  };
}

function op(input: Partial<Operation> & Pick<Operation, 'type'>): Operation {
  return Operation.fromPartial({ id: 1, ...input });
}

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (r: { value: Uint8Array }) => Buffer.from(r.value).toString('latin1');
/** A recognisable 100-byte value per key index. */
const valueOf = (i: number) => `value-${i}-`.padEnd(100, String.fromCharCode(97 + (i % 26)));

function throwsCode(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (err) {
    return errorCodeOf(err);
  }
  throw new Error('expected a throw');
}

/** Collects GET_MANY results as strings (null for a miss), reading each handle while it is valid. */
class Collect implements EntrySink {
  values: (string | null)[] = [];
  count = -1;
  begin(count: number): void {
    this.count = count;
  }
  entry(store: ArenaStore, h: number): void {
    this.values.push(h < 0 ? null : store.valueLatin1(h));
  }
}

/** Keys 0..n-1 forward, backward, forward: every pass moves every item under LRU. */
function threePasses(n: number): number[] {
  const order: number[] = [];
  for (let p = 0; p < 3; p++) for (let i = 0; i < n; i++) order.push(p === 1 ? n - 1 - i : i);
  return order;
}

describe('OperationExecutor over gRPC operations', () => {
  it('runs every operation type with versions and TTLs', () => {
    const { ex, advance } = setup();
    const set = ex.execute(op({ type: OpType.SET, key: b('a'), value: b('1'), ttlMs: 60_000 }));
    expect(set).toMatchObject({ code: ErrorCode.OK, applied: true });
    expect(set.version).toEqual({ physicalMs: 1_000_000, logical: 0, node: 7 });

    advance(1000);
    const got = ex.execute(op({ type: OpType.GET, key: b('a') }));
    expect(got).toMatchObject({ found: true, ttlMs: 59_000 });
    expect(text(got)).toBe('1');
    expect(got.version).toEqual(set.version);

    expect(ex.execute(op({ type: OpType.SET, key: b('a'), value: b('x'), condition: 1 })).applied).toBe(
      false,
    );
    const prev = ex.execute(op({ type: OpType.SET, key: b('a'), value: b('2'), returnPrevious: true }));
    expect(prev).toMatchObject({ applied: true, found: true });
    expect(text(prev)).toBe('1');

    const inc = ex.execute(op({ type: OpType.INCREMENT, key: b('a'), delta: 40 }));
    expect(inc).toMatchObject({ applied: true, found: true, number: 42 });
    const fresh = ex.execute(op({ type: OpType.INCREMENT, key: b('n'), delta: -3 }));
    expect(fresh).toMatchObject({ found: false, number: -3 });

    const stale = { ...inc.version!, logical: inc.version!.logical + 1 };
    const cas1 = ex.execute(
      op({ type: OpType.COMPARE_AND_SET, key: b('a'), value: b('z'), expectedVersion: stale }),
    );
    expect(cas1).toMatchObject({ found: true, applied: false, version: inc.version });
    const cas2 = ex.execute(
      op({ type: OpType.COMPARE_AND_SET, key: b('a'), value: b('z'), expectedVersion: inc.version }),
    );
    expect(cas2).toMatchObject({ found: true, applied: true });
    expect(
      ex.execute(op({ type: OpType.COMPARE_AND_SET, key: b('none'), expectedVersion: inc.version })),
    ).toMatchObject({ found: false, applied: false });

    expect(ex.execute(op({ type: OpType.TOUCH, key: b('a'), ttlMs: 5000 })).found).toBe(true);
    expect(ex.execute(op({ type: OpType.GET, key: b('a') })).ttlMs).toBe(5000);
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('none'), ttlMs: 5000 })).found).toBe(false);

    const many = ex.execute(
      op({
        type: OpType.SET_MANY,
        entries: [
          { key: b('m1'), value: b('v1'), ttlMs: 0 },
          { key: b('m2'), value: b('v2'), ttlMs: 10 },
        ],
      }),
    );
    expect(many).toMatchObject({ applied: true, number: 2 });
    const gm = ex.execute(op({ type: OpType.GET_MANY, keys: [b('m1'), b('none'), b('m2')] }));
    expect(gm.found).toBe(true);
    expect(gm.entries.map((e) => e.found)).toEqual([true, false, true]);
    expect(gm.entries.map(text)).toEqual(['v1', '', 'v2']);
    expect(gm.entries.map((e) => e.ttlMs)).toEqual([-1, 0, 10]);

    advance(10);
    expect(ex.execute(op({ type: OpType.GET, key: b('m2') })).found).toBe(false);
    expect(ex.execute(op({ type: OpType.DELETE, key: b('m1') })).found).toBe(true);
    expect(ex.execute(op({ type: OpType.DELETE, key: b('m1') })).found).toBe(false);
  });

  it('keeps every error code and message', () => {
    const { ex } = setup({ maxMemoryBytes: 64 * 1024, maxValueBytes: 1024 * 1024 });
    const run = (o: Partial<Operation> & Pick<Operation, 'type'>): Result => ex.execute(op(o));
    const long = Buffer.alloc(MAX_KEY_BYTES + 1, 'k');

    expect(run({ type: OpType.GET, cache: 'nope' })).toMatchObject({
      code: ErrorCode.UNKNOWN_CACHE,
      message: "unknown cache 'nope'; this node serves: default, other",
    });
    expect(run({ type: OpType.GET, key: long })).toMatchObject({
      code: ErrorCode.KEY_TOO_LARGE,
      message: 'key is 65 bytes; the limit is 64 (maxKeyBytes)',
    });
    expect(run({ type: OpType.GET_MANY, keys: [b('a'), long] }).message).toBe(
      'keys[1] is 65 bytes; the limit is 64 (maxKeyBytes)',
    );
    expect(run({ type: OpType.SET, key: b('a'), value: Buffer.alloc(40_000), cache: 'other' })).toMatchObject(
      { code: ErrorCode.OK },
    );
    expect(run({ type: OpType.SET, key: b('big'), value: Buffer.alloc(200_000) })).toMatchObject({
      code: ErrorCode.OUT_OF_MEMORY,
    });
    expect(run({ type: OpType.SET, key: b('a'), value: b('v'), ttlMs: -5 })).toMatchObject({
      code: ErrorCode.INVALID_TTL,
    });
    run({ type: OpType.SET, key: b('s'), value: b('12a') });
    expect(run({ type: OpType.INCREMENT, key: b('s'), delta: 1 })).toMatchObject({
      code: ErrorCode.NOT_AN_INTEGER,
      message: 'value is not an integer or out of range',
    });
    run({ type: OpType.SET, key: b('s'), value: b('1'.repeat(21)) });
    expect(run({ type: OpType.INCREMENT, key: b('s'), delta: 1 }).code).toBe(ErrorCode.NOT_AN_INTEGER);
    run({ type: OpType.SET, key: b('s'), value: b(String(Number.MAX_SAFE_INTEGER)) });
    expect(run({ type: OpType.INCREMENT, key: b('s'), delta: 1 })).toMatchObject({
      code: ErrorCode.OVERFLOW,
      message: `increment or decrement would overflow (limit ±${Number.MAX_SAFE_INTEGER})`,
    });
    expect(run({ type: OpType.COMPARE_AND_SET, key: b('s') })).toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      message: 'COMPARE_AND_SET needs expected_version',
    });
  });

  it('writes nothing when one SET_MANY entry is over a limit', () => {
    const { ex, store } = setup({ maxValueBytes: 8 });
    const tooBig = ex.execute(
      op({
        type: OpType.SET_MANY,
        entries: [
          { key: b('ok'), value: b('v'), ttlMs: 0 },
          { key: b('bad'), value: b('123456789'), ttlMs: 0 },
        ],
      }),
    );
    expect(tooBig).toMatchObject({
      code: ErrorCode.VALUE_TOO_LARGE,
      message: "entries[1].value is 9 bytes; cache 'default' allows at most 8 (maxValueBytes)",
    });
    const badTtl = ex.execute(
      op({
        type: OpType.SET_MANY,
        entries: [
          { key: b('ok'), value: b('v'), ttlMs: 0 },
          { key: b('bad'), value: b('v'), ttlMs: -7 },
        ],
      }),
    );
    expect(badTtl.code).toBe(ErrorCode.INVALID_TTL);
    expect(store.size).toBe(0);
  });

  it('records one operation per call, by cache, type and code', () => {
    const { ex, stats } = setup();
    ex.execute(op({ type: OpType.SET, key: b('a'), value: b('1') }));
    ex.execute(op({ type: OpType.GET, key: b('a') }));
    ex.execute(op({ type: OpType.GET, cache: 'nope' }));
    ex.getEntry(0, 'a');
    expect(() => ex.setEntry(1, 'x'.repeat(MAX_KEY_BYTES + 1), 'v', DEFAULT_EXPIRY)).toThrow();
    expect([...stats.counters()]).toEqual(
      expect.arrayContaining([
        { cache: 'default', op: 'SET', result: 'OK', value: 1 },
        { cache: 'default', op: 'GET', result: 'OK', value: 2 },
        { cache: '(unknown)', op: 'GET', result: 'UNKNOWN_CACHE', value: 1 },
        { cache: 'other', op: 'SET', result: 'KEY_TOO_LARGE', value: 1 },
      ]),
    );
  });

  it('GET_MANY under LRU returns every value although each get moves items', () => {
    const { ex, store } = setup(SMALL_LRU);
    for (let i = 0; i < 100; i++) {
      ex.execute(op({ type: OpType.SET, key: b(`k:${i}`), value: b(valueOf(i)) }));
    }
    const order = threePasses(100);
    const compactions = store.compactions + store.recycledSegments;
    const r = ex.execute(op({ type: OpType.GET_MANY, keys: order.map((i) => b(`k:${i}`)) }));
    expect(r.code).toBe(ErrorCode.OK);
    expect(r.entries.map(text)).toEqual(order.map(valueOf));
    expect(store.compactions + store.recycledSegments).toBeGreaterThan(compactions); // bytes were moved and overwritten
  });

  it('SET with returnPrevious under LRU returns the value it replaced, large or small', () => {
    const { ex } = setup(SMALL_LRU);
    const large = 'L'.repeat(3000); // over 1/8 of a 4 KiB segment: a buffer of its own, released by the write
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b(large) }));
    const r = ex.execute(op({ type: OpType.SET, key: b('k'), value: b('small'), returnPrevious: true }));
    expect(r).toMatchObject({ applied: true, found: true });
    expect(text(r)).toBe(large);
    let replaced = 0;
    for (let i = 0; i < 2000; i++) {
      const prev = ex.execute(
        op({ type: OpType.SET, key: b(`r:${i % 150}`), value: b(valueOf(i)), returnPrevious: true }),
      );
      expect(prev.code).toBe(ErrorCode.OK);
      if (i < 150 || !prev.found) continue; // new, or evicted meanwhile: the cache is full
      expect(text(prev)).toBe(valueOf(i - 150));
      replaced++;
    }
    expect(replaced).toBeGreaterThan(1000);
  });
});

describe('OperationExecutor primitives (Redis front door)', () => {
  it('reads, writes and deletes through handles', () => {
    const { ex, store } = setup();
    expect(ex.setEntry(0, 'k', 'v\xff', DEFAULT_EXPIRY)).toBeGreaterThanOrEqual(0);
    const h = ex.getEntry(0, 'k');
    expect(store.valueBuffer(h)).toEqual(Buffer.from([0x76, 0xff]));
    expect(ex.peekEntry(0, 'none')).toBe(-1);
    expect(ex.setEntry(0, 'k', 'w', DEFAULT_EXPIRY, SetCondition.IF_ABSENT)).toBe(-1);
    expect(ex.setEntry(0, 'n', 'w', DEFAULT_EXPIRY, SetCondition.IF_PRESENT)).toBe(-1);
    expect(ex.appendValue(0, 'k', 'xyz')).toBe(5);
    expect(store.valueLatin1(ex.peekEntry(0, 'k'))).toBe('v\xffxyz');
    expect(ex.incrementEntry(0, 'c', 5)).toBe(5);
    expect(ex.incrementEntry(0, 'c', -7)).toBe(-2);
    expect(ex.setEntries(0, ['MSET', 'a', '1', 'b', '2'], 1, 5)).toBe(2);
    const taken = ex.takeEntry(0, 'a');
    expect(store.valueLatin1(taken)).toBe('1'); // readable after the delete, until the next write
    expect(ex.peekEntry(0, 'a')).toBe(-1);
    expect(ex.deleteEntry(0, 'b')).toBe(true);
    expect(ex.deleteEntry(0, 'b')).toBe(false);
  });

  it('keeps or replaces the expiry as asked', () => {
    const { ex, store } = setup({ defaultTtlMs: 500 });
    ex.setEntry(0, 'k', 'v', 2_000_000);
    ex.setEntry(0, 'k', 'w', KEEP_TTL);
    expect(store.expiresAtOf(ex.peekEntry(0, 'k'))).toBe(2_000_000);
    ex.setEntry(0, 'k', 'x', DEFAULT_EXPIRY);
    expect(store.expiresAtOf(ex.peekEntry(0, 'k'))).toBe(1_000_500);
    ex.setEntry(0, 'k', 'y', 0);
    expect(store.expiresAtOf(ex.peekEntry(0, 'k'))).toBe(0);
    expect(ex.expireEntry(0, 'k', 3_000_000)).toBe(true);
    expect(store.expiresAtOf(ex.peekEntry(0, 'k'))).toBe(3_000_000);
    expect(ex.expireEntry(0, 'none', 3_000_000)).toBe(false);
    ex.appendValue(0, 'k', '!');
    expect(store.expiresAtOf(ex.peekEntry(0, 'k'))).toBe(3_000_000);
    ex.incrementEntry(0, 'n', 1);
    expect(store.expiresAtOf(ex.peekEntry(0, 'n'))).toBe(1_000_500);
  });

  it('checks keys and values before writing anything, with the same messages', () => {
    const { ex, store } = setup({ maxValueBytes: 4 });
    const long = 'k'.repeat(MAX_KEY_BYTES + 1);
    expect(throwsCode(() => ex.getEntry(0, long))).toBe(ErrorCode.KEY_TOO_LARGE);
    expect(() => ex.setEntry(0, 'k', '12345', DEFAULT_EXPIRY)).toThrow(
      "value is 5 bytes; cache 'default' allows at most 4 (maxValueBytes)",
    );
    expect(() => ex.setEntries(0, ['a', '1', 'b', '12345'], 0, 4)).toThrow(
      "entries[1].value is 5 bytes; cache 'default' allows at most 4 (maxValueBytes)",
    );
    expect(() => ex.getEntries(0, ['a', long], 0, 2, new Collect())).toThrow(
      'keys[1] is 65 bytes; the limit is 64 (maxKeyBytes)',
    );
    ex.setEntry(0, 'k', '1234', DEFAULT_EXPIRY);
    expect(() => ex.appendValue(0, 'k', '5')).toThrow(
      "value is 5 bytes; cache 'default' allows at most 4 (maxValueBytes)",
    );
    // A condition that stops the write answers before the value is looked at, as before.
    expect(ex.setEntry(0, 'k', '12345', DEFAULT_EXPIRY, SetCondition.IF_ABSENT)).toBe(-1);
    expect(store.size).toBe(1);
    expect(store.valueLatin1(ex.peekEntry(0, 'k'))).toBe('1234');
  });

  it('takes keys and values as byte ranges (getEntryAt, setEntryAt) like the string forms', () => {
    const { ex, store } = setup({ defaultTtlMs: 500 });
    // One buffer holding key and value, as the RESP parser's input does.
    const buf = b('..key\xff..value\x00..');
    expect(ex.setEntryAt(0, buf, 2, 4, buf, 8, 6, DEFAULT_EXPIRY)).toBeGreaterThanOrEqual(0);
    expect(store.valueLatin1(ex.getEntry(0, 'key\xff'))).toBe('value\x00');
    expect(store.valueLatin1(ex.getEntryAt(0, buf, 2, 4))).toBe('value\x00');
    expect(store.expiresAtOf(ex.getEntryAt(0, buf, 2, 4))).toBe(1_000_500);
    expect(ex.getEntryAt(0, buf, 2, 3)).toBe(-1);
    expect(ex.setEntryAt(0, buf, 2, 4, buf, 0, 2, 2_000_000, SetCondition.IF_ABSENT)).toBe(-1);
    expect(ex.setEntryAt(0, buf, 0, 2, buf, 0, 2, 2_000_000, SetCondition.IF_PRESENT)).toBe(-1);
    expect(
      ex.setEntryAt(0, buf, 2, 4, buf, 0, 2, 2_000_000, SetCondition.IF_PRESENT, true),
    ).toBeGreaterThanOrEqual(0);
    expect(ex.savedValue.toString('latin1', 0, ex.savedLength)).toBe('value\x00');
    ex.setEntryAt(0, buf, 2, 4, buf, 8, 5, KEEP_TTL);
    const h = ex.getEntry(0, 'key\xff');
    expect(store.valueLatin1(h)).toBe('value');
    expect(store.expiresAtOf(h)).toBe(2_000_000);
    ex.setEntryAt(0, buf, 2, 4, buf, 0, 0, DEFAULT_EXPIRY, SetCondition.ALWAYS, true);
    expect(ex.savedValue.toString('latin1', 0, ex.savedLength)).toBe('value');
    expect(store.valueLength(ex.getEntry(0, 'key\xff'))).toBe(0);
  });

  it('range entry points check and count like the string forms, with the same errors', () => {
    const { ex, stats, store } = setup({ maxValueBytes: 4 });
    const long = Buffer.alloc(MAX_KEY_BYTES + 10, 'k');
    const keyMessage = 'key is 65 bytes; the limit is 64 (maxKeyBytes)';
    expect(() => ex.getEntryAt(0, long, 1, MAX_KEY_BYTES + 1)).toThrow(keyMessage);
    expect(() => ex.getEntry(0, 'k'.repeat(MAX_KEY_BYTES + 1))).toThrow(keyMessage);
    expect(throwsCode(() => ex.getEntryAt(0, long, 0, MAX_KEY_BYTES + 1))).toBe(ErrorCode.KEY_TOO_LARGE);
    expect(() => ex.setEntryAt(0, long, 0, MAX_KEY_BYTES + 1, long, 0, 1, DEFAULT_EXPIRY)).toThrow(
      keyMessage,
    );
    expect(() =>
      ex.setEntryAt(0, long, 0, MAX_KEY_BYTES + 1, long, 0, 1, DEFAULT_EXPIRY, SetCondition.IF_ABSENT, true),
    ).toThrow(keyMessage);
    const valueMessage = "value is 5 bytes; cache 'default' allows at most 4 (maxValueBytes)";
    expect(() => ex.setEntryAt(0, long, 0, 1, long, 0, 5, DEFAULT_EXPIRY)).toThrow(valueMessage);
    expect(throwsCode(() => ex.setEntryAt(0, long, 0, 1, long, 0, 5, DEFAULT_EXPIRY))).toBe(
      ErrorCode.VALUE_TOO_LARGE,
    );
    expect(store.size).toBe(0);
    ex.setEntryAt(0, long, 0, 1, long, 0, 4, DEFAULT_EXPIRY);
    // A condition that stops the write answers before the value is looked at, as setEntry does.
    expect(ex.setEntryAt(0, long, 0, 1, long, 0, 5, DEFAULT_EXPIRY, SetCondition.IF_ABSENT)).toBe(-1);
    expect(store.size).toBe(1);
    ex.getEntryAt(0, long, 0, 1);
    ex.getEntryAt(0, long, 0, 2);
    expect([...stats.counters()]).toEqual(
      expect.arrayContaining([
        { cache: 'default', op: 'GET', result: 'OK', value: 2 },
        { cache: 'default', op: 'GET', result: 'KEY_TOO_LARGE', value: 3 },
        { cache: 'default', op: 'SET', result: 'OK', value: 2 },
        { cache: 'default', op: 'SET', result: 'KEY_TOO_LARGE', value: 2 },
        { cache: 'default', op: 'SET', result: 'VALUE_TOO_LARGE', value: 2 },
      ]),
    );
  });

  it('grows its scratch buffers for long keys and values', () => {
    const { ex, store } = setup();
    const key = 'k'.repeat(MAX_KEY_BYTES);
    const value = 'v'.repeat(300_000);
    ex.setEntry(0, key, value, DEFAULT_EXPIRY);
    expect(store.valueLatin1(ex.getEntry(0, key))).toBe(value);
    expect(ex.appendValue(0, key, 'w'.repeat(100_000))).toBe(400_000);
    ex.setEntry(0, key, 'x', DEFAULT_EXPIRY, SetCondition.ALWAYS, true);
    expect(ex.savedLength).toBe(400_000);
    expect(ex.savedValue.toString('latin1', 0, ex.savedLength)).toBe(value + 'w'.repeat(100_000));
  });

  it('getEntries under LRU hands every value over while its handle is valid', () => {
    const { ex, store } = setup(SMALL_LRU);
    for (let i = 0; i < 100; i++) ex.setEntry(0, `k:${i}`, valueOf(i), DEFAULT_EXPIRY);
    const order = threePasses(100);
    const argv = ['MGET', ...order.map((i) => `k:${i}`), 'none'];
    const sink = new Collect();
    const compactions = store.compactions + store.recycledSegments;
    expect(ex.getEntries(0, argv, 1, argv.length, sink)).toBe(300);
    expect(sink.count).toBe(301);
    expect(sink.values).toEqual([...order.map(valueOf), null]);
    expect(store.compactions + store.recycledSegments).toBeGreaterThan(compactions);
  });

  it('SET ... GET under LRU copies the replaced value before writing', () => {
    const { ex } = setup(SMALL_LRU);
    const large = 'L'.repeat(3000);
    ex.setEntry(0, 'k', large, DEFAULT_EXPIRY);
    expect(ex.setEntry(0, 'k', 'small', DEFAULT_EXPIRY, SetCondition.ALWAYS, true)).toBeGreaterThanOrEqual(0);
    expect(ex.savedValue.toString('latin1', 0, ex.savedLength)).toBe(large);
    ex.setEntry(0, 'fresh', 'v', DEFAULT_EXPIRY, SetCondition.ALWAYS, true);
    expect(ex.savedLength).toBe(-1);
    let replaced = 0;
    for (let i = 0; i < 2000; i++) {
      ex.setEntry(0, `r:${i % 150}`, valueOf(i), DEFAULT_EXPIRY, SetCondition.ALWAYS, true);
      if (i < 150 || ex.savedLength < 0) continue;
      expect(ex.savedValue.toString('latin1', 0, ex.savedLength)).toBe(valueOf(i - 150));
      replaced++;
    }
    expect(replaced).toBeGreaterThan(1000);
  });

  it('APPEND under LRU builds on the current value, large or small', () => {
    const { ex, store } = setup(SMALL_LRU);
    const large = 'L'.repeat(3000);
    ex.setEntry(0, 'k', large, DEFAULT_EXPIRY);
    expect(ex.appendValue(0, 'k', 'tail')).toBe(3004);
    expect(store.valueLatin1(ex.getEntry(0, 'k'))).toBe(`${large}tail`);
    const compactions = store.compactions + store.recycledSegments;
    const expected = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const key = `a:${i % 150}`;
      const next = `${expected.get(key) ?? ''}${i},`;
      expect(ex.appendValue(0, key, `${i},`)).toBe(next.length);
      expected.set(key, next);
    }
    expect(store.compactions + store.recycledSegments).toBeGreaterThan(compactions);
    for (const [key, value] of expected) expect(store.valueLatin1(ex.getEntry(0, key))).toBe(value);
  });
});

describe('OperationExecutor wire ops for the Redis door', () => {
  const at = (ms: number) => 1_000_000 + ms; // setup()'s clock starts at 1_000_000

  it('APPEND appends (absent = empty), keeps a live expiry, gives a new entry ttl_ms, returns the length', () => {
    const { ex, store } = setup();
    const first = ex.execute(op({ type: OpType.APPEND, key: b('k'), value: b('ab'), ttlMs: 5000 }));
    expect(first).toMatchObject({ code: ErrorCode.OK, found: false, applied: true, number: 2 });
    expect(first.version).toBeDefined();
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(at(5000));
    const second = ex.execute(op({ type: OpType.APPEND, key: b('k'), value: b('cde'), ttlMs: -1 }));
    expect(second).toMatchObject({ found: true, number: 5 });
    expect(text(ex.execute(op({ type: OpType.GET, key: b('k') })))).toBe('abcde');
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(at(5000)); // kept, as Redis APPEND does
    ex.execute(op({ type: OpType.APPEND, key: b('n'), value: b('x'), expiresAtMs: at(9000) }));
    expect(store.expiresAtOf(store.peek(b('n')))).toBe(at(9000));
  });

  it('APPEND errors: value over maxValueBytes (nothing written), key too large, bad TTL', () => {
    const { ex } = setup({ maxValueBytes: 8 });
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('12345') }));
    const big = ex.execute(op({ type: OpType.APPEND, key: b('k'), value: b('6789') }));
    expect(big.code).toBe(ErrorCode.VALUE_TOO_LARGE);
    expect(big.message).toBe("value is 9 bytes; cache 'default' allows at most 8 (maxValueBytes)");
    expect(text(ex.execute(op({ type: OpType.GET, key: b('k') })))).toBe('12345');
    expect(ex.execute(op({ type: OpType.APPEND, key: b('x'.repeat(65)), value: b('v') })).code).toBe(
      ErrorCode.KEY_TOO_LARGE,
    );
    expect(ex.execute(op({ type: OpType.APPEND, key: b('k'), value: b('v'), ttlMs: -5 })).code).toBe(
      ErrorCode.INVALID_TTL,
    );
  });

  it('APPEND under LRU builds on the current value (the same core as appendValue)', () => {
    const { ex } = setup(SMALL_LRU);
    const expected = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const key = `a:${i % 150}`;
      const next = `${expected.get(key) ?? ''}${i},`;
      expect(ex.execute(op({ type: OpType.APPEND, key: b(key), value: b(`${i},`) })).number).toBe(
        next.length,
      );
      expected.set(key, next);
    }
    for (const [key, value] of expected)
      expect(text(ex.execute(op({ type: OpType.GET, key: b(key) })))).toBe(value);
  });

  it('DELETE with return_previous returns the value it removed (GETDEL)', () => {
    const { ex } = setup();
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('gone') }));
    const r = ex.execute(op({ type: OpType.DELETE, key: b('k'), returnPrevious: true }));
    expect(r).toMatchObject({ code: ErrorCode.OK, found: true });
    expect(text(r)).toBe('gone');
    expect(ex.execute(op({ type: OpType.GET, key: b('k') })).found).toBe(false);
    const again = ex.execute(op({ type: OpType.DELETE, key: b('k'), returnPrevious: true }));
    expect(again).toMatchObject({ found: false });
    expect(again.value).toHaveLength(0);
  });

  it('SET keep_ttl keeps a live expiry; a new key gets the cache default', () => {
    const { ex, store } = setup({ defaultTtlMs: 60_000 });
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('1'), ttlMs: 5000 }));
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('2'), keepTtl: true, ttlMs: 9 }));
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(at(5000));
    ex.execute(op({ type: OpType.SET, key: b('n'), value: b('1'), keepTtl: true }));
    expect(store.expiresAtOf(store.peek(b('n')))).toBe(at(60_000));
  });

  it('SET expires_at_ms sets an absolute expiry; past 10 years or negative is INVALID_TTL', () => {
    const { ex, store, advance } = setup();
    const r = ex.execute(
      op({ type: OpType.SET, key: b('k'), value: b('v'), expiresAtMs: at(2500), ttlMs: -1 }),
    );
    expect(r.applied).toBe(true);
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(at(2500));
    expect(ex.execute(op({ type: OpType.GET, key: b('k') })).ttlMs).toBe(2500);
    advance(2500);
    expect(ex.execute(op({ type: OpType.GET, key: b('k') })).found).toBe(false);
    for (const bad of [at(2500 + MAX_TTL_MS + 1), -5, 2 ** 53]) {
      const e = ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v'), expiresAtMs: bad }));
      expect(e.code).toBe(ErrorCode.INVALID_TTL);
    }
    // A time already past writes an entry that is already gone (as Redis SET ... PXAT <past>).
    ex.execute(op({ type: OpType.SET, key: b('p'), value: b('v'), expiresAtMs: 5 }));
    expect(ex.execute(op({ type: OpType.GET, key: b('p') })).found).toBe(false);
  });

  it('TOUCH expires_at_ms: absolute; past deletes; absent answers found = false before the bound', () => {
    const { ex, store } = setup();
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v') }));
    const t = ex.execute(op({ type: OpType.TOUCH, key: b('k'), expiresAtMs: at(7000) }));
    expect(t).toMatchObject({ found: true, applied: true });
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(at(7000));
    const huge = Number.MAX_SAFE_INTEGER;
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('none'), expiresAtMs: huge }))).toMatchObject({
      code: ErrorCode.OK,
      found: false,
      applied: false,
    });
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('k'), expiresAtMs: huge })).code).toBe(
      ErrorCode.INVALID_TTL,
    );
    const past = ex.execute(op({ type: OpType.TOUCH, key: b('k'), expiresAtMs: at(0) }));
    expect(past).toMatchObject({ found: true, applied: true });
    expect(store.peek(b('k'))).toBe(-1);
  });

  it('TOUCH expire_condition follows Redis EXPIRE NX / XX / GT / LT ("never" is infinitely far)', () => {
    const { ex, store } = setup();
    const C = ExpireCondition;
    const cases: [current: number, condition: ExpireCondition, next: number, applied: boolean][] = [
      [0, C.EXPIRE_IF_NONE, 5000, true],
      [3000, C.EXPIRE_IF_NONE, 5000, false],
      [0, C.EXPIRE_IF_SET, 5000, false],
      [3000, C.EXPIRE_IF_SET, 5000, true],
      [0, C.EXPIRE_IF_LATER, 5000, false],
      [3000, C.EXPIRE_IF_LATER, 5000, true],
      [3000, C.EXPIRE_IF_LATER, 3000, false],
      [3000, C.EXPIRE_IF_LATER, 1000, false],
      [3000, C.EXPIRE_IF_LATER, -1, true], // never > any time
      [0, C.EXPIRE_IF_EARLIER, 5000, true],
      [3000, C.EXPIRE_IF_EARLIER, 1000, true],
      [3000, C.EXPIRE_IF_EARLIER, 3000, false],
      [3000, C.EXPIRE_IF_EARLIER, -1, false],
      [0, C.EXPIRE_IF_SET_AND_EARLIER, 5000, false],
      [3000, C.EXPIRE_IF_SET_AND_EARLIER, 1000, true],
      [3000, C.EXPIRE_IF_SET_AND_EARLIER, 3000, false],
      [3000, C.EXPIRE_IF_SET_AND_EARLIER, -1, false],
      [3000, C.EXPIRE_ALWAYS, -1, true],
    ];
    for (const [current, condition, next, applied] of cases) {
      ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v'), ttlMs: current === 0 ? -1 : current }));
      const touch =
        next === -1
          ? op({ type: OpType.TOUCH, key: b('k'), ttlMs: -1, expireCondition: condition })
          : op({ type: OpType.TOUCH, key: b('k'), expiresAtMs: at(next), expireCondition: condition });
      const r = ex.execute(touch);
      expect([current, condition, next, r.code, r.found, r.applied]).toEqual([
        current,
        condition,
        next,
        0,
        true,
        applied,
      ]);
      const expected = applied ? (next === -1 ? 0 : at(next)) : current === 0 ? 0 : at(current);
      expect(store.expiresAtOf(store.peek(b('k')))).toBe(expected);
    }
    expect(
      ex.execute(op({ type: OpType.TOUCH, key: b('k'), ttlMs: 5, expireCondition: 99 as ExpireCondition }))
        .code,
    ).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('TOUCH ttl -1 with EXPIRE_IF_SET is PERSIST: applied only when there was an expiry', () => {
    const { ex, store } = setup();
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v'), ttlMs: 4000 }));
    const persist = op({
      type: OpType.TOUCH,
      key: b('k'),
      ttlMs: -1,
      expireCondition: ExpireCondition.EXPIRE_IF_SET,
    });
    expect(ex.execute(persist)).toMatchObject({ found: true, applied: true });
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(0);
    expect(ex.execute(persist)).toMatchObject({ found: true, applied: false });
    expect(ex.execute({ ...persist, key: b('none') })).toMatchObject({ found: false, applied: false });
  });

  it('TOUCH return_previous returns the value read before the expiry changed (GETEX), also under LRU', () => {
    const { ex, store } = setup(SMALL_LRU);
    for (let i = 0; i < 600; i++) {
      const key = b(`g:${i % 120}`);
      ex.execute(op({ type: OpType.SET, key, value: b(valueOf(i)) }));
      const r = ex.execute(
        op({ type: OpType.TOUCH, key, expiresAtMs: at(10_000 + i), returnPrevious: true }),
      );
      expect(r).toMatchObject({ found: true, applied: true });
      expect(text(r)).toBe(valueOf(i));
      expect(store.expiresAtOf(store.peek(key))).toBe(at(10_000 + i));
    }
    const gone = ex.execute(op({ type: OpType.TOUCH, key: b('g:1'), expiresAtMs: 1, returnPrevious: true }));
    expect(gone).toMatchObject({ found: true, applied: true });
    expect(text(gone)).toHaveLength(100);
    expect(store.peek(b('g:1'))).toBe(-1);
  });

  it('plain TOUCH (no new field) behaves as before, and applied says the expiry changed', () => {
    const { ex } = setup();
    ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v') }));
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('k'), ttlMs: 5000 }))).toMatchObject({
      found: true,
      applied: true,
    });
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('x'), ttlMs: 5000 }))).toMatchObject({
      found: false,
      applied: false,
    });
    expect(ex.execute(op({ type: OpType.TOUCH, key: b('x'), ttlMs: -7 })).code).toBe(ErrorCode.INVALID_TTL);
  });

  it('in a replicated cache a TOUCH that changes the expiry writes a new version (so it replicates)', () => {
    let now = 1_000_000;
    const clock = () => now;
    const caches = new CacheRegistry(
      [{ name: 'default', ...DEFAULT_CACHE_OPTIONS, replicationFactor: 3 }],
      MAX_KEY_BYTES,
      new HybridLogicalClock(7, clock),
      clock,
      { tombstoneGraceMs: 60_000, settled: () => false },
    );
    const ex = new OperationExecutor(caches, new OperationStats(caches.names), MAX_KEY_BYTES, clock);
    const store = caches.stores[0]!;
    expect(store.replicated).toBe(true);
    const set = ex.execute(op({ type: OpType.SET, key: b('k'), value: b('v'), ttlMs: 5000 }));
    now += 10;
    const persist = ex.execute(
      op({ type: OpType.TOUCH, key: b('k'), ttlMs: -1, expireCondition: ExpireCondition.EXPIRE_IF_SET }),
    );
    expect(persist).toMatchObject({ found: true, applied: true });
    expect(persist.version).toBeDefined();
    expect(persist.version).not.toEqual(set.version);
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(0);
    expect(text(ex.execute(op({ type: OpType.GET, key: b('k') })))).toBe('v');
    now += 10;
    const plain = ex.execute(op({ type: OpType.TOUCH, key: b('k'), ttlMs: 8000 }));
    expect(plain).toMatchObject({ found: true, applied: true });
    expect(plain.version).not.toEqual(persist.version);
    expect(store.expiresAtOf(store.peek(b('k')))).toBe(now + 8000);
    // Nothing changes, nothing is written: the version stays.
    const noop = ex.execute(
      op({ type: OpType.TOUCH, key: b('k'), ttlMs: -1, expireCondition: ExpireCondition.EXPIRE_IF_NONE }),
    );
    expect(noop).toMatchObject({ found: true, applied: false, version: undefined });
  });

  it('records the op types in OperationStats (APPEND as its own type)', () => {
    const { ex, stats } = setup();
    ex.execute(op({ type: OpType.APPEND, key: b('k'), value: b('v') }));
    ex.execute(op({ type: OpType.DELETE, key: b('k'), returnPrevious: true }));
    const seen = [...stats.counters()].map((c) => `${c.op}:${c.result}:${c.value}`);
    expect(seen).toEqual(expect.arrayContaining(['APPEND:OK:1', 'DELETE:OK:1']));
  });
});
