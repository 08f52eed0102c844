import { performance } from 'node:perf_hooks';
import {
  DEFAULT_CACHE_NAME,
  type Entry as EntryResult,
  ErrorCode,
  ExpireCondition,
  type Operation,
  OpType,
  type Result,
  SetCondition,
  type Version,
} from '@meshcache/proto';
import { type ArenaStore, hlcLogical, hlcPhysicalMs, makeHlc, MAX_TTL_MS } from '../store/index.js';
import type { CacheRegistry } from './CacheRegistry.js';
import { errorCodeOf, errorMessageOf, OperationError } from './OperationError.js';
import type { OperationStats } from './OperationStats.js';
import { writeLatin1 } from '../store/writeLatin1.js';

const EMPTY = Buffer.alloc(0);
/** Largest and smallest values INCREMENT keeps exact (JavaScript numbers are doubles). */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;
/** Longest value INCREMENT can parse: 20 chars, `-` and 19 digits (longer is never a safe integer). */
const MAX_INTEGER_TEXT = 20;
/** Initial size of each scratch buffer; they grow (doubling) to the largest key or value seen. */
const SCRATCH_BYTES = 256;

/** `expiresAt` for setEntry: keep the current entry's expiry (a new entry gets the cache default). */
export const KEEP_TTL = -1;
/** `expiresAt` for setEntry: the cache's default TTL (like ttl 0 on the wire). */
export const DEFAULT_EXPIRY = -2;
/** prepareWriteAt's answer when the condition stops the write (expiry times are never negative). */
const NO_WRITE = -3;

/**
 * Receives GET_MANY results one key at a time, so each value can be read
 * while its handle is valid: under LRU the next get may move or evict it.
 */
export interface EntrySink {
  /** Every key passed its checks; `count` calls of entry() follow. */
  begin(count: number): void;
  /** The next key's item: a handle into `store`, or -1 for a miss; valid only during this call. */
  entry(store: ArenaStore, h: number): void;
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

function versionOf(store: ArenaStore, h: number): Version {
  const hlc = store.hlcOf(h);
  return { physicalMs: hlcPhysicalMs(hlc), logical: hlcLogical(hlc), node: store.nodeOf(h) };
}

/** A scratch buffer of at least n bytes: `buf` itself when it is large enough. */
function atLeast(buf: Buffer, n: number): Buffer {
  if (n <= buf.length) return buf;
  let size = buf.length * 2;
  while (size < n) size *= 2;
  return Buffer.allocUnsafeSlow(size);
}

/**
 * Runs data-plane operations against the local caches. The gRPC service and the
 * Redis front door both come through here, so versions, TTLs, limits and
 * metrics are the same whichever door a request used.
 *
 * Two kinds of entry point share one set of private cores:
 * - `execute(op)` takes a wire Operation and returns a wire Result (gRPC);
 *   keys and values go to the store as the Buffers the request decoded into;
 * - the primitive methods (`getEntry`, `setEntry`, ... ) take a cache index and
 *   latin1 strings (the RESP parser's argv) and return store handles, numbers
 *   or booleans; getEntryAt and setEntryAt take the key (and value) as byte
 *   ranges instead (the parser's raw arguments), so no string is made. Keys and values are written into per-executor scratch
 *   buffers, so the hot paths allocate nothing of their own; they throw
 *   OperationError or StoreError (see errorCodeOf).
 * Each call of either kind records one operation in OperationStats.
 *
 * A handle is valid only until the next mutation of its store (see
 * ArenaStore): callers read what they need from it before calling again.
 */
export class OperationExecutor {
  /**
   * Value bytes kept past the call that read them: the value a
   * setEntry(wantPrevious) replaced, or what saveValue copied. savedLength
   * bytes of them; -1 = none. Valid until the next call (the buffer may be
   * replaced when it grows, so read the field after the call).
   */
  savedValue: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  savedLength = -1;
  private readonly stores: readonly ArenaStore[];
  /** The current primitive call's key and value bytes. */
  private keyBuf: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private valueBuf: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  /** The number the last increment produced, and whether its key existed. */
  private lastNumber = 0;
  private lastFound = false;
  /** SET_MANY's expiry per entry, computed before anything is written. */
  private readonly expiries: number[] = [];

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

  /** The store at a cache index (to read handles, and for DBSIZE and the like). */
  storeAt(cache: number): ArenaStore {
    return this.stores[cache]!;
  }

  /** Throws KEY_TOO_LARGE when a key is over maxKeyBytes; returns the key. */
  checkKey(key: string, field = 'key'): string {
    if (key.length > this.maxKeyBytes) throw this.keyTooLarge(field, key.length);
    return key;
  }

  /** The live entry's handle (-1 = none) without counting a hit or a miss; not an operation (EXISTS, TTL, TYPE, STRLEN). */
  peekEntry(cache: number, key: string): number {
    const n = this.keyIn(key);
    return this.stores[cache]!.peekAt(this.keyBuf, 0, n);
  }

  /** GET: the live entry's handle (-1 = none), counting a hit or a miss. */
  getEntry(cache: number, key: string): number {
    return this.getEntryAt(cache, this.keyBytes(key), 0, key.length);
  }

  /**
   * getEntry for a key given as bytes: buf[start, start + length), e.g. a
   * range of the RESP parser's input. Same checks, errors and metrics; the
   * bytes are only read during the call.
   */
  getEntryAt(cache: number, buf: Uint8Array, start: number, length: number): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      if (length > this.maxKeyBytes) throw this.keyTooLarge('key', length);
      return this.stores[cache]!.getAt(buf, start, length);
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.GET, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * SET: writes a value with an absolute expiry (epoch ms, 0 = never, KEEP_TTL, DEFAULT_EXPIRY)
   * under a condition. Returns the handle of the entry written, or -1 when
   * the condition stopped the write. With `wantPrevious`, savedValue holds
   * the live value that was there before (savedLength -1: none).
   */
  setEntry(
    cache: number,
    key: string,
    value: string,
    expiresAt: number,
    condition: SetCondition = SetCondition.ALWAYS,
    wantPrevious = false,
  ): number {
    const keyBuf = this.keyBytes(key);
    return this.write(
      cache,
      keyBuf,
      0,
      key.length,
      value,
      EMPTY,
      0,
      value.length,
      expiresAt,
      condition,
      wantPrevious,
    );
  }

  /**
   * setEntry for a key and a value given as bytes: keyBuf[keyStart, keyStart
   * + keyLength) and valueBuf[valueStart, valueStart + valueLength) (they may
   * be ranges of one buffer, e.g. the RESP parser's input). Same checks,
   * errors, metrics and result; the bytes are only read during the call.
   */
  setEntryAt(
    cache: number,
    keyBuf: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueBuf: Uint8Array,
    valueStart: number,
    valueLength: number,
    expiresAt: number,
    condition: SetCondition = SetCondition.ALWAYS,
    wantPrevious = false,
  ): number {
    return this.write(
      cache,
      keyBuf,
      keyStart,
      keyLength,
      undefined,
      valueBuf,
      valueStart,
      valueLength,
      expiresAt,
      condition,
      wantPrevious,
    );
  }

  /** setEntry and setEntryAt: the value is `valueText` (latin1) when given, else the bytes of valueBuf. */
  private write(
    cache: number,
    keyBuf: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueText: string | undefined,
    valueBuf: Uint8Array,
    valueStart: number,
    valueLength: number,
    expiresAt: number,
    condition: SetCondition,
    wantPrevious: boolean,
  ): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      const store = this.stores[cache]!;
      if (keyLength > this.maxKeyBytes) throw this.keyTooLarge('key', keyLength);
      const at = this.prepareWriteAt(store, keyBuf, keyStart, keyLength, expiresAt, condition, wantPrevious);
      if (at === NO_WRITE) return -1;
      if (valueLength > store.options.maxValueBytes) throw this.valueTooLarge(store, 'value', valueLength);
      return valueText !== undefined
        ? store.setLatin1At(keyBuf, keyStart, keyLength, valueText, at)
        : store.setAt(keyBuf, keyStart, keyLength, valueBuf, valueStart, valueLength, at);
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
      const n = this.keyIn(key);
      return this.stores[cache]!.deleteAt(this.keyBuf, 0, n);
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.DELETE, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * DELETE returning what was removed (GETDEL): the removed entry's handle, or
   * -1. Deletes leave the bytes in place, so it reads the value until the
   * store's next write.
   */
  takeEntry(cache: number, key: string): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      const store = this.stores[cache]!;
      const n = this.keyIn(key);
      const current = store.peekAt(this.keyBuf, 0, n);
      if (current >= 0) store.deleteAt(this.keyBuf, 0, n);
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
      const n = this.keyIn(key);
      // setExpiry has no range form; a view is fine off the GET/SET path.
      return this.stores[cache]!.setExpiry(this.keyBuf.subarray(0, n), expiresAt);
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
      const n = this.keyIn(key);
      this.add(this.stores[cache]!, this.keyBuf, n, delta, ttlMs);
      return this.lastNumber;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.INCREMENT, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * GET_MANY: looks up keys[from], keys[from+1] ... keys[to-1], handing each
   * result to `sink` before the next lookup; returns how many were found.
   * Every key is checked before any is read (and before sink.begin).
   */
  getEntries(cache: number, keys: readonly string[], from: number, to: number, sink: EntrySink): number {
    const started = performance.now();
    let code = ErrorCode.OK;
    try {
      for (let i = from; i < to; i++) {
        const length = keys[i]!.length;
        if (length > this.maxKeyBytes) throw this.keyTooLarge(`keys[${i - from}]`, length);
      }
      const store = this.stores[cache]!;
      sink.begin(to - from);
      let found = 0;
      for (let i = from; i < to; i++) {
        const n = this.keyIn(keys[i]!);
        const h = store.getAt(this.keyBuf, 0, n);
        if (h >= 0) found++;
        sink.entry(store, h);
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
        const keyLength = kv[i]!.length;
        if (keyLength > this.maxKeyBytes) throw this.keyTooLarge(`entries[${n}].key`, keyLength);
        const length = kv[i + 1]!.length;
        if (length > limit) throw this.valueTooLarge(store, `entries[${n}].value`, length);
      }
      const expiresAt = store.expiresAtFor(0);
      let written = 0;
      for (let i = from; i + 1 < to; i += 2, written++) {
        store.setLatin1At(this.keyBuf, 0, this.keyIn(kv[i]!), kv[i + 1]!, expiresAt);
      }
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
      const n = this.keyIn(key);
      const current = store.peekAt(this.keyBuf, 0, n);
      const head = current < 0 ? 0 : store.valueLength(current);
      const length = head + suffix.length;
      if (length > store.options.maxValueBytes) throw this.valueTooLarge(store, 'value', length);
      // Built in scratch, then written: the write may reclaim the current value's segment.
      const value = (this.valueBuf = atLeast(this.valueBuf, length));
      if (current >= 0) store.copyValue(current, value, 0);
      writeLatin1(value, suffix, head);
      const expiresAt = current < 0 ? store.expiresAtFor(0) : store.expiresAtOf(current);
      store.setAt(this.keyBuf, 0, n, value, 0, length, expiresAt);
      return length;
    } catch (err) {
      code = errorCodeOf(err);
      throw err;
    } finally {
      this.stats.record(cache, OpType.SET, code, (performance.now() - started) / 1000);
    }
  }

  /**
   * Copies a handle's value into savedValue (savedLength bytes), so it can be
   * used after the store changes (GETEX replies with the value it then expires).
   * Not an operation.
   */
  saveValue(cache: number, h: number): void {
    this.save(this.stores[cache]!, h);
  }

  // ---------------------------------------------------------------------------
  // Cores shared by both kinds of entry point.

  private keyTooLarge(field: string, length: number): OperationError {
    return new OperationError(
      ErrorCode.KEY_TOO_LARGE,
      `${field} is ${length} bytes; the limit is ${this.maxKeyBytes} (maxKeyBytes)`,
    );
  }

  private valueTooLarge(store: ArenaStore, field: string, length: number): OperationError {
    const limit = store.options.maxValueBytes;
    return new OperationError(
      ErrorCode.VALUE_TOO_LARGE,
      `${field} is ${length} bytes; cache '${store.options.name}' allows at most ${limit} (maxValueBytes)`,
    );
  }

  /** Checks a latin1 key and writes it into keyBuf; returns its length. */
  /**
   * The key's bytes in keyBuf, for the *At entry points, which check the
   * length first: a key over maxKeyBytes is not written (it is rejected by
   * its length before anything reads it).
   */
  private keyBytes(key: string): Uint8Array {
    if (key.length <= this.maxKeyBytes) this.keyIn(key);
    return this.keyBuf;
  }

  private keyIn(key: string): number {
    const n = key.length;
    if (n > this.maxKeyBytes) throw this.keyTooLarge('key', n);
    if (n > this.keyBuf.length) this.keyBuf = atLeast(this.keyBuf, n);
    return writeLatin1(this.keyBuf, key, 0);
  }

  private save(store: ArenaStore, h: number): void {
    const length = store.valueLength(h);
    this.savedValue = atLeast(this.savedValue, length);
    store.copyValue(h, this.savedValue, 0);
    this.savedLength = length;
  }

  /**
   * The checks before a SET writes: the condition against the current entry
   * (copying its value to savedValue when asked) and the expiry to write,
   * resolving KEEP_TTL and DEFAULT_EXPIRY. NO_WRITE when the condition fails.
   * The key is `length` bytes of `key` from `start`.
   */
  private prepareWriteAt(
    store: ArenaStore,
    key: Uint8Array,
    start: number,
    length: number,
    expiresAt: number,
    condition: SetCondition,
    wantPrevious: boolean,
  ): number {
    this.savedLength = -1;
    if (condition === SetCondition.ALWAYS && !wantPrevious && expiresAt !== KEEP_TTL) {
      return expiresAt < 0 ? store.expiresAtFor(0) : expiresAt;
    }
    const current = store.peekAt(key, start, length);
    if (wantPrevious && current >= 0) this.save(store, current);
    if (condition === SetCondition.IF_ABSENT && current >= 0) return NO_WRITE;
    if (condition === SetCondition.IF_PRESENT && current < 0) return NO_WRITE;
    if (expiresAt < 0) {
      return expiresAt === KEEP_TTL && current >= 0 ? store.expiresAtOf(current) : store.expiresAtFor(0);
    }
    return expiresAt;
  }

  /**
   * Adds delta to the key (`length` bytes of `key` from 0); the new value is
   * in lastNumber and whether the key existed in lastFound. Returns the
   * handle of the entry written.
   */
  private add(store: ArenaStore, key: Uint8Array, length: number, delta: number, ttlMs: number): number {
    const current = store.peekAt(key, 0, length);
    let base = 0;
    if (current >= 0) {
      const text = store.valueLength(current) > MAX_INTEGER_TEXT ? '' : store.valueLatin1(current);
      if (!INTEGER_TEXT.test(text)) {
        throw new OperationError(ErrorCode.NOT_AN_INTEGER, 'value is not an integer or out of range');
      }
      base = Number(text);
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
    const expiresAt = current >= 0 ? store.expiresAtOf(current) : store.expiresAtFor(ttlMs);
    const digits = writeLatin1(this.valueBuf, String(next), 0); // at most 17 chars: fits any scratch
    const h = store.setAt(key, 0, length, this.valueBuf, 0, digits, expiresAt);
    this.lastFound = current >= 0;
    this.lastNumber = next;
    return h;
  }

  /** Checks a wire key against maxKeyBytes; returns it. */
  private key(bytes: Buffer): Buffer {
    if (bytes.length > this.maxKeyBytes) throw this.keyTooLarge('key', bytes.length);
    return bytes;
  }

  private run(store: ArenaStore, op: Operation, result: Result): void {
    switch (op.type) {
      case OpType.GET:
        return this.get(store, op, result);
      case OpType.SET:
        return this.set(store, op, result);
      case OpType.DELETE:
        if (op.returnPrevious) return this.take(store, op, result);
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
      case OpType.APPEND:
        return this.append(store, op, result);
      default:
        throw new OperationError(ErrorCode.INVALID_ARGUMENT, `unknown operation type ${op.type as number}`);
    }
  }

  private remainingTtl(store: ArenaStore, h: number): number {
    const expiresAt = store.expiresAtOf(h);
    return expiresAt === 0 ? -1 : Math.max(0, expiresAt - this.now());
  }

  private get(store: ArenaStore, op: Operation, result: Result): void {
    const h = store.get(this.key(op.key));
    if (h < 0) return;
    result.found = true;
    result.value = store.valueBuffer(h);
    result.version = versionOf(store, h);
    result.ttlMs = this.remainingTtl(store, h);
  }

  /**
   * An operation's expires_at_ms checked: an epoch ms time at most
   * MAX_TTL_MS (10 years) ahead, the bound ttl_ms has. Past times are allowed.
   */
  private absoluteExpiry(at: number): number {
    if (!Number.isSafeInteger(at) || at < 0 || at - this.now() > MAX_TTL_MS) {
      throw new OperationError(
        ErrorCode.INVALID_TTL,
        `expires_at_ms ${at} is not valid: use an epoch ms time at most ${MAX_TTL_MS} ms (10 years) ahead`,
      );
    }
    return at;
  }

  /** The expiry a SET or APPEND of a new entry asks for: expires_at_ms when set, else ttl_ms. */
  private expiryOf(store: ArenaStore, op: Operation): number {
    return op.expiresAtMs !== 0 ? this.absoluteExpiry(op.expiresAtMs) : store.expiresAtFor(op.ttlMs);
  }

  private set(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const expiresAt = op.keepTtl ? KEEP_TTL : this.expiryOf(store, op);
    const at = this.prepareWriteAt(store, key, 0, key.length, expiresAt, op.condition, op.returnPrevious);
    if (at !== NO_WRITE) {
      const h = store.set(key, op.value, at);
      result.applied = true;
      result.version = versionOf(store, h);
    }
    if (op.returnPrevious && this.savedLength >= 0) {
      result.found = true;
      result.value = Buffer.copyBytesFrom(this.savedValue, 0, this.savedLength);
    }
    this.savedLength = -1;
  }

  private compareAndSet(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const expected = op.expectedVersion;
    if (expected === undefined) {
      throw new OperationError(ErrorCode.INVALID_ARGUMENT, 'COMPARE_AND_SET needs expected_version');
    }
    const expiresAt = store.expiresAtFor(op.ttlMs);
    const current = store.peek(key);
    if (current < 0) return;
    result.found = true;
    if (
      store.hlcOf(current) !== makeHlc(expected.physicalMs, expected.logical) ||
      store.nodeOf(current) !== expected.node
    ) {
      result.version = versionOf(store, current);
      return;
    }
    const h = store.set(key, op.value, expiresAt);
    result.applied = true;
    result.version = versionOf(store, h);
  }

  /**
   * TOUCH: a new expiry for a live entry, under expire_condition (Redis
   * EXPIRE's NX/XX/GT/LT; "never" counts as infinitely far), with the value
   * when return_previous is set (GETEX). An expires_at_ms already past
   * deletes the entry. The order of checks is redis-server's: an absent key
   * answers found = false before expires_at_ms is checked; then the bound,
   * then the condition (applied = false when it fails).
   */
  private touch(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const condition = op.expireCondition;
    const versioned = store.replicated; // a replicated cache: a changed expiry is a new version
    if (
      op.expiresAtMs === 0 &&
      condition === ExpireCondition.EXPIRE_ALWAYS &&
      !op.returnPrevious &&
      !versioned
    ) {
      // The plain form, as before these options: no read of the current entry.
      result.found = result.applied = store.setExpiry(key, store.expiresAtFor(op.ttlMs));
      return;
    }
    const ttlAt = op.expiresAtMs === 0 ? store.expiresAtFor(op.ttlMs) : 0; // a bad ttl_ms fails first, as above
    const h = store.peek(key);
    if (h < 0) return;
    result.found = true;
    // Copied first: changing the expiry may grow the TTL array and reclaim the value's segment.
    if (op.returnPrevious) result.value = store.valueBuffer(h);
    const at = op.expiresAtMs === 0 ? ttlAt : this.absoluteExpiry(op.expiresAtMs); // 0 = never
    const current = store.expiresAtOf(h); // 0 = never
    let allowed: boolean;
    switch (condition) {
      case ExpireCondition.EXPIRE_ALWAYS:
        allowed = true;
        break;
      case ExpireCondition.EXPIRE_IF_NONE:
        allowed = current === 0;
        break;
      case ExpireCondition.EXPIRE_IF_SET:
        allowed = current !== 0;
        break;
      case ExpireCondition.EXPIRE_IF_LATER:
        allowed = current !== 0 && (at === 0 || at > current);
        break;
      case ExpireCondition.EXPIRE_IF_EARLIER:
        allowed = at !== 0 && (current === 0 || at < current);
        break;
      case ExpireCondition.EXPIRE_IF_SET_AND_EARLIER:
        allowed = at !== 0 && current !== 0 && at < current;
        break;
      default:
        throw new OperationError(
          ErrorCode.INVALID_ARGUMENT,
          `unknown expire_condition ${condition as number}`,
        );
    }
    if (!allowed) return;
    if (at !== 0 && at <= this.now()) {
      store.delete(key);
    } else if (versioned) {
      // A new version of the entry (same value, new expiry), so the coordinator sees a write to
      // replicate and replicas order it against other writes; setExpiry keeps the version.
      const h2 = store.set(key, result.value.length > 0 ? result.value : store.valueBuffer(h), at);
      result.version = versionOf(store, h2);
    } else {
      store.setExpiry(key, at);
    }
    result.applied = true;
  }

  /** DELETE with return_previous (GETDEL): the value removed, read before the delete. */
  private take(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const h = store.peek(key);
    if (h < 0) return;
    result.value = store.valueBuffer(h);
    result.found = store.delete(key);
  }

  /**
   * APPEND: the value with op.value after it (a missing key counts as
   * empty), keeping a live entry's expiry; a new entry takes ttl_ms or
   * expires_at_ms. Result.number is the new length.
   */
  private append(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const newExpiry = this.expiryOf(store, op);
    const current = store.peek(key);
    const head = current < 0 ? 0 : store.valueLength(current);
    const length = head + op.value.length;
    if (length > store.options.maxValueBytes) throw this.valueTooLarge(store, 'value', length);
    // Built in scratch, then written: the write may reclaim the current value's segment.
    const value = (this.valueBuf = atLeast(this.valueBuf, length));
    if (current >= 0) store.copyValue(current, value, 0);
    value.set(op.value, head);
    const expiresAt = current < 0 ? newExpiry : store.expiresAtOf(current);
    const h = store.setAt(key, 0, key.length, value, 0, length, expiresAt);
    result.found = current >= 0;
    result.applied = true;
    result.number = length;
    result.version = versionOf(store, h);
  }

  private increment(store: ArenaStore, op: Operation, result: Result): void {
    const key = this.key(op.key);
    const h = this.add(store, key, key.length, op.delta, op.ttlMs);
    result.found = this.lastFound;
    result.applied = true;
    result.number = this.lastNumber;
    result.version = versionOf(store, h);
  }

  private getMany(store: ArenaStore, op: Operation, result: Result): void {
    const keys = op.keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i]!.length > this.maxKeyBytes) throw this.keyTooLarge(`keys[${i}]`, keys[i]!.length);
    }
    const entries: EntryResult[] = new Array<EntryResult>(keys.length);
    let found = false;
    for (let i = 0; i < keys.length; i++) {
      // Everything is read from the handle before the next get (under LRU a get moves items).
      const h = store.get(keys[i]!);
      if (h < 0) {
        entries[i] = { found: false, value: EMPTY, version: undefined, ttlMs: 0 };
      } else {
        found = true;
        entries[i] = {
          found: true,
          value: store.valueBuffer(h),
          version: versionOf(store, h),
          ttlMs: this.remainingTtl(store, h),
        };
      }
    }
    result.entries = entries;
    result.found = found;
  }

  private setMany(store: ArenaStore, op: Operation, result: Result): void {
    // Check everything first, so a bad entry writes nothing.
    const entries = op.entries;
    const expiries = this.expiries;
    expiries.length = 0;
    for (let i = 0; i < entries.length; i++) {
      const kv = entries[i]!;
      if (kv.key.length > this.maxKeyBytes) throw this.keyTooLarge(`entries[${i}].key`, kv.key.length);
      if (kv.value.length > store.options.maxValueBytes) {
        throw this.valueTooLarge(store, `entries[${i}].value`, kv.value.length);
      }
      expiries.push(store.expiresAtFor(kv.ttlMs));
    }
    for (let i = 0; i < entries.length; i++) store.set(entries[i]!.key, entries[i]!.value, expiries[i]!);
    result.applied = true;
    result.number = entries.length;
  }
}
