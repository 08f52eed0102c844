import { ErrorCode, type ReplicaReply, type ReplicaRequest } from '@meshcache/proto';
import type { CacheRegistry } from './CacheRegistry.js';
import { errorCodeOf, errorMessageOf } from './OperationError.js';

/**
 * The replica path of the store: applies versions other nodes stamped, and
 * reads versions for them. It never mints a version (the local path,
 * OperationExecutor, does): a write carries its coordinator's version and
 * absolute expiry, and the store keeps whichever version is newer
 * (last writer wins), tombstones included. The reply always tells the
 * version held afterwards: a coordinator learns whether this replica holds
 * its write or a newer one, and reads learn what to repair.
 */
export class ReplicaApplier {
  constructor(private readonly caches: CacheRegistry) {}

  apply(request: ReplicaRequest, reply: ReplicaReply): void {
    const store = this.caches.get(request.cache);
    if (store === undefined) {
      reply.code = ErrorCode.UNKNOWN_CACHE;
      reply.message = `unknown cache '${request.cache}' on this replica`;
      return;
    }
    try {
      const { key, value } = request;
      store.applyAt(
        key,
        0,
        key.length,
        value,
        0,
        request.tombstone ? 0 : value.length,
        request.expiresAtMs,
        request.hlc,
        request.node,
        request.tombstone,
      );
      reply.hlc = store.heldHlc;
      reply.node = store.heldNode;
      reply.tombstone = store.heldTombstone;
    } catch (err) {
      reply.code = errorCodeOf(err);
      reply.message = errorMessageOf(err);
    }
  }

  /** The version held for the key: a live value (copied: the reply outlives the next write), a tombstone or nothing. */
  read(request: ReplicaRequest, reply: ReplicaReply): void {
    const store = this.caches.get(request.cache);
    if (store === undefined) {
      reply.code = ErrorCode.UNKNOWN_CACHE;
      reply.message = `unknown cache '${request.cache}' on this replica`;
      return;
    }
    const key = request.key;
    const h = store.versionAt(key, 0, key.length);
    if (h < 0) return;
    reply.hlc = store.hlcOf(h);
    reply.node = store.nodeOf(h);
    reply.tombstone = store.isTombstone(h);
    if (!reply.tombstone) {
      reply.expiresAtMs = store.expiresAtOf(h);
      if (!request.versionOnly) reply.value = store.valueBuffer(h);
    }
  }
}
