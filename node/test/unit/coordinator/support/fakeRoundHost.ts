// A RoundHost without a network: sends are recorded and answered by the test,
// tokens and finished rounds are recorded, applyLocal writes into a real
// replicated ArenaStore the way the Coordinator does.
import { ErrorCode, type ReplicaReply, type ReplicaRequest } from '@meshcache/proto';
import type { RoundHost, VersionedWrite } from '../../../../src/coordinator/RoundHost.js';
import { ReplicationStats } from '../../../../src/coordinator/ReplicationStats.js';
import type { ReplyCallback } from '../../../../src/replication/ReplicaPeer.js';
import type { SettleToken } from '../../../../src/replication/SettledMarks.js';
import { ArenaStore, HybridLogicalClock } from '../../../../src/store/index.js';

/** A fixed wall clock (epoch ms) the tests start at. */
export const T0 = 1_763_000_000_000;
export const EMPTY = Buffer.alloc(0);
export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export interface Sent {
  target: string;
  request: ReplicaRequest;
  done: ReplyCallback;
}

export interface Finished {
  write: VersionedWrite;
  missing: string[];
  tokens: SettleToken[];
}

export class FakeRoundHost implements RoundHost {
  readonly selfId: string;
  wallMs = T0;
  readonly clock: HybridLogicalClock;
  readonly stats = new ReplicationStats();
  readonly sent: Sent[] = [];
  readonly unreachable = new Set<string>();
  readonly tokens: SettleToken[] = [];
  readonly finished: Finished[] = [];
  /** Every applyLocal call (a copy of the write as it was then). */
  readonly appliedLocally: VersionedWrite[] = [];
  /** What applyLocal swallowed. */
  readonly localApplyErrors: unknown[] = [];

  constructor(selfId = 'self', nodeTag = 0x5e1f) {
    this.selfId = selfId;
    this.clock = new HybridLogicalClock(nodeTag, () => this.wallMs);
  }

  wallClock(): number {
    return this.wallMs;
  }

  reachable(id: string): boolean {
    return !this.unreachable.has(id);
  }

  send(target: string, request: ReplicaRequest, done: ReplyCallback): void {
    this.sent.push({ target, request: { ...request }, done });
  }

  openToken(hlc: number): SettleToken {
    const token = { hlc, open: true };
    this.tokens.push(token);
    return token;
  }

  finishWrite(write: VersionedWrite, missing: readonly string[], tokens: SettleToken[]): void {
    this.finished.push({ write: { ...write }, missing: [...missing], tokens: [...tokens] });
  }

  /** As the Coordinator's: a store error (out of memory, too large) leaves the local copy stale. */
  applyLocal(store: ArenaStore, w: VersionedWrite): boolean {
    this.appliedLocally.push({ ...w });
    try {
      store.applyAt(
        w.key,
        0,
        w.key.length,
        w.value,
        0,
        w.value.length,
        w.expiresAtMs,
        w.hlc,
        w.node,
        w.tombstone,
      );
      return true;
    } catch (e) {
      this.localApplyErrors.push(e);
      return false;
    }
  }

  /** Requests sent to one replica, oldest first. */
  sentTo(target: string): Sent[] {
    return this.sent.filter((s) => s.target === target);
  }

  /** The latest request sent to one replica. */
  lastTo(target: string): Sent {
    const all = this.sentTo(target);
    if (all.length === 0) throw new Error(`nothing was sent to ${target}`);
    return all[all.length - 1]!;
  }

  /** A replicated store sharing this host's clock and wall clock. */
  makeStore(): ArenaStore {
    return new ArenaStore(
      {
        name: 'c',
        maxMemoryBytes: 1 << 20,
        defaultTtlMs: 0,
        maxValueBytes: 1 << 16,
        maxKeyBytes: 64,
        evictionPolicy: 'lru',
        replication: { tombstoneGraceMs: 60_000, settled: () => false },
      },
      this.clock,
      () => this.wallMs,
    );
  }
}

/** A replica's OK reply holding version (hlc, node). */
export function okReply(hlc: number, node: number, extra: Partial<ReplicaReply> = {}): ReplicaReply {
  return {
    id: 0,
    code: ErrorCode.OK,
    message: '',
    hlc,
    node,
    tombstone: false,
    value: EMPTY,
    expiresAtMs: 0,
    result: undefined,
    entries: [],
    cursor: 0,
    done: false,
    epoch: 0,
    payload: EMPTY,
    estimatedItems: 0,
    ...extra,
  };
}

/** A replica's refusal. */
export function errorReply(code: ErrorCode): ReplicaReply {
  return { ...okReply(0, 0), code, message: 'refused' };
}

/** What the store holds for a key: version, tombstone flag and value (undefined: nothing). */
export function heldIn(
  store: ArenaStore,
  key: Buffer,
): { hlc: number; node: number; tombstone: boolean; value: string; expiresAtMs: number } | undefined {
  const h = store.versionAt(key, 0, key.length);
  if (h < 0) return undefined;
  const tombstone = store.isTombstone(h);
  return {
    hlc: store.hlcOf(h),
    node: store.nodeOf(h),
    tombstone,
    value: tombstone ? '' : store.valueBuffer(h).toString('latin1'),
    expiresAtMs: store.expiresAtOf(h),
  };
}
