import type { ReplicaRequest } from '@meshcache/proto';
import type { ReplyCallback } from '../replication/ReplicaPeer.js';
import type { SettleToken } from '../replication/SettledMarks.js';
import type { ArenaStore, HybridLogicalClock } from '../store/index.js';
import type { ReplicationStats } from './ReplicationStats.js';

/** One version of one key, as replicas store it. */
export interface VersionedWrite {
  cache: string;
  key: Buffer;
  /** Empty for a tombstone. */
  value: Buffer;
  hlc: number;
  node: number;
  /** Absolute expiry, epoch ms; 0 = never (and for tombstones). */
  expiresAtMs: number;
  tombstone: boolean;
}

/** A version a replica reported holding (hlc 0 = nothing). */
export interface HeldVersion {
  hlc: number;
  node: number;
  tombstone: boolean;
  value: Buffer;
  expiresAtMs: number;
}

/** What read and write rounds need from the coordinator. */
export interface RoundHost {
  readonly selfId: string;
  readonly clock: HybridLogicalClock;
  readonly stats: ReplicationStats;
  /** This node's wall clock, epoch ms (offset in tests). */
  wallClock(): number;
  /** Whether a request to this member would be sent now (live in membership, stream not in backoff). */
  reachable(id: string): boolean;
  send(target: string, request: ReplicaRequest, done: ReplyCallback): void;
  /** Registers a version this node stamped (settled marks). */
  openToken(hlc: number): SettleToken;
  /**
   * The round is over with `missing` replicas lacking the final version:
   * hints for them; the tokens settle once every hint is delivered, or are
   * given up as unsettled.
   */
  finishWrite(write: VersionedWrite, missing: readonly string[], tokens: SettleToken[]): void;
  /** Writes a version into the local store (a read repair on this node); false when the store refused it. */
  applyLocal(store: ArenaStore, write: VersionedWrite): boolean;
}

/** Last-writer-wins order: by HLC, then writer tag. */
export function compareHeld(aHlc: number, aNode: number, bHlc: number, bNode: number): number {
  if (aHlc !== bHlc) return aHlc < bHlc ? -1 : 1;
  const a = aNode >>> 0;
  const b = bNode >>> 0;
  if (a !== b) return a < b ? -1 : 1;
  return 0;
}
