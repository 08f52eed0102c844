import type { ReplicaRequest, SettledMark, UnsettledWrite } from '@meshcache/proto';
import { ReplicaPeer, type ReplicaPeerOptions, type ReplyCallback } from './ReplicaPeer.js';

/** Everything a peer needs but its identity. */
export type SharedPeerOptions = Omit<ReplicaPeerOptions, 'peerId' | 'address'>;

/**
 * The node's streams to its peers, one per member, made on first use and
 * reused by every coordinator round, hint replay and settled mark.
 */
export class ReplicaPeers {
  private readonly peers = new Map<string, ReplicaPeer>();

  constructor(
    private readonly shared: SharedPeerOptions,
    /** A member's advertised replica address ('' when unknown). */
    private readonly addressOf: (id: string) => string,
  ) {}

  get(id: string): ReplicaPeer {
    let peer = this.peers.get(id);
    if (peer === undefined) {
      peer = new ReplicaPeer({ ...this.shared, peerId: id, address: () => this.addressOf(id) });
      this.peers.set(id, peer);
    }
    return peer;
  }

  send(target: string, request: ReplicaRequest, done: ReplyCallback): void {
    this.get(target).send(request, done);
  }

  reachable(id: string): boolean {
    return !this.get(id).unreachable;
  }

  /** Membership saw the member come back: retry its stream now. */
  wake(id: string): void {
    this.peers.get(id)?.wake();
  }

  sendSettled(ids: readonly string[], mark: SettledMark): void {
    for (const id of ids) this.get(id).sendSettled(mark);
  }

  sendUnsettled(ids: readonly string[], write: UnsettledWrite): void {
    for (const id of ids) this.get(id).sendUnsettled(write);
  }

  /** Drops the streams of members no longer in the view. */
  retain(ids: ReadonlySet<string>): void {
    for (const [id, peer] of this.peers) {
      if (!ids.has(id)) {
        peer.close();
        this.peers.delete(id);
      }
    }
  }

  all(): IterableIterator<ReplicaPeer> {
    return this.peers.values();
  }

  close(): void {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
  }
}
