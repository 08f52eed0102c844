import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  CacheService,
  ExpireCondition,
  OperationFrame,
  OpType,
  ResultFrame,
  type Operation,
  type Result,
} from '../../../src/gen/meshcache/v1/cache.js';
import {
  CodecError,
  decodeOperationFrame,
  decodeResultFrame,
  encodedOperationSize,
  encodeOperationFrame,
  encodeResultFrame,
  FastCacheService,
} from '../../../src/codec/index.js';
import { normalise, operation, operationFrame, resultFrame } from './arbitraries.js';

const RUNS = 1000;

function op(fields: Partial<Operation>): Operation {
  return OperationFrame.fromPartial({ ops: [fields] }).ops[0]!;
}

function result(fields: Partial<Result>): Result {
  return ResultFrame.fromPartial({ results: [fields] }).results[0]!;
}

describe('OperationFrame fast codec', () => {
  it('fast encode -> generated decode gives the input back', () => {
    fc.assert(
      fc.property(operationFrame, (frame) => {
        expect(normalise(OperationFrame.decode(encodeOperationFrame(frame)))).toStrictEqual(normalise(frame));
      }),
      { numRuns: RUNS },
    );
  });

  it('generated encode -> fast decode gives the input back', () => {
    fc.assert(
      fc.property(operationFrame, (frame) => {
        const decoded = decodeOperationFrame(OperationFrame.encode(frame).finish());
        expect(normalise(decoded)).toStrictEqual(normalise(frame));
      }),
      { numRuns: RUNS },
    );
  });

  it('writes exactly the bytes the generated encoder writes', () => {
    fc.assert(
      fc.property(operationFrame, (frame) => {
        const fast = encodeOperationFrame(frame);
        expect(Buffer.isBuffer(fast)).toBe(true);
        expect(fast.equals(OperationFrame.encode(frame).finish())).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('decodes bytes fields as Buffers that are views of the input (zero-copy)', () => {
    const frame = {
      ops: [op({ key: Buffer.from('key'), keys: [Buffer.from('k2')], value: Buffer.from('v') })],
    };
    const wire = encodeOperationFrame(frame);
    const decoded = decodeOperationFrame(wire).ops[0]!;
    for (const b of [decoded.key, decoded.value, decoded.keys[0]!]) {
      expect(Buffer.isBuffer(b)).toBe(true);
      expect(b.buffer).toBe(wire.buffer);
    }
    wire[wire.indexOf('key')] = 0x4b; // 'K'
    expect(decoded.key.toString()).toBe('Key');
  });

  it('decodes a plain Uint8Array input into Buffers', () => {
    const wire = new Uint8Array(encodeOperationFrame({ ops: [op({ key: Buffer.from('k') })] }));
    const decoded = decodeOperationFrame(wire).ops[0]!;
    expect(Buffer.isBuffer(decoded.key)).toBe(true);
    expect(decoded.key.toString()).toBe('k');
  });

  it('gives absent fields the generated defaults', () => {
    const decoded = decodeOperationFrame(encodeOperationFrame({ ops: [op({})] }));
    expect(normalise(decoded)).toStrictEqual(normalise(OperationFrame.fromPartial({ ops: [{}] })));
    expect(decoded.ops[0]!.expectedVersion).toBeUndefined();
    expect(decodeOperationFrame(Buffer.alloc(0))).toStrictEqual({ ops: [] });
  });

  it('round-trips ttl_ms = -1, safe-integer extremes and unicode cache names', () => {
    const frame = {
      ops: [
        op({ type: OpType.SET, cache: '缓存-🗄️', ttlMs: -1, delta: Number.MIN_SAFE_INTEGER }),
        op({ type: OpType.INCREMENT, ttlMs: Number.MAX_SAFE_INTEGER, delta: -(2 ** 32) }),
        op({ expectedVersion: { physicalMs: Number.MAX_SAFE_INTEGER, logical: 0xffffffff, node: 1 } }),
      ],
    };
    const wire = encodeOperationFrame(frame);
    expect(normalise(decodeOperationFrame(wire))).toStrictEqual(normalise(frame));
    // -1 is a ten-byte varint.
    const minusOne = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(wire.includes(minusOne)).toBe(true);
  });

  it('writes the Redis-door fields (expire_condition, keep_ttl, expires_at_ms) as the generated encoder does', () => {
    const frame = {
      ops: [
        op({ type: OpType.APPEND, key: Buffer.from('k'), value: Buffer.from('tail') }),
        op({ type: OpType.DELETE, key: Buffer.from('k'), returnPrevious: true }),
        op({
          type: OpType.TOUCH,
          expireCondition: ExpireCondition.EXPIRE_IF_LATER,
          expiresAtMs: 1_767_225_600_000,
          returnPrevious: true,
        }),
        op({ type: OpType.TOUCH, ttlMs: -1, expireCondition: ExpireCondition.EXPIRE_IF_SET }),
        op({ type: OpType.SET, keepTtl: true, expiresAtMs: Number.MAX_SAFE_INTEGER }),
        op({ expiresAtMs: -1, expireCondition: -1 }),
      ],
    };
    const wire = encodeOperationFrame(frame);
    expect(wire.equals(OperationFrame.encode(frame).finish())).toBe(true);
    expect(normalise(decodeOperationFrame(wire))).toStrictEqual(normalise(frame));
    expect(normalise(OperationFrame.decode(wire))).toStrictEqual(normalise(frame));
    // Field 16 takes a two-byte tag (0x80 0x01).
    const one = encodeOperationFrame({ ops: [op({ expiresAtMs: 5 })] });
    expect([...one]).toStrictEqual([0x0a, 0x03, 0x80, 0x01, 0x05]);
    expect(encodedOperationSize(op({ expiresAtMs: 5 }))).toBe(one.length);
  });

  it('round-trips large keys and values (multi-byte length prefixes)', () => {
    const big = Buffer.alloc(1 << 20, 0xab);
    const frame = { ops: [op({ key: big.subarray(0, 70_000), value: big, keys: [big.subarray(0, 200)] })] };
    const wire = encodeOperationFrame(frame);
    expect(wire.equals(OperationFrame.encode(frame).finish())).toBe(true);
    const decoded = decodeOperationFrame(wire).ops[0]!;
    expect(decoded.key.equals(frame.ops[0]!.key)).toBe(true);
    expect(decoded.value.equals(big)).toBe(true);
    expect(decoded.keys[0]!.equals(big.subarray(0, 200))).toBe(true);
    const results = { epoch: 1, results: [result({ value: big })], error: 0, errorMessage: '' };
    expect(decodeResultFrame(encodeResultFrame(results)).results[0]!.value.equals(big)).toBe(true);
  });

  it('rejects int64 values beyond the safe integer range with CodecError', () => {
    for (const v of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      for (const tag of [48, 128]) {
        const w = new BinaryWriter();
        w.uint32(10).fork().uint32(tag).int64(v).join();
        expect(() => decodeOperationFrame(w.finish())).toThrow(CodecError);
      }
    }
    const ok = new BinaryWriter();
    ok.uint32(10)
      .fork()
      .uint32(48)
      .int64(2n ** 53n - 1n)
      .uint32(72)
      .int64(-(2n ** 53n) + 1n)
      .join();
    const decoded = decodeOperationFrame(ok.finish()).ops[0]!;
    expect(decoded.ttlMs).toBe(Number.MAX_SAFE_INTEGER);
    expect(decoded.delta).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('refuses to encode values outside their field type', () => {
    const bad: Partial<Operation>[] = [
      { id: -1 },
      { id: 2 ** 32 },
      { id: 1.5 },
      { ttlMs: 2 ** 53 },
      { ttlMs: 0.5 },
      { expiresAtMs: 2 ** 53 },
      { expiresAtMs: 1.5 },
      { expireCondition: 2 ** 31 },
      { delta: Number.NaN },
      { type: 2 ** 31 },
      { expectedVersion: { physicalMs: -1, logical: 0, node: 0 } },
    ];
    for (const fields of bad) {
      expect(() => encodeOperationFrame({ ops: [{ ...op({}), ...fields }] })).toThrow(CodecError);
    }
  });

  it('encodedOperationSize is what an operation adds to a frame', () => {
    fc.assert(
      fc.property(operation, (o) => {
        expect(encodedOperationSize(o)).toBe(encodeOperationFrame({ ops: [o] }).length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('ResultFrame fast codec', () => {
  it('fast encode -> generated decode gives the input back', () => {
    fc.assert(
      fc.property(resultFrame, (frame) => {
        expect(normalise(ResultFrame.decode(encodeResultFrame(frame)))).toStrictEqual(normalise(frame));
      }),
      { numRuns: RUNS },
    );
  });

  it('generated encode -> fast decode gives the input back', () => {
    fc.assert(
      fc.property(resultFrame, (frame) => {
        const decoded = decodeResultFrame(ResultFrame.encode(frame).finish());
        expect(normalise(decoded)).toStrictEqual(normalise(frame));
      }),
      { numRuns: RUNS },
    );
  });

  it('writes exactly the bytes the generated encoder writes', () => {
    fc.assert(
      fc.property(resultFrame, (frame) => {
        expect(encodeResultFrame(frame).equals(ResultFrame.encode(frame).finish())).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('decodes values as zero-copy views and absent sub-messages as undefined', () => {
    const frame = {
      epoch: 7,
      results: [
        result({ id: 1, found: true, value: Buffer.from('hello'), ttlMs: -1 }),
        result({ id: 2, entries: [{ found: true, value: Buffer.from('x'), version: undefined, ttlMs: 0 }] }),
      ],
      error: 0,
      errorMessage: '',
    };
    const wire = encodeResultFrame(frame);
    const decoded = decodeResultFrame(wire);
    expect(normalise(decoded)).toStrictEqual(normalise(frame));
    expect(decoded.results[0]!.value.buffer).toBe(wire.buffer);
    expect(decoded.results[0]!.version).toBeUndefined();
    expect(decoded.results[1]!.entries[0]!.version).toBeUndefined();
    expect(decoded.results[1]!.value).toHaveLength(0);
  });

  it('rejects an epoch beyond the safe integer range', () => {
    const w = new BinaryWriter();
    w.uint32(8).uint64(2n ** 53n);
    expect(() => decodeResultFrame(w.finish())).toThrow(CodecError);
    expect(() => encodeResultFrame({ epoch: -1, results: [], error: 0, errorMessage: '' })).toThrow(
      CodecError,
    );
  });
});

describe('FastCacheService', () => {
  it('uses the fast codec for execute and executeBatch only', () => {
    for (const m of ['execute', 'executeBatch'] as const) {
      expect(FastCacheService[m].path).toBe(CacheService[m].path);
      expect(FastCacheService[m].requestStream).toBe(CacheService[m].requestStream);
      expect(FastCacheService[m].responseStream).toBe(CacheService[m].responseStream);
      expect(FastCacheService[m].requestSerialize).toBe(encodeOperationFrame);
      expect(FastCacheService[m].requestDeserialize).toBe(decodeOperationFrame);
      expect(FastCacheService[m].responseSerialize).toBe(encodeResultFrame);
      expect(FastCacheService[m].responseDeserialize).toBe(decodeResultFrame);
    }
    expect(FastCacheService.handshake).toBe(CacheService.handshake);
    expect(FastCacheService.ping).toBe(CacheService.ping);
    expect(FastCacheService.watchTopology).toBe(CacheService.watchTopology);
  });
});
