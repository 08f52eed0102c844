import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import {
  Consistency,
  ErrorCode,
  type ReplicaFrame,
  type ReplicaReply,
  type ReplicaReplyFrame,
  type ReplicaRequest,
  ReplicaOpType,
  ReplicaService as ReplicaServiceDefinition,
  type Result,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@meshcache/proto';
import type { Logger } from 'pino';
import type { AntiEntropyRequests } from '../antientropy/replicaTransport.js';
import type { OperationCoordinator } from '../coordinator/OperationCoordinator.js';
import type { ReplicaApplier } from '../engine/ReplicaApplier.js';
import { slotOfRange } from '../redis/keySlot.js';
import { hlcPhysicalMs, type HybridLogicalClock } from '../store/index.js';
import type { SettledTable } from './SettledTable.js';

const EMPTY = Buffer.alloc(0);
/** Room kept in each reply frame for its own fields. */
const FRAME_OVERHEAD_BYTES = 64 * 1024;
const MALFORMED = Symbol('malformedReplicaFrame');
const OVERSIZED = 'oversized';
type GuardedFrame = ReplicaFrame & { [MALFORMED]?: string };

/** Counters the metrics read: what peers sent that was refused. */
export interface ReplicaServiceCounters {
  streams: number;
  openStreams: number;
  frames: number;
  requests: number;
  malformedFrames: number;
  /** Frames over maxFrameBytes (refused whole; the stream carries on). */
  oversizedFrames: number;
  refusedHellos: number;
  staleEpochRefusals: number;
  clockSkewRefusals: number;
  expiredRequests: number;
  /** Reads refused because this node has not filled the slot. */
  notReadyRefusals: number;
}

export interface ReplicaServiceDeps {
  nodeId: string;
  clock: HybridLogicalClock;
  epoch: () => number;
  wallClock: () => number;
  /** Versions further ahead of this node's wall clock are refused (CLOCK_SKEW). */
  maxClockSkewMs: number;
  /** Largest frame accepted (the server's gRPC limit is set above it, so a bigger one is refused here and counted). */
  maxFrameBytes: number;
  applier: ReplicaApplier;
  /** Whether the placement of the key's slot changed after `epoch` (the request is stale). */
  staleEpoch: (cache: string, slot: number, epoch: number) => boolean;
  coordinator: OperationCoordinator;
  settled: SettledTable;
  /** Requests of rebalancing (SCAN, SYNC, FILLED, DRAIN) and read readiness. */
  rebalance: RebalanceRequests;
  /** Anti-entropy's requests (DIGESTS), answered for the stream's peer. */
  antiEntropy: AntiEntropyRequests;
  /** A peer's frame showed the epoch it holds. */
  peerEpoch: (peer: string, epoch: number) => void;
  log: Logger;
}

/** What the service hands to rebalancing (see node/src/rebalance/). */
export interface RebalanceRequests {
  /** Whether this node may answer reads of the key's slot (it has filled it); false answers NOT_READY. */
  readable(cache: string, slot: number): boolean;
  /** A version of the key was applied here (a replica write, a hint, a repair). */
  applied(cache: string, slot: number): void;
  /**
   * Answers a SCAN, SYNC, FILLED or DRAIN request from `peer` sent
   * at `epoch`: fills `reply` and returns true, or returns false and calls
   * `later` with the reply when it is ready.
   */
  handle(
    peer: string,
    request: ReplicaRequest,
    epoch: number,
    reply: ReplicaReply,
    later: (reply: ReplicaReply) => void,
  ): boolean;
}

/**
 * The replica side of the node-to-node protocol. Every request is checked
 * before it touches the store: the caller's epoch against the slot's
 * placement (STALE_EPOCH, with this node's epoch, so the caller catches up
 * and re-plans), the version against this node's clock (CLOCK_SKEW), and the
 * caller's deadline. A frame that does not decode is refused whole and
 * counted; the stream and every other stream carry on.
 */
export class ReplicaService {
  readonly counters: ReplicaServiceCounters = {
    streams: 0,
    openStreams: 0,
    frames: 0,
    requests: 0,
    malformedFrames: 0,
    oversizedFrames: 0,
    refusedHellos: 0,
    staleEpochRefusals: 0,
    clockSkewRefusals: 0,
    expiredRequests: 0,
    notReadyRefusals: 0,
  };
  private readonly calls = new Set<grpc.ServerDuplexStream<ReplicaFrame, ReplicaReplyFrame>>();

  constructor(private readonly d: ReplicaServiceDeps) {}

  /**
   * The service definition with a decoder that turns an undecodable or
   * oversized frame into a refusal instead of a broken stream.
   */
  static definition(maxFrameBytes: number): grpc.ServiceDefinition {
    const decode = ReplicaServiceDefinition.stream.requestDeserialize;
    const refused = (reason: string): ReplicaFrame => {
      const frame = { requests: [], unsettled: [] } as unknown as GuardedFrame;
      frame[MALFORMED] = reason;
      return frame;
    };
    return {
      ...ReplicaServiceDefinition,
      stream: {
        ...ReplicaServiceDefinition.stream,
        requestDeserialize: (bytes: Buffer): ReplicaFrame => {
          if (bytes.length > maxFrameBytes) {
            return refused(
              `${OVERSIZED}: frame is ${bytes.length} bytes; the limit is ${maxFrameBytes} (maxFrameBytes)`,
            );
          }
          try {
            return decode(bytes);
          } catch (err) {
            return refused((err as Error)?.message ?? String(err));
          }
        },
      },
    } as unknown as grpc.ServiceDefinition;
  }

  handlers(): grpc.UntypedServiceImplementation {
    return { stream: this.stream };
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const call of this.calls) call.end();
    this.calls.clear();
    this.counters.openStreams = 0;
  }

  private readonly stream = (call: grpc.ServerDuplexStream<ReplicaFrame, ReplicaReplyFrame>): void => {
    this.counters.streams++;
    this.counters.openStreams++;
    this.calls.add(call);
    let helloDone = false;
    let peer = '?';
    // Replies of asynchronous requests (COORDINATE) gather here and go out in one frame per
    // turn of the event loop (setImmediate: after the turn's I/O, so many finish together).
    let later: ReplicaReply[] = [];
    let laterScheduled = false;
    const forget = () => {
      if (this.calls.delete(call)) this.counters.openStreams--;
    };
    const write = (frame: ReplicaReplyFrame) => {
      if (!call.writableEnded && !call.destroyed) call.write(frame);
    };
    const flushLater = () => {
      laterScheduled = false;
      const replies = later;
      later = [];
      this.writeReplies(write, replies);
    };
    call.on('data', (frame: ReplicaFrame) => {
      const malformed = (frame as GuardedFrame)[MALFORMED];
      if (malformed !== undefined) {
        const oversized = malformed.startsWith(OVERSIZED);
        if (oversized) this.counters.oversizedFrames++;
        else this.counters.malformedFrames++;
        this.d.log.warn({ peer, error: malformed }, 'replica frame refused');
        write({
          ...this.replyFrame([]),
          error: oversized ? ErrorCode.BATCH_TOO_LARGE : ErrorCode.MALFORMED_FRAME,
          errorMessage: malformed,
        });
        return;
      }
      if (frame.hlc > 0) this.observe(frame.hlc);
      if (!helloDone) {
        const hello = frame.hello;
        const shared = hello?.protocolVersions.filter((v) => SUPPORTED_PROTOCOL_VERSIONS.includes(v)) ?? [];
        if (hello === undefined || shared.length === 0) {
          this.counters.refusedHellos++;
          write({
            ...this.replyFrame([]),
            hello: {
              code: hello === undefined ? ErrorCode.INVALID_ARGUMENT : ErrorCode.UNSUPPORTED_PROTOCOL,
              message:
                hello === undefined
                  ? 'the first frame of a replica stream must carry a hello'
                  : `peer speaks replica protocol [${hello.protocolVersions.join(', ')}]; this node speaks [${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}]`,
              protocolVersion: 0,
              nodeId: this.d.nodeId,
              hlc: this.d.clock.current,
              epoch: this.d.epoch(),
            },
          });
          call.end();
          return;
        }
        helloDone = true;
        peer = hello.nodeId;
        if (hello.hlc > 0) this.observe(hello.hlc);
        write({
          ...this.replyFrame([]),
          hello: {
            code: ErrorCode.OK,
            message: '',
            protocolVersion: Math.max(...shared),
            nodeId: this.d.nodeId,
            hlc: this.d.clock.current,
            epoch: this.d.epoch(),
          },
        });
        return;
      }
      this.counters.frames++;
      if (frame.epoch > 0) this.d.peerEpoch(peer, frame.epoch);
      for (const u of frame.unsettled) this.d.settled.pin(u);
      if (frame.settled !== undefined) this.d.settled.mark(frame.settled);
      const replies: ReplicaReply[] = [];
      for (const request of frame.requests) {
        this.counters.requests++;
        const reply = this.handle(peer, request, frame.epoch, (async) => {
          later.push(async);
          if (!laterScheduled) {
            laterScheduled = true;
            setImmediate(flushLater);
          }
        });
        if (reply !== undefined) replies.push(reply);
      }
      if (replies.length > 0) this.writeReplies(write, replies);
    });
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', (err) => {
      forget();
      this.d.log.debug({ peer, err }, 'replica stream failed');
    });
    call.on('cancelled', forget);
  };

  /** Writes replies in frames that stay under maxFrameBytes (reads carry values). */
  private writeReplies(write: (frame: ReplicaReplyFrame) => void, replies: ReplicaReply[]): void {
    const budget = this.d.maxFrameBytes - FRAME_OVERHEAD_BYTES;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < replies.length; i++) {
      const r = replies[i]!;
      let size = r.value.length + r.message.length + r.payload.length + 64;
      if (r.result) size += r.result.value.length + 256;
      for (const e of r.entries) size += e.key.length + e.value.length + 40;
      if (bytes + size > budget && i > start) {
        write(this.replyFrame(replies.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    write(this.replyFrame(start === 0 ? replies : replies.slice(start)));
  }

  private observe(hlc: number): void {
    // A clock reading too far ahead is not merged: it would drag this node's clock with it.
    if (hlcPhysicalMs(hlc) <= this.d.wallClock() + this.d.maxClockSkewMs) this.d.clock.observe(hlc);
  }

  private replyFrame(replies: ReplicaReply[]): ReplicaReplyFrame {
    return {
      hello: undefined,
      epoch: this.d.epoch(),
      replies,
      error: ErrorCode.OK,
      errorMessage: '',
      hlc: this.d.clock.current,
      wallMs: Math.floor(this.d.wallClock()),
    };
  }

  /** The reply to one request; undefined for a COORDINATE, whose reply is handed to `async` once its operation finishes. */
  private handle(
    peer: string,
    request: ReplicaRequest,
    epoch: number,
    async: (reply: ReplicaReply) => void,
  ): ReplicaReply | undefined {
    const reply = emptyReply(request.id);
    switch (request.type) {
      case ReplicaOpType.APPLY:
      case ReplicaOpType.READ: {
        // The key's slot, once: the fence, readiness and ownership checks all want it.
        const slot = slotOfRange(request.key, 0, request.key.length);
        if (this.d.staleEpoch(request.cache, slot, epoch)) {
          this.counters.staleEpochRefusals++;
          reply.code = ErrorCode.STALE_EPOCH;
          reply.epoch = this.d.epoch();
          reply.message = `slot placement changed after epoch ${epoch}; this node holds epoch ${this.d.epoch()}`;
          return reply;
        }
        if (request.type === ReplicaOpType.READ) {
          if (!this.d.rebalance.readable(request.cache, slot)) {
            // Restarted empty, or still filling a slot it is joining: its copy may be missing acknowledged writes.
            this.counters.notReadyRefusals++;
            reply.code = ErrorCode.NOT_READY;
            reply.message = `${this.d.nodeId} has not filled this slot yet`;
            return reply;
          }
          this.d.applier.read(request, reply);
          return reply;
        }
        const aheadMs = hlcPhysicalMs(request.hlc) - this.d.wallClock();
        if (aheadMs > this.d.maxClockSkewMs) {
          this.counters.clockSkewRefusals++;
          reply.code = ErrorCode.CLOCK_SKEW;
          reply.message = `version is ${Math.round(aheadMs)} ms ahead of this node's clock; the limit is ${this.d.maxClockSkewMs} (maxClockSkewMs)`;
          return reply;
        }
        this.d.applier.apply(request, reply);
        this.d.rebalance.applied(request.cache, slot);
        return reply;
      }
      case ReplicaOpType.COORDINATE: {
        const op = request.operation;
        if (op === undefined) {
          reply.code = ErrorCode.INVALID_ARGUMENT;
          reply.message = 'COORDINATE needs an operation';
          return reply;
        }
        const started = performance.now();
        const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : 5000;
        this.d.coordinator
          .execute(op, {
            consistency: op.consistency || Consistency.CONSISTENCY_DEFAULT,
            deadline: started + timeoutMs,
            forwarded: true,
          })
          .then((result: Result) => {
            reply.result = result;
            async(reply);
          });
        return undefined;
      }
      case ReplicaOpType.DIGESTS:
        return this.d.antiEntropy.handle(peer, request, reply, async) ? reply : undefined;
      case ReplicaOpType.SCAN:
      case ReplicaOpType.SYNC:
      case ReplicaOpType.FILLED:
      case ReplicaOpType.DRAIN:
        return this.d.rebalance.handle(peer, request, epoch, reply, async) ? reply : undefined;
      default:
        reply.code = ErrorCode.INVALID_ARGUMENT;
        reply.message = `unknown replica request type ${request.type as number}`;
        return reply;
    }
  }
}

function emptyReply(id: number): ReplicaReply {
  return {
    id,
    code: ErrorCode.OK,
    message: '',
    hlc: 0,
    node: 0,
    tombstone: false,
    value: EMPTY,
    expiresAtMs: 0,
    result: undefined,
    entries: [],
    cursor: 0,
    done: false,
    epoch: 0,
    payload: EMPTY,
    estimatedItems: 0,
  };
}
