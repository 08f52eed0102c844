export * from './gen/meshcache/v1/cache.js';
export * from './protocol.js';
export * from './codec/index.js';
export * from './placement/index.js';
export {
  ReplicaEntry,
  ReplicaFrame,
  ReplicaHello,
  ReplicaHelloReply,
  ReplicaOpType,
  ReplicaReply,
  ReplicaReplyFrame,
  ReplicaRequest,
  ReplicaService,
  ScanPurpose,
  SettledMark,
  UnsettledWrite,
} from './gen/meshcache/v1/replica.js';
export * from './backoff.js';
