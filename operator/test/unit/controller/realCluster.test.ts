/* eslint-disable @typescript-eslint/no-explicit-any -- reads free-form JSON */
import { describe, expect, it } from '@jest/globals';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { cacheClusterCrd } from '../../../src/crd/cacheClusterCrd.js';
import { startOperator, User, waitFor } from '../../support/operatorHarness.js';

// Against a REAL cluster, only when KUBECONFIG is set and MESHCACHE_REAL_CLUSTER=1
// (it creates the CRD and a namespace "meshcache-it"). Skipped otherwise.
const enabled = Boolean(process.env['KUBECONFIG']) && process.env['MESHCACHE_REAL_CLUSTER'] === '1';
if (!enabled) {
  // Say so in the output, as the suite is skipped.
  console.log('real-cluster suite skipped: set KUBECONFIG and MESHCACHE_REAL_CLUSTER=1 to run it');
}

(enabled ? describe : describe.skip)('operator against a real cluster (KUBECONFIG)', () => {
  it('creates the objects of a CacheCluster and cleans up on delete', async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const ns = 'meshcache-it';
    const apply = (o: unknown) =>
      objects.patch(
        o as KubernetesObject,
        undefined,
        undefined,
        'meshcache-it',
        true,
        'application/apply-patch+yaml',
      );
    await apply(cacheClusterCrd());
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await new Promise((r) => setTimeout(r, 2000)); // CRD established
    const op = startOperator(kc, 'it', {
      leaseNamespace: ns,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    const user = new User(kc);
    try {
      await user.create(ns, 'it', { replicas: 1 });
      const sts = await waitFor(
        'StatefulSet',
        () =>
          objects.read({
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'it', namespace: ns },
          }) as Promise<any>,
        60_000,
      );
      expect(sts.spec.serviceName).toBe('it-headless');
      await user.delete(ns, 'it');
    } finally {
      await op.stop();
    }
  }, 120_000);
});
