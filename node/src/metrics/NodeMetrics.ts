import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import { LATENCY_BUCKETS_SECONDS, type OperationStats } from '../engine/OperationStats.js';
import type { RedisCommand } from '../redis/RedisCommand.js';
import type { RedisCounters } from '../redis/RedisServer.js';
import { CollectedMetric, type Sample } from './CollectedMetric.js';

/** What the Redis front door exposes to metrics. */
export interface RedisMetricsSource {
  counters: RedisCounters;
  table: { commands: readonly RedisCommand[] };
}

export interface NodeMetricsSources {
  nodeId: string;
  caches: CacheRegistry;
  stats: OperationStats;
  transport: () => {
    framesIn: number;
    malformedFrames: number;
    rejectedFrames: number;
    sessions: number;
    openStreams: number;
    forwardedOps?: number;
    notOwnerOps?: number;
  };
  epoch: () => number;
  redis?: RedisMetricsSource;
  /** Subsystem metrics registered as they are (membership). */
  extra?: CollectedMetric[];
}

/** Redis front door metrics: connections, commands by name, protocol errors, bytes. */
function redisMetrics(redis: RedisMetricsSource): CollectedMetric[] {
  const counter = (name: string, help: string, pick: (c: RedisCounters) => number) =>
    new CollectedMetric(name, help, 'counter', () => [{ labels: {}, value: pick(redis.counters) }]);
  function perCommand(pick: (cmd: RedisCommand) => number) {
    return function* (): Iterable<Sample> {
      for (const cmd of redis.table.commands) {
        const all = cmd.subcommands ? [cmd, ...cmd.subcommands.values()] : [cmd];
        for (const x of all) {
          const value = pick(x);
          if (value > 0) yield { labels: { command: x.name }, value };
        }
      }
    };
  }
  return [
    new CollectedMetric('meshcache_redis_open_connections', 'Open Redis client connections', 'gauge', () => [
      { labels: {}, value: redis.counters.openConnections },
    ]),
    counter('meshcache_redis_connections_total', 'Redis connections accepted', (c) => c.connectionsReceived),
    counter(
      'meshcache_redis_rejected_connections_total',
      'Redis connections refused (maxclients, shutting down)',
      (c) => c.rejectedConnections,
    ),
    new CollectedMetric(
      'meshcache_redis_commands_total',
      'Redis commands run, by command',
      'counter',
      perCommand((x) => x.calls),
    ),
    new CollectedMetric(
      'meshcache_redis_command_errors_total',
      'Redis commands that replied with an error, by command',
      'counter',
      perCommand((x) => x.failedCalls),
    ),
    new CollectedMetric(
      'meshcache_redis_rejected_commands_total',
      'Redis commands refused before running (arity, authentication), by command',
      'counter',
      perCommand((x) => x.rejectedCalls),
    ),
    counter(
      'meshcache_redis_unknown_commands_total',
      'Redis requests naming no known command',
      (c) => c.unknownCommands,
    ),
    counter(
      'meshcache_redis_protocol_errors_total',
      'Redis connections closed for a protocol error or a limit',
      (c) => c.protocolErrors,
    ),
    counter('meshcache_redis_auth_failures_total', 'Failed Redis AUTH attempts', (c) => c.authFailures),
    counter(
      'meshcache_redis_backpressure_pauses_total',
      'Times a Redis connection stopped being read because its replies were not consumed',
      (c) => c.backpressurePauses,
    ),
    counter('meshcache_redis_net_input_bytes_total', 'Bytes read from Redis clients', (c) => c.netInputBytes),
    counter(
      'meshcache_redis_net_output_bytes_total',
      'Bytes written to Redis clients',
      (c) => c.netOutputBytes,
    ),
  ];
}

/** The node's Prometheus registry: process metrics plus cache and data-plane metrics. */
export function createNodeMetrics(src: NodeMetricsSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: src.nodeId });
  // Standard names (process_*, nodejs_*) so stock Node.js dashboards work unchanged.
  collectDefaultMetrics({ register: registry });

  const perCache = (pick: (i: number) => number) =>
    function* (): Iterable<Sample> {
      for (let i = 0; i < src.caches.stores.length; i++) {
        yield { labels: { cache: src.caches.options[i]!.name }, value: pick(i) };
      }
    };
  const store = (i: number) => src.caches.stores[i]!;

  const metrics = [
    new CollectedMetric(
      'meshcache_operations_total',
      'Cache operations by cache, operation and result code',
      'counter',
      function* () {
        for (const c of src.stats.counters())
          yield { labels: { cache: c.cache, op: c.op, result: c.result }, value: c.value };
      },
    ),
    new CollectedMetric(
      'meshcache_operation_duration_seconds',
      'Time a node spends executing one operation',
      'histogram',
      function* () {
        for (const h of src.stats.histograms()) {
          const labels = { cache: h.cache, op: h.op };
          for (let b = 0; b < LATENCY_BUCKETS_SECONDS.length; b++) {
            yield {
              metricName: 'meshcache_operation_duration_seconds_bucket',
              labels: { ...labels, le: LATENCY_BUCKETS_SECONDS[b]! },
              value: h.cumulative[b]!,
            };
          }
          yield {
            metricName: 'meshcache_operation_duration_seconds_bucket',
            labels: { ...labels, le: '+Inf' },
            value: h.count,
          };
          yield { metricName: 'meshcache_operation_duration_seconds_sum', labels, value: h.sum };
          yield { metricName: 'meshcache_operation_duration_seconds_count', labels, value: h.count };
        }
      },
    ),
    new CollectedMetric(
      'meshcache_cache_keys',
      'Live entries per cache',
      'gauge',
      perCache((i) => store(i).size),
    ),
    new CollectedMetric(
      'meshcache_cache_bytes',
      'Bytes each cache holds (segments, index, TTL array, large values); never above its budget',
      'gauge',
      perCache((i) => store(i).usedBytes),
    ),
    new CollectedMetric(
      'meshcache_cache_max_bytes',
      'Byte budget per cache',
      'gauge',
      perCache((i) => src.caches.options[i]!.maxMemoryBytes),
    ),
    new CollectedMetric(
      'meshcache_cache_hits_total',
      'Reads that found a live entry',
      'counter',
      perCache((i) => store(i).stats.hits),
    ),
    new CollectedMetric(
      'meshcache_cache_misses_total',
      'Reads that found no live entry',
      'counter',
      perCache((i) => store(i).stats.misses),
    ),
    new CollectedMetric(
      'meshcache_evictions_total',
      'Entries evicted to stay within the byte budget',
      'counter',
      perCache((i) => store(i).stats.evictions),
    ),
    new CollectedMetric(
      'meshcache_expirations_total',
      'Entries removed because their TTL passed',
      'counter',
      perCache((i) => store(i).stats.expirations),
    ),
    new CollectedMetric('meshcache_frames_total', 'Operation frames received', 'counter', () => [
      { labels: {}, value: src.transport().framesIn },
    ]),
    new CollectedMetric(
      'meshcache_malformed_frames_total',
      'Frames that could not be decoded',
      'counter',
      () => [{ labels: {}, value: src.transport().malformedFrames }],
    ),
    new CollectedMetric(
      'meshcache_rejected_frames_total',
      'Frames refused for exceeding a limit',
      'counter',
      () => [{ labels: {}, value: src.transport().rejectedFrames }],
    ),
    new CollectedMetric('meshcache_sessions_total', 'Client sessions opened by handshake', 'counter', () => [
      { labels: {}, value: src.transport().sessions },
    ]),
    new CollectedMetric('meshcache_open_streams', 'Open Execute streams', 'gauge', () => [
      { labels: {}, value: src.transport().openStreams },
    ]),
    new CollectedMetric(
      'meshcache_forwarded_operations_total',
      'Operations forwarded to the node that owns their key (for clients that asked for forwarding)',
      'counter',
      () => [{ labels: {}, value: src.transport().forwardedOps ?? 0 }],
    ),
    new CollectedMetric(
      'meshcache_not_owner_operations_total',
      'Operations refused with NOT_OWNER because another node owns their key',
      'counter',
      () => [{ labels: {}, value: src.transport().notOwnerOps ?? 0 }],
    ),
    new CollectedMetric('meshcache_topology_epoch', 'Topology epoch this node holds', 'gauge', () => [
      { labels: {}, value: src.epoch() },
    ]),
  ];
  if (src.redis !== undefined) metrics.push(...redisMetrics(src.redis));
  if (src.extra !== undefined) metrics.push(...src.extra);
  for (const m of metrics) registry.registerMetric(m as never);
  return registry;
}
