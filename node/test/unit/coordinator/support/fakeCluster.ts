// A Coordinator on node `self` of a four-node cluster whose peers are fakes:
// each keeps its own versions, answers READ and APPLY as a replica would (on
// a later microtask, as a network would), refuses requests sent at an epoch
// below its fence (STALE_EPOCH), and records everything it was sent. The
// committed view is a real ReplicaSets over a fake source the test commits to.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  Consistency,
  ErrorCode,
  type Member,
  MemberState,
  Operation,
  OpType,
  PendingMoves,
  Placement,
  type ReplicaReply,
  type ReplicaRequest,
  ReplicaOpType,
  Result,
  SLOT_COUNT,
  SlotTable,
  type Topology,
} from '@meshcache/proto';
import { DEFAULT_CACHE_OPTIONS } from '../../../../src/config/NodeOptions.js';
import { Coordinator, type PeerSender } from '../../../../src/coordinator/Coordinator.js';
import { HintQueues } from '../../../../src/coordinator/HintQueues.js';
import { ReplicaSets, type ReplicaSetsSource } from '../../../../src/coordinator/ReplicaSets.js';
import { ReplicationStats } from '../../../../src/coordinator/ReplicationStats.js';
import { compareHeld } from '../../../../src/coordinator/RoundHost.js';
import { CacheRegistry } from '../../../../src/engine/CacheRegistry.js';
import { OperationExecutor } from '../../../../src/engine/OperationExecutor.js';
import { OperationStats } from '../../../../src/engine/OperationStats.js';
import type { ReplyCallback } from '../../../../src/replication/ReplicaPeer.js';
import { SettledMarks } from '../../../../src/replication/SettledMarks.js';
import { HybridLogicalClock } from '../../../../src/store/index.js';
import { EMPTY, errorReply, okReply } from './fakeRoundHost.js';

const MAX_KEY_BYTES = 64;
/** The epoch the cluster starts at; the move became pending in it. */
export const START_EPOCH = 2;

export function member(id: string, state: MemberState = MemberState.ALIVE): Member {
  return { id, zone: '', state, grpcAddress: '', redisAddress: '', adminAddress: '', meshAddress: '' };
}

class FakeSource extends EventEmitter implements ReplicaSetsSource {
  epoch = START_EPOCH;
  constructor(
    public placement: Placement,
    public members: Member[],
  ) {
    super();
  }

  snapshot(): Topology {
    return { epoch: this.epoch, members: this.members, ranges: [], caches: [], tables: [] };
  }

  commit(epoch: number, members = this.members): void {
    this.epoch = epoch;
    this.members = members;
    this.emit('change', this.snapshot());
  }
}

interface Held {
  hlc: number;
  node: number;
  value: Buffer;
  tombstone: boolean;
  expiresAtMs: number;
}

export interface Delivery {
  target: string;
  request: ReplicaRequest;
  /** This node's committed epoch when it sent the request (what a frame carries). */
  epoch: number;
}

/** One peer's copy of the caches and how it treats requests. */
export class FakeReplica {
  readonly data = new Map<string, Held>();
  /** Requests sent at an epoch below it are refused STALE_EPOCH. */
  fence = 0;
  /** The epoch a refusal names (0: none, as a reply that does not carry it). */
  refusalNames = 0;
  refusals = 0;
  /** Answers READs NOT_READY (filling the slot). */
  notReady = false;
  /** Never answers an APPLY (a replica that stopped responding after the version round). */
  silentApply = false;

  holds(key: string): Held | undefined {
    return this.data.get(key);
  }

  put(key: string, value: string, hlc: number, node: number): void {
    this.data.set(key, { hlc, node, value: Buffer.from(value, 'latin1'), tombstone: false, expiresAtMs: 0 });
  }

  answer(request: ReplicaRequest, epoch: number): ReplicaReply {
    if (epoch < this.fence) {
      this.refusals++;
      return { ...errorReply(ErrorCode.STALE_EPOCH), epoch: this.refusalNames };
    }
    const key = `${request.cache}:${request.key.toString('latin1')}`;
    if (request.type === ReplicaOpType.APPLY) {
      const held = this.data.get(key);
      if (held === undefined || compareHeld(request.hlc, request.node, held.hlc, held.node) > 0) {
        this.data.set(key, {
          hlc: request.hlc,
          node: request.node,
          value: Buffer.from(request.value),
          tombstone: request.tombstone,
          expiresAtMs: request.expiresAtMs,
        });
      }
    } else if (this.notReady) {
      return errorReply(ErrorCode.NOT_READY);
    }
    const h = this.data.get(key);
    if (h === undefined) return okReply(0, 0);
    return okReply(h.hlc, h.node, {
      tombstone: h.tombstone,
      value: request.versionOnly ? EMPTY : h.value,
      expiresAtMs: h.expiresAtMs,
    });
  }
}

class FakePeers implements PeerSender {
  readonly replicas = new Map<string, FakeReplica>();
  readonly down = new Set<string>();
  readonly log: Delivery[] = [];
  /** How a peer answers a COORDINATE (default OK). */
  readonly coordinateCodes = new Map<string, ErrorCode>();
  /** Called after a replica refused a request (the test may commit a newer epoch here). */
  onRefusal: (target: string, request: ReplicaRequest) => void = () => {};

  constructor(private readonly epoch: () => number) {}

  send(target: string, request: ReplicaRequest, done: ReplyCallback): void {
    const epoch = this.epoch();
    this.log.push({ target, request: { ...request }, epoch });
    if (this.down.has(target)) {
      done(undefined, false);
      return;
    }
    queueMicrotask(() => {
      if (request.type === ReplicaOpType.COORDINATE) {
        const code = this.coordinateCodes.get(target) ?? ErrorCode.OK;
        const result = Result.fromPartial({ id: request.operation?.id ?? 0, code });
        done({ ...okReply(0, 0), result }, true);
        return;
      }
      const replica = this.replicas.get(target)!;
      if (replica.silentApply && request.type === ReplicaOpType.APPLY) return;
      const reply = replica.answer(request, epoch);
      done(reply, true);
      if (reply.code === ErrorCode.STALE_EPOCH) this.onRefusal(target, request);
    });
  }

  reachable(id: string): boolean {
    return !this.down.has(id);
  }
}

export interface ClusterOptions {
  /** This node's id: 'a' (in both sets) unless said. */
  self?: string;
  /** Whether the moves are pending (else every slot sits on its old set). */
  pending?: boolean;
  members?: Member[];
  /** Whether this node has filled a slot (default: every slot). */
  filled?: (cacheIndex: number, slot: number) => boolean;
}

/**
 * Factor 3 ('default'): every slot on a, b, c, moving to a, b, d.
 * Factor 1 ('single'): every slot on a, moving to b.
 */
export function cluster(o: ClusterOptions = {}) {
  const self = o.self ?? 'a';
  const wall = () => Date.now();
  const clock = new HybridLogicalClock(0xa, wall);
  const t3 = SlotTable.fromRanges(3, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a', 'b', 'c'] }]);
  const t1 = SlotTable.fromRanges(1, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a'] }]);
  const since = new Uint32Array(SLOT_COUNT).fill(START_EPOCH);
  const placement =
    o.pending === false
      ? new Placement([t1, t3])
      : new Placement(
          [t1, t3],
          [
            new PendingMoves(
              SlotTable.fromRanges(3, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a', 'b', 'd'] }]),
              since,
            ),
            new PendingMoves(
              SlotTable.fromRanges(1, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['b'] }]),
              since,
            ),
          ],
        );
  const source = new FakeSource(placement, o.members ?? ['a', 'b', 'c', 'd'].map((id) => member(id)));
  const sets = new ReplicaSets(self, source);
  const caches = new CacheRegistry(
    [
      { name: 'default', ...DEFAULT_CACHE_OPTIONS, maxMemoryBytes: 1 << 20 },
      { name: 'single', ...DEFAULT_CACHE_OPTIONS, maxMemoryBytes: 1 << 20, replicationFactor: 1 },
    ],
    MAX_KEY_BYTES,
    clock,
    wall,
    { tombstoneGraceMs: 60_000, settled: () => false },
  );
  const executor = new OperationExecutor(caches, new OperationStats(caches.names), MAX_KEY_BYTES, wall);
  const peers = new FakePeers(() => sets.epoch);
  for (const id of ['a', 'b', 'c', 'd']) if (id !== self) peers.replicas.set(id, new FakeReplica());
  const hints = new HintQueues(
    {
      maxHintsPerTarget: 100,
      maxHintBytesPerTarget: 1 << 20,
      maxHintAgeMs: 1000,
      replayBatch: 1,
      replayBytes: 1 << 20,
    },
    () => {},
    () => performance.now(),
  );
  const coordinator = new Coordinator({
    selfId: self,
    caches,
    executor,
    sets,
    peers,
    hints,
    marks: new SettledMarks(
      () => clock.nodeTag,
      0,
      () => clock.current,
      1000,
      100,
    ),
    clock,
    stats: new ReplicationStats(),
    wallClock: wall,
    writeBlocker: () => undefined,
    whenWarm: () => undefined,
    publishUnsettled: () => {},
    options: { readRepairChance: 0 },
    filled: o.filled,
  });
  let nextId = 1;
  const run = (
    input: Partial<Operation> & Pick<Operation, 'type'>,
    level = Consistency.QUORUM,
    timeoutMs = 1000,
    forwarded = false,
  ): Promise<Result> =>
    coordinator.execute(Operation.fromPartial({ id: nextId++, cache: 'default', ...input }), {
      consistency: level,
      deadline: performance.now() + timeoutMs,
      forwarded,
    });
  return {
    self,
    source,
    sets,
    caches,
    coordinator,
    peers,
    replica: (id: string) => peers.replicas.get(id)!,
    run,
    set: (key: string, value: string, level = Consistency.QUORUM, timeoutMs = 1000) =>
      run({ type: OpType.SET, key: Buffer.from(key), value: Buffer.from(value) }, level, timeoutMs),
    get: (key: string, level = Consistency.QUORUM, timeoutMs = 1000) =>
      run({ type: OpType.GET, key: Buffer.from(key) }, level, timeoutMs),
    /** Requests of one type sent to one peer. */
    sentTo: (target: string, type?: ReplicaOpType) =>
      peers.log.filter((d) => d.target === target && (type === undefined || d.request.type === type)),
    /** Lets every reply already due arrive (replies come on microtasks). */
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
  };
}
