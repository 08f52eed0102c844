import { performance } from 'node:perf_hooks';
import {
  DEFAULT_CACHE_NAME,
  type Entry as EntryResult,
  ErrorCode,
  type Operation,
  OpType,
  type Result,
  SetCondition,
  type Version,
} from '@meshcache/proto';
import {
  type CacheStore,
  type Entry,
  hlcLogical,
  hlcPhysicalMs,
  makeHlc,
  StoreError,
} from '../store/index.js';
import type { CacheRegistry } from './CacheRegistry.js';
import type { OperationStats } from './OperationStats.js';

const EMPTY = Buffer.alloc(0);
/** Largest and smallest values INCREMENT keeps exact (JavaScript numbers are doubles). */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;

/** Raised inside an operation to end it with a stable code. */
class OperationError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function emptyResult(id: number): Result {
  return {
    id,
    code: ErrorCode.OK,
    message: '',
    found: false,
    value: EMPTY,
    version: undefined,
    ttlMs: 0,
    applied: false,
    number: 0,
    entries: [],
  };
}

function versionOf(entry: Entry): Version {
  return { physicalMs: hlcPhysicalMs(entry.hlc), logical: hlcLogical(entry.hlc), node: entry.node };
}

function valueOf(entry: Entry): Buffer {
  return Buffer.from(entry.value, 'latin1');
}

/**
 * Runs data-plane operations against the local caches. The gRPC service and the
 * Redis front door both come through here, so versions, TTLs, limits and
 * metrics are the same whichever door a request used.
 */
export class OperationExecutor {
  constructor(
    private readonly caches: CacheRegistry,
    private readonly stats: OperationStats,
    private readonly maxKeyBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  execute(op: Operation): Result {
    const started = performance.now();
    const result = emptyResult(op.id);
    const cacheName = op.cache === '' ? DEFAULT_CACHE_NAME : op.cache;
    const cacheIndex = this.caches.indexOf(cacheName);
    try {
      const store = this.caches.get(cacheName);
      if (store === undefined) {
        throw new OperationError(
          ErrorCode.UNKNOWN_CACHE,
          `unknown cache '${cacheName}'; this node serves: ${this.caches.names.join(', ')}`,
        );
      }
      this.run(store, op, result);
    } catch (err) {
      this.fail(result, err);
    }
    this.stats.record(cacheIndex, op.type, result.code, (performance.now() - started) / 1000);
    return result;
  }

  executeAll(ops: readonly Operation[]): Result[] {
    const results = new Array<Result>(ops.length);
    for (let i = 0; i < ops.length; i++) results[i] = this.execute(ops[i]!);
    return results;
  }

  private fail(result: Result, err: unknown): void {
    if (err instanceof OperationError) {
      result.code = err.code;
      result.message = err.message;
    } else if (err instanceof StoreError) {
      result.code = ErrorCode[err.code];
      result.message = err.message;
    } else {
      result.code = ErrorCode.INTERNAL;
      result.message = `internal error: ${(err as Error)?.message ?? String(err)}`;
    }
  }

  private key(bytes: Buffer, field = 'key'): string {
    if (bytes.length > this.maxKeyBytes) {
      throw new OperationError(
        ErrorCode.KEY_TOO_LARGE,
        `${field} is ${bytes.length} bytes; the limit is ${this.maxKeyBytes} (maxKeyBytes)`,
      );
    }
    return bytes.toString('latin1');
  }

  private run(store: CacheStore, op: Operation, result: Result): void {
    switch (op.type) {
      case OpType.GET:
        return this.get(store, op, result);
      case OpType.SET:
        return this.set(store, op, result);
      case OpType.DELETE:
        result.found = store.delete(this.key(op.key));
        return;
      case OpType.COMPARE_AND_SET:
        return this.compareAndSet(store, op, result);
      case OpType.TOUCH:
        return this.touch(store, op, result);
      case OpType.INCREMENT:
        return this.increment(store, op, result);
      case OpType.GET_MANY:
        return this.getMany(store, op, result);
      case OpType.SET_MANY:
        return this.setMany(store, op, result);
      default:
        throw new OperationError(ErrorCode.INVALID_ARGUMENT, `unknown operation type ${op.type as number}`);
    }
  }

  private remainingTtl(entry: Entry): number {
    return entry.expiresAt === 0 ? -1 : Math.max(0, entry.expiresAt - this.now());
  }

  private get(store: CacheStore, op: Operation, result: Result): void {
    const entry = store.get(this.key(op.key));
    if (entry === undefined) return;
    result.found = true;
    result.value = valueOf(entry);
    result.version = versionOf(entry);
    result.ttlMs = this.remainingTtl(entry);
  }

  private set(store: CacheStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const expiresAt = store.expiresAtFor(op.ttlMs);
    const current = op.condition === SetCondition.ALWAYS && !op.returnPrevious ? undefined : store.peek(key);
    if (op.returnPrevious && current !== undefined) {
      result.found = true;
      result.value = valueOf(current);
    }
    if (op.condition === SetCondition.IF_ABSENT && current !== undefined) return;
    if (op.condition === SetCondition.IF_PRESENT && current === undefined) return;
    const entry = store.set(key, op.value.toString('latin1'), expiresAt);
    result.applied = true;
    result.version = versionOf(entry);
  }

  private compareAndSet(store: CacheStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const expected = op.expectedVersion;
    if (expected === undefined) {
      throw new OperationError(ErrorCode.INVALID_ARGUMENT, 'COMPARE_AND_SET needs expected_version');
    }
    const expiresAt = store.expiresAtFor(op.ttlMs);
    const current = store.peek(key);
    if (current === undefined) return;
    result.found = true;
    if (current.hlc !== makeHlc(expected.physicalMs, expected.logical) || current.node !== expected.node) {
      result.version = versionOf(current);
      return;
    }
    const entry = store.set(key, op.value.toString('latin1'), expiresAt);
    result.applied = true;
    result.version = versionOf(entry);
  }

  private touch(store: CacheStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const expiresAt = store.expiresAtFor(op.ttlMs);
    result.found = store.setExpiry(key, expiresAt);
  }

  private increment(store: CacheStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const current = store.peek(key);
    let base = 0;
    if (current !== undefined) {
      if (current.value.length > 20 || !INTEGER_TEXT.test(current.value)) {
        throw new OperationError(ErrorCode.NOT_AN_INTEGER, 'value is not an integer or out of range');
      }
      base = Number(current.value);
      if (!Number.isSafeInteger(base)) {
        throw new OperationError(ErrorCode.NOT_AN_INTEGER, 'value is not an integer or out of range');
      }
    }
    const next = base + op.delta;
    if (!Number.isSafeInteger(next) || Math.abs(next) > MAX_COUNTER) {
      throw new OperationError(
        ErrorCode.OVERFLOW,
        `increment or decrement would overflow (limit ±${MAX_COUNTER})`,
      );
    }
    // INCR keeps an existing entry's expiry, as Redis does; a new counter takes the requested TTL.
    const expiresAt = current !== undefined ? current.expiresAt : store.expiresAtFor(op.ttlMs);
    const entry = store.set(key, String(next), expiresAt);
    result.found = current !== undefined;
    result.applied = true;
    result.number = next;
    result.version = versionOf(entry);
  }

  private getMany(store: CacheStore, op: Operation, result: Result): void {
    const keys = op.keys.map((k, i) => this.key(k, `keys[${i}]`));
    const entries: EntryResult[] = new Array<EntryResult>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const entry = store.get(keys[i]!);
      entries[i] =
        entry === undefined
          ? { found: false, value: EMPTY, version: undefined, ttlMs: 0 }
          : {
              found: true,
              value: valueOf(entry),
              version: versionOf(entry),
              ttlMs: this.remainingTtl(entry),
            };
    }
    result.entries = entries;
    result.found = entries.some((e) => e.found);
  }

  private setMany(store: CacheStore, op: Operation, result: Result): void {
    // Check everything first, so a bad entry writes nothing.
    const prepared = op.entries.map((kv, i) => {
      const key = this.key(kv.key, `entries[${i}].key`);
      const limit = store.options.maxValueBytes;
      if (kv.value.length > limit) {
        throw new OperationError(
          ErrorCode.VALUE_TOO_LARGE,
          `entries[${i}].value is ${kv.value.length} bytes; cache '${store.options.name}' allows at most ${limit} (maxValueBytes)`,
        );
      }
      return { key, value: kv.value.toString('latin1'), expiresAt: store.expiresAtFor(kv.ttlMs) };
    });
    for (const p of prepared) store.set(p.key, p.value, p.expiresAt);
    result.applied = true;
    result.number = prepared.length;
  }
}
