import type { CacheClusterStatus } from '../crd/CacheClusterSchema.js';
import type { ObjectRef, Observed } from '../controller/decide.js';
import type { KubeObject } from '../render/KubeObject.js';
import type { Capabilities } from '../render/RenderContext.js';

/** Raw CacheCluster as read from the API (spec not yet defaulted). */
export interface RawCluster {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
    deletionTimestamp?: string | Date;
    labels?: Record<string, string>;
  };
  spec?: unknown;
  status?: CacheClusterStatus;
}

/** The Kubernetes calls the reconciler makes: thin, so the logic stays in decide(). */
export interface ClusterApi {
  getCluster(namespace: string, name: string): Promise<RawCluster | undefined>;
  listClusters(namespace?: string): Promise<{ items: RawCluster[]; resourceVersion: string }>;
  getStatefulSet(namespace: string, name: string): Promise<Observed['statefulSet'] | undefined>;
  /** Objects labelled as the cluster's whose controller owner reference has this uid. */
  listOwned(namespace: string, cluster: string, uid: string, caps: Capabilities): Promise<ObjectRef[]>;
  readyPods(namespace: string, selector: string): Promise<string[]>;
  capabilities(): Promise<Capabilities>;
  /** Server-side apply under the operator's field manager (force: the operator owns these fields). */
  apply(object: KubeObject): Promise<void>;
  delete(ref: ObjectRef): Promise<void>;
  /** Merge patch of metadata.finalizers guarded by resourceVersion (409 when stale). */
  setFinalizers(cluster: RawCluster, finalizers: string[]): Promise<RawCluster>;
  /** PUT of the status subresource guarded by resourceVersion (409 when stale). */
  updateStatus(cluster: RawCluster, status: CacheClusterStatus): Promise<RawCluster>;
  recordEvent(
    cluster: RawCluster,
    eventType: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

/** An error from the API server with its HTTP status. */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: number } };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return e?.response?.statusCode;
}

/** The API server's message (Status.message) of an error, else its own message. */
export function apiMessageOf(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  let body = e?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* plain text */
    }
  }
  const m = (body as { message?: string } | undefined)?.message;
  return m ?? e?.message ?? String(err);
}
