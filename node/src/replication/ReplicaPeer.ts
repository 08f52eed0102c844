import * as grpc from '@grpc/grpc-js';
import {
  backoffDelayMs,
  type BackoffOptions,
  ErrorCode,
  type ReplicaFrame,
  type ReplicaReply,
  type ReplicaReplyFrame,
  type ReplicaRequest,
  ReplicaService,
  type SettledMark,
  SUPPORTED_PROTOCOL_VERSIONS,
  type UnsettledWrite,
} from '@meshcache/proto';
import type { Logger } from 'pino';
import { hlcPhysicalMs, type HybridLogicalClock } from '../store/index.js';

/**
 * How a request ended on this stream: the reply, or undefined when it was
 * lost. `sent` tells a loss before the request left this node (the peer was
 * unreachable: nothing can have applied) from one after (outcome unknown).
 */
export type ReplyCallback = (reply: ReplicaReply | undefined, sent: boolean) => void;

export interface ReplicaPeerOptions {
  selfId: string;
  peerId: string;
  /** The peer's replica address (host:port) as membership last advertised it; '' when unknown. */
  address: () => string;
  clock: HybridLogicalClock;
  /** This node's committed epoch, stamped on every frame. */
  epoch: () => number;
  /** This node's wall clock (epoch ms; offset in tests). */
  wallClock: () => number;
  /** A peer clock reading further ahead of this node's wall clock is not merged (it would drag this clock along). */
  maxClockSkewMs: number;
  backoff: Readonly<BackoffOptions>;
  maxFrameBytes: number;
  /** Requests queued while the stream (re)connects; beyond it new requests fail at once. */
  maxQueuedRequests: number;
  log: Logger;
  /** Called with the peer's clock reading (wall ms) on every reply frame, for skew tracking. */
  onPeerWall?: (peerId: string, peerWallMs: number, localWallMs: number) => void;
  /** Called once per (re)connection, after the hello was answered. */
  onReady?: (peer: ReplicaPeer) => void;
  /** Called with the epoch the peer holds, from its hello and every reply frame. */
  onPeerEpoch?: (peerId: string, epoch: number) => void;
}

type State = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

const EMPTY = Buffer.alloc(0);
/** Room left in each frame for its own fields and the unsettled records riding on it. */
const FRAME_OVERHEAD_BYTES = 64 * 1024;

/** An upper bound of a request's encoded size (field tags, lengths, varints). */
function requestBytes(r: ReplicaRequest): number {
  const op = r.operation;
  let opBytes = 0;
  if (op !== undefined) {
    opBytes = op.key.length + op.value.length + op.cache.length + 128;
    for (const k of op.keys) opBytes += k.length + 8;
    for (const e of op.entries) opBytes += e.key.length + e.value.length + 24;
  }
  return r.key.length + r.value.length + r.cache.length + r.slots.length + opBytes + 96;
}

function tooLarge(r: ReplicaRequest, size: number, budget: number): ReplicaReply {
  return {
    id: r.id,
    code: ErrorCode.BATCH_TOO_LARGE,
    message: `replica request of ${size} bytes does not fit a frame of ${budget} (maxFrameBytes less frame overhead)`,
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

/**
 * One long-lived, batched stream from this node to one peer's Replica
 * service. Requests made in one turn of the event loop travel in one frame
 * (flushed on setImmediate, after the turn's I/O: replies from several peers
 * that each trigger a request still share a frame); replies come
 * back in frames and are matched by id. The stream reconnects with the
 * project's capped, jittered backoff; while it is down, requests fail at once
 * (a missing ack the coordinator counts) rather than wait.
 */
export class ReplicaPeer {
  private state: State = 'idle';
  private client: grpc.Client | undefined;
  private clientAddress = '';
  private call: grpc.ClientDuplexStream<ReplicaFrame, ReplicaReplyFrame> | undefined;
  private readonly pending = new Map<number, ReplyCallback>();
  private outbox: ReplicaRequest[] = [];
  private outboxCallbacks: ReplyCallback[] = [];
  private unsettled: UnsettledWrite[] = [];
  private settled: SettledMark | undefined;
  private nextId = 1;
  private flushScheduled = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The peer's hello: its clock and epoch when the stream opened. */
  peerEpoch = 0;
  /** Frames and requests sent, replies lost to broken streams (metrics). */
  readonly counters = { frames: 0, requests: 0, lost: 0, connects: 0 };

  constructor(private readonly o: ReplicaPeerOptions) {}

  get id(): string {
    return this.o.peerId;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Down and waiting to retry: a request now would fail at once. */
  get unreachable(): boolean {
    return this.state === 'backoff' || this.state === 'closed';
  }

  /** Sends one request (its id is assigned here); `done` is called exactly once. */
  send(request: ReplicaRequest, done: ReplyCallback): void {
    if (this.state === 'closed' || this.state === 'backoff') {
      this.counters.lost++;
      done(undefined, false);
      return;
    }
    if (this.state === 'idle') this.connect();
    if (this.state !== 'ready' && this.outbox.length >= this.o.maxQueuedRequests) {
      this.counters.lost++;
      done(undefined, false);
      return;
    }
    this.outbox.push(request);
    this.outboxCallbacks.push(done);
    this.scheduleFlush();
  }

  /** Rides on the next frame: writes whose coordinator mark must not settle them (see SettledMarks). */
  sendUnsettled(write: UnsettledWrite): void {
    this.unsettled.push(write);
    this.scheduleFlush();
  }

  /** Rides on the next frame (a frame with no requests is sent for it when the stream is ready). */
  sendSettled(mark: SettledMark): void {
    this.settled = mark;
    if (this.state === 'idle') this.connect();
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.state !== 'ready') return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /**
   * Sends what this turn of the event loop queued, in as few frames as fit under maxFrameBytes
   * (a frame over the channel's limit would fail the whole stream and every
   * request on it). A request that cannot fit in any frame fails alone.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const call = this.call;
    if (this.state !== 'ready' || call === undefined) return;
    if (this.outbox.length === 0 && this.unsettled.length === 0 && this.settled === undefined) return;
    const requests = this.outbox;
    const callbacks = this.outboxCallbacks;
    this.outbox = [];
    this.outboxCallbacks = [];
    const budget = this.o.maxFrameBytes - FRAME_OVERHEAD_BYTES;
    let batch: ReplicaRequest[] = [];
    let bytes = 0;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      const size = requestBytes(request);
      if (size > budget) {
        this.counters.lost++;
        callbacks[i]!(tooLarge(request, size, budget), false);
        continue;
      }
      if (bytes + size > budget && batch.length > 0) {
        this.writeFrame(call, batch);
        batch = [];
        bytes = 0;
      }
      const id = this.nextId;
      this.nextId = id >= 0x7fff_ffff ? 1 : id + 1;
      request.id = id;
      this.pending.set(id, callbacks[i]!);
      batch.push(request);
      bytes += size;
    }
    this.writeFrame(call, batch);
  };

  private writeFrame(
    call: grpc.ClientDuplexStream<ReplicaFrame, ReplicaReplyFrame>,
    requests: ReplicaRequest[],
  ): void {
    // Unsettled records ride along within the frame's spare room; the rest go next tick.
    let take = 0;
    let room = FRAME_OVERHEAD_BYTES / 2;
    while (take < this.unsettled.length && room > this.unsettled[take]!.key.length + 64) {
      room -= this.unsettled[take]!.key.length + 64;
      take++;
    }
    const frame: ReplicaFrame = {
      hello: undefined,
      epoch: this.o.epoch(),
      requests,
      hlc: this.o.clock.current,
      unsettled: take === this.unsettled.length ? this.unsettled : this.unsettled.slice(0, take),
      settled: this.settled,
      wallMs: Math.floor(this.o.wallClock()),
    };
    this.unsettled = take === this.unsettled.length ? [] : this.unsettled.slice(take);
    if (this.unsettled.length > 0) this.scheduleFlush();
    this.settled = undefined;
    this.counters.frames++;
    this.counters.requests += requests.length;
    call.write(frame);
  }

  /** Fails every request in flight (the peer was declared DEAD: nothing will come back), then reconnects later. */
  abandon(reason: string): void {
    if (this.state === 'ready' || this.state === 'connecting') this.fail(reason);
  }

  private connect(): void {
    const address = this.o.address();
    if (address === '') {
      this.fail('no replica address advertised');
      return;
    }
    if (this.client === undefined || this.clientAddress !== address) {
      this.client?.close();
      this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.o.maxFrameBytes,
        'grpc.max_send_message_length': this.o.maxFrameBytes,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.clientAddress = address;
    }
    this.state = 'connecting';
    const method = ReplicaService.stream;
    const call = this.client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
    );
    this.call = call;
    let helloSeen = false;
    call.on('data', (frame: ReplicaReplyFrame) => {
      if (this.call !== call) return;
      if (frame.hlc > 0 && hlcPhysicalMs(frame.hlc) <= this.o.wallClock() + this.o.maxClockSkewMs) {
        this.o.clock.observe(frame.hlc);
      }
      if (frame.wallMs > 0) this.o.onPeerWall?.(this.o.peerId, frame.wallMs, this.o.wallClock());
      if (frame.epoch > 0) this.o.onPeerEpoch?.(this.o.peerId, frame.epoch);
      if (!helloSeen) {
        helloSeen = true;
        const hello = frame.hello;
        if (hello === undefined || hello.code !== ErrorCode.OK) {
          this.fail(`hello refused: ${hello?.message ?? 'no hello in the first reply'}`);
          return;
        }
        this.peerEpoch = hello.epoch;
        if (hello.epoch > 0) this.o.onPeerEpoch?.(this.o.peerId, hello.epoch);
        this.state = 'ready';
        this.attempt = 0;
        this.counters.connects++;
        this.o.onReady?.(this);
        this.scheduleFlush();
        return;
      }
      if (frame.error !== ErrorCode.OK) {
        this.o.log.warn({ peer: this.o.peerId, error: frame.errorMessage }, 'replica frame refused');
      }
      for (const reply of frame.replies) {
        const done = this.pending.get(reply.id);
        if (done === undefined) continue;
        this.pending.delete(reply.id);
        done(reply, true);
      }
    });
    call.on('error', (err: Error) => {
      if (this.call === call) this.fail(err.message);
    });
    call.on('end', () => {
      if (this.call === call) this.fail('stream ended by the peer');
    });
    call.write({
      hello: {
        protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
        nodeId: this.o.selfId,
        hlc: this.o.clock.current,
      },
      epoch: this.o.epoch(),
      requests: [],
      hlc: this.o.clock.current,
      unsettled: [],
      settled: undefined,
      wallMs: Math.floor(this.o.wallClock()),
    });
  }

  /** The stream broke: every request in flight or queued is lost; retry after a backoff. */
  private fail(reason: string): void {
    if (this.state === 'closed') return;
    const call = this.call;
    this.call = undefined;
    if (call !== undefined) {
      call.removeAllListeners('data');
      call.on('error', () => {});
      call.cancel();
    }
    if (this.state !== 'backoff') {
      this.o.log.debug({ peer: this.o.peerId, reason }, 'replica stream down');
    }
    this.state = 'backoff';
    this.failAll();
    this.attempt++;
    const delay = backoffDelayMs(this.attempt, this.o.backoff);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'backoff') {
        this.state = 'idle';
        // Reconnect only when there is something to send: an idle peer stays idle.
        if (this.settled !== undefined || this.unsettled.length > 0) this.connect();
      }
    }, delay);
    this.retryTimer.unref();
  }

  private failAll(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    const queued = this.outboxCallbacks;
    this.outbox = [];
    this.outboxCallbacks = [];
    this.counters.lost += pending.length + queued.length;
    for (const done of pending) done(undefined, true);
    for (const done of queued) done(undefined, false);
  }

  /** Opens the stream now if it is idle (warm-up: every peer's hello moves this node's clock). */
  connectIfIdle(): void {
    if (this.state === 'idle') this.connect();
  }

  /** Membership says the peer came back (or moved): retry now instead of waiting out the backoff. */
  wake(): void {
    if (this.state !== 'backoff') return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'idle';
    this.attempt = 0;
  }

  close(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const call = this.call;
    this.call = undefined;
    this.state = 'closed';
    call?.end();
    this.failAll();
    this.client?.close();
    this.client = undefined;
  }
}

/** A request with every field at its zero value, to fill in. */
export function emptyRequest(): ReplicaRequest {
  return {
    id: 0,
    type: 0,
    cache: '',
    key: EMPTY,
    value: EMPTY,
    hlc: 0,
    node: 0,
    expiresAtMs: 0,
    tombstone: false,
    operation: undefined,
    timeoutMs: 0,
    versionOnly: false,
    slots: EMPTY,
    cursor: 0,
    maxBytes: 0,
    purpose: 0,
    since: 0,
    replicationFactor: 0,
    cutoffMs: 0,
    level: 0,
    nodeId: '',
    force: false,
  };
}
