// Hand-written protobuf codec for the data-plane frames (OperationFrame,
// ResultFrame), wire-compatible with the generated one and producing the same
// interfaces, without its copies and 64-bit string round trips.
//
// Lifetimes: decoded `bytes` fields (keys, values) are zero-copy views of the
// input buffer. They stay valid as long as nobody writes into that buffer
// (grpc-js hands each message its own buffer and never reuses it), but any
// view kept alive pins the whole frame in memory: copy (Buffer.from, or
// toString) whatever outlives the request. Empty `bytes` fields share one
// zero-length Buffer.
export { CodecError } from './CodecError.js';
export { decodeOperationFrame, encodedOperationSize, encodeOperationFrame } from './OperationFrameCodec.js';
export { decodeResultFrame, encodeResultFrame } from './ResultFrameCodec.js';
export { FastCacheService } from './fastCacheService.js';
