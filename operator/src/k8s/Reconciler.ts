import { FINALIZER } from '../controller/constants.js';
import { decide, REQUEUE_PROGRESSING_MS, sameStatus, withApplyFailure } from '../controller/decide.js';
import { normalizeCluster } from '../crd/normalizeCluster.js';
import { clusterNames } from '../render/names.js';
import type { RenderContext } from '../render/RenderContext.js';
import { apiMessageOf, type ClusterApi, httpStatusOf, type RawCluster } from './ClusterApi.js';
import type { OperatorMetrics } from './OperatorMetrics.js';
import type { TopologyProbe } from './TopologyProbe.js';

export interface ReconcilerDeps {
  api: ClusterApi;
  ctx: RenderContext;
  metrics?: OperatorMetrics;
  probe?: TopologyProbe;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
  /** Attempts of one reconcile when writes meet 409 Conflict. */
  conflictAttempts?: number;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Statuses the API server gives a request it will never accept as is. */
const PERMANENT = new Set([400, 403, 404, 422]);

/**
 * Thin I/O around decide(): read the cluster and what it owns, decide,
 * carry out the actions, write the status. A 409 Conflict anywhere re-reads
 * and decides again (level-based, so that is always safe).
 */
export class Reconciler {
  constructor(private readonly d: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const attempts = this.d.conflictAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(namespace, name);
      } catch (err) {
        if (httpStatusOf(err) === 409 && attempt < attempts) {
          this.d.metrics?.conflicts.inc();
          this.d.log?.('conflict: re-reading and reconciling again', { namespace, name, attempt });
          continue;
        }
        throw err;
      }
    }
  }

  private async once(namespace: string, name: string): Promise<ReconcileResult> {
    const { api, ctx } = this.d;
    let raw = await api.getCluster(namespace, name);
    if (!raw) return {};
    const cluster = normalizeCluster(raw);
    const now = (this.d.now ?? (() => new Date()))();
    const deleting = Boolean(raw.metadata.deletionTimestamp);
    const caps = await api.capabilities();
    const names = clusterNames(cluster, ctx.clusterDomain);
    const [statefulSet, owned, readyMembers] = deleting
      ? [undefined, [], undefined]
      : await Promise.all([
          api.getStatefulSet(namespace, names.statefulSet),
          cluster.metadata.uid
            ? api.listOwned(namespace, name, cluster.metadata.uid, caps)
            : Promise.resolve([]),
          api.readyPods(namespace, names.selectorString),
        ]);
    const topologyEpoch =
      this.d.probe && readyMembers && readyMembers.length > 0
        ? await this.d.probe.epoch(cluster, readyMembers).catch(() => undefined)
        : undefined;
    const decision = decide(
      { cluster, statefulSet, owned, readyMembers, topologyEpoch, capabilities: caps, now },
      ctx,
    );

    let applyError: string | undefined;
    for (const a of decision.actions) {
      switch (a.type) {
        case 'addFinalizer':
          raw = await api.setFinalizers(raw, [...(raw.metadata.finalizers ?? []), FINALIZER]);
          break;
        case 'removeFinalizer':
          await api.setFinalizers(
            raw,
            (raw.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
          );
          break;
        case 'apply':
          if (applyError) break;
          try {
            await api.apply(a.object);
            this.d.metrics?.applies.inc({ kind: a.object.kind });
          } catch (err) {
            const code = httpStatusOf(err);
            if (code === undefined || !PERMANENT.has(code)) throw err;
            applyError = `${a.object.kind} ${a.object.metadata.name} was rejected: ${apiMessageOf(err)}`;
            this.d.metrics?.reconcileErrors.inc({ reason: 'apply' });
          }
          break;
        case 'delete':
          await api.delete(a.ref);
          break;
        case 'event':
          await this.event(raw, a.eventType, a.reason, a.message);
          break;
      }
    }

    if (decision.status) {
      let status = decision.status;
      if (applyError) {
        const before = raw.status?.conditions?.find((c) => c.type === 'Degraded');
        status = withApplyFailure(status, applyError, now);
        if (before?.reason !== 'ApplyFailed' || before.message !== applyError) {
          await this.event(raw, 'Warning', 'ApplyFailed', applyError);
        }
      }
      if (!sameStatus(raw.status, status)) await api.updateStatus(raw, status);
    }
    return { requeueAfterMs: applyError ? REQUEUE_PROGRESSING_MS : decision.requeueAfterMs };
  }

  /** Events are best effort: a failure to record one never fails the reconcile. */
  private async event(
    raw: RawCluster,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.d.api.recordEvent(raw, type, reason, message);
    } catch (err) {
      this.d.log?.('could not record event', { reason, error: apiMessageOf(err) });
    }
  }
}
