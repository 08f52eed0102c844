import { CollectedMetric } from '../metrics/CollectedMetric.js';
import type { Rebalancer } from './Rebalancer.js';

/** Prometheus metrics of rebalancing, read from the rebalancer's counters at scrape time. */
export function rebalanceMetrics(r: Rebalancer): CollectedMetric[] {
  const one = (name: string, help: string, type: 'counter' | 'gauge', pick: () => number) =>
    new CollectedMetric(name, help, type, () => [{ labels: {}, value: pick() }]);
  const c = r.counters;
  return [
    one(
      'meshcache_rebalance_slots_pending',
      'Slots moving in the committed placement (all replication factors)',
      'gauge',
      () => r.pendingSlots(),
    ),
    one(
      'meshcache_rebalance_slots_unfilled',
      'Slots this node holds but has not filled yet (transfer or bootstrap)',
      'gauge',
      () => r.unfilledSlots(),
    ),
    one('meshcache_rebalance_fill_tasks_running', 'Slot groups this node is filling now', 'gauge', () =>
      r.runningTasks(),
    ),
    one(
      'meshcache_rebalance_keys_moved_total',
      'Keys this node pulled in transfers and bootstraps',
      'counter',
      () => c.keysMoved,
    ),
    one(
      'meshcache_rebalance_bytes_moved_total',
      'Key and value bytes this node pulled in transfers and bootstraps',
      'counter',
      () => c.bytesMoved,
    ),
    one(
      'meshcache_rebalance_transfers_total',
      'Slot groups filled as a new replica of a move',
      'counter',
      () => c.transfersCompleted,
    ),
    one(
      'meshcache_rebalance_bootstraps_total',
      'Slot groups filled after a restart',
      'counter',
      () => c.bootstrapsCompleted,
    ),
    one(
      'meshcache_rebalance_fill_seconds_total',
      'Time spent filling slot groups, summed over groups',
      'counter',
      () => c.fillSeconds,
    ),
    one(
      'meshcache_rebalance_slots_lost_total',
      'Slots completed empty because no other replica had them (data lost)',
      'counter',
      () => c.slotsLost,
    ),
    one(
      'meshcache_rebalance_slots_dropped_total',
      'Slots dropped after this node stopped holding them',
      'counter',
      () => c.slotsDropped,
    ),
    one(
      'meshcache_rebalance_keys_dropped_total',
      'Keys dropped with those slots',
      'counter',
      () => c.keysDropped,
    ),
    one(
      'meshcache_rebalance_throttle_waits_total',
      'Times a transfer waited for the bytes-per-second throttle',
      'counter',
      () => r.throttle.waits,
    ),
    one(
      'meshcache_rebalance_throttle_wait_seconds_total',
      'Time transfers waited for the throttle',
      'counter',
      () => r.throttle.waitedMs / 1000,
    ),
    one(
      'meshcache_rebalance_scans_served_total',
      'Transfer batches (SCANs) this node served',
      'counter',
      () => c.scansServed,
    ),
    one(
      'meshcache_rebalance_scans_refused_total',
      'SCANs refused: asker not a replica the purpose allows, epoch not pending, bad bitmap',
      'counter',
      () => c.scansRefused,
    ),
    one(
      'meshcache_rebalance_filled_reports_total',
      'FILLED reports received (as decider)',
      'counter',
      () => c.filledReports,
    ),
    one(
      'meshcache_rebalance_moves_refused_total',
      'Placement steps (as decider) whose new moves were refused: targets would lack the memory budget',
      'counter',
      () => c.movesRefused,
    ),
    one(
      'meshcache_rebalance_wipes_total',
      'Times this node dropped all data after being out of touch longer than tombstoneGraceMs',
      'counter',
      () => c.wipes,
    ),
  ];
}
