import type { Result, Version } from '@meshcache/proto';
import type { Serializer } from '../serializers/Serializer.js';
import type { ResultDecoder } from '../transport/ResultDecoder.js';

/** What `getEntry` resolves with. */
export interface CacheEntry<T> {
  value: T;
  version: Version;
  /** Remaining time to live in ms; -1 when the entry never expires. */
  ttlMs: number;
}

const ZERO_VERSION: Version = Object.freeze({ physicalMs: 0, logical: 0, node: 0 });

/**
 * The decoders of one client (one per kind of call), created once with the
 * client's serializer so that settling an operation allocates no closure.
 */
export class ResultDecoders {
  /** GET: the value, or undefined when absent. */
  readonly value: ResultDecoder;
  /** GET for `getEntry`: value, version and remaining TTL. */
  readonly entry: ResultDecoder;
  /** GET_MANY: one value (or undefined) per key. */
  readonly values: ResultDecoder;
  /** Plain SET: true. */
  readonly written: ResultDecoder = { decode: () => true };
  /** Conditional SET, COMPARE_AND_SET: whether the write happened. */
  readonly applied: ResultDecoder = { decode: (r: Result) => r.applied };
  /** DELETE, TOUCH: whether the key was present. */
  readonly found: ResultDecoder = { decode: (r: Result) => r.found };
  /** INCREMENT: the new value; SET_MANY: how many entries were written. */
  readonly number: ResultDecoder = { decode: (r: Result) => r.number };

  constructor(serializer: Serializer<unknown>) {
    this.value = {
      decode: (r: Result) => (r.found ? serializer.deserialize(r.value) : undefined),
    };
    this.entry = {
      decode: (r: Result): CacheEntry<unknown> | undefined =>
        r.found
          ? { value: serializer.deserialize(r.value), version: r.version ?? ZERO_VERSION, ttlMs: r.ttlMs }
          : undefined,
    };
    this.values = {
      decode: (r: Result) => {
        const entries = r.entries;
        const out = new Array<unknown>(entries.length);
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          out[i] = e.found ? serializer.deserialize(e.value) : undefined;
        }
        return out;
      },
    };
  }
}
