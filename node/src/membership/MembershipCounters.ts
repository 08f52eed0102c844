import type { MessageType } from './messages.js';

/** Counters of one membership instance (exported as Prometheus metrics by the node). */
export interface MembershipCounters {
  /** Direct probes sent. */
  probes: number;
  /** Acks received for our own probes (direct or relayed). */
  acks: number;
  nacks: number;
  /** Probe rounds that asked others to probe indirectly. */
  indirectProbes: number;
  /** Members this node suspected after its own probe failed. */
  suspicions: number;
  /** Members this node declared DEAD when its suspicion timer ran out. */
  deathsDeclared: number;
  /** Suspicions (or death notices) of this node that it refuted. */
  refutations: number;
  /** Times this node found itself frozen (its timers fired far too late). */
  stalls: number;
  /** Incoming packets or stream messages dropped as malformed. */
  malformed: number;
  packetsIn: number;
  packetsOut: number;
  messagesIn: Partial<Record<MessageType, number>>;
  messagesOut: Partial<Record<MessageType, number>>;
  /** Proposal rounds started by this node as decider, and how they ended. */
  proposals: number;
  proposalsCommitted: number;
  proposalsFailed: number;
}

export function newCounters(): MembershipCounters {
  return {
    probes: 0,
    acks: 0,
    nacks: 0,
    indirectProbes: 0,
    suspicions: 0,
    deathsDeclared: 0,
    refutations: 0,
    stalls: 0,
    malformed: 0,
    packetsIn: 0,
    packetsOut: 0,
    messagesIn: {},
    messagesOut: {},
    proposals: 0,
    proposalsCommitted: 0,
    proposalsFailed: 0,
  };
}

export function countMessage(into: Partial<Record<MessageType, number>>, t: MessageType): void {
  into[t] = (into[t] ?? 0) + 1;
}
