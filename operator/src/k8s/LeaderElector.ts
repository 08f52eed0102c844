import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { sleep } from './backoff.js';
import { httpStatusOf } from './ClusterApi.js';

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a lease is valid without renewal. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go does
 * it: the holder renews every retry period; others take over once the lease
 * has not been renewed for its duration. Every write carries the Lease's
 * resourceVersion, so two candidates can never both win (409 Conflict).
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private abort = new AbortController();
  private loop?: Promise<void>;
  private leading = false;
  private lastRenew = 0;
  /** The Lease as last seen, and when (local clock) its renewTime was first seen. */
  private observed?: { lease: V1Lease; at: number };

  constructor(
    kc: KubeConfig,
    private readonly o: LeaderElectorOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops; a leader releases the lease so another replica takes over at once. */
  async stop(release = true): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      if (release) await this.release().catch(() => undefined);
      this.setLeading(false);
    }
  }

  private get durationMs(): number {
    return this.o.leaseDurationMs ?? 15_000;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const retry = this.o.retryPeriodMs ?? 2_000;
    const deadline = this.o.renewDeadlineMs ?? 10_000;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.log?.('lease error', { error: (err as Error).message });
      }
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenew > deadline) {
        this.o.log?.('lost the lease: could not renew before the deadline');
        this.setLeading(false);
      }
      await sleep(retry, signal);
    }
  }

  private setLeading(v: boolean): void {
    if (this.leading === v) return;
    this.leading = v;
    this.o.log?.(v ? 'became leader' : 'stopped leading', { identity: this.o.identity });
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
      try {
        await this.api.createNamespacedLease({
          namespace: this.o.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.o.name, namespace: this.o.namespace },
            spec: {
              holderIdentity: this.o.identity,
              leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (e) {
        if (httpStatusOf(e) === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // Expiry is judged on the local clock from when this renewTime was first seen
    // (clocks of replicas may differ), as client-go does.
    const renewKey = `${holder}@${String(spec.renewTime)}`;
    const seenKey = this.observed
      ? `${this.observed.lease.spec?.holderIdentity ?? ''}@${String(this.observed.lease.spec?.renewTime)}`
      : '';
    if (renewKey !== seenKey) this.observed = { lease, at: Date.now() };
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.durationMs / 1000)) * 1000;
    const expired = holder === '' || Date.now() - this.observed!.at > durationMs;
    if (holder !== this.o.identity && !expired) return false;
    const changed = holder !== this.o.identity;
    try {
      await this.api.replaceNamespacedLease({
        name: this.o.name,
        namespace: this.o.namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.o.identity,
            leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
            renewTime: now,
            acquireTime: changed ? now : spec.acquireTime,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (changed ? 1 : 0),
          },
        },
      });
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 409) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    if (lease.spec?.holderIdentity !== this.o.identity) return;
    await this.api.replaceNamespacedLease({
      name: this.o.name,
      namespace: this.o.namespace,
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date() },
      },
    });
  }
}
