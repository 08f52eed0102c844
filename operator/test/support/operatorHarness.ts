/* eslint-disable @typescript-eslint/no-explicit-any -- reads free-form JSON */
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { cacheClusterCrd } from '../../src/crd/cacheClusterCrd.js';
import { Operator, type OperatorOptions } from '../../src/k8s/Operator.js';
import { OperatorMetrics } from '../../src/k8s/OperatorMetrics.js';
import { FakeApiServer } from './FakeApiServer.js';

/** A KubeConfig pointing at the API test double. */
export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  return kc;
}

export async function startFakeApi(): Promise<{ server: FakeApiServer; kc: KubeConfig }> {
  const server = new FakeApiServer({ historyLimit: 10_000 });
  await server.start();
  server.installCrd(cacheClusterCrd());
  return { server, kc: kubeConfigFor(server.url) };
}

export function startOperator(
  kc: KubeConfig,
  identity: string,
  extra: Partial<OperatorOptions> = {},
): Operator {
  const op = new Operator(kc, {
    ctx: { defaultImage: 'meshcache/node:test', clusterDomain: 'cluster.local' },
    identity,
    leaseNamespace: 'meshcache-system',
    leaseDurationMs: 1_000,
    renewDeadlineMs: 800,
    retryPeriodMs: 100,
    resyncMs: 60_000,
    watchBackoffBaseMs: 20,
    watchBackoffMaxMs: 200,
    metrics: new OperatorMetrics({ defaultMetrics: false }),
    probe: { epoch: async () => 7 },
    ...extra,
  });
  op.start();
  return op;
}

export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A user of the cluster (kubectl), through the real client. */
export class User {
  private readonly api: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  create(namespace: string, name: string, spec: Record<string, unknown>): Promise<any> {
    return this.api.createNamespacedCustomObject({
      group: 'meshcache.io',
      version: 'v1alpha1',
      namespace,
      plural: 'cacheclusters',
      body: {
        apiVersion: 'meshcache.io/v1alpha1',
        kind: 'CacheCluster',
        metadata: { name, namespace },
        spec,
      },
    });
  }

  patchSpec(namespace: string, name: string, spec: Record<string, unknown>): Promise<any> {
    return this.api.patchNamespacedCustomObject(
      {
        group: 'meshcache.io',
        version: 'v1alpha1',
        namespace,
        plural: 'cacheclusters',
        name,
        body: { spec },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  delete(namespace: string, name: string): Promise<any> {
    return this.api.deleteNamespacedCustomObject({
      group: 'meshcache.io',
      version: 'v1alpha1',
      namespace,
      plural: 'cacheclusters',
      name,
    });
  }
}

/** Plays the StatefulSet controller and kubelet: pods exist and are ready. */
export function makeReady(server: FakeApiServer, namespace: string, name: string, ready: number): void {
  const sts = server.get('apps/v1', 'statefulsets', namespace, name);
  const want = sts.spec.replicas;
  server.setStatus('apps/v1', 'statefulsets', namespace, name, {
    observedGeneration: sts.metadata.generation,
    replicas: want,
    readyReplicas: ready,
    updatedReplicas: want,
    currentRevision: `${name}-1`,
    updateRevision: `${name}-1`,
  });
  for (let i = 0; i < want; i++) {
    server.put('v1', 'pods', {
      metadata: { name: `${name}-${i}`, namespace, labels: sts.spec.selector.matchLabels },
      spec: { containers: [{ name: 'node', image: 'x' }] },
      status: { conditions: [{ type: 'Ready', status: i < ready ? 'True' : 'False' }] },
    });
  }
}
