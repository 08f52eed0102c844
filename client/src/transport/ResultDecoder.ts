import type { Result } from '@meshcache/proto';

/**
 * Turns an OK `Result` into the value a call resolves with. One shared
 * instance per kind of call (see `operations/ResultDecoders`), so settling an
 * operation allocates no closure. A decoder that throws fails the call with
 * `SERIALIZATION`.
 */
export interface ResultDecoder {
  decode(result: Result): unknown;
}
