import {
  CacheService,
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
 * The RPCs a node connection uses. The default takes them from the generated
 * `CacheService` (ts-proto); a faster codec can be swapped in by providing
 * other serialize/deserialize functions for the same paths.
 */
export interface CacheWire {
  readonly handshake: MethodCodec<HandshakeRequest, HandshakeResponse>;
  readonly execute: MethodCodec<OperationFrame, ResultFrame>;
  readonly ping: MethodCodec<PingRequest, PingResponse>;
}

export const DEFAULT_CACHE_WIRE: CacheWire = {
  handshake: CacheService.handshake,
  execute: CacheService.execute,
  ping: CacheService.ping,
};
