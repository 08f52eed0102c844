/**
 * Anti-entropy counters of one node (monotonic; exported as metrics by the
 * node). Rounds are counted by the node that ran them; bytes and repairs by
 * each node for its own side, whichever ran the round, so a sum over nodes
 * counts every byte and every repaired key once.
 */
export interface AntiEntropyStats {
  /** Rounds this node ran that completed. */
  rounds: number;
  /** Of those, rounds that found the replicas equal. */
  roundsClean: number;
  /** Rounds this node ran that failed (peer error, store error, malformed answer). */
  roundsFailed: number;
  /** Rounds a peer ran with this node that completed. */
  roundsServed: number;
  /** Slot ranges covered by completed rounds this node ran (equal roots cover every range at once). */
  rangesCompared: number;
  /** Slots found differing by rounds this node ran. */
  differences: number;
  /** Copies this node applied that changed its store (from rounds it ran or served). */
  keysRepaired: number;
  /** Anti-entropy message bytes this node sent (requests and answers). */
  bytesSent: number;
  /** Anti-entropy message bytes this node received. */
  bytesReceived: number;
  /** Items digested by this node's scans (both roles). */
  itemsDigested: number;
  /** Purges of tombstones past their grace that no round yet allowed (RoundLedger.mayPurge). */
  tombstonePurgesBlocked: number;
}

export function newAntiEntropyStats(): AntiEntropyStats {
  return {
    rounds: 0,
    roundsClean: 0,
    roundsFailed: 0,
    roundsServed: 0,
    rangesCompared: 0,
    differences: 0,
    keysRepaired: 0,
    bytesSent: 0,
    bytesReceived: 0,
    itemsDigested: 0,
    tombstonePurgesBlocked: 0,
  };
}
