import * as grpc from '@grpc/grpc-js';
import {
  CacheService,
  CURRENT_PROTOCOL_VERSION,
  METADATA_PROTOCOL,
  type Operation,
  type ResultFrame,
} from '@meshcache/proto';

/** Marks a call one node forwarded to another: the receiver serves or refuses it, never forwards again. */
export const METADATA_FORWARDED = 'meshcache-forwarded';

/**
 * Sends operations this node does not own to their owner, one ExecuteBatch
 * per owner and frame, over one channel per peer address.
 */
export class PeerForwarder {
  private readonly channels = new Map<string, grpc.Client>();

  constructor(private readonly timeoutMs: number) {}

  executeBatch(address: string, ops: Operation[]): Promise<ResultFrame> {
    let channel = this.channels.get(address);
    if (!channel) {
      channel = new grpc.Client(address, grpc.credentials.createInsecure());
      this.channels.set(address, channel);
    }
    const md = new grpc.Metadata();
    md.set(METADATA_PROTOCOL, String(CURRENT_PROTOCOL_VERSION));
    md.set(METADATA_FORWARDED, '1');
    const method = CacheService.executeBatch;
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { ops },
        md,
        { deadline: Date.now() + this.timeoutMs },
        (err, res) => (err || !res ? reject(err ?? new Error('no reply')) : resolve(res)),
      );
    });
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}
