import * as grpc from '@grpc/grpc-js';
import {
  ReplicaFrame,
  type ReplicaHelloReply,
  type ReplicaReply,
  ReplicaReplyFrame,
  ReplicaRequest,
  ReplicaService,
} from '@meshcache/proto';

/** Logical counter bits of a hybrid logical clock reading: hlc = physical ms * 1024 + logical. */
export const HLC_LOGICAL_RANGE = 1024;

/** The HLC reading of a wall-clock time (epoch ms). */
export function hlcAt(physicalMs: number, logical = 0): number {
  return Math.floor(physicalMs) * HLC_LOGICAL_RANGE + logical;
}

/** A replica request with only the fields a test cares about (the rest at their zero values). */
export function replicaRequest(
  input: Partial<ReplicaRequest> & Pick<ReplicaRequest, 'id' | 'type'>,
): ReplicaRequest {
  return ReplicaRequest.fromPartial({ cache: 'default', timeoutMs: 5000, ...input });
}

/** A replica frame with only the fields a test cares about. */
export function replicaFrame(input: Partial<ReplicaFrame> = {}): ReplicaFrame {
  return {
    hello: undefined,
    epoch: 0,
    requests: [],
    hlc: 0,
    unsettled: [],
    settled: undefined,
    wallMs: 0,
    ...input,
  };
}

/**
 * A bare client of a node's Replica service (the node-to-node port), frame by
 * frame. The frames go out as raw bytes, so tests can send what no peer
 * would: garbage, oversized messages, unknown protocol versions, versions
 * from the future, stale epochs.
 */
export class RawReplicaClient {
  private readonly client: grpc.Client;

  constructor(
    readonly address: string,
    options: grpc.ClientOptions = {},
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      // The test decides what is too big, not the client.
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      ...options,
    });
  }

  /** Opens a Replica stream (no hello sent yet). */
  openStream(): ReplicaStream {
    const call = this.client.makeBidiStreamRequest(
      ReplicaService.stream.path,
      (b: Buffer) => b,
      (b: Buffer) => ReplicaReplyFrame.decode(b),
      new grpc.Metadata(),
    );
    return new ReplicaStream(call);
  }

  /** Opens a stream and completes a hello; fails when the node refuses it. */
  async connect(nodeId = 'e2e-raw-replica', protocolVersions = [1]): Promise<ReplicaStream> {
    const s = this.openStream();
    const hello = await s.hello(protocolVersions, nodeId);
    if (hello.code !== 0) throw new Error(`hello refused: ${hello.code} ${hello.message}`);
    return s;
  }

  close(): void {
    this.client.close();
  }
}

export class ReplicaStream {
  private readonly frames: ReplicaReplyFrame[] = [];
  private waiters: Array<() => void> = [];
  /** The epoch the node named in its hello reply. */
  epoch = 0;
  ended = false;
  error: grpc.ServiceError | undefined;
  private nextId = 1;

  constructor(readonly call: grpc.ClientDuplexStream<Buffer, ReplicaReplyFrame>) {
    const wake = () => {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    call.on('data', (f: ReplicaReplyFrame) => {
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

  /** A request id not used before on this stream. */
  id(): number {
    return this.nextId++;
  }

  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  send(frame: Partial<ReplicaFrame>): void {
    this.sendRaw(Buffer.from(ReplicaFrame.encode(replicaFrame(frame)).finish()));
  }

  /** Sends a hello (the first frame of a stream) and returns the node's answer to it. */
  async hello(
    protocolVersions: number[] = [1],
    nodeId = 'e2e-raw-replica',
    hlc = 0,
  ): Promise<ReplicaHelloReply> {
    this.send({ hello: { protocolVersions, nodeId, hlc } });
    const reply = await this.next();
    if (reply.hello === undefined)
      throw new Error(`the first reply frame carries no hello: ${JSON.stringify(reply)}`);
    this.epoch = reply.hello.epoch;
    return reply.hello;
  }

  /** The next reply frame, or an error when the stream ends first or the deadline passes. */
  async next(timeoutMs = 10_000): Promise<ReplicaReplyFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ended) throw new Error(`stream ended: ${this.error?.message ?? 'no error'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no reply frame before the deadline');
      await this.wait(left);
    }
    return this.frames.shift()!;
  }

  /** Sends a frame of requests (at the stream's epoch unless given) and waits for the frame that answers them. */
  async roundTrip(requests: ReplicaRequest[], frame: Partial<ReplicaFrame> = {}): Promise<ReplicaReplyFrame> {
    this.send({ epoch: this.epoch, ...frame, requests });
    return this.next();
  }

  /** One request, one reply (with the frame it came in). */
  async request(
    input: Partial<ReplicaRequest> & Pick<ReplicaRequest, 'type'>,
    frame: Partial<ReplicaFrame> = {},
  ): Promise<{ reply: ReplicaReply; frame: ReplicaReplyFrame }> {
    const id = this.id();
    const replyFrame = await this.roundTrip([replicaRequest({ id, ...input })], frame);
    const reply = replyFrame.replies.find((r) => r.id === id);
    if (reply === undefined) throw new Error(`no reply to request ${id}: ${JSON.stringify(replyFrame)}`);
    return { reply, frame: replyFrame };
  }

  /** Waits until the stream ends (cleanly or with an error). */
  async waitEnded(timeoutMs = 10_000): Promise<grpc.ServiceError | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the stream did not end before the deadline');
      await this.wait(left);
    }
    return this.error;
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  end(): void {
    if (!this.ended) this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** host:port of a node's Replica service, from its "node ready" log line. */
export function replicaAddressOf(node: { host: string; logs: readonly string[]; id: string }): string {
  for (const line of node.logs) {
    try {
      const entry = JSON.parse(line) as { msg?: string; replicaPort?: number };
      if (entry.msg === 'node ready' && entry.replicaPort) return `${node.host}:${entry.replicaPort}`;
    } catch {
      // not a log line
    }
  }
  throw new Error(`node ${node.id} logged no replicaPort in its "node ready" line`);
}
