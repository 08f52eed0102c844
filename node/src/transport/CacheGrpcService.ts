import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
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
} from '@meshcache/proto';
import type { Logger } from 'pino';
import type { LocalTopology } from '../cluster/LocalTopology.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import { METADATA_FORWARDED, type PeerForwarder } from '../routing/PeerForwarder.js';
import type { Route, SlotRouter } from '../routing/SlotRouter.js';
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
  /** Operations sent on to their owner for clients that asked for forwarding. */
  forwardedOps: number;
  /** Operations refused with NOT_OWNER (the client routes, and routed to the wrong node). */
  notOwnerOps: number;
}

/** Session ids of clients that asked for forwarding in the handshake end with this. */
const FORWARD_SESSION_SUFFIX = '.fwd';

/** Routing at the node: who owns a key, and how to reach the owner. */
export interface Routing {
  router: SlotRouter;
  forwarder: PeerForwarder;
}

/** One unit of work in a frame: an operation (or part of a multi-key one) and where it runs. */
interface Task {
  op: Operation;
  route: Route;
  done: (r: Result) => void;
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
    private readonly routing?: Routing,
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
   * key). A call another node forwarded is never forwarded again.
   */
  private forwarding(metadata: grpc.Metadata): boolean {
    if (metadata.get(METADATA_FORWARDED).length > 0) return false;
    const flag = metadata.get(METADATA_FORWARD)[0];
    if (flag !== undefined) return flag === '1' || flag === 'true';
    const session = metadata.get(METADATA_SESSION)[0];
    return typeof session === 'string' && session.endsWith(FORWARD_SESSION_SUFFIX);
  }

  /** Runs one frame, or explains why it cannot run. */
  private runFrame(frame: OperationFrame, forward: boolean): ResultFrame | Promise<ResultFrame> {
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
    if (!this.routing) {
      return { epoch, results: this.executor.executeAll(frame.ops), error: ErrorCode.OK, errorMessage: '' };
    }
    return this.routeFrame(frame, forward);
  }

  /**
   * Runs what this node owns; the rest is refused with NOT_OWNER (the reply's
   * epoch tells the client its table is stale) or, for clients that asked,
   * forwarded to the owner. Multi-key operations whose keys live on several
   * nodes are split per owner when forwarding and merged back in order.
   */
  private routeFrame(frame: OperationFrame, forward: boolean): ResultFrame | Promise<ResultFrame> {
    const { router, forwarder } = this.routing!;
    // Most frames hold only keys this node owns (a routing client, or one
    // node): run them as they are, without a Route, task and closure per key.
    if (router.allLocal(frame.ops)) {
      return {
        epoch: this.topology.epoch,
        results: this.executor.executeAll(frame.ops),
        error: ErrorCode.OK,
        errorMessage: '',
      };
    }
    const results = new Array<Result>(frame.ops.length);
    const tasks: Task[] = [];
    frame.ops.forEach((op, i) => {
      const done = (r: Result) => {
        results[i] = r;
      };
      for (const task of this.tasksOf(op, forward, done)) tasks.push(task);
    });
    const remote = new Map<string, Task[]>();
    for (const task of tasks) {
      const { route, op } = task;
      if (route.local) {
        task.done(this.executor.execute(op));
      } else if (!forward) {
        this.counters.notOwnerOps++;
        task.done(
          failed(
            op.id,
            ErrorCode.NOT_OWNER,
            `slot ${route.slot} is served by ${route.owner ?? 'another node'} at epoch ${router.epoch}; refresh the topology`,
          ),
        );
      } else if (route.address === undefined) {
        task.done(
          failed(op.id, ErrorCode.UNAVAILABLE, `no address for ${route.owner}, owner of slot ${route.slot}`),
        );
      } else {
        let group = remote.get(route.address);
        if (!group) remote.set(route.address, (group = []));
        group.push(task);
      }
    }
    const finish = (): ResultFrame => ({
      epoch: this.topology.epoch,
      results,
      error: ErrorCode.OK,
      errorMessage: '',
    });
    if (remote.size === 0) return finish();
    const sends = [...remote].map(async ([address, group]) => {
      this.counters.forwardedOps += group.length;
      try {
        const reply = await forwarder.executeBatch(
          address,
          group.map((t) => t.op),
        );
        const byId = new Map(reply.results.map((r) => [r.id, r]));
        for (const t of group) {
          t.done(
            byId.get(t.op.id) ??
              failed(
                t.op.id,
                reply.error || ErrorCode.INTERNAL,
                reply.errorMessage || 'no result from the owner',
              ),
          );
        }
      } catch (err) {
        const message = `forwarding to ${address} failed: ${(err as Error).message}`;
        for (const t of group) t.done(failed(t.op.id, ErrorCode.UNAVAILABLE, message));
      }
    });
    return Promise.all(sends).then(finish);
  }

  /** The operation as tasks: itself, or (multi-key, keys on several nodes, forwarding) one part per owner. */
  private tasksOf(op: Operation, forward: boolean, done: (r: Result) => void): Task[] {
    const router = this.routing!.router;
    const multi = op.type === OpType.GET_MANY || op.type === OpType.SET_MANY;
    if (!multi) return [{ op, route: router.route(op.cache, op.key), done }];
    const keys = op.type === OpType.GET_MANY ? op.keys : op.entries.map((e) => e.key);
    if (keys.length === 0) return [{ op, route: { local: true, slot: 0 }, done }];
    const routes = keys.map((k) => router.route(op.cache, k));
    const owners = new Map<string, number[]>();
    routes.forEach((r, i) => {
      const owner = r.local ? '' : (r.owner ?? '?');
      let list = owners.get(owner);
      if (!list) owners.set(owner, (list = []));
      list.push(i);
    });
    if (owners.size === 1) return [{ op, route: routes[0]!, done }];
    if (!forward) {
      // The client routes: tell it the first key that is not ours.
      const away = routes.find((r) => !r.local) ?? routes[0]!;
      return [{ op, route: away, done }];
    }
    // Split per owner; ids of the parts are private to this frame's forwarding (distinct per part).
    const parts = [...owners.values()];
    const partResults = new Array<Result | undefined>(parts.length);
    let pending = parts.length;
    const merge = () => {
      const bad = partResults.find((r) => r!.code !== ErrorCode.OK);
      if (bad) return done({ ...bad, id: op.id });
      if (op.type === OpType.GET_MANY) {
        const entries = new Array<Result['entries'][number]>(keys.length);
        parts.forEach((idx, p) => idx.forEach((k, j) => (entries[k] = partResults[p]!.entries[j]!)));
        done({ ...failed(op.id, ErrorCode.OK, ''), entries, found: entries.some((e) => e.found) });
      } else {
        const number = partResults.reduce((a, r) => a + r!.number, 0);
        done({ ...failed(op.id, ErrorCode.OK, ''), applied: true, number });
      }
    };
    return parts.map((idx, p) => ({
      op:
        op.type === OpType.GET_MANY
          ? { ...op, id: (op.id + p + 1) >>> 0, keys: idx.map((k) => op.keys[k]!) }
          : { ...op, id: (op.id + p + 1) >>> 0, entries: idx.map((k) => op.entries[k]!) },
      route: routes[idx[0]!]!,
      done: (r: Result) => {
        partResults[p] = r;
        if (--pending === 0) merge();
      },
    }));
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
    // Frames waiting on forwarded operations; the stream ends only after they are written.
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
    call.on('data', (frame: OperationFrame) => {
      const out = this.runFrame(frame, forward);
      if (!(out instanceof Promise)) return write(out);
      waiting++;
      out
        .then(write, (err: unknown) => this.log.error({ err }, 'frame failed'))
        .finally(() => {
          if (--waiting === 0 && ended && !call.writableEnded) call.end();
        });
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
