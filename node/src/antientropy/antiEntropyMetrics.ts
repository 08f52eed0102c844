import { CollectedMetric, type Sample } from '../metrics/CollectedMetric.js';
import type { AntiEntropyService } from './AntiEntropyService.js';

/**
 * Prometheus metrics of anti-entropy, read from the service's counters at
 * scrape time. None when anti-entropy is off on the node.
 */
export function antiEntropyMetrics(service: () => AntiEntropyService | undefined): CollectedMetric[] {
  const one = (
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    pick: (s: AntiEntropyService) => number,
  ) =>
    new CollectedMetric(name, help, type, () => {
      const s = service();
      return s === undefined ? [] : [{ labels: {}, value: pick(s) }];
    });
  return [
    new CollectedMetric(
      'meshcache_antientropy_rounds_total',
      'Anti-entropy rounds this node ran, by outcome (clean: replicas equal; repaired: differences found and repaired; failed)',
      'counter',
      () => {
        const s = service();
        if (s === undefined) return [];
        const st = s.stats;
        return [
          { labels: { outcome: 'clean' }, value: st.roundsClean },
          { labels: { outcome: 'repaired' }, value: st.rounds - st.roundsClean },
          { labels: { outcome: 'failed' }, value: st.roundsFailed },
        ];
      },
    ),
    one(
      'meshcache_antientropy_rounds_served_total',
      'Anti-entropy rounds peers ran with this node that completed',
      'counter',
      (s) => s.stats.roundsServed,
    ),
    one(
      'meshcache_antientropy_rounds_active',
      'Anti-entropy rounds in progress on this node (run and served)',
      'gauge',
      (s) => s.activeRounds,
    ),
    one(
      'meshcache_antientropy_ranges_compared_total',
      'Slot ranges compared by rounds this node ran',
      'counter',
      (s) => s.stats.rangesCompared,
    ),
    one(
      'meshcache_antientropy_differences_total',
      'Slots found differing by rounds this node ran (each repaired both ways)',
      'counter',
      (s) => s.stats.differences,
    ),
    one(
      'meshcache_antientropy_keys_repaired_total',
      "Copies anti-entropy applied that changed this node's store",
      'counter',
      (s) => s.stats.keysRepaired,
    ),
    one(
      'meshcache_antientropy_bytes_sent_total',
      'Anti-entropy message bytes this node sent (requests and answers)',
      'counter',
      (s) => s.stats.bytesSent,
    ),
    one(
      'meshcache_antientropy_bytes_received_total',
      'Anti-entropy message bytes this node received',
      'counter',
      (s) => s.stats.bytesReceived,
    ),
    one(
      'meshcache_antientropy_items_digested_total',
      "Items digested by this node's anti-entropy scans",
      'counter',
      (s) => s.stats.itemsDigested,
    ),
    one(
      'meshcache_antientropy_tombstone_purges_blocked_total',
      'Times a tombstone past its grace, not settled, was kept because no anti-entropy round had covered it with every replica',
      'counter',
      (s) => s.stats.tombstonePurgesBlocked,
    ),
    new CollectedMetric(
      'meshcache_antientropy_last_round_age_seconds',
      'Time since the start of the latest completed round with a peer, by peer and cache (either side ran it); keep it under tombstoneGraceMs',
      'gauge',
      () => {
        const s = service();
        if (s === undefined) return [];
        const out: Sample[] = [];
        for (const r of s.coveredRounds()) {
          out.push({ labels: { peer: r.peer, cache: r.cache }, value: r.ageMs / 1000 });
        }
        return out;
      },
    ),
  ];
}
