import * as grpc from '@grpc/grpc-js';
import {
  CacheService,
  type HandshakeResponse,
  METADATA_PROTOCOL,
  type Operation,
  OperationFrame,
  type PingResponse,
  ResultFrame,
  type Topology,
} from '@meshcache/proto';

/** An operation with only the fields a test cares about. */
export type OpInput = Partial<Operation> & Pick<Operation, 'id' | 'type'>;

export function op(input: OpInput): Operation {
  return {
    cache: '',
    key: Buffer.alloc(0),
    value: Buffer.alloc(0),
    ttlMs: 0,
    condition: 0,
    expectedVersion: undefined,
    delta: 0,
    keys: [],
    entries: [],
    consistency: 0,
    returnPrevious: false,
    expireCondition: 0,
    keepTtl: false,
    expiresAtMs: 0,
    ...input,
  };
}

/**
 * A bare gRPC client speaking the wire contract directly, frame by frame. The
 * bad-input tests need to send what the real client never would (raw bytes,
 * unknown protocol versions), so they use this instead of @meshcache/client.
 */
export class RawCacheClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  private unary<Req, Res>(
    method: keyof typeof CacheService,
    request: Req,
    metadata = new grpc.Metadata(),
  ): Promise<Res> {
    const def = CacheService[method] as unknown as {
      path: string;
      requestSerialize: (r: Req) => Buffer;
      responseDeserialize: (b: Buffer) => Res;
    };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        (err, res) => (err ? reject(err) : resolve(res!)),
      );
    });
  }

  handshake(protocolVersions: number[] = [1], clientName = 'e2e'): Promise<HandshakeResponse> {
    return this.unary('handshake', { protocolVersions, clientName, forward: false });
  }

  ping(payload = Buffer.from('hi')): Promise<PingResponse> {
    return this.unary('ping', { payload });
  }

  executeBatch(ops: Operation[], protocol?: string): Promise<ResultFrame> {
    const md = new grpc.Metadata();
    if (protocol !== undefined) md.set(METADATA_PROTOCOL, protocol);
    return this.unary('executeBatch', { ops }, md);
  }

  /** Opens an Execute stream whose frames are raw bytes, so tests can send garbage. */
  openStream(protocol = '1'): ExecuteStream {
    const md = new grpc.Metadata();
    md.set(METADATA_PROTOCOL, protocol);
    const call = this.client.makeBidiStreamRequest(
      CacheService.execute.path,
      (b: Buffer) => b,
      (b: Buffer) => ResultFrame.decode(b),
      md,
    );
    return new ExecuteStream(call);
  }

  watchTopology(knownEpoch = 0): grpc.ClientReadableStream<Topology> {
    return this.client.makeServerStreamRequest(
      CacheService.watchTopology.path,
      CacheService.watchTopology.requestSerialize,
      CacheService.watchTopology.responseDeserialize,
      { knownEpoch },
    );
  }

  close(): void {
    this.client.close();
  }
}

export class ExecuteStream {
  private readonly frames: ResultFrame[] = [];
  private waiters: Array<() => void> = [];
  ended = false;
  error: grpc.ServiceError | undefined;

  constructor(readonly call: grpc.ClientDuplexStream<Buffer, ResultFrame>) {
    const wake = () => {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    call.on('data', (f: ResultFrame) => {
      this.frames.push(f);
      wake();
    });
    call.on('end', () => {
      this.ended = true;
      wake();
    });
    call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.ended = true;
      wake();
    });
  }

  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  send(ops: Operation[]): void {
    this.call.write(Buffer.from(OperationFrame.encode({ ops }).finish()));
  }

  /** The next result frame, or an error when the stream ends first or the deadline passes. */
  async next(timeoutMs = 10_000): Promise<ResultFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ended) throw new Error(`stream ended: ${this.error?.message ?? 'no error'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no result frame before the deadline');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  async roundTrip(ops: Operation[]): Promise<ResultFrame> {
    this.send(ops);
    return this.next();
  }

  end(): void {
    this.call.end();
  }
}
