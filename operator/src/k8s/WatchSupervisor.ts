import type { KubeConfig } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import { jitteredBackoffMs, sleep } from './backoff.js';
import type { OperatorMetrics } from './OperatorMetrics.js';

export interface WatchedObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
    labels?: Record<string, string>;
  };
}

export interface WatchSupervisorOptions {
  /** Name in logs and metrics, e.g. "cacheclusters". */
  resource: string;
  /** API path of the collection, e.g. /apis/meshcache.io/v1alpha1/cacheclusters. */
  path: string;
  labelSelector?: string;
  /** Lists the collection: the objects and the list's resourceVersion. */
  list: () => Promise<{ items: WatchedObject[]; resourceVersion: string }>;
  /** Called for every object seen by a list or a watch event. */
  onObject: (type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'LISTED', obj: WatchedObject) => void;
  /** Relist this often even when the watch looks healthy (informers are known to stop silently). */
  resyncMs?: number;
  /**
   * Backoff between restarts after errors (see jitteredBackoffMs): failure n
   * waits within [nominal/2, nominal], nominal = min(max, base * 2^(n-1));
   * once capped, within [max/2, 3max/4].
   */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Server-side watch timeout; the watch is then restarted from the last resourceVersion. */
  timeoutSeconds?: number;
  metrics?: OperatorMetrics;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Keeps one list+watch alive: lists, watches from the list's
 * resourceVersion, and restarts the watch whenever it ends: after a clean
 * close from the last resourceVersion seen, after an error with jittered
 * capped exponential backoff, after 410 Gone with a fresh list. It also
 * relists every resyncMs, so a watch that silently stopped delivering cannot
 * leave the controller blind.
 */
export class WatchSupervisor {
  private abort = new AbortController();
  private current?: AbortController;
  private loop?: Promise<void>;
  private resourceVersion = '';
  private lastList = 0;
  /** Watches started since the supervisor began (1 + restarts). */
  watchesStarted = 0;
  listed = 0;

  constructor(
    private readonly kc: KubeConfig,
    private readonly o: WatchSupervisorOptions,
  ) {}

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.current?.abort();
    await this.loop;
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.o.list();
    this.listed++;
    this.o.metrics?.relists.inc({ resource: this.o.resource });
    for (const item of items) this.o.onObject('LISTED', item);
    this.resourceVersion = resourceVersion;
    this.lastList = Date.now();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    const resyncMs = this.o.resyncMs ?? 5 * 60_000;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion || Date.now() - this.lastList >= resyncMs) await this.relist();
        const outcome = await this.watchOnce(signal, resyncMs - (Date.now() - this.lastList));
        if (signal.aborted) break;
        failures = 0;
        if (outcome === 'gone') {
          this.resourceVersion = '';
          this.o.metrics?.watchRestarts.inc({ resource: this.o.resource, cause: 'gone' });
          this.o.log?.('watch expired (410 Gone): relisting', { resource: this.o.resource });
        } else if (outcome === 'closed') {
          this.o.metrics?.watchRestarts.inc({ resource: this.o.resource, cause: 'closed' });
          // A watch that closed at once many times in a row still backs off a little.
          await sleep(jitteredBackoffMs(1, 50, 100), signal);
        }
        // 'resync': loop relists.
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.o.metrics?.watchRestarts.inc({ resource: this.o.resource, cause: 'error' });
        const delay = jitteredBackoffMs(failures, this.o.backoffBaseMs ?? 500, this.o.backoffMaxMs ?? 30_000);
        this.o.log?.('watch failed: restarting after backoff', {
          resource: this.o.resource,
          error: (err as Error).message,
          delayMs: delay,
        });
        await sleep(delay, signal);
      }
    }
  }

  /** One watch; resolves with why it ended, rejects on an error. */
  private watchOnce(signal: AbortSignal, untilResyncMs: number): Promise<'closed' | 'gone' | 'resync'> {
    if (signal.aborted) return Promise.resolve('closed');
    this.watchesStarted++;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(resyncTimer);
        signal.removeEventListener('abort', onAbort);
        this.current?.abort();
        fn();
      };
      const onAbort = () => finish(() => resolve('closed'));
      signal.addEventListener('abort', onAbort, { once: true });
      const resyncTimer = setTimeout(() => finish(() => resolve('resync')), Math.max(1, untilResyncMs));
      resyncTimer.unref();
      const watch = new Watch(this.kc);
      watch
        .watch(
          this.o.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: this.o.labelSelector,
            timeoutSeconds: this.o.timeoutSeconds ?? 300,
          },
          (phase: string, obj: WatchedObject & { code?: number; message?: string }) => {
            if (phase === 'ERROR') {
              if (obj?.code === 410) finish(() => resolve('gone'));
              else finish(() => reject(new Error(`watch error: ${obj?.message ?? JSON.stringify(obj)}`)));
              return;
            }
            const rv = obj?.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (phase === 'BOOKMARK') return;
            this.o.onObject(phase as 'ADDED' | 'MODIFIED' | 'DELETED', obj);
          },
          (err: unknown) => {
            if (err && !(err instanceof Error && err.name === 'AbortError'))
              finish(() => reject(err as Error));
            else finish(() => resolve('closed'));
          },
        )
        .then((controller) => {
          this.current = controller;
          if (settled) controller.abort();
        })
        .catch((err: unknown) => finish(() => reject(err as Error)));
    });
  }
}
