import {
  CacheService,
  FastCacheService,
  type HandshakeRequest,
  type HandshakeResponse,
  type OperationFrame,
  type PingRequest,
  type PingResponse,
  type ResultFrame,
} from '@meshcache/proto';

/** How one RPC is put on the wire: its path and its message codec. */
export interface MethodCodec<Req, Res> {
  readonly path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/**
 * The RPCs a node connection uses. Swap a codec by providing other
 * serialize/deserialize functions for the same paths.
 */
export interface CacheWire {
  readonly handshake: MethodCodec<HandshakeRequest, HandshakeResponse>;
  readonly execute: MethodCodec<OperationFrame, ResultFrame>;
  readonly ping: MethodCodec<PingRequest, PingResponse>;
}

/**
 * The default: the hand-written frame codec of `@meshcache/proto`
 * (`FastCacheService`: exact-size encode, zero-copy decode) for the hot-path
 * Execute stream, the generated ts-proto codec for the rest. Decoded `bytes`
 * fields are views of the received message, so serializers must copy what
 * they hand out (the bundled ones do).
 */
export const DEFAULT_CACHE_WIRE: CacheWire = {
  handshake: CacheService.handshake,
  execute: FastCacheService.execute,
  ping: CacheService.ping,
};

/** The generated ts-proto codec for every RPC (slower; copies every bytes field). */
export const GENERATED_CACHE_WIRE: CacheWire = {
  handshake: CacheService.handshake,
  execute: CacheService.execute,
  ping: CacheService.ping,
};
