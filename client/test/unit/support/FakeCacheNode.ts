// TEST DOUBLE of a meshcache node: a minimal in-process grpc-js server that
// implements meshcache.v1.Cache over a Map, for the client's unit tests. It is
// NOT the real node (that server is written in node/); end-to-end tests against
// real node processes live in e2e/. Besides serving, it lets tests hold
// replies, reorder or split them, inject frame-level errors and kill streams.
//
// Written without TypeScript-only runtime syntax (no enums, no parameter
// properties) so that Node can also run it directly with type stripping.
import * as grpc from '@grpc/grpc-js';
import {
  FastCacheService,
  type Entry,
  ErrorCode,
  type HandshakeRequest,
  type HandshakeResponse,
  METADATA_PROTOCOL,
  METADATA_SESSION,
  type Operation,
  type OperationFrame,
  OpType,
  type PingRequest,
  type PingResponse,
  type Result,
  type ResultFrame,
  SetCondition,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Version,
} from '@meshcache/proto';

interface StoredEntry {
  value: Buffer;
  version: Version;
  /** Absolute expiry in ms since the epoch; 0 = never. */
  expiresAt: number;
}

type ExecuteCall = grpc.ServerDuplexStream<OperationFrame, ResultFrame>;

export interface FakeCacheNodeOptions {
  nodeId?: string;
  epoch?: number;
  /** Caches served; others answer UNKNOWN_CACHE. */
  caches?: string[];
  maxKeyBytes?: number;
  maxValueBytes?: number;
  maxOpsPerFrame?: number;
  maxFrameBytes?: number;
}

export interface FrameErrorInjection {
  code: ErrorCode;
  message: string;
  /** List the frame's op ids in the error frame's results. */
  listIds: boolean;
}

export class FakeCacheNode {
  readonly nodeId: string;
  epoch: number;
  readonly caches: Set<string>;
  readonly limits: {
    maxKeyBytes: number;
    maxValueBytes: number;
    maxOpsPerFrame: number;
    maxFrameBytes: number;
  };

  /** Every OperationFrame received, when `recordFrames` is on. */
  readonly frames: OperationFrame[] = [];
  recordFrames = false;
  /** Ops received in total. */
  opsReceived = 0;
  framesReceived = 0;
  handshakes = 0;
  /** When set, ops are kept in `held` instead of being answered. */
  hold = false;
  readonly held: { call: ExecuteCall; op: Operation }[] = [];
  /** Answer each op in its own frame. */
  splitReplies = false;
  /** Answer a frame's results in reverse order. */
  reverseReplies = false;
  /** When set, the next frame is answered with this frame-level error (then it clears). */
  nextFrameError: FrameErrorInjection | undefined = undefined;
  /** When set, handshakes answer with this code. */
  handshakeCode: ErrorCode = ErrorCode.OK;

  private server: grpc.Server | undefined = undefined;
  private portValue = 0;
  private readonly data = new Map<string, StoredEntry>();
  private readonly calls = new Set<ExecuteCall>();
  private readonly sessions = new Set<string>();
  private sessionSeq = 0;
  private versionClock = 0;

  constructor(options: FakeCacheNodeOptions = {}) {
    this.nodeId = options.nodeId ?? 'fake-node-1';
    this.epoch = options.epoch ?? 1;
    this.caches = new Set(options.caches ?? ['default']);
    this.limits = {
      maxKeyBytes: options.maxKeyBytes ?? 1024,
      maxValueBytes: options.maxValueBytes ?? 1024 * 1024,
      maxOpsPerFrame: options.maxOpsPerFrame ?? 4096,
      maxFrameBytes: options.maxFrameBytes ?? 16 * 1024 * 1024,
    };
  }

  get port(): number {
    return this.portValue;
  }

  get address(): string {
    return `127.0.0.1:${this.portValue}`;
  }

  /** Open Execute streams. */
  get streamCount(): number {
    return this.calls.size;
  }

  /** Starts listening (port 0 picks a free port; pass a port to restart on the same one). */
  async start(port = 0): Promise<string> {
    const server = new grpc.Server();
    server.addService(FastCacheService, {
      handshake: (
        call: grpc.ServerUnaryCall<HandshakeRequest, HandshakeResponse>,
        callback: grpc.sendUnaryData<HandshakeResponse>,
      ) => callback(null, this.handshake(call.request)),
      execute: (call: ExecuteCall) => this.execute(call),
      executeBatch: (
        call: grpc.ServerUnaryCall<OperationFrame, ResultFrame>,
        callback: grpc.sendUnaryData<ResultFrame>,
      ) => callback(null, this.frameResult(call.request.ops.map((op) => this.apply(op)))),
      ping: (
        call: grpc.ServerUnaryCall<PingRequest, PingResponse>,
        callback: grpc.sendUnaryData<PingResponse>,
      ) => callback(null, { epoch: this.epoch, payload: call.request.payload, nodeId: this.nodeId }),
      watchTopology: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in the test double' }),
    });
    this.portValue = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.server = server;
    return this.address;
  }

  /** Stops at once, breaking every connection (like a crash). */
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.calls.clear();
  }

  /** Ends every Execute stream with UNAVAILABLE, keeping the server up. */
  killStreams(): void {
    for (const call of this.calls) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'killed by test' });
    }
    this.calls.clear();
  }

  /** Answers the held ops (those whose stream is still open). */
  release(): void {
    this.hold = false;
    const held = this.held.splice(0);
    for (const { call, op } of held) {
      if (this.calls.has(call)) call.write(this.frameResult([this.apply(op)]));
    }
  }

  /** Drops the held ops without answering them. */
  dropHeld(): void {
    this.held.length = 0;
  }

  private handshake(request: HandshakeRequest): HandshakeResponse {
    this.handshakes++;
    const shared = request.protocolVersions.filter((v) => SUPPORTED_PROTOCOL_VERSIONS.includes(v));
    let code = this.handshakeCode;
    let message = '';
    if (code === ErrorCode.OK && shared.length === 0) {
      code = ErrorCode.UNSUPPORTED_PROTOCOL;
      message = `no shared protocol version in [${request.protocolVersions.join(', ')}]`;
    }
    const sessionId = code === ErrorCode.OK ? `session-${++this.sessionSeq}` : '';
    if (sessionId) this.sessions.add(sessionId);
    return {
      code,
      message,
      protocolVersion: code === ErrorCode.OK ? Math.max(...shared) : 0,
      sessionId,
      nodeId: this.nodeId,
      epoch: this.epoch,
      serverVersion: 'fake-0',
      limits: { ...this.limits },
      caches: [...this.caches].map((name) => ({
        name,
        replicationFactor: 1,
        defaultConsistency: 0,
        defaultTtlMs: 0,
        maxMemoryBytes: 0,
        maxValueBytes: this.limits.maxValueBytes,
        evictionPolicy: 'none',
      })),
    };
  }

  private execute(call: ExecuteCall): void {
    const protocol = call.metadata.get(METADATA_PROTOCOL)[0];
    const session = call.metadata.get(METADATA_SESSION)[0];
    if (protocol === undefined || !SUPPORTED_PROTOCOL_VERSIONS.includes(Number(protocol))) {
      call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'UNSUPPORTED_PROTOCOL' });
      return;
    }
    if (typeof session !== 'string' || !this.sessions.has(session)) {
      call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'unknown session' });
      return;
    }
    this.calls.add(call);
    call.on('data', (frame: OperationFrame) => this.onFrame(call, frame));
    call.on('end', () => {
      this.calls.delete(call);
      call.end();
    });
    call.on('error', () => this.calls.delete(call));
    call.on('cancelled', () => this.calls.delete(call));
  }

  private onFrame(call: ExecuteCall, frame: OperationFrame): void {
    this.framesReceived++;
    this.opsReceived += frame.ops.length;
    if (this.recordFrames) this.frames.push(frame);
    const injected = this.nextFrameError;
    if (injected !== undefined) {
      this.nextFrameError = undefined;
      call.write({
        epoch: this.epoch,
        error: injected.code,
        errorMessage: injected.message,
        results: injected.listIds ? frame.ops.map((op) => emptyResult(op.id, ErrorCode.OK, '')) : [],
      });
      return;
    }
    if (frame.ops.length > this.limits.maxOpsPerFrame) {
      call.write({
        epoch: this.epoch,
        error: ErrorCode.BATCH_TOO_LARGE,
        errorMessage: 'too many ops',
        results: [],
      });
      return;
    }
    if (this.hold) {
      for (const op of frame.ops) this.held.push({ call, op });
      return;
    }
    const results = frame.ops.map((op) => this.apply(op));
    if (this.reverseReplies) results.reverse();
    if (this.splitReplies) {
      for (const result of results) call.write(this.frameResult([result]));
    } else {
      call.write(this.frameResult(results));
    }
  }

  private frameResult(results: Result[]): ResultFrame {
    return { epoch: this.epoch, results, error: ErrorCode.OK, errorMessage: '' };
  }

  private nextVersion(): Version {
    return { physicalMs: Date.now(), logical: ++this.versionClock, node: 1 };
  }

  private lookup(cache: string, key: Buffer): { id: string; entry: StoredEntry | undefined } {
    const id = `${cache}\u0000${key.toString('latin1')}`;
    const entry = this.data.get(id);
    if (entry !== undefined && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.data.delete(id);
      return { id, entry: undefined };
    }
    return { id, entry };
  }

  private expiry(ttlMs: number): number {
    return ttlMs > 0 ? Date.now() + ttlMs : 0;
  }

  /** Applies one op to the Map and returns its result. */
  apply(op: Operation): Result {
    const cache = op.cache || 'default';
    if (!this.caches.has(cache))
      return emptyResult(op.id, ErrorCode.UNKNOWN_CACHE, `unknown cache '${cache}'`);
    if (op.key.length > this.limits.maxKeyBytes) {
      return emptyResult(
        op.id,
        ErrorCode.KEY_TOO_LARGE,
        `key of ${op.key.length} bytes > ${this.limits.maxKeyBytes}`,
      );
    }
    if (op.value.length > this.limits.maxValueBytes) {
      return emptyResult(
        op.id,
        ErrorCode.VALUE_TOO_LARGE,
        `value of ${op.value.length} bytes > ${this.limits.maxValueBytes}`,
      );
    }
    if (op.ttlMs < -1) return emptyResult(op.id, ErrorCode.INVALID_TTL, `ttl_ms ${op.ttlMs} < -1`);
    const result = emptyResult(op.id, ErrorCode.OK, '');
    switch (op.type) {
      case OpType.GET: {
        const { entry } = this.lookup(cache, op.key);
        if (entry !== undefined) {
          result.found = true;
          result.value = entry.value;
          result.version = entry.version;
          result.ttlMs = entry.expiresAt === 0 ? -1 : Math.max(0, entry.expiresAt - Date.now());
        }
        return result;
      }
      case OpType.SET: {
        const { id, entry } = this.lookup(cache, op.key);
        if (op.condition === SetCondition.IF_ABSENT && entry !== undefined) return result;
        if (op.condition === SetCondition.IF_PRESENT && entry === undefined) return result;
        const version = this.nextVersion();
        this.data.set(id, { value: Buffer.from(op.value), version, expiresAt: this.expiry(op.ttlMs) });
        result.applied = true;
        result.version = version;
        return result;
      }
      case OpType.DELETE: {
        const { id, entry } = this.lookup(cache, op.key);
        result.found = entry !== undefined;
        this.data.delete(id);
        return result;
      }
      case OpType.COMPARE_AND_SET: {
        const { id, entry } = this.lookup(cache, op.key);
        const expected = op.expectedVersion;
        if (
          entry !== undefined &&
          expected !== undefined &&
          entry.version.physicalMs === expected.physicalMs &&
          entry.version.logical === expected.logical &&
          entry.version.node === expected.node
        ) {
          const version = this.nextVersion();
          this.data.set(id, { value: Buffer.from(op.value), version, expiresAt: this.expiry(op.ttlMs) });
          result.applied = true;
          result.version = version;
        }
        return result;
      }
      case OpType.TOUCH: {
        const { entry } = this.lookup(cache, op.key);
        if (entry !== undefined) {
          entry.expiresAt = this.expiry(op.ttlMs);
          result.found = true;
        }
        return result;
      }
      case OpType.INCREMENT: {
        const { id, entry } = this.lookup(cache, op.key);
        const text = entry === undefined ? '0' : entry.value.toString('utf8');
        if (!/^-?\d+$/.test(text))
          return emptyResult(op.id, ErrorCode.NOT_AN_INTEGER, 'value is not an integer');
        const next = Number(text) + op.delta;
        if (!Number.isSafeInteger(next)) return emptyResult(op.id, ErrorCode.OVERFLOW, 'increment overflows');
        const version = this.nextVersion();
        this.data.set(id, {
          value: Buffer.from(String(next)),
          version,
          expiresAt: entry?.expiresAt ?? 0,
        });
        result.number = next;
        result.version = version;
        return result;
      }
      case OpType.GET_MANY: {
        result.entries = op.keys.map((key): Entry => {
          const { entry } = this.lookup(cache, key);
          return entry === undefined
            ? { found: false, value: Buffer.alloc(0), version: undefined, ttlMs: 0 }
            : {
                found: true,
                value: entry.value,
                version: entry.version,
                ttlMs: entry.expiresAt === 0 ? -1 : entry.expiresAt - Date.now(),
              };
        });
        return result;
      }
      case OpType.SET_MANY: {
        for (const kv of op.entries) {
          const { id } = this.lookup(cache, kv.key);
          this.data.set(id, {
            value: kv.value,
            version: this.nextVersion(),
            expiresAt: this.expiry(kv.ttlMs),
          });
        }
        result.number = op.entries.length;
        return result;
      }
      default:
        return emptyResult(op.id, ErrorCode.INVALID_ARGUMENT, `unknown op type ${op.type}`);
    }
  }
}

function emptyResult(id: number, code: ErrorCode, message: string): Result {
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
