/**
 * Membership messages. Gossip messages travel in UDP packets (a packet is a
 * compound of one or more messages, so updates ride on probes); stream
 * messages each travel whole over their own TCP connection.
 */

export type Liveness = 'alive' | 'suspect' | 'dead' | 'left';

/** Advertised addresses and names of a node other than its gossip address (grpc, redis, admin, mesh, external). */
export type NodeMeta = Readonly<Record<string, string>>;

/** The identity a node advertises: stable id, process instance and where to reach it. */
export interface NodeInfo {
  readonly id: string;
  /**
   * The process instance: the incarnation the process started with (wall-clock
   * ms at start in a node). A restart with the same id has a new, higher one.
   */
  readonly inst: number;
  /** Gossip address, host:port (UDP and TCP). */
  readonly addr: string;
  readonly zone: string;
  readonly meta: NodeMeta;
}

// ---- gossip (UDP) ----

/** Direct probe. `id` names the intended target so a reused address cannot answer for someone else. */
export interface PingMessage {
  readonly t: 'ping';
  readonly seq: number;
  readonly id: string;
  readonly from: string;
  /** Where to send the ack. */
  readonly src: string;
}

/** Asks the receiver to probe `id` at `addr` for `from` and relay the ack, or a nack if none comes. */
export interface PingReqMessage {
  readonly t: 'pingreq';
  readonly seq: number;
  readonly id: string;
  readonly addr: string;
  readonly from: string;
  readonly src: string;
}

export interface AckMessage {
  readonly t: 'ack';
  readonly seq: number;
  readonly from: string;
}

/** An indirect prober could not reach the target in time (Lifeguard: the requester is not the slow one). */
export interface NackMessage {
  readonly t: 'nack';
  readonly seq: number;
  readonly from: string;
}

export interface AliveMessage extends NodeInfo {
  readonly t: 'alive';
  readonly inc: number;
}

export interface SuspectMessage {
  readonly t: 'suspect';
  readonly id: string;
  readonly inc: number;
  readonly from: string;
}

export interface DeadMessage {
  readonly t: 'dead';
  readonly id: string;
  readonly inc: number;
  readonly from: string;
}

export interface LeftMessage {
  readonly t: 'left';
  readonly id: string;
  readonly inc: number;
}

/** "A view with this epoch is committed": receivers that hold an older one fetch it from `addr`. */
export interface EpochMessage {
  readonly t: 'epoch';
  readonly epoch: number;
  readonly addr: string;
}

export type GossipMessage =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | AliveMessage
  | SuspectMessage
  | DeadMessage
  | LeftMessage
  | EpochMessage;

// ---- views ----

export type RemovalReason = 'dead' | 'left' | 'admin';

/** A committed (or proposed) membership view. Members are in join order. */
export interface View {
  /**
   * The cluster's lineage: `id@instance` of the node that bootstrapped epoch 1.
   * Epochs are only comparable within one lineage; two lineages meeting merge
   * into the one with more members (then the smaller id).
   */
  readonly cluster: string;
  readonly epoch: number;
  readonly members: readonly NodeInfo[];
  /** The member that proposed this view. */
  readonly decider: string;
  /** Members the change removed, and why (a member removed by an admin does not rejoin by itself). */
  readonly removed: readonly { readonly id: string; readonly reason: RemovalReason }[];
  /** Opaque data the decider computed for this view (the placement table), committed with it. */
  readonly payload: unknown;
}

/** Paxos ballot: compared by round, then by proposer id. */
export interface Ballot {
  readonly n: number;
  readonly id: string;
}

// ---- streams (TCP) ----

export interface MemberEntry extends NodeInfo {
  readonly inc: number;
  readonly state: Liveness;
}

/** Full-state exchange; `reply` asks for the receiver's state back. `join` marks a join attempt. */
export interface PushPullMessage {
  readonly t: 'pp';
  readonly from: string;
  readonly src: string;
  readonly reply: boolean;
  readonly join: boolean;
  readonly members: readonly MemberEntry[];
  readonly view: View | null;
}

/** Phase 1a for epoch `epoch`, carrying the proposer's committed view (epoch - 1) so laggards catch up. */
export interface PrepareMessage {
  readonly t: 'prepare';
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly prev: View;
  readonly src: string;
}

/** Phase 1b: the acceptor's latest accepted proposal for the epoch, if any. */
export interface PromiseMessage {
  readonly t: 'promise';
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly from: string;
  readonly inst: number;
  readonly accepted: { readonly ballot: Ballot; readonly view: View } | null;
}

export interface AcceptMessage {
  readonly t: 'accept';
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly view: View;
  readonly src: string;
}

export interface AcceptedMessage {
  readonly t: 'accepted';
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly from: string;
  readonly inst: number;
}

/** Refusal: the acceptor promised a higher ballot, or already holds a newer committed view (sent along). */
export interface RejectMessage {
  readonly t: 'reject';
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly promised: Ballot | null;
  readonly view: View | null;
}

export interface CommitMessage {
  readonly t: 'commit';
  readonly view: View;
}

/** Asks for the sender's committed view (answered with a commit message). */
export interface ViewRequestMessage {
  readonly t: 'viewreq';
  readonly src: string;
}

/** A node asks to be added (or, with a new instance or address, updated); forwarded to the decider. */
export interface JoinRequestMessage {
  readonly t: 'join';
  readonly node: AliveMessage;
  readonly hops: number;
}

/** Remove a member (admin request, or a graceful leave); forwarded to the decider. */
export interface RemoveRequestMessage {
  readonly t: 'remove';
  readonly id: string;
  readonly reason: RemovalReason;
  readonly hops: number;
}

export type StreamMessage =
  | PushPullMessage
  | PrepareMessage
  | PromiseMessage
  | AcceptMessage
  | AcceptedMessage
  | RejectMessage
  | CommitMessage
  | ViewRequestMessage
  | JoinRequestMessage
  | RemoveRequestMessage;

export type AnyMessage = GossipMessage | StreamMessage;
export type MessageType = AnyMessage['t'];

export function compareBallots(a: Ballot | null, b: Ballot | null): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
