/**
 * Anti-entropy over the node-to-node protocol: a round's four requests ride
 * the replica streams as DIGESTS requests (`level` names which one, `value`
 * carries the wire.ts message, `cache` the cache) and come back as the
 * reply's `payload`. The streams already batch, reconnect and identify the
 * sender (the hello's node id), so anti-entropy needs no port of its own.
 */
import { ErrorCode, type ReplicaReply, type ReplicaRequest, ReplicaOpType } from '@meshcache/proto';
import type { ReplyCallback } from '../replication/ReplicaPeer.js';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import { AntiEntropyCall, type AntiEntropyService, type AntiEntropyTransport } from './AntiEntropyService.js';

/** Room left in a reply frame for the frame's and the reply's own fields (as ReplicaService keeps). */
const FRAME_OVERHEAD_BYTES = 64 * 1024 + 1024;

/** A request that got no answer, or an answer that was a refusal of the transport (not of the round). */
export class AntiEntropyTransportError extends Error {
  override readonly name = 'AntiEntropyTransportError';
}

export interface ReplicaTransportDeps {
  send(peer: string, request: ReplicaRequest, done: ReplyCallback): void;
  /**
   * How long a request may wait for its answer. A DIGESTS answer waits for a
   * scan of the whole cache on the peer (about a second per million items),
   * so this is longer than a client operation's deadline.
   */
  timeoutMs: number;
}

/** The initiator's side: each request is one DIGESTS request on the peer's replica stream. */
export function replicaTransport(d: ReplicaTransportDeps): AntiEntropyTransport {
  return {
    request(peer, call, cache, payload) {
      return new Promise<Uint8Array>((resolve, reject) => {
        const request = emptyRequest();
        request.type = ReplicaOpType.DIGESTS;
        request.cache = cache;
        request.level = call;
        request.value = asBuffer(payload);
        request.timeoutMs = d.timeoutMs;
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          reject(new AntiEntropyTransportError(`no answer from ${peer} within ${d.timeoutMs} ms`));
        }, d.timeoutMs);
        timer.unref();
        d.send(peer, request, (reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (reply === undefined) {
            reject(new AntiEntropyTransportError(`request to ${peer} lost (stream down)`));
          } else if (reply.code !== ErrorCode.OK) {
            reject(new AntiEntropyTransportError(`${peer} refused: ${reply.message} (code ${reply.code})`));
          } else {
            resolve(reply.payload);
          }
        });
      });
    },
  };
}

/** What ReplicaService hands DIGESTS requests to. */
export interface AntiEntropyRequests {
  /**
   * Answers a DIGESTS request from `peer` (the stream's hello id): fills
   * `reply` and returns true, or returns false and calls `later` with it.
   */
  handle(
    peer: string,
    request: ReplicaRequest,
    reply: ReplicaReply,
    later: (reply: ReplicaReply) => void,
  ): boolean;
}

/**
 * The responder's side. Without a service (anti-entropy is off on this
 * node) every request is refused UNAVAILABLE, so the initiator's round fails
 * and backs off. An answer too large for one reply frame is refused too
 * (BATCH_TOO_LARGE): sent, it would break the stream and every request on it.
 */
export function antiEntropyRequests(
  service: () => AntiEntropyService | undefined,
  maxFrameBytes: number,
): AntiEntropyRequests {
  return {
    handle(peer, request, reply, later) {
      const s = service();
      if (s === undefined) {
        reply.code = ErrorCode.UNAVAILABLE;
        reply.message = 'anti-entropy is off on this node';
        return true;
      }
      const r = s.responder;
      const m = request.value;
      let answer: Promise<Uint8Array>;
      switch (request.level) {
        case AntiEntropyCall.DIGESTS:
          answer = r.digests(m, peer);
          break;
        case AntiEntropyCall.SLOTS:
          answer = r.slotDigests(m, peer);
          break;
        case AntiEntropyCall.FETCH:
          answer = r.fetch(m, peer);
          break;
        case AntiEntropyCall.PUSH:
          answer = r.push(m, peer);
          break;
        default:
          reply.code = ErrorCode.INVALID_ARGUMENT;
          reply.message = `unknown anti-entropy request level ${request.level}`;
          return true;
      }
      void answer.then((bytes) => {
        const limit = maxFrameBytes - FRAME_OVERHEAD_BYTES;
        if (bytes.length > limit) {
          reply.code = ErrorCode.BATCH_TOO_LARGE;
          reply.message =
            `anti-entropy answer of ${bytes.length} bytes does not fit a reply frame of ${limit} ` +
            '(maxFrameBytes less overhead); lower antiEntropyRepairSlots';
        } else {
          reply.payload = asBuffer(bytes);
        }
        later(reply);
      });
      return false;
    },
  };
}

/** The same bytes as a Buffer (what the generated protocol types hold), without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
