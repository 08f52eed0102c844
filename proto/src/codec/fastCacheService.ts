import { CacheService } from '../gen/meshcache/v1/cache.js';
import { decodeOperationFrame, encodeOperationFrame } from './OperationFrameCodec.js';
import { decodeResultFrame, encodeResultFrame } from './ResultFrameCodec.js';

const fastFrameCodec = {
  requestSerialize: encodeOperationFrame,
  requestDeserialize: decodeOperationFrame,
  responseSerialize: encodeResultFrame,
  responseDeserialize: decodeResultFrame,
};

/**
 * The generated `CacheService` definition with the hot-path methods (`execute`,
 * `executeBatch`) switched to the fast codec, for `server.addService()` and
 * `makeGenericClientConstructor()`. Other methods keep the generated codec.
 *
 * Decoded frames are zero-copy: their `bytes` fields are views of the gRPC
 * message buffer (see `decodeOperationFrame`). A frame that fails to decode
 * throws `CodecError`, which grpc-js turns into an INTERNAL status ending the
 * call.
 */
export const FastCacheService: CacheService = {
  ...CacheService,
  execute: { ...CacheService.execute, ...fastFrameCodec },
  executeBatch: { ...CacheService.executeBatch, ...fastFrameCodec },
};
