import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAdminServer, type LocalWrite, type LocalWriteResult } from './admin/AdminServer.js';
import { antiEntropyMetrics } from './antientropy/antiEntropyMetrics.js';
import { META } from './cluster/ClusterTopology.js';
import { LocalTopology } from './cluster/LocalTopology.js';
import type { NodeOptions } from './config/NodeOptions.js';
import { CacheRegistry } from './engine/CacheRegistry.js';
import { OperationExecutor } from './engine/OperationExecutor.js';
import { OperationStats } from './engine/OperationStats.js';
import { membershipMetrics } from './membership/membershipMetrics.js';
import { NodeMembership, timingsOf } from './membership/NodeMembership.js';
import { createNodeMetrics } from './metrics/NodeMetrics.js';
import { writerTagsOf } from './placement/writerTags.js';
import { RedisServer } from './redis/RedisServer.js';
import { rebalanceMetrics } from './rebalance/rebalanceMetrics.js';
import { Replication } from './replication/Replication.js';
import { replicationMetrics } from './replication/replicationMetrics.js';
import { SettledTable } from './replication/SettledTable.js';
import { slotDigests } from './replication/slotDigests.js';
import { clusterSlots } from './routing/clusterSlots.js';
import { HybridLogicalClock, nodeTagOf } from './store/index.js';
import { CacheGrpcService, guardedCacheService } from './transport/CacheGrpcService.js';
import { NODE_VERSION } from './version.js';

/** Work budget per cache for one active expiry cycle (entries examined). */
const ACTIVE_EXPIRY_WORK_PER_CACHE = 200;

export interface BoundPorts {
  grpcPort: number;
  adminPort: number;
  redisPort: number;
  gossipPort: number;
  replicaPort: number;
}

/** One running meshcache node: data plane, admin server and background work. */
export class NodeServer {
  readonly caches: CacheRegistry;
  readonly executor: OperationExecutor;
  readonly topology: LocalTopology;
  readonly redis: RedisServer;
  readonly cluster: NodeMembership;
  readonly replication: Replication;
  private readonly clock: HybridLogicalClock;
  private readonly grpcServer: grpc.Server;
  private readonly service: CacheGrpcService;
  private readonly admin: FastifyInstance;
  private readonly startedAt = Date.now();
  private expiryTimer: NodeJS.Timeout | undefined;
  private state: 'starting' | 'serving' | 'stopping' | 'stopped' = 'starting';
  ports: BoundPorts = { grpcPort: 0, adminPort: 0, redisPort: 0, gossipPort: 0, replicaPort: 0 };

  constructor(
    readonly options: NodeOptions,
    private readonly log: Logger,
  ) {
    // Tests give a node a clock offset to play a machine whose clock is off.
    const offset = options.testClockOffsetMs;
    const wallClock = offset === 0 ? Date.now : () => Date.now() + offset;
    // Until the first committed view hands out a writer tag, versions carry a hash of the id.
    const clock = new HybridLogicalClock(nodeTagOf(options.id), wallClock);
    this.clock = clock;
    const settled = new SettledTable((w) => {
      this.caches.get(w.cache)?.pin(w.key, 0, w.key.length, w.hlc, w.node);
    });
    this.caches = new CacheRegistry(options.caches, options.maxKeyBytes, clock, wallClock, {
      tombstoneGraceMs: options.tombstoneGraceMs,
      settled: (hlc, node) => settled.settled(hlc, node),
      // Replication (and its anti-entropy service) is made below, before any store purges.
      ...(options.antiEntropy
        ? {
            covered: (cache: string, slot: number, at: number) =>
              this.replication.antiEntropy?.mayPurge(cache, slot, at) ?? false,
          }
        : {}),
    });
    const stats = new OperationStats(this.caches.names);
    this.executor = new OperationExecutor(this.caches, stats, options.maxKeyBytes);
    this.topology = new LocalTopology(
      {
        id: options.id,
        zone: options.zone,
        grpcAddress: `${options.host}:${options.grpcPort}`,
        redisAddress: `${options.host}:${options.redisPort}`,
        adminAddress: `${options.host}:${options.adminPort}`,
        meshAddress: options.meshAddress,
      },
      this.caches,
    );
    this.cluster = new NodeMembership(
      {
        id: options.id,
        zone: options.zone,
        host: options.host,
        bindHost: options.bindHost,
        gossipPort: options.gossipPort,
        seeds: options.seeds,
        timings: timingsOf(options),
        // The placement of every replication factor in use, with its pending moves, committed with each view.
        payload: (prev, next) =>
          this.replication.rebalancer.payload(prev, {
            epoch: next.epoch,
            members: next.members.map((m) => ({ id: m.id, zone: m.zone })),
          }),
        payloadDue: (prev) => this.replication.rebalancer.payloadDue(prev),
      },
      log.child({ component: 'membership' }),
    );
    this.replication = new Replication({
      options,
      caches: this.caches,
      executor: this.executor,
      topology: this.topology,
      settled,
      clock,
      wallClock,
      replicaAddressOf: (id) => this.replicaAddressOf(id),
      membership: () => this.cluster.current,
      log,
    });
    this.service = new CacheGrpcService(
      {
        nodeId: options.id,
        serverVersion: NODE_VERSION,
        maxKeyBytes: options.maxKeyBytes,
        maxOpsPerFrame: options.maxOpsPerFrame,
        maxFrameBytes: options.maxFrameBytes,
        requestTimeoutMs: options.requestTimeoutMs,
      },
      this.executor,
      this.caches,
      this.topology,
      log,
      this.replication.coordinator,
    );
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': options.maxFrameBytes,
      'grpc.max_send_message_length': options.maxFrameBytes,
      // Long-lived streams: keep idle connections alive through proxies and detect dead peers.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    });
    this.grpcServer.addService(guardedCacheService, this.service.handlers());
    this.redis = new RedisServer(
      {
        nodeId: options.id,
        serverVersion: NODE_VERSION,
        maxBulkBytes: options.redisMaxBulkBytes,
        maxArgs: options.redisMaxArgs,
        maxQueryBufferBytes: options.redisMaxQueryBufferBytes,
        maxClients: options.redisMaxClients,
        password: options.redisPassword,
        shutdownTimeoutMs: options.shutdownTimeoutMs,
        commandTimeoutMs: options.requestTimeoutMs,
      },
      this.executor,
      this.caches,
      log,
      this.replication.coordinator,
    );
    const registry = createNodeMetrics({
      nodeId: options.id,
      caches: this.caches,
      stats,
      transport: () => this.service.counters,
      epoch: () => this.topology.epoch,
      redis: this.redis,
      extra: [
        ...membershipMetrics(() => this.cluster.current),
        ...replicationMetrics(this.replication, this.caches),
        ...rebalanceMetrics(this.replication.rebalancer),
        ...antiEntropyMetrics(() => this.replication.antiEntropy),
      ],
    });
    this.admin = createAdminServer({
      registry,
      // Ready once serving as a member of a committed view, with every slot it holds filled.
      ready: () =>
        this.state === 'serving' &&
        this.cluster.current?.isMember === true &&
        this.replication.rebalancer.filledAll(),
      rebalance: () => this.replication.rebalancer.status(),
      drain: (force) => this.replication.rebalancer.drain(this.options.id, force),
      info: () => this.info(),
      topology: () => this.topology.snapshot(),
      slots: (replicationFactor) => clusterSlots(this.topology.snapshot(), replicationFactor),
      digests: (cache) => {
        const store = this.caches.get(cache);
        return store === undefined ? undefined : slotDigests(store);
      },
      cluster: {
        membership: () => this.cluster.current,
        faults: options.testFaults ? this.cluster.transport.faults : undefined,
      },
      ...(options.testWriteLocal ? { writeLocal: (w: LocalWrite) => this.writeLocal(w) } : {}),
    });
  }

  async start(): Promise<BoundPorts> {
    const o = this.options;
    const grpcPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(
        `${o.bindHost}:${o.grpcPort}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
    await this.admin.listen({ host: o.bindHost, port: o.adminPort });
    const address = this.admin.server.address();
    const adminPort = typeof address === 'object' && address !== null ? address.port : o.adminPort;
    const redisPort = await this.redis.listen(o.bindHost, o.redisPort);
    const replicaPort = await this.replication.start();
    this.topology.updateSelf({
      grpcAddress: `${o.host}:${grpcPort}`,
      adminAddress: `${o.host}:${adminPort}`,
      redisAddress: `${o.host}:${redisPort}`,
    });
    const gossipPort = await this.cluster.start({
      [META.grpc]: `${o.host}:${grpcPort}`,
      [META.redis]: `${o.host}:${redisPort}`,
      [META.admin]: `${o.host}:${adminPort}`,
      [META.replica]: `${o.host}:${replicaPort}`,
      ...(o.meshAddress ? { [META.mesh]: o.meshAddress } : {}),
      ...(o.externalAddress ? { [META.external]: o.externalAddress } : {}),
    });
    this.ports = { grpcPort, adminPort, redisPort, gossipPort, replicaPort };
    const membership = this.cluster.current!;
    const refresh = () => this.topology.apply(membership.view, (id) => membership.detector.get(id));
    // Before the topology: fill state must know of a new cluster or a removal before slots are planned.
    membership.onView((view) => this.replication.rebalancer.onView(view));
    membership.onView(refresh);
    membership.onLiveness(refresh);
    // Versions carry the writer tag the view gave this member.
    membership.onView((view) => {
      const tag = writerTagsOf(view.payload).tags[this.options.id];
      if (tag !== undefined && tag !== this.clock.nodeTag) {
        this.log.info({ writerTag: tag, epoch: view.epoch }, 'writer tag from the committed view');
        this.clock.nodeTag = tag;
      }
    });
    membership.onLiveness((record) => {
      if (record.state === 'alive') this.replication.memberAlive(record.id);
      else if (record.state === 'dead') this.replication.memberDead(record.id);
    });
    // The first view may have been adopted before these listeners (a node that formed its own cluster).
    if (membership.view !== undefined) this.replication.rebalancer.onView(membership.view);
    refresh();
    // Without seeds this node forms its own cluster at once: be a member before saying ready.
    if (o.seeds.length === 0) await this.cluster.waitForMember(5000);
    this.expiryTimer = setInterval(() => {
      this.caches.activeExpireCycle(ACTIVE_EXPIRY_WORK_PER_CACHE);
    }, o.activeExpiryIntervalMs);
    this.expiryTimer.unref();
    this.state = 'serving';
    this.log.info({ ...this.ports, version: NODE_VERSION, caches: this.caches.names }, 'node ready');
    return this.ports;
  }

  /**
   * Tests only (testWriteLocal): a write into this node's own store with a
   * new version from its clock, replicated nowhere, so replicas differ. The
   * version counts as settled here (no write round tracks it), so a local
   * delete's tombstone is purged after the grace like any settled one.
   */
  private writeLocal(w: LocalWrite): LocalWriteResult {
    const store = this.caches.get(w.cache);
    if (store === undefined) return { code: 'UNKNOWN_CACHE', message: `unknown cache '${w.cache}'` };
    const key = Buffer.from(w.key);
    try {
      if (w.value === undefined) store.delete(key);
      else store.set(key, Buffer.from(w.value), 0);
    } catch (err) {
      return { code: 'FAILED', message: err instanceof Error ? err.message : String(err) };
    }
    const h = store.versionAt(key, 0, key.length);
    return {
      code: 'OK',
      version: h < 0 ? null : { hlc: store.hlcOf(h), node: store.nodeOf(h), tombstone: store.isTombstone(h) },
    };
  }

  /** A member's replica address, from its newest process's membership metadata. */
  private replicaAddressOf(id: string): string {
    const membership = this.cluster.current;
    const record = membership?.detector.get(id);
    const inView = membership?.view?.members.find((m) => m.id === id);
    const meta = record && (!inView || record.inst >= inView.inst) ? record.meta : inView?.meta;
    return meta?.[META.replica] ?? '';
  }

  info(): unknown {
    return {
      id: this.options.id,
      version: NODE_VERSION,
      state: this.state,
      zone: this.options.zone,
      uptimeMs: Date.now() - this.startedAt,
      epoch: this.topology.epoch,
      ports: this.ports,
      caches: this.caches.options.map((c, i) => {
        const store = this.caches.stores[i]!;
        // The factor the cluster gives the cache now: capped at the member count.
        const effective = this.replication.sets.table(c.replicationFactor)?.width ?? 1;
        return {
          ...c,
          effectiveReplicationFactor: effective,
          replicationFactorCapped: effective < c.replicationFactor,
          keys: store.size,
          tombstones: store.tombstoneCount,
          usedBytes: store.usedBytes,
          stats: { ...store.stats },
        };
      }),
      rebalance: {
        filled: this.replication.rebalancer.filledAll(),
        slotsPending: this.replication.rebalancer.pendingSlots(),
        slotsUnfilled: this.replication.rebalancer.unfilledSlots(),
        // Slots completed empty after every copy was lost (a full restart): the loss, reported.
        slotsLost: this.replication.rebalancer.fill.lostTotal,
      },
      antiEntropy: this.replication.antiEntropy?.info() ?? { enabled: false },
      replication: {
        hintsPending: this.replication.hints.pending,
        hints: { ...this.replication.hints.counters },
        clockOffsetMedianMs: this.replication.clockGuard.medianOffsetMs(),
        writeBlocker: this.replication.clockGuard.blocker()?.message ?? null,
      },
    };
  }

  /**
   * Stops taking work, lets what was received finish, then closes. Streams are
   * ended (so clients move to other nodes) and unary calls get the grace period.
   */
  async shutdown(reason: string): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.log.info({ reason }, 'shutting down');
    // SIGTERM means restart, not leave: the node keeps its membership and its
    // slots (its replicas cover it while it is down; the process that comes
    // back under this id bootstraps them). Only an admin drain moves data away.
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.replication.coordinator.stopCoordinating();
    this.service.closeStreams();
    const redisClosed = this.redis.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.log.warn('grace period over: cutting remaining connections');
        this.grpcServer.forceShutdown();
        resolve();
      }, this.options.shutdownTimeoutMs);
      force.unref();
      this.grpcServer.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await redisClosed;
    // Writes this node coordinated may still owe copies to replicas that were down: hand them over now.
    const flushed = await this.replication.flushHints(this.options.leaveTimeoutMs);
    if (!flushed) this.log.warn({ hints: this.replication.hints.pending }, 'stopping with hints undelivered');
    await this.replication.stop();
    await this.cluster.stop();
    await this.admin.close();
    this.state = 'stopped';
    this.log.info('stopped');
  }
}
