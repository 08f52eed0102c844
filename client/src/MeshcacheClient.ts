import {
  Consistency,
  DEFAULT_CACHE_NAME,
  type KeyValue,
  OpType,
  SetCondition,
  TTL_NEVER,
  type Version,
} from '@meshcache/proto';
import { ErrorCodes } from './errors/ErrorCodes.js';
import { MeshcacheError } from './errors/MeshcacheError.js';
import type { CacheEntry } from './operations/ResultDecoders.js';
import { ResultDecoders } from './operations/ResultDecoders.js';
import type { CallOptions, ConsistencyLevel, SetConditionName, SetOptions } from './options/CallOptions.js';
import type { ResolvedClientOptions } from './options/ClientOptions.js';
import { startCallSpan } from './telemetry/callSpan.js';
import { DeadlineSweeper, monotonicNowMs } from './transport/DeadlineSweeper.js';
import { type ConnectionState, NodeConnection } from './transport/NodeConnection.js';
import { PendingOp, cancelledError } from './transport/PendingOp.js';
import type { ResultDecoder } from './transport/ResultDecoder.js';

/** A cache key: bytes, or a string (encoded as UTF-8). */
export type CacheKey = string | Buffer;

/** One entry of `setMany`. */
export interface SetManyEntry<T = unknown> {
  key: CacheKey;
  value: T;
  /** 0 (default): the cache's default TTL; > 0: ms; -1: never expires. */
  ttlMs?: number;
}

/** What `ping` resolves with. */
export interface PingResult {
  nodeId: string;
  epoch: number;
  /** Round trip of the Ping RPC, in ms. */
  rttMs: number;
}

/** Options of `compareAndSet`. */
export interface CompareAndSetOptions extends CallOptions {
  ttlMs?: number;
}

/** Options of `connect` and `ping`. */
export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Rough per-operation protobuf overhead (tags, ids, cache name...), for frame sizing. */
const OP_OVERHEAD_BYTES = 32;

const CONSISTENCY: Readonly<Record<ConsistencyLevel, Consistency>> = {
  ONE: Consistency.ONE,
  QUORUM: Consistency.QUORUM,
  ALL: Consistency.ALL,
};

const CONDITION: Readonly<Record<SetConditionName, SetCondition>> = {
  always: SetCondition.ALWAYS,
  ifAbsent: SetCondition.IF_ABSENT,
  ifPresent: SetCondition.IF_PRESENT,
};

/**
 * The meshcache client (single-node core): every call is batched onto one
 * long-lived stream to the node, with a deadline, optional AbortSignal, and
 * reconnects that resend idempotent operations. Create it with
 * `createClient`.
 */
export class MeshcacheClient {
  readonly options: ResolvedClientOptions;
  private readonly connection: NodeConnection;
  private readonly sweeper: DeadlineSweeper;
  private readonly decoders: ResultDecoders;
  private readonly defaultCacheOnWire: string;
  private readonly defaultConsistency: Consistency;
  private epochValue = 0;
  private closing: Promise<void> | undefined = undefined;

  constructor(options: ResolvedClientOptions) {
    this.options = options;
    this.decoders = new ResultDecoders(options.serializer);
    this.defaultCacheOnWire = cacheOnWire(options.defaultCache);
    this.defaultConsistency =
      options.defaultConsistency === undefined
        ? Consistency.CONSISTENCY_DEFAULT
        : CONSISTENCY[options.defaultConsistency];
    this.sweeper = new DeadlineSweeper(options.deadlineResolutionMs);
    this.connection = new NodeConnection(
      {
        address: options.url,
        clientName: options.clientName,
        // This client talks to one node and does not route by slot yet: the node forwards.
        forward: true,
        connectTimeoutMs: options.connectTimeoutMs,
        maxQueuedOps: options.maxQueuedOps,
        maxOpsPerFrame: options.maxOpsPerFrame,
        reconnect: options.reconnect,
        retry: options.retry,
      },
      { onEpoch: (epoch) => this.noteEpoch(epoch) },
    );
    this.sweeper.add(this.connection);
    this.connection.start();
  }

  /** The highest topology epoch seen in any reply. */
  get epoch(): number {
    return this.epochValue;
  }

  /** The id of the node this client is connected to, when connected. */
  get nodeId(): string | undefined {
    return this.connection.nodeId;
  }

  /** The state of the connection to the node. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /**
   * Resolves once the client is connected (handshake done, stream open),
   * within `timeoutMs` (default `connectTimeoutMs`). Calls need not wait for
   * it: they queue until then.
   */
  connect(options?: WaitOptions): Promise<void> {
    return this.bounded(this.connection.whenReady(), 'connect', {
      timeoutMs: options?.timeoutMs ?? this.options.connectTimeoutMs,
      signal: options?.signal,
    });
  }

  /** The value stored under `key`, or undefined. */
  get<T = unknown>(key: CacheKey, options?: CallOptions): Promise<T | undefined> {
    try {
      const op = this.newOp(OpType.GET, options, this.decoders.value);
      setKey(op, key);
      return this.run(op, 'get');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The value with its version and remaining TTL, or undefined. */
  getEntry<T = unknown>(key: CacheKey, options?: CallOptions): Promise<CacheEntry<T> | undefined> {
    try {
      const op = this.newOp(OpType.GET, options, this.decoders.entry);
      setKey(op, key);
      return this.run(op, 'getEntry');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Stores `value` under `key`. Resolves true when written (always for the
   * default condition; for `ifAbsent` / `ifPresent`, whether it held).
   */
  set<T = unknown>(key: CacheKey, value: T, options?: SetOptions): Promise<boolean> {
    try {
      let condition: SetCondition = SetCondition.ALWAYS;
      if (options?.condition !== undefined) {
        condition = CONDITION[options.condition];
        if (condition === undefined) {
          throw invalidArgument(
            `condition must be always, ifAbsent or ifPresent, got ${String(options.condition)}`,
          );
        }
      }
      const decoder = condition === SetCondition.ALWAYS ? this.decoders.written : this.decoders.applied;
      const op = this.newOp(OpType.SET, options, decoder);
      setKey(op, key);
      op.value = this.serialize(value);
      op.condition = condition;
      if (options?.ttlMs !== undefined) op.ttlMs = checkTtl(options.ttlMs);
      op.approxBytes += op.value.length;
      return this.run(op, 'set');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Removes `key`; resolves whether it existed. */
  delete(key: CacheKey, options?: CallOptions): Promise<boolean> {
    try {
      const op = this.newOp(OpType.DELETE, options, this.decoders.found);
      setKey(op, key);
      return this.run(op, 'delete');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Writes `value` only if the entry's current version equals
   * `expectedVersion` (from `getEntry`); resolves whether it did.
   */
  compareAndSet<T = unknown>(
    key: CacheKey,
    expectedVersion: Version,
    value: T,
    options?: CompareAndSetOptions,
  ): Promise<boolean> {
    try {
      if (expectedVersion === null || typeof expectedVersion !== 'object') {
        throw invalidArgument('expectedVersion must be a Version { physicalMs, logical, node }');
      }
      const op = this.newOp(OpType.COMPARE_AND_SET, options, this.decoders.applied);
      setKey(op, key);
      op.value = this.serialize(value);
      op.expectedVersion = {
        physicalMs: expectedVersion.physicalMs,
        logical: expectedVersion.logical,
        node: expectedVersion.node,
      };
      if (options?.ttlMs !== undefined) op.ttlMs = checkTtl(options.ttlMs);
      op.approxBytes += op.value.length + 16;
      return this.run(op, 'compareAndSet');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Sets a new TTL (ms; -1 never expires) on an existing entry; resolves whether it existed. */
  touch(key: CacheKey, ttlMs: number, options?: CallOptions): Promise<boolean> {
    try {
      const op = this.newOp(OpType.TOUCH, options, this.decoders.found);
      setKey(op, key);
      op.ttlMs = checkTtl(ttlMs);
      return this.run(op, 'touch');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Adds `delta` to the decimal integer stored under `key` (a missing key
   * counts as 0); resolves the new value. Not resent after a connection loss.
   */
  incr(key: CacheKey, delta = 1, options?: CallOptions): Promise<number> {
    try {
      if (!Number.isSafeInteger(delta)) throw invalidArgument(`delta must be a safe integer, got ${delta}`);
      const op = this.newOp(OpType.INCREMENT, options, this.decoders.number);
      setKey(op, key);
      op.delta = delta;
      return this.run(op, 'incr');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** One value (or undefined) per key, in order, in one operation. */
  getMany<T = unknown>(keys: readonly CacheKey[], options?: CallOptions): Promise<(T | undefined)[]> {
    try {
      if (!Array.isArray(keys)) throw invalidArgument('keys must be an array');
      if (keys.length === 0) return Promise.resolve([]);
      const op = this.newOp(OpType.GET_MANY, options, this.decoders.values);
      const encoded = new Array<Buffer>(keys.length);
      let bytes = OP_OVERHEAD_BYTES;
      for (let i = 0; i < keys.length; i++) {
        const k = encodeKey(keys[i]!);
        encoded[i] = k;
        bytes += k.length + 2;
      }
      op.keys = encoded;
      op.approxBytes = bytes;
      return this.run(op, 'getMany');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes many entries in one operation; resolves how many were written. */
  setMany<T = unknown>(entries: readonly SetManyEntry<T>[], options?: CallOptions): Promise<number> {
    try {
      if (!Array.isArray(entries)) throw invalidArgument('entries must be an array');
      if (entries.length === 0) return Promise.resolve(0);
      const op = this.newOp(OpType.SET_MANY, options, this.decoders.number);
      const encoded = new Array<KeyValue>(entries.length);
      let bytes = OP_OVERHEAD_BYTES;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const kv: KeyValue = {
          key: encodeKey(entry.key),
          value: this.serialize(entry.value),
          ttlMs: entry.ttlMs === undefined ? 0 : checkTtl(entry.ttlMs),
        };
        encoded[i] = kv;
        bytes += kv.key.length + kv.value.length + 8;
      }
      op.entries = encoded;
      op.approxBytes = bytes;
      return this.run(op, 'setMany');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Round trip to the node (waits for the connection first, within the deadline). */
  async ping(options?: WaitOptions): Promise<PingResult> {
    const timeoutMs =
      options?.timeoutMs === undefined ? this.options.timeoutMs : checkTimeout(options.timeoutMs);
    const deadline = Date.now() + timeoutMs;
    await this.bounded(this.connection.whenReady(), 'ping', { timeoutMs, signal: options?.signal });
    const started = monotonicNowMs();
    const response = await this.bounded(this.connection.ping(deadline), 'ping', {
      timeoutMs: Math.max(1, deadline - Date.now()),
      signal: options?.signal,
    });
    const rttMs = monotonicNowMs() - started;
    this.noteEpoch(response.epoch);
    return { nodeId: response.nodeId, epoch: response.epoch, rttMs };
  }

  /**
   * Fails queued and in-flight calls with CLIENT_CLOSED, ends the stream and
   * resolves when the connection is closed. Later calls fail with
   * CLIENT_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.sweeper.stop();
      this.closing = this.connection.close().then(() => {
        this.sweeper.remove(this.connection);
        this.sweeper.stop();
      });
    }
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  private newOp(type: OpType, options: CallOptions | undefined, decoder: ResultDecoder): PendingOp {
    let cache = this.defaultCacheOnWire;
    let consistency = this.defaultConsistency;
    let timeoutMs = this.options.timeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      if (options.cache !== undefined) cache = cacheOnWire(checkCache(options.cache));
      if (options.consistency !== undefined) consistency = checkConsistency(options.consistency);
      if (options.timeoutMs !== undefined) timeoutMs = checkTimeout(options.timeoutMs);
      signal = options.signal;
    }
    const op = new PendingOp(type, cache, consistency, timeoutMs, monotonicNowMs(), decoder);
    op.signal = signal;
    return op;
  }

  private run<R>(op: PendingOp, operation: string): Promise<R> {
    const promise = new Promise<R>((resolve, reject) => {
      op.resolve = resolve as (value: unknown) => void;
      op.reject = reject;
    });
    if (this.options.tracing) op.span = startCallSpan(operation, op.cache || DEFAULT_CACHE_NAME);
    if (this.closing !== undefined) {
      op.fail(new MeshcacheError(ErrorCodes.CLIENT_CLOSED, 'the client is closed'));
      return promise;
    }
    const signal = op.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        op.fail(cancelledError(signal));
        return promise;
      }
      signal.addEventListener('abort', op);
    }
    this.sweeper.track(op.deadlineAt);
    this.connection.submit(op);
    return promise;
  }

  private serialize(value: unknown): Buffer {
    let bytes: unknown;
    try {
      bytes = this.options.serializer.serialize(value);
    } catch (err) {
      throw new MeshcacheError(
        ErrorCodes.SERIALIZATION,
        `cannot serialize value: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!Buffer.isBuffer(bytes)) {
      if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      throw new MeshcacheError(ErrorCodes.SERIALIZATION, 'serializer.serialize must return a Buffer');
    }
    return bytes;
  }

  private noteEpoch(epoch: number): void {
    if (epoch > this.epochValue) this.epochValue = epoch;
  }

  /** `promise`, failed with TIMEOUT / CANCELLED when the wait runs out (not for the hot path). */
  private bounded<T>(promise: Promise<T>, what: string, options: WaitOptions | undefined): Promise<T> {
    const timeoutMs =
      options?.timeoutMs === undefined ? this.options.timeoutMs : checkTimeout(options.timeoutMs);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        cleanup();
        reject(cancelledError(signal));
      };
      const timer = setTimeout(() => {
        cleanup();
        const cause = this.connection.lastError;
        reject(new MeshcacheError(ErrorCodes.TIMEOUT, `${what} timed out after ${timeoutMs} ms`, { cause }));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort);
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (err: unknown) => {
          cleanup();
          reject(err);
        },
      );
    });
  }
}

function cacheOnWire(name: string): string {
  // The wire's empty cache name means "default": save the bytes.
  return name === DEFAULT_CACHE_NAME ? '' : name;
}

function encodeKey(key: CacheKey): Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (Buffer.isBuffer(key)) return key;
  throw invalidArgument(`key must be a string or a Buffer, got ${typeof key}`);
}

function setKey(op: PendingOp, key: CacheKey): void {
  op.key = encodeKey(key);
  op.approxBytes = op.key.length + OP_OVERHEAD_BYTES;
}

function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < TTL_NEVER) {
    throw new MeshcacheError(
      ErrorCodes.INVALID_TTL,
      `ttlMs must be an integer >= -1 (0: cache default, -1: never expires), got ${ttlMs}`,
    );
  }
  return ttlMs;
}

function checkTimeout(timeoutMs: number): number {
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw invalidArgument(`timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  return timeoutMs;
}

function checkCache(cache: string): string {
  if (typeof cache !== 'string' || cache.length === 0) {
    throw invalidArgument(`cache must be a non-empty string, got ${JSON.stringify(cache)}`);
  }
  return cache;
}

function checkConsistency(level: ConsistencyLevel): Consistency {
  const value = CONSISTENCY[level];
  if (value === undefined)
    throw invalidArgument(`consistency must be ONE, QUORUM or ALL, got ${String(level)}`);
  return value;
}

function invalidArgument(message: string): MeshcacheError {
  return new MeshcacheError(ErrorCodes.INVALID_ARGUMENT, message);
}
