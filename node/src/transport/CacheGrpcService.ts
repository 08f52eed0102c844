import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import {
  DEFAULT_CACHE_NAME,
  ErrorCode,
  FastCacheService,
  type HandshakeRequest,
  type HandshakeResponse,
  METADATA_FORWARD,
  METADATA_PROTOCOL,
  METADATA_SESSION,
  type Operation,
  type OperationFrame,
  OpType,
  type PingRequest,
  type PingResponse,
  type Result,
  type ResultFrame,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Topology,
  type WatchTopologyRequest,
  keySlot,
} from '@meshcache/proto';
import type { Logger } from 'pino';
import type { LocalTopology } from '../cluster/LocalTopology.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import type { OperationCoordinator } from '../coordinator/OperationCoordinator.js';
import { guardDecoder, malformedReason } from './frameGuard.js';

export interface CacheGrpcServiceOptions {
  nodeId: string;
  serverVersion: string;
  maxKeyBytes: number;
  maxOpsPerFrame: number;
  maxFrameBytes: number;
  /** Deadline of each operation of a frame, ms. */
  requestTimeoutMs: number;
}

/** Counters the metrics module reads. */
export interface TransportCounters {
  framesIn: number;
  malformedFrames: number;
  rejectedFrames: number;
  sessions: number;
  openStreams: number;
  /** Operations on keys this node holds no copy of, coordinated for clients that asked for forwarding. */
  forwardedOps: number;
  /** Operations refused with NOT_OWNER (the client routes, and routed to the wrong node). */
  notOwnerOps: number;
}

/** Session ids of clients that asked for forwarding in the handshake end with this. */
const FORWARD_SESSION_SUFFIX = '.fwd';

/** What the door needs from the coordinator. */
export interface FrameCoordinator extends OperationCoordinator {
  /** Whether every key of every operation may run on the local fast path. */
  allLocal(ops: readonly Operation[]): boolean;
  /** Whether this node holds a copy of the slot in the cache. */
  isReplica(cacheIndex: number, slot: number): boolean;
}

function failed(id: number, code: ErrorCode, message: string): Result {
  return {
    id,
    code,
    message,
    found: false,
    value: Buffer.alloc(0),
    version: undefined,
    ttlMs: 0,
    applied: false,
    number: 0,
    entries: [],
  };
}

/**
 * The Cache service with the hand-written frame codec on the hot methods, and
 * decoders that turn an undecodable frame into MALFORMED_FRAME.
 */
export const guardedCacheService = {
  ...FastCacheService,
  execute: {
    ...FastCacheService.execute,
    requestDeserialize: guardDecoder(FastCacheService.execute.requestDeserialize),
  },
  executeBatch: {
    ...FastCacheService.executeBatch,
    requestDeserialize: guardDecoder(FastCacheService.executeBatch.requestDeserialize),
  },
} as const;

function errorFrame(epoch: number, code: ErrorCode, message: string): ResultFrame {
  return { epoch, results: [], error: code, errorMessage: message };
}

/** The data-plane handlers of one node. */
export class CacheGrpcService {
  readonly counters: TransportCounters = {
    framesIn: 0,
    malformedFrames: 0,
    rejectedFrames: 0,
    sessions: 0,
    openStreams: 0,
    forwardedOps: 0,
    notOwnerOps: 0,
  };
  private readonly streams = new Set<grpc.ServerDuplexStream<OperationFrame, ResultFrame>>();
  private readonly watchers = new Set<grpc.ServerWritableStream<WatchTopologyRequest, Topology>>();
  private closing = false;

  constructor(
    private readonly options: CacheGrpcServiceOptions,
    private readonly executor: OperationExecutor,
    private readonly caches: CacheRegistry,
    private readonly topology: LocalTopology,
    private readonly log: Logger,
    private readonly coordinator?: FrameCoordinator,
  ) {
    this.topology.on('change', (t) => {
      for (const w of this.watchers) w.write(t);
    });
  }

  /** grpc-js handler map for `server.addService(guardedCacheService, ...)`. */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      handshake: this.handshake,
      execute: this.execute,
      executeBatch: this.executeBatch,
      ping: this.ping,
      watchTopology: this.watchTopology,
    };
  }

  /** Why a call's protocol metadata is unacceptable, or undefined when it is fine. */
  private protocolProblem(metadata: grpc.Metadata): string | undefined {
    const values = metadata.get(METADATA_PROTOCOL);
    // A caller that names no version gets the current one: handy for grpcurl and debugging.
    if (values.length === 0) return undefined;
    const version = Number(values[0]);
    if (SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
    return `protocol version ${String(values[0])} is not supported; this node speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`;
  }

  /**
   * Whether the caller asked this node to forward operations on keys it does
   * not own (handshake flag, kept in the session id, or the forward metadata
   * key).
   */
  private forwarding(metadata: grpc.Metadata): boolean {
    const flag = metadata.get(METADATA_FORWARD)[0];
    if (flag !== undefined) return flag === '1' || flag === 'true';
    const session = metadata.get(METADATA_SESSION)[0];
    return typeof session === 'string' && session.endsWith(FORWARD_SESSION_SUFFIX);
  }

  /** Runs one frame, or explains why it cannot run. */
  /**
   * With `late` (a stream), operations that finish later are handed to it one
   * by one and the returned frame holds only those done now; without it (a
   * unary call), the promise settles with every result.
   */
  private runFrame(
    frame: OperationFrame,
    forward: boolean,
    late?: (r: Result) => void,
  ): ResultFrame | Promise<ResultFrame> {
    const epoch = this.topology.epoch;
    this.counters.framesIn++;
    const malformed = malformedReason(frame);
    if (malformed !== undefined) {
      this.counters.malformedFrames++;
      return errorFrame(epoch, ErrorCode.MALFORMED_FRAME, `frame could not be decoded: ${malformed}`);
    }
    if (frame.ops.length > this.options.maxOpsPerFrame) {
      this.counters.rejectedFrames++;
      const message = `frame carries ${frame.ops.length} operations; the limit is ${this.options.maxOpsPerFrame} (maxOpsPerFrame)`;
      const results: Result[] = frame.ops.map((op) => failed(op.id, ErrorCode.BATCH_TOO_LARGE, message));
      return { epoch, results, error: ErrorCode.BATCH_TOO_LARGE, errorMessage: message };
    }
    if (!this.coordinator) {
      return { epoch, results: this.executor.executeAll(frame.ops), error: ErrorCode.OK, errorMessage: '' };
    }
    return this.coordinateFrame(frame, forward, late);
  }

  /**
   * Hands the frame's operations to the coordinator, which distributes them
   * (forwarding, replica fan-out, quorums). A client that routes itself (no
   * forwarding asked) gets NOT_OWNER, with the epoch, for a key of which this
   * node holds no copy: its table is stale.
   */
  private coordinateFrame(
    frame: OperationFrame,
    forward: boolean,
    late?: (r: Result) => void,
  ): ResultFrame | Promise<ResultFrame> {
    const coordinator = this.coordinator!;
    // Most frames hold only keys this node serves alone (a routing client, or
    // one node): run them as they are, synchronously, without a promise per operation.
    if (coordinator.allLocal(frame.ops)) {
      return {
        epoch: this.topology.epoch,
        results: this.executor.executeAll(frame.ops),
        error: ErrorCode.OK,
        errorMessage: '',
      };
    }
    const deadline = performance.now() + this.options.requestTimeoutMs;
    const now: Result[] = [];
    const pending: Promise<Result>[] = [];
    for (const op of frame.ops) {
      const away = this.awayKeySlot(op);
      if (away !== undefined) {
        if (!forward) {
          this.counters.notOwnerOps++;
          now.push(
            failed(
              op.id,
              ErrorCode.NOT_OWNER,
              `slot ${away} has no copy on ${this.options.nodeId} at epoch ${this.topology.epoch}; refresh the topology`,
            ),
          );
          continue;
        }
        this.counters.forwardedOps++;
      }
      const r = coordinator.execute(op, { consistency: op.consistency, deadline });
      // On a stream each result goes out as soon as it is ready (batched per turn of the event loop): one
      // slow operation (a forward to a paused node) must not hold its frame-mates' results.
      if (late !== undefined) r.then(late);
      else pending.push(r);
    }
    const out = (results: Result[]): ResultFrame => ({
      epoch: this.topology.epoch,
      results,
      error: ErrorCode.OK,
      errorMessage: '',
    });
    if (late !== undefined || pending.length === 0) return out(now);
    return Promise.all(pending).then((rest) => out(now.concat(rest)));
  }

  /** A slot of the operation's keys that this node holds no copy of, or undefined. */
  private awayKeySlot(op: Operation): number | undefined {
    const coordinator = this.coordinator!;
    const cache = this.caches.indexOf(op.cache === '' ? DEFAULT_CACHE_NAME : op.cache);
    if (cache < 0) return undefined;
    const keys =
      op.type === OpType.GET_MANY
        ? op.keys
        : op.type === OpType.SET_MANY
          ? op.entries.map((e) => e.key)
          : [op.key];
    for (const key of keys) {
      const slot = keySlot(key);
      if (!coordinator.isReplica(cache, slot)) return slot;
    }
    return undefined;
  }

  private readonly handshake: grpc.handleUnaryCall<HandshakeRequest, HandshakeResponse> = (
    call,
    callback,
  ) => {
    const offered = call.request.protocolVersions;
    const shared = offered.filter((v) => SUPPORTED_PROTOCOL_VERSIONS.includes(v));
    const base: HandshakeResponse = {
      code: ErrorCode.OK,
      message: '',
      protocolVersion: 0,
      sessionId: '',
      nodeId: this.options.nodeId,
      epoch: this.topology.epoch,
      serverVersion: this.options.serverVersion,
      limits: {
        maxKeyBytes: this.options.maxKeyBytes,
        maxValueBytes: Math.max(...this.caches.options.map((c) => c.maxValueBytes)),
        maxOpsPerFrame: this.options.maxOpsPerFrame,
        maxFrameBytes: this.options.maxFrameBytes,
      },
      caches: this.caches.describe(),
    };
    if (this.closing) {
      callback(null, { ...base, code: ErrorCode.SHUTTING_DOWN, message: 'node is shutting down' });
      return;
    }
    if (shared.length === 0) {
      callback(null, {
        ...base,
        code: ErrorCode.UNSUPPORTED_PROTOCOL,
        message: `client speaks protocol version(s) [${offered.join(', ')}]; this node speaks [${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}]`,
      });
      return;
    }
    this.counters.sessions++;
    const sessionId = randomUUID() + (call.request.forward ? FORWARD_SESSION_SUFFIX : '');
    callback(null, { ...base, protocolVersion: Math.max(...shared), sessionId });
  };

  private readonly execute: grpc.handleBidiStreamingCall<OperationFrame, ResultFrame> = (call) => {
    const problem = this.protocolProblem(call.metadata);
    if (problem !== undefined) {
      call.write(errorFrame(this.topology.epoch, ErrorCode.UNSUPPORTED_PROTOCOL, problem));
      call.end();
      return;
    }
    this.streams.add(call);
    this.counters.openStreams++;
    const forget = () => {
      if (this.streams.delete(call)) this.counters.openStreams--;
    };
    const forward = this.forwarding(call.metadata);
    // Operations still running; the stream ends only after their results are written.
    let waiting = 0;
    let ended = false;
    const write = (out: ResultFrame) => {
      if (call.writableEnded) return;
      if (!call.write(out)) {
        // The peer is not reading its results: stop reading its requests until it does.
        call.pause();
        call.once('drain', () => call.resume());
      }
    };
    // Results that finish after their frame, gathered into one frame per turn of the event
    // loop: setImmediate runs after the turn's I/O, so replies from several replicas that
    // finish operations together leave as one frame (nextTick sent one frame per reply,
    // and cost 4x the CPU per operation at QUORUM).
    let later: Result[] = [];
    let flushScheduled = false;
    const flushLater = () => {
      flushScheduled = false;
      const results = later;
      later = [];
      waiting -= results.length;
      write({ epoch: this.topology.epoch, results, error: ErrorCode.OK, errorMessage: '' });
      if (waiting === 0 && ended && !call.writableEnded) call.end();
    };
    const late = (r: Result) => {
      later.push(r);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushLater);
      }
    };
    call.on('data', (frame: OperationFrame) => {
      const out = this.runFrame(frame, forward, late) as ResultFrame;
      waiting += frame.ops.length - out.results.length;
      if (out.results.length > 0 || out.error !== ErrorCode.OK) write(out);
    });
    call.on('end', () => {
      forget();
      ended = true;
      if (waiting === 0) call.end();
    });
    call.on('error', (err) => {
      forget();
      this.log.debug({ err }, 'execute stream failed');
    });
    call.on('cancelled', forget);
  };

  private readonly executeBatch: grpc.handleUnaryCall<OperationFrame, ResultFrame> = (call, callback) => {
    const problem = this.protocolProblem(call.metadata);
    if (problem !== undefined) {
      callback(null, errorFrame(this.topology.epoch, ErrorCode.UNSUPPORTED_PROTOCOL, problem));
      return;
    }
    const out = this.runFrame(call.request, this.forwarding(call.metadata));
    if (out instanceof Promise) {
      out.then(
        (frame) => callback(null, frame),
        (err: unknown) => callback(err as grpc.ServiceError),
      );
    } else {
      callback(null, out);
    }
  };

  private readonly ping: grpc.handleUnaryCall<PingRequest, PingResponse> = (call, callback) => {
    callback(null, {
      epoch: this.topology.epoch,
      payload: call.request.payload,
      nodeId: this.options.nodeId,
    });
  };

  private readonly watchTopology: grpc.handleServerStreamingCall<WatchTopologyRequest, Topology> = (call) => {
    this.watchers.add(call);
    const forget = () => this.watchers.delete(call);
    call.on('cancelled', forget);
    call.on('error', forget);
    call.on('close', forget);
    if (call.request.knownEpoch < this.topology.epoch) call.write(this.topology.snapshot());
  };

  /** Ends every long-lived stream so clients move on; frames already received have run. */
  closeStreams(): void {
    this.closing = true;
    for (const call of this.streams) call.end();
    for (const call of this.watchers) call.end();
    this.streams.clear();
    this.watchers.clear();
    this.counters.openStreams = 0;
  }
}
