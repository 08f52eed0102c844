import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  ErrorCode,
  FastCacheService,
  type HandshakeRequest,
  type HandshakeResponse,
  METADATA_PROTOCOL,
  type OperationFrame,
  type PingRequest,
  type PingResponse,
  type Result,
  type ResultFrame,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Topology,
  type WatchTopologyRequest,
} from '@meshcache/proto';
import type { Logger } from 'pino';
import type { LocalTopology } from '../cluster/LocalTopology.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import { guardDecoder, malformedReason } from './frameGuard.js';

export interface CacheGrpcServiceOptions {
  nodeId: string;
  serverVersion: string;
  maxKeyBytes: number;
  maxOpsPerFrame: number;
  maxFrameBytes: number;
}

/** Counters the metrics module reads. */
export interface TransportCounters {
  framesIn: number;
  malformedFrames: number;
  rejectedFrames: number;
  sessions: number;
  openStreams: number;
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

  /** Runs one frame, or explains why it cannot run. */
  private runFrame(frame: OperationFrame): ResultFrame {
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
      const results: Result[] = frame.ops.map((op) => ({
        id: op.id,
        code: ErrorCode.BATCH_TOO_LARGE,
        message,
        found: false,
        value: Buffer.alloc(0),
        version: undefined,
        ttlMs: 0,
        applied: false,
        number: 0,
        entries: [],
      }));
      return { epoch, results, error: ErrorCode.BATCH_TOO_LARGE, errorMessage: message };
    }
    return { epoch, results: this.executor.executeAll(frame.ops), error: ErrorCode.OK, errorMessage: '' };
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
    callback(null, { ...base, protocolVersion: Math.max(...shared), sessionId: randomUUID() });
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
    call.on('data', (frame: OperationFrame) => {
      if (!call.write(this.runFrame(frame))) {
        // The peer is not reading its results: stop reading its requests until it does.
        call.pause();
        call.once('drain', () => call.resume());
      }
    });
    call.on('end', () => {
      forget();
      call.end();
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
    callback(null, this.runFrame(call.request));
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
