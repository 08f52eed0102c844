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
import { type CacheStore, type Entry, hlcLogical, hlcPhysicalMs, makeHlc } from '../store/index.js';
import type { CacheRegistry } from './CacheRegistry.js';
import { errorCodeOf, errorMessageOf, OperationError } from './OperationError.js';
import type { OperationStats } from './OperationStats.js';

const EMPTY = Buffer.alloc(0);
/** Largest and smallest values INCREMENT keeps exact (JavaScript numbers are doubles). */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;

/** `expiresAt` for setEntry: keep the current entry's expiry (a new entry gets the cache default). */
export const KEEP_TTL = -1;
/** `expiresAt` for setEntry: the cache's default TTL (like ttl 0 on the wire). */
export const DEFAULT_EXPIRY = -2;

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
 *
 * Two kinds of entry point share one set of private cores:
 * - `execute(op)` takes a wire Operation and returns a wire Result (gRPC);
 * - the primitive methods (`getEntry`, `setEntry`, ... ) take a cache index and
 *   latin1 strings and return store entries or numbers, allocating nothing of
 *   their own; they throw OperationError or StoreError (see errorCodeOf).
 * Each call of either kind records one operation in OperationStats.
 */
export class OperationExecutor {
  /** The entry a setEntry/takeEntry call replaced or removed; valid until the next call. */
  previous: Entry | undefined = undefined;
  private readonly stores: readonly CacheStore[];
  /** The number the last increment produced. */
  private lastNumber = 0;

  constructor(
    private readonly caches: CacheRegistry,
    private readonly stats: OperationStats,
    private readonly maxKeyBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.stores = caches.stores;
  }

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
      result.code = errorCodeOf(err);
      result.message = errorMessageOf(err);
    }
    this.stats.record(cacheIndex, op.type, result.code, (performance.now() - started) / 1000);
    return result;
  }

  executeAll(ops: readonly Operation[]): Result[] {
    const results = new Array<Result>(ops.length);
    for (let i = 0; i < ops.length; i++) results[i] = this.execute(ops[i]!);
    return results;
  }

  // ---------------------------------------------------------------------------
  // Primitive entry points (Redis front door; later any allocation-light caller).
  // `cache` is an index into CacheRegistry.stores; keys and values are latin1.

  /** The store at a cache index (for reads that are not operations: TTL, TYPE, DBSIZE ...). */
  storeAt(cache: number): CacheStore {
    return this.stores[cache]!;
  }

  /** Throws KEY_TOO_LARGE when a key is over maxKeyBytes; returns the key. */
  checkKey(key: string, field = 'key'): string {
    if (key.length > this.maxKeyBytes) {
      throw new OperationError(
        ErrorCode.KEY_TOO_LARGE,
        `${field} is ${key.length} bytes; the limit is ${this.maxKeyBytes} (maxKeyBytes)`,
      );
    }
    return key;
  }

  /** The live entry without counting a hit or a miss; not an operation (EXISTS, TTL, TYPE, STRLEN). */
  peekEntry(cache: number, key: string): Entry | undefined {
    return this.stores[cache]!.peek(this.checkKey(key));
  }

  /** GET: the live entry, counting a hit or a miss. */
  getEntry(cache: number, key: string): Entry | undefined {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      return this.stores[cache]!.get(this.checkKey(key));
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.GET, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * SET: writes a value with an absolute expiry (epoch ms, 0 = never, KEEP_TTL, DEFAULT_EXPIRY)
   * under a condition. Returns the entry written, or undefined when the
   * condition stopped the write. With `wantPrevious`, `previous` holds the
   * live entry that was there before.
   */
  setEntry(
    cache: number,
    key: string,
    value: string,
    expiresAt: number,
    condition: SetCondition = SetCondition.ALWAYS,
    wantPrevious = false,
  ): Entry | undefined {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      return this.write(this.stores[cache]!, this.checkKey(key), value, expiresAt, condition, wantPrevious);
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.SET, code, (performance.now() - started) / 1000);
    }
  }

  /** DELETE: true when a live entry was removed. */
  deleteEntry(cache: number, key: string): boolean {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      return this.stores[cache]!.delete(this.checkKey(key));
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.DELETE, code, (performance.now() - started) / 1000);
    }
  }

  /** DELETE returning what was removed (GETDEL): the live entry, or undefined. */
  takeEntry(cache: number, key: string): Entry | undefined {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      const store = this.stores[cache]!;
      const k = this.checkKey(key);
      const current = store.peek(k);
      if (current !== undefined) store.delete(k);
      return current;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.DELETE, code, (performance.now() - started) / 1000);
    }
  }

  /** TOUCH: sets a live entry's expiry (epoch ms, 0 = never); false when the key is absent. */
  expireEntry(cache: number, key: string, expiresAt: number): boolean {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      return this.stores[cache]!.setExpiry(this.checkKey(key), expiresAt);
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.TOUCH, code, (performance.now() - started) / 1000);
    }
  }

  /** INCREMENT: adds delta to a decimal integer value (absent = 0) and returns the new value. */
  incrementEntry(cache: number, key: string, delta: number, ttlMs = 0): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      this.add(this.stores[cache]!, this.checkKey(key), delta, ttlMs);
      return this.lastNumber;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.INCREMENT, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * GET_MANY: looks up keys[from], keys[from+1] ... keys[to-1] into out[0..]
   * (undefined where absent); returns how many were found. Every key is checked
   * before any is read.
   */
  getEntries(
    cache: number,
    keys: readonly string[],
    from: number,
    to: number,
    out: (Entry | undefined)[],
  ): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      for (let i = from; i < to; i++) this.checkKey(keys[i]!, `keys[${i - from}]`);
      const store = this.stores[cache]!;
      let found = 0;
      for (let i = from; i < to; i++) {
        const e = store.get(keys[i]!);
        out[i - from] = e;
        if (e !== undefined) found++;
      }
      return found;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.GET_MANY, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * SET_MANY: writes the pairs kv[from], kv[from+1] ... up to kv[to-1] with the
   * cache's default TTL. All-or-nothing on limits: a bad key or value writes
   * nothing. Returns the number of pairs written.
   */
  setEntries(cache: number, kv: readonly string[], from: number, to: number): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      const store = this.stores[cache]!;
      const limit = store.options.maxValueBytes;
      for (let i = from, n = 0; i + 1 < to; i += 2, n++) {
        this.checkKey(kv[i]!, `entries[${n}].key`);
        const length = kv[i + 1]!.length;
        if (length > limit) throw this.valueTooLarge(store, `entries[${n}].value`, length);
      }
      const expiresAt = store.expiresAtFor(0);
      let written = 0;
      for (let i = from; i + 1 < to; i += 2, written++) store.set(kv[i]!, kv[i + 1]!, expiresAt);
      return written;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.SET_MANY, code, (performance.now() - started) / 1000);
    }
  }

  /** SET that appends to the current value (absent = empty), keeping its expiry; returns the new length. */
  appendValue(cache: number, key: string, suffix: string): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      const store = this.stores[cache]!;
      const k = this.checkKey(key);
      const current = store.peek(k);
      const value = current === undefined ? suffix : current.value + suffix;
      if (value.length > store.options.maxValueBytes) throw this.valueTooLarge(store, 'value', value.length);
      store.set(k, value, current === undefined ? store.expiresAtFor(0) : current.expiresAt);
      return value.length;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.SET, code, (performance.now() - started) / 1000);
    }
  }

  // ---------------------------------------------------------------------------
  // Cores shared by both kinds of entry point.

  private valueTooLarge(store: CacheStore, field: string, length: number): OperationError {
    const limit = store.options.maxValueBytes;
    return new OperationError(
      ErrorCode.VALUE_TOO_LARGE,
      `${field} is ${length} bytes; cache '${store.options.name}' allows at most ${limit} (maxValueBytes)`,
    );
  }

  private write(
    store: CacheStore,
    key: string,
    value: string,
    expiresAt: number,
    condition: SetCondition,
    wantPrevious: boolean,
  ): Entry | undefined {
    const needCurrent = condition !== SetCondition.ALWAYS || wantPrevious || expiresAt === KEEP_TTL;
    const current = needCurrent ? store.peek(key) : undefined;
    this.previous = wantPrevious ? current : undefined;
    if (condition === SetCondition.IF_ABSENT && current !== undefined) return undefined;
    if (condition === SetCondition.IF_PRESENT && current === undefined) return undefined;
    if (expiresAt < 0) {
      expiresAt = expiresAt === KEEP_TTL && current !== undefined ? current.expiresAt : store.expiresAtFor(0);
    }
    return store.set(key, value, expiresAt);
  }

  /** Adds delta; the new value is in lastNumber. Returns the entry written. */
  private add(store: CacheStore, key: string, delta: number, ttlMs: number): Entry {
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
    const next = base + delta;
    if (!Number.isSafeInteger(next) || Math.abs(next) > MAX_COUNTER) {
      throw new OperationError(
        ErrorCode.OVERFLOW,
        `increment or decrement would overflow (limit ±${MAX_COUNTER})`,
      );
    }
    // INCR keeps an existing entry's expiry, as Redis does; a new counter takes the requested TTL.
    const expiresAt = current !== undefined ? current.expiresAt : store.expiresAtFor(ttlMs);
    const entry = store.set(key, String(next), expiresAt);
    this.previous = current;
    this.lastNumber = next;
    return entry;
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
    const entry = this.write(
      store,
      key,
      op.value.toString('latin1'),
      expiresAt,
      op.condition,
      op.returnPrevious,
    );
    const previous = this.previous;
    this.previous = undefined;
    if (op.returnPrevious && previous !== undefined) {
      result.found = true;
      result.value = valueOf(previous);
    }
    if (entry === undefined) return;
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
    const entry = this.add(store, this.key(op.key), op.delta, op.ttlMs);
    result.found = this.previous !== undefined;
    this.previous = undefined;
    result.applied = true;
    result.number = this.lastNumber;
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
      if (kv.value.length > store.options.maxValueBytes) {
        throw this.valueTooLarge(store, `entries[${i}].value`, kv.value.length);
      }
      return { key, value: kv.value.toString('latin1'), expiresAt: store.expiresAtFor(kv.ttlMs) };
    });
    for (const p of prepared) store.set(p.key, p.value, p.expiresAt);
    result.applied = true;
    result.number = prepared.length;
  }
}
