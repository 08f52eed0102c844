import * as grpc from '@grpc/grpc-js';
import {
  ErrorCode,
  type HandshakeResponse,
  METADATA_PROTOCOL,
  METADATA_SESSION,
  type PingResponse,
  type ResultFrame,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@meshcache/proto';
import { ErrorCodes } from '../errors/ErrorCodes.js';
import { MeshcacheError } from '../errors/MeshcacheError.js';
import { NoNodeAvailableError } from '../errors/NoNodeAvailableError.js';
import { errorFromGrpc } from '../errors/errorFromGrpc.js';
import { errorFromServer } from '../errors/errorFromServer.js';
import type { ReconnectPolicy } from '../policies/ReconnectPolicy.js';
import type { RetryPolicy } from '../policies/RetryPolicy.js';
import { type CacheWire, DEFAULT_CACHE_WIRE } from './CacheWire.js';
import { type Sweepable, monotonicNowMs } from './DeadlineSweeper.js';
import { FrameRecord } from './FrameRecord.js';
import { InFlightTable } from './InFlightTable.js';
import type { NodeSession } from './NodeSession.js';
import { OpIdSequence } from './OpIdSequence.js';
import type { OpOwner } from './OpOwner.js';
import { OpState, type PendingOp, cancelledError, opTypeName } from './PendingOp.js';

/**
 * - `idle`: not started; the first submit (or `start()`) connects.
 * - `connecting`: handshake in progress.
 * - `ready`: handshake done, Execute stream open; operations are sent.
 * - `backoff`: the connection failed; waiting for the next attempt.
 * - `failed`: the reconnect policy gave up; every call fails.
 * - `closed`: `close()` was called.
 */
export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'failed' | 'closed';

export interface NodeConnectionOptions {
  /** `host:port` of the node's gRPC data plane. */
  readonly address: string;
  readonly clientName: string;
  readonly connectTimeoutMs: number;
  readonly maxQueuedOps: number;
  readonly maxOpsPerFrame: number;
  readonly reconnect: ReconnectPolicy;
  readonly retry: RetryPolicy;
  /** Ask the node to forward operations for keys it does not own. */
  readonly forward?: boolean;
  readonly wire?: CacheWire;
  readonly channelOptions?: grpc.ChannelOptions;
}

/** What a connection reports to its owner (the client). */
export interface NodeConnectionListener {
  /** A reply carried a topology epoch (called only when it rose). */
  onEpoch(epoch: number): void;
}

/** Encoded-size headroom kept under the node's `max_frame_bytes`. */
const FRAME_BYTES_HEADROOM = 1024;
/** A stream that lived this long counts as a success: the next failure starts backoff afresh. */
const STABLE_STREAM_MS = 1_000;
/** How long `close()` waits for the server to end the stream before cancelling it. */
const CLOSE_GRACE_MS = 1_000;

/**
 * One node: a grpc-js channel, the handshake session and ONE long-lived
 * Execute stream carrying batched frames.
 *
 * Batching: `submit` appends to the outbox and schedules a single flush per
 * tick (`process.nextTick`); the flush assigns ids, records the ops in the
 * in-flight table and writes the outbox as one frame (split at
 * `maxOpsPerFrame` and at the node's byte limit). When the stream pushes back
 * (`write` returns false) the outbox waits for `drain`, bounded by
 * `maxQueuedOps`.
 *
 * Results are matched by id in any order and across frames; a result whose id
 * is no longer in flight (timed out, cancelled) is dropped.
 *
 * Frame-level errors (`ResultFrame.error`, e.g. MALFORMED_FRAME; no op of the
 * offending frame ran): the rule is
 *   1. ops whose ids the error frame lists in `results` fail (with the
 *      result's own code when set, else the frame's);
 *   2. otherwise, the offending frame must be one of which no result has
 *      arrived yet; if exactly one in-flight frame is in that state, its ops
 *      fail with the frame's code;
 *   3. otherwise nothing is failed directly: the ops stay in flight and fail
 *      with TIMEOUT at their deadline, with the frame error as `cause`.
 *
 * Connection loss (stream error or end, failed handshake): in-flight ops that
 * the retry policy accepts (idempotent ones) go back to the front of the
 * outbox while their deadline lasts; the others fail with CONNECTION_LOST
 * (retryable). New ops queue. The connection re-handshakes on a fresh channel
 * after the reconnect policy's delay.
 */
export class NodeConnection implements OpOwner, Sweepable {
  readonly address: string;
  private readonly opts: NodeConnectionOptions;
  private readonly wire: CacheWire;
  private readonly listener: NodeConnectionListener;

  private stateValue: ConnectionState = 'idle';
  private sessionValue: NodeSession | undefined = undefined;
  private epochValue = 0;
  private lastErrorValue: Error | undefined = undefined;
  private lastFrameError: MeshcacheError | undefined = undefined;

  private channel: grpc.Client | undefined = undefined;
  private stream: grpc.ClientDuplexStream<Buffer, ResultFrame> | undefined = undefined;
  private streamOpenedAt = 0;
  private streamAnswered = false;
  private writable = true;

  private outbox: PendingOp[] = [];
  private readonly inFlight = new InFlightTable();
  private readonly ids = new OpIdSequence();
  private frameSeq = 0;
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();
  private frameOpsLimit: number;
  private frameBytesLimit = Infinity;

  private attempt = 0;
  private backoffTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private closing: Promise<void> | undefined = undefined;

  constructor(options: NodeConnectionOptions, listener: NodeConnectionListener) {
    this.opts = options;
    this.address = options.address;
    this.wire = options.wire ?? DEFAULT_CACHE_WIRE;
    this.listener = listener;
    this.frameOpsLimit = options.maxOpsPerFrame;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The current handshake session, when connected. */
  get session(): NodeSession | undefined {
    return this.sessionValue;
  }

  /** The node id from the latest handshake. */
  get nodeId(): string | undefined {
    return this.sessionValue?.nodeId;
  }

  /** The highest topology epoch seen from this node. */
  get epoch(): number {
    return this.epochValue;
  }

  /** The latest connection failure, if any. */
  get lastError(): Error | undefined {
    return this.lastErrorValue;
  }

  /** Operations waiting to be sent. */
  get queuedCount(): number {
    return this.outbox.length;
  }

  /** Operations sent and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Starts connecting if idle. */
  start(): void {
    if (this.stateValue === 'idle') this.connect();
  }

  /**
   * Takes ownership of `op`: it will be resolved or rejected exactly once. The
   * op must have its promise callbacks set; its deadline is enforced through
   * `sweep`.
   */
  submit(op: PendingOp): void {
    const state = this.stateValue;
    if (state === 'closed') {
      op.fail(this.closedError());
      return;
    }
    if (state === 'failed') {
      op.fail(this.noNodeError());
      return;
    }
    if (this.outbox.length >= this.opts.maxQueuedOps) {
      op.fail(
        new MeshcacheError(
          ErrorCodes.QUEUE_FULL,
          `${this.opts.maxQueuedOps} operations already wait to be sent to ${this.address} (maxQueuedOps)`,
          { nodeId: this.nodeId },
        ),
      );
      return;
    }
    if (this.sessionValue !== undefined) {
      const tooLarge = this.oversizeError(op);
      if (tooLarge !== undefined) {
        op.fail(tooLarge);
        return;
      }
    }
    op.owner = this;
    op.state = OpState.QUEUED;
    this.outbox.push(op);
    if (state === 'ready') {
      if (!this.flushScheduled && this.writable) {
        this.flushScheduled = true;
        process.nextTick(this.flushBound);
      }
    } else if (state === 'idle') {
      this.connect();
    }
  }

  /** Resolves once the connection is ready; rejects when it is closed or gives up. */
  whenReady(): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    if (this.stateValue === 'closed') return Promise.reject(this.closedError());
    if (this.stateValue === 'failed') return Promise.reject(this.noNodeError());
    this.start();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Unary Ping to this node (the connection must be ready). */
  ping(deadlineEpochMs: number): Promise<PingResponse> {
    const channel = this.channel;
    const session = this.sessionValue;
    if (this.stateValue !== 'ready' || channel === undefined || session === undefined) {
      return Promise.reject(
        new MeshcacheError(ErrorCodes.CONNECTION_LOST, `not connected to ${this.address}`, {
          retryable: true,
        }),
      );
    }
    const method = this.wire.ping;
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { payload: Buffer.alloc(0) },
        this.callMetadata(session),
        { deadline: deadlineEpochMs },
        (err, response) => {
          if (err || response === undefined) {
            reject(errorFromGrpc(err, `ping ${this.address}`, session.nodeId));
            return;
          }
          this.noteEpoch(response.epoch);
          resolve(response);
        },
      );
    });
  }

  // ---------------------------------------------------------------- batching

  private flush(): void {
    this.flushScheduled = false;
    const stream = this.stream;
    if (stream === undefined || this.stateValue !== 'ready') return;
    while (this.outbox.length > 0 && this.writable) {
      const count = this.fitInFrame();
      let ops: PendingOp[];
      if (count === this.outbox.length) {
        ops = this.outbox;
        this.outbox = [];
      } else {
        ops = this.outbox.splice(0, count);
      }
      const frame = new FrameRecord(++this.frameSeq, ops.length);
      const inFlight = this.inFlight;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const id = this.ids.next(inFlight);
        op.id = id;
        op.state = OpState.IN_FLIGHT;
        op.frame = frame;
        inFlight.add(op);
      }
      let bytes: Buffer;
      try {
        bytes = this.wire.execute.requestSerialize({ ops });
      } catch {
        this.writeOneByOne(stream, ops);
        continue;
      }
      this.writable = stream.write(bytes);
    }
  }

  /** After a frame failed to encode: sends each op alone, failing only those that cannot be encoded. */
  private writeOneByOne(stream: grpc.ClientDuplexStream<Buffer, ResultFrame>, ops: PendingOp[]): void {
    for (const op of ops) {
      op.frame = new FrameRecord(++this.frameSeq, 1);
      let bytes: Buffer;
      try {
        bytes = this.wire.execute.requestSerialize({ ops: [op] });
      } catch (err) {
        this.inFlight.take(op.id);
        op.fail(
          new MeshcacheError(
            ErrorCodes.INVALID_ARGUMENT,
            `cannot encode ${opTypeName(op.type)}: ${(err as Error).message}`,
            { cause: err },
          ),
        );
        continue;
      }
      this.writable = stream.write(bytes);
    }
  }

  /** Fails what the node's limits (from the handshake) would refuse anyway, without sending it. */
  private oversizeError(op: PendingOp): MeshcacheError | undefined {
    const limits = this.sessionValue?.limits;
    if (limits === undefined) return undefined;
    if (limits.maxKeyBytes > 0 && op.key.length > limits.maxKeyBytes) {
      return new MeshcacheError(
        ErrorCodes.KEY_TOO_LARGE,
        `key of ${op.key.length} bytes exceeds the node's limit of ${limits.maxKeyBytes}`,
        { nodeId: this.nodeId },
      );
    }
    if (limits.maxValueBytes > 0 && op.value.length > limits.maxValueBytes) {
      return new MeshcacheError(
        ErrorCodes.VALUE_TOO_LARGE,
        `value of ${op.value.length} bytes exceeds the node's limit of ${limits.maxValueBytes}`,
        { nodeId: this.nodeId },
      );
    }
    if (op.approxBytes > this.frameBytesLimit) {
      return new MeshcacheError(
        ErrorCodes.BATCH_TOO_LARGE,
        `${opTypeName(op.type)} of about ${op.approxBytes} bytes exceeds the node's frame limit of ${limits.maxFrameBytes}`,
        { nodeId: this.nodeId },
      );
    }
    return undefined;
  }

  /** How many ops from the head of the outbox go into the next frame. */
  private fitInFrame(): number {
    const outbox = this.outbox;
    const limit = Math.min(outbox.length, this.frameOpsLimit);
    if (this.frameBytesLimit === Infinity) return limit;
    let bytes = 0;
    for (let i = 0; i < limit; i++) {
      bytes += outbox[i]!.approxBytes;
      if (bytes > this.frameBytesLimit) return Math.max(1, i);
    }
    return limit;
  }

  private onFrame(frame: ResultFrame): void {
    this.streamAnswered = true;
    if (frame.epoch > this.epochValue) this.noteEpoch(frame.epoch);
    if (frame.error !== ErrorCode.OK) {
      this.onFrameError(frame);
      return;
    }
    const results = frame.results;
    const inFlight = this.inFlight;
    const nodeId = this.sessionValue?.nodeId;
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      const op = inFlight.take(result.id);
      if (op === undefined) continue; // late result of a timed-out or cancelled op
      if (op.frame !== undefined) op.frame.answered++;
      op.complete(result, nodeId);
    }
  }

  private onFrameError(frame: ResultFrame): void {
    const nodeId = this.sessionValue?.nodeId;
    const err = errorFromServer(frame.error, frame.errorMessage, nodeId);
    // Rule 1: the frame lists the ids it is about.
    if (frame.results.length > 0) {
      for (const result of frame.results) {
        const op = this.inFlight.take(result.id);
        if (op === undefined) continue;
        op.fail(result.code !== ErrorCode.OK ? errorFromServer(result.code, result.message, nodeId) : err);
      }
      return;
    }
    // Rule 2: exactly one in-flight frame has had no answer at all.
    let candidate: FrameRecord | undefined;
    let ambiguous = false;
    this.inFlight.forEach((op) => {
      const record = op.frame;
      if (record === undefined || record.answered > 0 || record === candidate) return;
      if (candidate !== undefined) ambiguous = true;
      candidate = record;
    });
    if (candidate === undefined || ambiguous) {
      // Rule 3: the ops time out with this error as cause.
      this.lastFrameError = err;
      return;
    }
    const offending = candidate;
    this.inFlight.forEach((op) => {
      if (op.frame === offending) {
        this.inFlight.take(op.id);
        op.fail(err);
      }
    });
  }

  private noteEpoch(epoch: number): void {
    if (epoch > this.epochValue) {
      this.epochValue = epoch;
      this.listener.onEpoch(epoch);
    }
  }

  // --------------------------------------------------------------- deadlines

  sweep(nowMs: number): number {
    let next = Infinity;
    this.inFlight.forEach((op) => {
      if (op.deadlineAt <= nowMs) {
        this.inFlight.take(op.id);
        op.fail(this.timeoutError(op));
      } else if (op.deadlineAt < next) {
        next = op.deadlineAt;
      }
    });
    const outbox = this.outbox;
    if (outbox.length > 0) {
      let expired = 0;
      for (let i = 0; i < outbox.length; i++) {
        const deadlineAt = outbox[i]!.deadlineAt;
        if (deadlineAt <= nowMs) expired++;
        else if (deadlineAt < next) next = deadlineAt;
      }
      if (expired > 0) {
        const kept: PendingOp[] = [];
        for (const op of outbox) {
          if (op.deadlineAt <= nowMs) op.fail(this.timeoutError(op));
          else kept.push(op);
        }
        this.outbox = kept;
      }
    }
    return next;
  }

  cancel(op: PendingOp): void {
    if (op.state === OpState.IN_FLIGHT) {
      this.inFlight.take(op.id);
    } else if (op.state === OpState.QUEUED) {
      const index = this.outbox.indexOf(op);
      if (index >= 0) this.outbox.splice(index, 1);
    }
    op.fail(cancelledError(op.signal));
  }

  private timeoutError(op: PendingOp): MeshcacheError {
    const sent = op.state === OpState.IN_FLIGHT;
    const where = sent ? `waiting for ${this.address}` : `queued for ${this.address} (${this.stateValue})`;
    const cause = sent ? this.lastFrameError : this.stateValue === 'ready' ? undefined : this.lastErrorValue;
    return new MeshcacheError(
      ErrorCodes.TIMEOUT,
      `${opTypeName(op.type)} timed out after ${op.timeoutMs} ms ${where}`,
      { nodeId: this.nodeId, cause },
    );
  }

  // -------------------------------------------------------------- connecting

  private connect(): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    this.stateValue = 'connecting';
    const channel = new grpc.Client(this.address, grpc.credentials.createInsecure(), {
      'grpc.enable_retries': 0,
      ...this.opts.channelOptions,
    });
    this.channel = channel;
    const method = this.wire.handshake;
    channel.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {
        protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
        clientName: this.opts.clientName,
        forward: this.opts.forward ?? false,
      },
      new grpc.Metadata(),
      { deadline: Date.now() + this.opts.connectTimeoutMs },
      (err, response) => this.onHandshake(channel, err, response),
    );
  }

  private onHandshake(
    channel: grpc.Client,
    err: grpc.ServiceError | null,
    response: HandshakeResponse | undefined,
  ): void {
    if (channel !== this.channel || this.stateValue !== 'connecting') return;
    if (err || response === undefined) {
      this.connectionFailed(errorFromGrpc(err, `handshake with ${this.address}`));
      return;
    }
    if (response.code !== ErrorCode.OK) {
      const failure = errorFromServer(response.code, response.message, response.nodeId || undefined);
      // A refusal that retrying will not fix (UNSUPPORTED_PROTOCOL) fails what is queued now.
      if (!failure.retryable) this.failQueued(failure);
      this.connectionFailed(failure);
      return;
    }
    this.sessionValue = {
      protocolVersion: response.protocolVersion,
      sessionId: response.sessionId,
      nodeId: response.nodeId,
      serverVersion: response.serverVersion,
      epoch: response.epoch,
      limits: response.limits,
      caches: response.caches,
    };
    const limits = response.limits;
    this.frameOpsLimit =
      limits && limits.maxOpsPerFrame > 0
        ? Math.min(this.opts.maxOpsPerFrame, limits.maxOpsPerFrame)
        : this.opts.maxOpsPerFrame;
    this.frameBytesLimit =
      limits && limits.maxFrameBytes > 0
        ? Math.max(1, limits.maxFrameBytes - FRAME_BYTES_HEADROOM)
        : Infinity;
    this.noteEpoch(response.epoch);
    if (this.outbox.length > 0) this.failOversizedQueued();
    this.openStream(channel, this.sessionValue);
  }

  private callMetadata(session: NodeSession): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(METADATA_PROTOCOL, String(session.protocolVersion));
    metadata.set(METADATA_SESSION, session.sessionId);
    return metadata;
  }

  private openStream(channel: grpc.Client, session: NodeSession): void {
    const method = this.wire.execute;
    // Frames are encoded in flush() (so an encode failure fails only its ops);
    // grpc-js gets the bytes.
    const stream = channel.makeBidiStreamRequest<Buffer, ResultFrame>(
      method.path,
      passThrough,
      method.responseDeserialize,
      this.callMetadata(session),
      {},
    );
    stream.on('data', (frame: ResultFrame) => {
      if (stream === this.stream) this.onFrame(frame);
    });
    stream.on('error', (err: Error) => {
      this.streamLost(stream, errorFromGrpc(err, `stream to ${this.address}`, session.nodeId));
    });
    stream.on('end', () => {
      this.streamLost(
        stream,
        new MeshcacheError(ErrorCodes.CONNECTION_LOST, `${this.address} ended the stream`, {
          nodeId: session.nodeId,
          retryable: true,
        }),
      );
    });
    stream.on('drain', () => {
      if (stream !== this.stream) return;
      this.writable = true;
      this.flush();
    });
    this.stream = stream;
    this.streamOpenedAt = monotonicNowMs();
    this.streamAnswered = false;
    this.writable = true;
    this.lastFrameError = undefined;
    this.stateValue = 'ready';
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    this.flush();
  }

  private streamLost(stream: grpc.ClientDuplexStream<Buffer, ResultFrame>, err: MeshcacheError): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    stream.cancel();
    if (this.streamAnswered || monotonicNowMs() - this.streamOpenedAt >= STABLE_STREAM_MS) this.attempt = 0;
    const now = monotonicNowMs();
    const retry: PendingOp[] = [];
    const retryPolicy = this.opts.retry;
    for (const op of this.inFlight.drain()) {
      op.frame = undefined;
      if (op.deadlineAt > now && retryPolicy.retryAfterConnectionLoss(op)) {
        op.state = OpState.QUEUED;
        retry.push(op);
      } else {
        op.fail(
          new MeshcacheError(
            ErrorCodes.CONNECTION_LOST,
            `connection to ${this.address} lost with ${opTypeName(op.type)} in flight: ${err.message}`,
            { nodeId: err.nodeId, retryable: true, cause: err },
          ),
        );
      }
    }
    if (retry.length > 0) this.outbox = retry.concat(this.outbox);
    this.connectionFailed(err);
  }

  private connectionFailed(err: Error): void {
    this.lastErrorValue = err;
    this.sessionValue = undefined;
    this.closeChannel();
    if (this.stateValue === 'closed') return;
    const delay = this.opts.reconnect.delayMs(++this.attempt);
    if (delay === undefined) {
      this.stateValue = 'failed';
      const failure = this.noNodeError();
      this.failQueued(failure);
      this.rejectWaiters(failure);
      return;
    }
    this.stateValue = 'backoff';
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.connect();
    }, delay);
    this.backoffTimer.unref();
  }

  private closeChannel(): void {
    const channel = this.channel;
    this.channel = undefined;
    channel?.close();
  }

  private failOversizedQueued(): void {
    const kept: PendingOp[] = [];
    for (const op of this.outbox) {
      const tooLarge = this.oversizeError(op);
      if (tooLarge === undefined) kept.push(op);
      else op.fail(tooLarge);
    }
    this.outbox = kept;
  }

  private failQueued(err: Error): void {
    const outbox = this.outbox;
    this.outbox = [];
    for (const op of outbox) op.fail(err);
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter.reject(err);
  }

  private closedError(): MeshcacheError {
    return new MeshcacheError(ErrorCodes.CLIENT_CLOSED, 'the client is closed', { retryable: false });
  }

  private noNodeError(): NoNodeAvailableError {
    const cause = this.lastErrorValue ?? new Error('reconnect policy gave up');
    return new NoNodeAvailableError(new Map([[this.address, cause]]));
  }

  // ----------------------------------------------------------------- closing

  /**
   * Fails queued and in-flight operations with CLIENT_CLOSED, ends the
   * stream (cancelling it if the node has not closed it within a grace
   * period) and closes the channel.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.stateValue = 'closed';
    if (this.backoffTimer !== undefined) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
    }
    const err = this.closedError();
    this.failQueued(err);
    for (const op of this.inFlight.drain()) op.fail(err);
    this.rejectWaiters(err);
    const stream = this.stream;
    this.stream = undefined;
    this.closing = (stream ? endStream(stream) : Promise.resolve()).then(() => this.closeChannel());
    return this.closing;
  }
}

function passThrough(bytes: Buffer): Buffer {
  return bytes;
}

function endStream(stream: grpc.ClientDuplexStream<Buffer, ResultFrame>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => stream.cancel(), CLOSE_GRACE_MS);
    stream.on('error', () => {}); // the cancel below or the server may end it with a status
    stream.once('status', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.end();
  });
}
