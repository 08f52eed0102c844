/**
 * Timings and limits of failure detection and views. Defaults are chosen for a
 * LAN (pods in one region) and meet, with 10 nodes: detection of a crashed
 * node by every other node in about 3 s (p50) and under 6 s (p99), and no
 * healthy node declared DEAD while one node is frozen for 2 s every 30 s with
 * 5% packet loss. The reasoning:
 *
 * - a dead node is first probed after about `probeIntervalMs` / 2 and suspected
 *   one probe round later (~0.6 s); the suspicion then lasts `suspicionTimeoutMs`
 *   once `suspicionConfirmations` other members agree (they do within a few
 *   probe rounds), so detection ~ 0.6 + 2.0 s plus dissemination (~0.1 s);
 * - a node frozen for 2 s is suspected at the earliest one probe round
 *   (0.3 s) after it froze, so it is declared DEAD no earlier than 2.3 s after it
 *   froze, while its refutation goes out the moment it resumes (2.0 s).
 *
 * Suspicion timeouts grow with log10(cluster size) so dissemination keeps up.
 */
export interface MembershipTimings {
  /** Time between probes of one member by this node (scaled by the local health multiplier). */
  probeIntervalMs: number;
  /** Time to wait for a direct ack before asking `indirectProbes` others (scaled by local health). */
  probeTimeoutMs: number;
  /** Members asked to probe a target that missed its direct ack (SWIM's k). */
  indirectProbes: number;
  /** Suspicion timeout once confirmed, for up to 10 members; multiplied by log10(n) above that. */
  suspicionTimeoutMs: number;
  /** An unconfirmed suspicion lasts this many times `suspicionTimeoutMs` (Lifeguard). */
  suspicionMaxTimeoutMultiplier: number;
  /** Independent suspicions that shrink the timeout from its maximum to its minimum (log-scaled). */
  suspicionConfirmations: number;
  /** Most the local health multiplier may scale probe intervals and timeouts (Lifeguard LHM). */
  maxLocalHealthMultiplier: number;
  /** Timer lateness that means this process was frozen; its own accusations wait a grace period. */
  stallThresholdMs: number;
  /** How often pending updates are gossiped to `gossipFanout` random members. */
  gossipIntervalMs: number;
  gossipFanout: number;
  /** Each update is sent retransmitMultiplier * ceil(log10(n + 1)) times. */
  retransmitMultiplier: number;
  /** Full-state push-pull with one random member (TCP); scaled up beyond 32 members. */
  pushPullIntervalMs: number;
  /** How often a DEAD member is contacted by push-pull, so healed partitions merge. */
  reconnectIntervalMs: number;
  /** A DEAD or LEFT node that is not in the view is forgotten after this long. */
  deadReapMs: number;
  /** Largest UDP packet sent or accepted. */
  maxPacketBytes: number;
  /** Largest stream message accepted. */
  maxStreamBytes: number;
  /**
   * Join retries back off with the project's backoffDelayMs: the first waits
   * between joinBackoffMinMs / 2 and joinBackoffMinMs, each next one twice as
   * long, and none more than 3/4 of joinBackoffMaxMs (jitter included).
   */
  joinBackoffMinMs: number;
  joinBackoffMaxMs: number;
  /** How long the first seed searches for an existing cluster before it bootstraps one. */
  bootstrapSearchMs: number;
  /** How often seed DNS names are resolved again. */
  seedRefreshIntervalMs: number;
  /** A member DEAD this long is removed from the view by the decider. */
  removeAfterMs: number;
  /** A proposal that has not committed after this long is abandoned and retried with a higher ballot. */
  proposalTimeoutMs: number;
  /** How often the decider looks for changes to propose. */
  deciderIntervalMs: number;
}

export const DEFAULT_MEMBERSHIP_TIMINGS: MembershipTimings = {
  probeIntervalMs: 300,
  probeTimeoutMs: 150,
  indirectProbes: 3,
  suspicionTimeoutMs: 2000,
  suspicionMaxTimeoutMultiplier: 3,
  suspicionConfirmations: 3,
  maxLocalHealthMultiplier: 8,
  stallThresholdMs: 500,
  gossipIntervalMs: 150,
  gossipFanout: 3,
  retransmitMultiplier: 6,
  pushPullIntervalMs: 15_000,
  reconnectIntervalMs: 3000,
  deadReapMs: 60_000,
  maxPacketBytes: 1400,
  maxStreamBytes: 32 * 1024 * 1024,
  joinBackoffMinMs: 200,
  joinBackoffMaxMs: 5000,
  bootstrapSearchMs: 3000,
  seedRefreshIntervalMs: 30_000,
  removeAfterMs: 30_000,
  proposalTimeoutMs: 3000,
  deciderIntervalMs: 250,
};

/** Suspicion timeout bounds [min, max] for a cluster of `n` members. */
export function suspicionBounds(t: MembershipTimings, n: number): [number, number] {
  const min = t.suspicionTimeoutMs * Math.max(1, Math.log10(Math.max(1, n)));
  return [min, min * t.suspicionMaxTimeoutMultiplier];
}

/** Times each update is retransmitted in a cluster of `n`. */
export function retransmitLimit(t: MembershipTimings, n: number): number {
  return t.retransmitMultiplier * Math.max(1, Math.ceil(Math.log10(n + 1)));
}

/** Push-pull interval for `n` members: the base up to 32, then one more base per doubling. */
export function pushPullInterval(t: MembershipTimings, n: number): number {
  if (n <= 32) return t.pushPullIntervalMs;
  return t.pushPullIntervalMs * (Math.ceil(Math.log2(n) - 5) + 1);
}
