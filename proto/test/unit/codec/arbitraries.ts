// fast-check arbitraries for the data-plane frames, and a normaliser for
// comparing decoded frames regardless of Buffer/Uint8Array differences.
import fc from 'fast-check';
import type {
  Entry,
  KeyValue,
  Operation,
  OperationFrame,
  Result,
  ResultFrame,
  Version,
} from '../../../src/gen/meshcache/v1/cache.js';

const MAX = Number.MAX_SAFE_INTEGER;

export const uint32 = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 0x3fff, 0x4000, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** Enum values: known ones, UNRECOGNIZED (-1), and any int32. */
export const enumValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 17 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, -(2 ** 31), 2 ** 31 - 1) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
);

export const int64 = fc.oneof(
  fc.constantFrom(0, -1, 1, MAX, -MAX, 2 ** 31, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, 2 ** 52, -(2 ** 31) - 1),
  fc.integer({ min: -1000, max: 100000 }),
  fc.maxSafeInteger(),
);

export const uint64 = fc.oneof(
  fc.constantFrom(0, 1, MAX, 2 ** 32, 2 ** 32 - 1, 2 ** 35, 2 ** 49 - 1, 2 ** 49),
  fc.integer({ min: 0, max: 100000 }),
  fc.maxSafeNat(),
);

export const bytes = fc
  .oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 1000 }) },
  )
  .map((a) => Buffer.from(a));

/** Strings without lone surrogates (those are not representable in UTF-8). */
export const text = fc.oneof(
  fc.constantFrom('', 'default', 'sessions', 'кеш', '缓存', '🗄️cache', 'a'.repeat(200)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

export const version: fc.Arbitrary<Version> = fc.record({
  physicalMs: uint64,
  logical: uint32,
  node: uint32,
});
export const optionalVersion = fc.option(version, { nil: undefined });

export const keyValue: fc.Arbitrary<KeyValue> = fc.record({ key: bytes, value: bytes, ttlMs: int64 });

export const operation: fc.Arbitrary<Operation> = fc.record({
  id: uint32,
  type: enumValue,
  cache: text,
  key: bytes,
  value: bytes,
  ttlMs: int64,
  condition: enumValue,
  expectedVersion: optionalVersion,
  delta: int64,
  keys: fc.array(bytes, { maxLength: 4 }),
  entries: fc.array(keyValue, { maxLength: 4 }),
  consistency: enumValue,
  returnPrevious: fc.boolean(),
  expireCondition: enumValue,
  keepTtl: fc.boolean(),
  expiresAtMs: int64,
});

export const operationFrame: fc.Arbitrary<OperationFrame> = fc.record({
  ops: fc.array(operation, { maxLength: 12 }),
});

/** Frames of a few operations, for tests that run many cases. */
export const smallOperationFrame: fc.Arbitrary<OperationFrame> = fc.record({
  ops: fc.array(operation, { maxLength: 3 }),
});

export const entry: fc.Arbitrary<Entry> = fc.record({
  found: fc.boolean(),
  value: bytes,
  version: optionalVersion,
  ttlMs: int64,
});

export const result: fc.Arbitrary<Result> = fc.record({
  id: uint32,
  code: enumValue,
  message: text,
  found: fc.boolean(),
  value: bytes,
  version: optionalVersion,
  ttlMs: int64,
  applied: fc.boolean(),
  number: int64,
  entries: fc.array(entry, { maxLength: 4 }),
});

export const resultFrame: fc.Arbitrary<ResultFrame> = fc.record({
  epoch: uint64,
  results: fc.array(result, { maxLength: 12 }),
  error: enumValue,
  errorMessage: text,
});

/** Frames of a few results, for tests that run many cases. */
export const smallResultFrame: fc.Arbitrary<ResultFrame> = fc.record({
  epoch: uint64,
  results: fc.array(result, { maxLength: 3 }),
  error: enumValue,
  errorMessage: text,
});

/** Replaces byte arrays (Buffer or Uint8Array) with hex strings, recursively. */
export function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}
