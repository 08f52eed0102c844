import type { CacheRegistry } from '../engine/CacheRegistry.js';
import { CollectedMetric, type Sample } from '../metrics/CollectedMetric.js';
import { ACK_LATENCY_BUCKETS_SECONDS } from '../coordinator/ReplicationStats.js';
import type { Replication } from './Replication.js';

/** Prometheus metrics of replication, read from plain counters at scrape time. */
export function replicationMetrics(r: Replication, caches: CacheRegistry): CollectedMetric[] {
  const one = (name: string, help: string, type: 'counter' | 'gauge', pick: () => number) =>
    new CollectedMetric(name, help, type, () => [{ labels: {}, value: pick() }]);
  const perCache = (name: string, help: string, type: 'counter' | 'gauge', pick: (i: number) => number) =>
    new CollectedMetric(name, help, type, function* (): Iterable<Sample> {
      for (let i = 0; i < caches.stores.length; i++) {
        yield { labels: { cache: caches.stores[i]!.name }, value: pick(i) };
      }
    });
  const s = r.stats;
  const svc = r.service.counters;
  return [
    new CollectedMetric(
      'meshcache_coordinated_operations_total',
      'Operations this node coordinated or forwarded, by consistency level, kind and outcome (ok, unavailable: nothing sent; timeout: level missed after sending; error)',
      'counter',
      function* (): Iterable<Sample> {
        for (const [key, value] of s.operations) {
          const [consistency, kind, outcome] = key.split('|');
          yield { labels: { consistency: consistency!, kind: kind!, outcome: outcome! }, value };
        }
      },
    ),
    new CollectedMetric(
      'meshcache_replica_ack_duration_seconds',
      'Time from a write round start to each replica ack',
      'histogram',
      function* (): Iterable<Sample> {
        let cumulative = 0;
        for (let i = 0; i < ACK_LATENCY_BUCKETS_SECONDS.length; i++) {
          cumulative += s.ackBuckets[i]!;
          yield {
            metricName: 'meshcache_replica_ack_duration_seconds_bucket',
            labels: { le: ACK_LATENCY_BUCKETS_SECONDS[i]! },
            value: cumulative,
          };
        }
        yield {
          metricName: 'meshcache_replica_ack_duration_seconds_bucket',
          labels: { le: '+Inf' },
          value: s.ackCount,
        };
        yield { metricName: 'meshcache_replica_ack_duration_seconds_sum', labels: {}, value: s.ackSum };
        yield { metricName: 'meshcache_replica_ack_duration_seconds_count', labels: {}, value: s.ackCount };
      },
    ),
    one(
      'meshcache_restamps_total',
      "Writes stamped above this node's own clock because a replica held a newer version",
      'counter',
      () => s.restamps,
    ),
    one(
      'meshcache_read_repairs_total',
      'Replicas written with a newer version found by a read',
      'counter',
      () => s.readRepairs,
    ),
    one(
      'meshcache_coordinator_forwards_total',
      'Operations this node sent to a replica of their key to coordinate',
      'counter',
      () => s.forwarded,
    ),
    one('meshcache_hints_pending', 'Hinted writes waiting for their replica', 'gauge', () => r.hints.pending),
    one('meshcache_hints_queued_total', 'Hinted writes queued', 'counter', () => r.hints.counters.queued),
    one(
      'meshcache_hints_replayed_total',
      'Hinted writes delivered',
      'counter',
      () => r.hints.counters.replayed,
    ),
    one(
      'meshcache_hints_expired_total',
      'Hinted writes dropped for age (maxHintAgeMs)',
      'counter',
      () => r.hints.counters.expired,
    ),
    one(
      'meshcache_hints_dropped_total',
      'Hinted writes dropped: the queue was full',
      'counter',
      () => r.hints.counters.dropped,
    ),
    one(
      'meshcache_unsettled_writes_open',
      'Writes this node stamped that some replica may still lack',
      'gauge',
      () => r.marks.openCount,
    ),
    perCache(
      'meshcache_tombstones',
      'Tombstones held (deletes, expiries, eviction markers)',
      'gauge',
      (i) => caches.stores[i]!.tombstoneCount,
    ),
    perCache(
      'meshcache_tombstones_purged_total',
      'Tombstones purged after their grace period',
      'counter',
      (i) => caches.stores[i]!.stats.tombstonesPurged,
    ),
    perCache(
      'meshcache_eviction_markers_total',
      'Evictions that left a versioned marker',
      'counter',
      (i) => caches.stores[i]!.stats.evictionMarkers,
    ),
    one(
      'meshcache_clock_offset_max_seconds',
      'Largest clock offset to a peer',
      'gauge',
      () => r.clockGuard.maxAbsOffsetMs / 1000,
    ),
    one(
      'meshcache_clock_offset_median_seconds',
      "Median of peers' clocks minus this node's",
      'gauge',
      () => r.clockGuard.medianOffsetMs() / 1000,
    ),
    one(
      'meshcache_replica_streams_open',
      'Replica streams peers hold open to this node',
      'gauge',
      () => svc.openStreams,
    ),
    one(
      'meshcache_replica_malformed_frames_total',
      'Replica frames that did not decode (refused)',
      'counter',
      () => svc.malformedFrames,
    ),
    one(
      'meshcache_replica_oversized_frames_total',
      'Replica frames over maxFrameBytes (refused)',
      'counter',
      () => svc.oversizedFrames,
    ),
    one(
      'meshcache_replica_refused_hellos_total',
      'Replica streams refused at hello (protocol version)',
      'counter',
      () => svc.refusedHellos,
    ),
    one(
      'meshcache_replica_stale_epoch_refusals_total',
      'Replica requests refused for a stale epoch',
      'counter',
      () => svc.staleEpochRefusals,
    ),
    one(
      'meshcache_replica_clock_skew_refusals_total',
      'Replica writes refused: version too far ahead',
      'counter',
      () => svc.clockSkewRefusals,
    ),
  ];
}
