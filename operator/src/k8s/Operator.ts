import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION } from '../crd/CacheClusterSchema.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../render/names.js';
import type { RenderContext } from '../render/RenderContext.js';
import { apiMessageOf } from './ClusterApi.js';
import { KubeClusterApi } from './KubeClusterApi.js';
import { LeaderElector } from './LeaderElector.js';
import { OperatorMetrics } from './OperatorMetrics.js';
import { Reconciler } from './Reconciler.js';
import type { TopologyProbe } from './TopologyProbe.js';
import { type WatchedObject, WatchSupervisor } from './WatchSupervisor.js';
import { WorkQueue } from './WorkQueue.js';

export interface OperatorOptions {
  ctx: RenderContext;
  /** Watch only this namespace (default: all namespaces). */
  watchNamespace?: string;
  /** Identity in the Lease and in Events (the pod name). */
  identity: string;
  leaseNamespace: string;
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Run without leader election (a single replica, or tests). */
  leaderElection?: boolean;
  workers?: number;
  resyncMs?: number;
  watchBackoffBaseMs?: number;
  watchBackoffMaxMs?: number;
  metrics?: OperatorMetrics;
  probe?: TopologyProbe;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called when leadership is lost (the binary exits so a fresh process starts clean). */
  onLostLeadership?: () => void;
}

/**
 * The controller process: leader election, supervised watches of
 * CacheClusters and the StatefulSets they own, a work queue and workers
 * running the Reconciler. Only the leader watches and reconciles.
 */
export class Operator {
  readonly metrics: OperatorMetrics;
  readonly reconciler: Reconciler;
  private readonly api: KubeClusterApi;
  private readonly objects: KubernetesObjectApi;
  private readonly elector?: LeaderElector;
  private running?: { queue: WorkQueue; watches: WatchSupervisor[]; workers: Promise<void>[] };
  private stopping = false;
  /** Watch supervisors of the current term (tests look at them). */
  watches: WatchSupervisor[] = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly o: OperatorOptions,
  ) {
    this.metrics = o.metrics ?? new OperatorMetrics();
    this.api = new KubeClusterApi(kc, o.identity);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.reconciler = new Reconciler({
      api: this.api,
      ctx: o.ctx,
      metrics: this.metrics,
      probe: o.probe,
      log: o.log,
    });
    if (o.leaderElection ?? true) {
      this.elector = new LeaderElector(kc, {
        namespace: o.leaseNamespace,
        name: o.leaseName ?? 'meshcache-operator',
        identity: o.identity,
        leaseDurationMs: o.leaseDurationMs,
        renewDeadlineMs: o.renewDeadlineMs,
        retryPeriodMs: o.retryPeriodMs,
        onStartedLeading: () => this.startController(),
        onStoppedLeading: () => {
          void this.stopController();
          if (!this.stopping) o.onLostLeadership?.();
        },
        log: o.log,
      });
    }
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.running !== undefined;
  }

  /** Leading, with nothing queued and no reconcile running (tests wait on this, not on time). */
  get idle(): boolean {
    const r = this.running;
    return r !== undefined && r.queue.depth === 0 && r.queue.busy === 0;
  }

  get ready(): boolean {
    return !this.stopping;
  }

  start(): void {
    if (this.elector) this.elector.start();
    else this.startController();
  }

  /** Graceful: stop watching, let in-flight reconciles finish, release the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopController();
    await this.elector?.stop(true);
  }

  /** Stops without releasing the lease or finishing work (a crashed replica). */
  async crash(): Promise<void> {
    this.stopping = true;
    await this.elector?.stop(false);
    await this.stopController();
  }

  private startController(): void {
    if (this.running) return;
    this.metrics.leader.set(1);
    const queue = new WorkQueue();
    const ns = this.o.watchNamespace;
    const clusterPath = ns
      ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const stsPath = ns ? `/apis/apps/v1/namespaces/${ns}/statefulsets` : '/apis/apps/v1/statefulsets';
    const selector = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    const common = {
      resyncMs: this.o.resyncMs,
      backoffBaseMs: this.o.watchBackoffBaseMs,
      backoffMaxMs: this.o.watchBackoffMaxMs,
      metrics: this.metrics,
      log: this.o.log,
    };
    const enqueue = (obj: WatchedObject) => {
      const m = obj.metadata;
      if (m?.name && m.namespace) queue.add(`${m.namespace}/${m.name}`);
      this.metrics.queueDepth.set(queue.depth);
    };
    const watches = [
      new WatchSupervisor(this.kc, {
        ...common,
        resource: PLURAL,
        path: clusterPath,
        list: () => this.api.listClusters(ns),
        onObject: (_t, obj) => enqueue(obj),
      }),
      new WatchSupervisor(this.kc, {
        ...common,
        resource: 'statefulsets',
        path: stsPath,
        labelSelector: selector,
        list: async () => {
          const l = await this.objects.list<KubernetesObject>(
            'apps/v1',
            'StatefulSet',
            ns,
            undefined,
            undefined,
            undefined,
            undefined,
            selector,
          );
          return { items: l.items as WatchedObject[], resourceVersion: l.metadata?.resourceVersion ?? '' };
        },
        onObject: (_t, obj) => {
          const owner = obj.metadata?.ownerReferences?.find((r) => r.kind === KIND && r.controller);
          if (owner) enqueue({ metadata: { name: owner.name, namespace: obj.metadata?.namespace } });
        },
      }),
    ];
    this.watches = watches;
    const workers = Array.from({ length: this.o.workers ?? 2 }, () => this.work(queue));
    this.running = { queue, watches, workers };
    for (const w of watches) w.start();
  }

  private async stopController(): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    this.metrics.leader.set(0);
    await Promise.all(r.watches.map((w) => w.stop()));
    r.queue.close();
    await Promise.all(r.workers);
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.take();
      if (key === undefined) return;
      const [namespace, name] = key.split('/') as [string, string];
      const end = this.metrics.reconcileDuration.startTimer();
      try {
        const { requeueAfterMs } = await this.reconciler.reconcile(namespace, name);
        queue.forget(key);
        end({ result: 'success' });
        this.metrics.reconciles.inc({ result: requeueAfterMs ? 'requeue' : 'success' });
        if (requeueAfterMs) queue.addAfter(key, requeueAfterMs);
      } catch (err) {
        end({ result: 'error' });
        this.metrics.reconciles.inc({ result: 'error' });
        this.metrics.reconcileErrors.inc({ reason: 'api' });
        const delay = queue.addRateLimited(key);
        this.o.log?.('reconcile failed: retrying', { key, error: apiMessageOf(err), delayMs: delay });
      } finally {
        queue.done(key);
        this.metrics.queueDepth.set(queue.depth);
      }
    }
  }
}
