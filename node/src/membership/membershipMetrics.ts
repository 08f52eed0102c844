import { CollectedMetric, type Sample } from '../metrics/CollectedMetric.js';
import type { Membership } from './Membership.js';

/** Prometheus metrics of the membership (read from its counters at scrape time). */
export function membershipMetrics(source: () => Membership | undefined): CollectedMetric[] {
  const counter = (name: string, help: string, pick: (m: Membership) => number) =>
    new CollectedMetric(name, help, 'counter', function* (): Iterable<Sample> {
      const m = source();
      if (m) yield { labels: {}, value: pick(m) };
    });
  const gauge = (name: string, help: string, pick: (m: Membership) => number) =>
    new CollectedMetric(name, help, 'gauge', function* (): Iterable<Sample> {
      const m = source();
      if (m) yield { labels: {}, value: pick(m) };
    });
  return [
    counter('meshcache_membership_probes_total', 'Direct probes sent', (m) => m.counters.probes),
    counter('meshcache_membership_acks_total', 'Acks received for own probes', (m) => m.counters.acks),
    counter(
      'meshcache_membership_nacks_total',
      'Nacks received from indirect probers',
      (m) => m.counters.nacks,
    ),
    counter(
      'meshcache_membership_indirect_probes_total',
      'Probe rounds that asked others to probe',
      (m) => m.counters.indirectProbes,
    ),
    counter(
      'meshcache_membership_suspicions_total',
      'Members suspected after a failed probe by this node',
      (m) => m.counters.suspicions,
    ),
    counter(
      'meshcache_membership_deaths_declared_total',
      'Members this node declared DEAD (suspicion timeout)',
      (m) => m.counters.deathsDeclared,
    ),
    counter(
      'meshcache_membership_refutations_total',
      'Suspicions of this node that it refuted',
      (m) => m.counters.refutations,
    ),
    counter(
      'meshcache_membership_stalls_total',
      'Times this node found itself frozen',
      (m) => m.counters.stalls,
    ),
    counter(
      'meshcache_membership_malformed_messages_total',
      'Membership packets or stream messages dropped as malformed',
      (m) => m.counters.malformed,
    ),
    new CollectedMetric(
      'meshcache_membership_messages_total',
      'Membership messages by direction and type (piggybacked ones included)',
      'counter',
      function* (): Iterable<Sample> {
        const m = source();
        if (!m) return;
        for (const [type, value] of Object.entries(m.counters.messagesIn)) {
          yield { labels: { direction: 'in', type }, value: value ?? 0 };
        }
        for (const [type, value] of Object.entries(m.counters.messagesOut)) {
          yield { labels: { direction: 'out', type }, value: value ?? 0 };
        }
      },
    ),
    new CollectedMetric(
      'meshcache_membership_proposals_total',
      'View proposals by outcome',
      'counter',
      function* () {
        const m = source();
        if (!m) return;
        const c = m.counters;
        yield { labels: { result: 'started' }, value: c.proposals };
        yield { labels: { result: 'committed' }, value: c.proposalsCommitted };
        yield { labels: { result: 'failed' }, value: c.proposalsFailed };
      },
    ),
    gauge('meshcache_membership_view_epoch', 'Epoch of the committed view this node holds', (m) => m.epoch),
    gauge(
      'meshcache_membership_view_members',
      'Members of the committed view',
      (m) => m.view?.members.length ?? 0,
    ),
    gauge(
      'meshcache_membership_local_health',
      'Lifeguard local health multiplier score',
      (m) => m.detector.health.score,
    ),
    new CollectedMetric('meshcache_membership_nodes', 'Known nodes by liveness', 'gauge', function* () {
      const m = source();
      if (!m) return;
      const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const r of m.detector.all()) counts[r.state]++;
      for (const [state, value] of Object.entries(counts)) yield { labels: { state }, value };
    }),
  ];
}
