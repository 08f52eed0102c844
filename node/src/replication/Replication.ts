import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_BACKOFF, type UnsettledWrite } from '@meshcache/proto';
import type { Logger } from 'pino';
import type { NodeOptions } from '../config/NodeOptions.js';
import { Coordinator } from '../coordinator/Coordinator.js';
import { HintQueues } from '../coordinator/HintQueues.js';
import { ReplicaSets, type ReplicaSetsSource } from '../coordinator/ReplicaSets.js';
import { ReplicationStats } from '../coordinator/ReplicationStats.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import { ReplicaApplier } from '../engine/ReplicaApplier.js';
import { emptyRequest } from './ReplicaPeer.js';
import { ReplicaPeers } from './ReplicaPeers.js';
import { ReplicaService } from './ReplicaService.js';
import { ClockGuard } from './ClockGuard.js';
import { SettledMarks } from './SettledMarks.js';
import type { SettledTable } from './SettledTable.js';
import { ReplicaOpType, ErrorCode } from '@meshcache/proto';
import { type HybridLogicalClock, makeHlc } from '../store/index.js';
import { type RebalanceMembership, Rebalancer } from '../rebalance/Rebalancer.js';
import { AntiEntropyService } from '../antientropy/AntiEntropyService.js';
import { antiEntropyRequests, replicaTransport } from '../antientropy/replicaTransport.js';
import { NodeScheduler } from '../membership/NodeScheduler.js';

/**
 * How long an anti-entropy request waits for its answer: a DIGESTS answer
 * follows a scan of the whole cache on the peer (about a second per million
 * items, longer under load), far more than a client operation's deadline.
 */
const ANTI_ENTROPY_REQUEST_TIMEOUT_MS = 60_000;

/** How often settled marks go out and hints are replayed. */
const TICK_MS = 100;
/** Unsettled records kept for peers that reconnect. */
const MAX_RETAINED_UNSETTLED = 10_000;

export interface ReplicationDeps {
  options: NodeOptions;
  caches: CacheRegistry;
  executor: OperationExecutor;
  topology: ReplicaSetsSource;
  /** Shared with the caches' stores (they ask it whether a version is settled). */
  settled: SettledTable;
  clock: HybridLogicalClock;
  wallClock: () => number;
  /** A member's advertised replica address ('' when unknown). */
  replicaAddressOf: (id: string) => string;
  /** The running membership (undefined before it starts). */
  membership: () => RebalanceMembership | undefined;
  log: Logger;
}

/**
 * Everything replication runs on one node: the Replica service on its own
 * port, the streams to peers, the coordinator, hinted handoff, settled marks
 * and the clock guard, plus the timer that moves marks and hints along.
 */
export class Replication {
  readonly sets: ReplicaSets;
  readonly peers: ReplicaPeers;
  readonly coordinator: Coordinator;
  readonly service: ReplicaService;
  readonly hints: HintQueues;
  readonly marks: SettledMarks;
  readonly clockGuard: ClockGuard;
  readonly rebalancer: Rebalancer;
  /** Anti-entropy rounds and answers; undefined when the node runs without (`antiEntropy` off). */
  readonly antiEntropy: AntiEntropyService | undefined;
  readonly stats = new ReplicationStats();
  private readonly server: grpc.Server;
  private timer: NodeJS.Timeout | undefined;
  port = 0;

  constructor(private readonly d: ReplicationDeps) {
    const o = d.options;
    const log = d.log.child({ component: 'replication' });
    this.sets = new ReplicaSets(o.id, d.topology);
    this.clockGuard = new ClockGuard(
      o.maxClockSkewMs,
      () => performance.now(),
      (out, median) => {
        if (out) {
          log.error(
            { medianOffsetMs: Math.round(median), maxClockSkewMs: o.maxClockSkewMs },
            "this node's clock is out of bounds from its peers': it stops coordinating writes",
          );
        } else {
          log.warn({ medianOffsetMs: Math.round(median) }, 'clock back in bounds: coordinating writes again');
        }
      },
    );
    this.peers = new ReplicaPeers(
      {
        selfId: o.id,
        clock: d.clock,
        epoch: () => this.sets.epoch,
        wallClock: d.wallClock,
        maxClockSkewMs: o.maxClockSkewMs,
        backoff: { ...DEFAULT_BACKOFF, initialDelayMs: 100, maxDelayMs: 2000 },
        maxFrameBytes: o.maxFrameBytes,
        maxQueuedRequests: 100_000,
        log,
        onPeerWall: (peer, peerWall, localWall) => this.clockGuard.observe(peer, peerWall, localWall),
        onPeerEpoch: (peer, epoch) => this.sets.noteEpoch(peer, epoch),
        onReady: (peer) => {
          for (const u of this.marks.retainedWrites(performance.now())) peer.sendUnsettled(u);
          const mark = this.marks.latest();
          if (mark) peer.sendSettled(mark);
        },
      },
      d.replicaAddressOf,
    );
    this.marks = new SettledMarks(
      () => d.clock.nodeTag,
      // Versions stamped before this process started (by an earlier process of
      // this node, same tag) are not this process's to vouch for.
      Math.max(d.clock.current, makeHlc(Math.floor(d.wallClock()), 0)),
      () => d.clock.current,
      o.tombstoneGraceMs,
      MAX_RETAINED_UNSETTLED,
    );
    d.settled.setSelf(
      () => d.clock.nodeTag,
      (hlc) => this.marks.covers(hlc),
    );
    this.hints = new HintQueues(
      {
        maxHintsPerTarget: o.maxHintsPerTarget,
        maxHintBytesPerTarget: o.maxHintBytesPerTarget,
        maxHintAgeMs: o.maxHintAgeMs,
        replayBatch: o.hintReplayBatch,
        // A quarter of a frame in flight per target: replay never crowds out live writes.
        replayBytes: Math.max(1, Math.floor(o.maxFrameBytes / 4)),
      },
      (target, hint, done) => {
        const request = emptyRequest();
        request.type = ReplicaOpType.APPLY;
        request.cache = hint.cache;
        request.key = hint.key;
        request.value = hint.value;
        request.hlc = hint.hlc;
        request.node = hint.node;
        request.expiresAtMs = hint.expiresAtMs;
        request.tombstone = hint.tombstone;
        request.timeoutMs = o.requestTimeoutMs;
        this.peers.send(target, request, (reply) => {
          const held =
            reply !== undefined &&
            reply.code === ErrorCode.OK &&
            (reply.hlc > hint.hlc || (reply.hlc === hint.hlc && reply.node >>> 0 >= hint.node >>> 0));
          done(held);
        });
      },
      () => performance.now(),
    );
    this.coordinator = new Coordinator({
      selfId: o.id,
      caches: d.caches,
      executor: d.executor,
      sets: this.sets,
      peers: this.peers,
      hints: this.hints,
      marks: this.marks,
      clock: d.clock,
      stats: this.stats,
      wallClock: d.wallClock,
      writeBlocker: () => this.clockGuard.blocker(),
      whenWarm: () => this.clockGuard.whenWarm(),
      publishUnsettled: (write: UnsettledWrite) => {
        d.settled.pin(write);
        this.peers.sendUnsettled(this.sets.peers(), write);
      },
      options: { readRepairChance: o.readRepairChance },
      filled: (cacheIndex, slot) =>
        this.rebalancer.fill.isFilled(d.caches.options[cacheIndex]!.replicationFactor, slot),
    });
    this.rebalancer = new Rebalancer({
      selfId: o.id,
      options: {
        transferBytesPerSecond: o.transferBytesPerSecond,
        maxConcurrentTransfers: o.maxConcurrentTransfers,
        transferBatchBytes: o.transferBatchBytes,
        dropGraceMs: o.dropGraceMs,
        tombstoneGraceMs: o.tombstoneGraceMs,
        requestTimeoutMs: o.requestTimeoutMs,
        maxFrameBytes: o.maxFrameBytes,
      },
      sets: this.sets,
      caches: d.caches,
      peers: this.peers,
      hints: this.hints,
      membership: d.membership,
      wallClock: d.wallClock,
      now: () => performance.now(),
      log: log.child({ component: 'rebalance' }),
    });
    const factors = new Map(d.caches.options.map((c) => [c.name, c.replicationFactor]));
    this.antiEntropy = o.antiEntropy ? this.createAntiEntropy(log) : undefined;
    this.service = new ReplicaService({
      nodeId: o.id,
      clock: d.clock,
      epoch: () => this.sets.epoch,
      wallClock: d.wallClock,
      maxClockSkewMs: o.maxClockSkewMs,
      maxFrameBytes: o.maxFrameBytes,
      applier: new ReplicaApplier(d.caches),
      staleEpoch: (cache, slot, epoch) => {
        const factor = factors.get(cache);
        return factor !== undefined && this.sets.staleEpoch(factor, slot, epoch);
      },
      coordinator: this.coordinator,
      settled: d.settled,
      rebalance: this.rebalancer,
      antiEntropy: antiEntropyRequests(() => this.antiEntropy, o.maxFrameBytes),
      peerEpoch: (peer, epoch) => this.sets.noteEpoch(peer, epoch),
      log,
    });
    this.server = new grpc.Server({
      // Above the limit, so an oversized frame reaches ReplicaService, which refuses and counts it.
      'grpc.max_receive_message_length': Math.min(2 * o.maxFrameBytes, 2 ** 31 - 1),
      'grpc.max_send_message_length': o.maxFrameBytes,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    });
    this.server.addService(ReplicaService.definition(o.maxFrameBytes), this.service.handlers());
    this.sets.onEpoch(() => {
      const members = new Set(this.sets.peers());
      this.antiEntropy?.refresh();
      this.peers.retain(members);
      for (const id of this.clockGuard.peers()) if (!members.has(id)) this.clockGuard.forget(id);
    });
    // A factor above the member count is capped there; say so whenever the cap changes.
    const caps = new Map<string, number>();
    this.sets.onEpoch((epoch) => {
      for (const c of d.caches.options) {
        const width = this.sets.table(c.replicationFactor)?.width;
        if (width === undefined || caps.get(c.name) === width) continue;
        caps.set(c.name, width);
        if (width < c.replicationFactor) {
          log.warn(
            { cache: c.name, replicationFactor: c.replicationFactor, effective: width, epoch },
            'replication factor capped at the member count',
          );
        } else {
          log.info({ cache: c.name, replicationFactor: width, epoch }, 'replication factor in effect');
        }
      }
    });
  }

  async start(): Promise<number> {
    const o = this.d.options;
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(
        `${o.bindHost}:${o.replicaPort}`,
        grpc.ServerCredentials.createInsecure(),
        (err, p) => (err ? reject(err) : resolve(p)),
      );
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.rebalancer.start();
    this.antiEntropy?.start();
    return this.port;
  }

  private createAntiEntropy(log: Logger): AntiEntropyService {
    const o = this.d.options;
    const sets = this.sets;
    const fill = this.rebalancer.fill;
    return new AntiEntropyService({
      nodeId: o.id,
      options: {
        antiEntropyMinIntervalMs: o.antiEntropyMinIntervalMs,
        antiEntropyMaxIntervalMs: o.antiEntropyMaxIntervalMs,
        antiEntropyLeafSlots: o.antiEntropyLeafSlots,
        antiEntropyScanWork: o.antiEntropyScanWork,
        antiEntropyCutoffMarginMs: o.antiEntropyCutoffMarginMs,
        antiEntropyRepairSlots: o.antiEntropyRepairSlots,
      },
      tombstoneGraceMs: o.tombstoneGraceMs,
      caches: this.d.caches.options.flatMap((c) => {
        const store = this.d.caches.get(c.name);
        return c.replicationFactor > 1 && store !== undefined
          ? [{ name: c.name, replicationFactor: c.replicationFactor, store }]
          : [];
      }),
      placement: {
        hasTable: (rf) => sets.table(rf) !== undefined,
        replicas: (rf, slot) => sets.table(rf)?.replicas(slot) ?? [],
        holds: (rf, slot, id) => (sets.table(rf)?.positionOf(slot, id) ?? -1) >= 0,
        isPending: (rf, slot) => sets.pending(rf)?.isPending(slot) === true,
        isFilled: (rf, slot) => fill.isFilled(rf, slot),
        isLive: (id) => sets.isLive(id),
        peers: () => sets.peers(),
      },
      transport: replicaTransport({
        send: (peer, request, done) => this.peers.send(peer, request, done),
        timeoutMs: ANTI_ENTROPY_REQUEST_TIMEOUT_MS,
      }),
      wallClock: this.d.wallClock,
      random: { next: Math.random },
      scheduler: new NodeScheduler((err) => log.error({ err }, 'anti-entropy timer failed')),
      yieldTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
      log: log.child({ component: 'anti-entropy' }),
    });
  }

  /** Membership says a member is back: replay its hints without waiting out a stream backoff. */
  memberAlive(id: string): void {
    this.peers.wake(id);
  }

  /**
   * Membership declared a member DEAD: requests waiting on it are missing
   * acks now (their writes get hints) instead of at their deadlines.
   */
  memberDead(id: string): void {
    this.peers.get(id).abandon('member declared DEAD');
  }

  private tick(): void {
    const peers = this.sets.peers();
    const mark = this.marks.next();
    if (mark !== undefined) {
      this.d.settled.mark(mark);
      this.peers.sendSettled(peers, mark);
    }
    // Warm-up: the clock is above every live peer's once each has answered a hello.
    for (const id of peers) if (this.sets.isLive(id)) this.peers.get(id).connectIfIdle();
    if (peers.every((id) => !this.sets.isLive(id) || this.peers.get(id).ready))
      this.clockGuard.helloComplete();
    this.hints.tick((target) => this.sets.isAlive(target) && this.peers.reachable(target));
  }

  /** Replays queued hints until none is left or `timeoutMs` passes; true when all were delivered. */
  async flushHints(timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (this.hints.pending > 0 && performance.now() < end) {
      this.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.hints.pending === 0;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.rebalancer.stop();
    this.antiEntropy?.stop();
    this.service.close();
    this.peers.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
