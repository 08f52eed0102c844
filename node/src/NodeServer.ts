import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAdminServer } from './admin/AdminServer.js';
import { META } from './cluster/ClusterTopology.js';
import { LocalTopology } from './cluster/LocalTopology.js';
import type { NodeOptions } from './config/NodeOptions.js';
import { CacheRegistry } from './engine/CacheRegistry.js';
import { OperationExecutor } from './engine/OperationExecutor.js';
import { OperationStats } from './engine/OperationStats.js';
import { membershipMetrics } from './membership/membershipMetrics.js';
import { NodeMembership, timingsOf } from './membership/NodeMembership.js';
import { createNodeMetrics } from './metrics/NodeMetrics.js';
import { placementPayload } from './placement/placementPayload.js';
import { RedisServer } from './redis/RedisServer.js';
import { clusterSlots } from './routing/clusterSlots.js';
import { PeerForwarder } from './routing/PeerForwarder.js';
import { SlotRouter } from './routing/SlotRouter.js';
import { HybridLogicalClock, nodeTagOf } from './store/index.js';
import { CacheGrpcService, guardedCacheService } from './transport/CacheGrpcService.js';
import { NODE_VERSION } from './version.js';

/** How long a forwarded batch may take at its owner. */
const FORWARD_TIMEOUT_MS = 5000;

/** Work budget per cache for one active expiry cycle (entries examined). */
const ACTIVE_EXPIRY_WORK_PER_CACHE = 200;

export interface BoundPorts {
  grpcPort: number;
  adminPort: number;
  redisPort: number;
  gossipPort: number;
}

/** One running meshcache node: data plane, admin server and background work. */
export class NodeServer {
  readonly caches: CacheRegistry;
  readonly executor: OperationExecutor;
  readonly topology: LocalTopology;
  readonly redis: RedisServer;
  readonly cluster: NodeMembership;
  private readonly grpcServer: grpc.Server;
  private readonly service: CacheGrpcService;
  private readonly forwarder = new PeerForwarder(FORWARD_TIMEOUT_MS);
  private readonly admin: FastifyInstance;
  private readonly startedAt = Date.now();
  private expiryTimer: NodeJS.Timeout | undefined;
  private state: 'starting' | 'serving' | 'stopping' | 'stopped' = 'starting';
  ports: BoundPorts = { grpcPort: 0, adminPort: 0, redisPort: 0, gossipPort: 0 };

  constructor(
    readonly options: NodeOptions,
    private readonly log: Logger,
  ) {
    const clock = new HybridLogicalClock(nodeTagOf(options.id));
    this.caches = new CacheRegistry(options.caches, options.maxKeyBytes, clock);
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
        // The placement table of every replication factor in use, committed with each view.
        payload: (prev, next) =>
          placementPayload(
            prev?.payload,
            next.members.map((m) => ({ id: m.id, zone: m.zone })),
            this.caches.options.map((c) => c.replicationFactor),
          ),
      },
      log.child({ component: 'membership' }),
    );
    this.service = new CacheGrpcService(
      {
        nodeId: options.id,
        serverVersion: NODE_VERSION,
        maxKeyBytes: options.maxKeyBytes,
        maxOpsPerFrame: options.maxOpsPerFrame,
        maxFrameBytes: options.maxFrameBytes,
      },
      this.executor,
      this.caches,
      this.topology,
      log,
      { router: new SlotRouter(options.id, this.topology, this.caches.options), forwarder: this.forwarder },
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
      },
      this.executor,
      this.caches,
      log,
    );
    const registry = createNodeMetrics({
      nodeId: options.id,
      caches: this.caches,
      stats,
      transport: () => this.service.counters,
      epoch: () => this.topology.epoch,
      redis: this.redis,
      extra: membershipMetrics(() => this.cluster.current),
    });
    this.admin = createAdminServer({
      registry,
      // Ready once serving as a member of a committed view.
      ready: () => this.state === 'serving' && this.cluster.current?.isMember === true,
      info: () => this.info(),
      topology: () => this.topology.snapshot(),
      slots: (replicationFactor) => clusterSlots(this.topology.snapshot(), replicationFactor),
      cluster: {
        membership: () => this.cluster.current,
        faults: options.testFaults ? this.cluster.transport.faults : undefined,
      },
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
    this.topology.updateSelf({
      grpcAddress: `${o.host}:${grpcPort}`,
      adminAddress: `${o.host}:${adminPort}`,
      redisAddress: `${o.host}:${redisPort}`,
    });
    const gossipPort = await this.cluster.start({
      [META.grpc]: `${o.host}:${grpcPort}`,
      [META.redis]: `${o.host}:${redisPort}`,
      [META.admin]: `${o.host}:${adminPort}`,
      ...(o.meshAddress ? { [META.mesh]: o.meshAddress } : {}),
      ...(o.externalAddress ? { [META.external]: o.externalAddress } : {}),
    });
    this.ports = { grpcPort, adminPort, redisPort, gossipPort };
    const membership = this.cluster.current!;
    const refresh = () => this.topology.apply(membership.view, (id) => membership.detector.get(id));
    membership.onView(refresh);
    membership.onLiveness(refresh);
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
        return { ...c, keys: store.size, usedBytes: store.usedBytes, stats: { ...store.stats } };
      }),
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
    await this.cluster.leave(this.options.leaveTimeoutMs);
    if (this.expiryTimer) clearInterval(this.expiryTimer);
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
    this.forwarder.close();
    await this.cluster.stop();
    await this.admin.close();
    this.state = 'stopped';
    this.log.info('stopped');
  }
}
