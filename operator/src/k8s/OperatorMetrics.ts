import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics (served on /metrics). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram<'result'>;
  readonly reconcileErrors: Counter<'reason'>;
  readonly watchRestarts: Counter<'resource' | 'cause'>;
  readonly relists: Counter<'resource'>;
  readonly conflicts: Counter;
  readonly applies: Counter<'kind'>;
  readonly queueDepth: Gauge;
  readonly leader: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'meshcache_operator_reconciles_total',
      help: 'Reconciles by result (success, requeue, error)',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'meshcache_operator_reconcile_duration_seconds',
      help: 'Time one reconcile takes',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'meshcache_operator_reconcile_errors_total',
      help: 'Failed reconciles by reason (conflict, apply, api, internal)',
      labelNames: ['reason'],
      registers,
    });
    this.watchRestarts = new Counter({
      name: 'meshcache_operator_watch_restarts_total',
      help: 'Watch restarts by resource and cause (closed, error, gone)',
      labelNames: ['resource', 'cause'],
      registers,
    });
    this.relists = new Counter({
      name: 'meshcache_operator_relists_total',
      help: 'Full lists of a watched resource (start, 410 Gone, periodic resync)',
      labelNames: ['resource'],
      registers,
    });
    this.conflicts = new Counter({
      name: 'meshcache_operator_conflicts_total',
      help: 'Writes that met a 409 Conflict and were retried',
      registers,
    });
    this.applies = new Counter({
      name: 'meshcache_operator_applies_total',
      help: 'Server-side applies by kind',
      labelNames: ['kind'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'meshcache_operator_queue_depth',
      help: 'Keys waiting in the work queue',
      registers,
    });
    this.leader = new Gauge({
      name: 'meshcache_operator_leader',
      help: '1 while this replica holds the lease',
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
