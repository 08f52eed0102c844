export {
  DEFAULT_ANTI_ENTROPY_OPTIONS,
  validateAntiEntropyOptions,
  type AntiEntropyOptions,
} from './AntiEntropyOptions.js';
export { AntiEntropyResponder, type AntiEntropyResponderDeps } from './AntiEntropyResponder.js';
export {
  AntiEntropyRound,
  type AntiEntropyPeer,
  type AntiEntropyRuntime,
  type RoundReport,
} from './AntiEntropyRound.js';
export { AntiEntropySchedule, scheduleKey, type RoundOutcome } from './AntiEntropySchedule.js';
export { newAntiEntropyStats, type AntiEntropyStats } from './AntiEntropyStats.js';
export { AntiEntropyWireError } from './bytes.js';
export { MerkleTree, differingRanges, differingSlots, sameDigest } from './MerkleTree.js';
export { RoundLedger } from './RoundLedger.js';
export {
  DIGEST_BYTES,
  SlotDigests,
  ZERO_SEED,
  buildSlotDigests,
  digestFields,
  digestItem,
  leftOutAt,
  type DigestSeed,
} from './SlotDigests.js';
export { SCAN_DONE, scanAll, type ItemReader, type ReplicaStore, type ScanSource } from './scanSource.js';
export { intersectMasks, maskSlots, sameSlots, slotMask } from './slotSet.js';
export { ANTI_ENTROPY_PROTOCOL, AnswerStatus, AntiEntropyPeerError } from './wire.js';
export {
  AntiEntropyCall,
  AntiEntropyService,
  type AntiEntropyCache,
  type AntiEntropyLog,
  type AntiEntropyPlacement,
  type AntiEntropyServiceDeps,
  type AntiEntropyTransport,
  type LastRound,
} from './AntiEntropyService.js';
export { antiEntropyMetrics } from './antiEntropyMetrics.js';
export {
  AntiEntropyTransportError,
  antiEntropyRequests,
  replicaTransport,
  type AntiEntropyRequests,
  type ReplicaTransportDeps,
} from './replicaTransport.js';
