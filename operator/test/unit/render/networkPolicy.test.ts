/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rendered JSON by path */
import { describe, expect, it } from '@jest/globals';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { CacheCluster } from '../../../src/crd/CacheClusterSchema.js';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import { NO_CAPABILITIES, type RenderContext } from '../../../src/render/RenderContext.js';
import { OWNED_KINDS, renderCluster } from '../../../src/render/renderCluster.js';
import { objectProblems } from '../../support/validateObject.js';

const ctx: RenderContext = { defaultImage: 'meshcache/node:0.1.0', clusterDomain: 'cluster.local' };
const SELECTOR = { 'app.kubernetes.io/name': 'meshcache', 'app.kubernetes.io/instance': 'c1' };

function cluster(spec: Record<string, unknown>): CacheCluster {
  return normalizeCluster({
    apiVersion: 'meshcache.io/v1alpha1',
    kind: 'CacheCluster',
    metadata: { name: 'c1', namespace: 'ns1', uid: 'uid-1', generation: 1 },
    spec,
  });
}

function networkPolicy(spec: Record<string, unknown>): Record<string, any> | undefined {
  return renderCluster(cluster(spec), ctx, { serviceMonitor: true, prometheusRule: true, istio: true }).find(
    (o) => o.kind === 'NetworkPolicy',
  );
}

describe('NetworkPolicy (spec.networkPolicy.enabled)', () => {
  it('is off by default', () => {
    expect(cluster({}).spec.networkPolicy).toEqual({ enabled: false });
    expect(networkPolicy({})).toBeUndefined();
  });

  it('admits replica and gossip from pods of the cluster only, client and admin ports from anyone', () => {
    const np = networkPolicy({ networkPolicy: { enabled: true } })!;
    expect(np.metadata.name).toBe('c1');
    expect(np.metadata.namespace).toBe('ns1');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: SELECTOR },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: SELECTOR } }],
          ports: [
            { protocol: 'TCP', port: 7071 },
            { protocol: 'TCP', port: 7946 },
            { protocol: 'UDP', port: 7946 },
          ],
        },
        {
          ports: [
            { protocol: 'TCP', port: 7070 },
            { protocol: 'TCP', port: 6379 },
            { protocol: 'TCP', port: 8080 },
          ],
        },
      ],
    });
  });

  it('follows spec.ports', () => {
    const np = networkPolicy({
      networkPolicy: { enabled: true },
      ports: { grpc: 9000, admin: 9001, gossip: 9002, redis: 9003, replica: 9004 },
    })!;
    expect(np.spec.ingress.map((r: any) => r.ports.map((p: any) => `${p.port}/${p.protocol}`))).toEqual([
      ['9004/TCP', '9002/TCP', '9002/UDP'],
      ['9000/TCP', '9003/TCP', '9001/TCP'],
    ]);
  });

  it("opens Istio's HBONE port 15008 in ambient mode only (sidecar traffic keeps its port)", () => {
    const open = (mesh: Record<string, unknown>) =>
      networkPolicy({ networkPolicy: { enabled: true }, mesh })!.spec.ingress[1].ports.map(
        (p: any) => p.port,
      );
    expect(open({ enabled: true, mode: 'ambient' })).toEqual([7070, 6379, 8080, 15008]);
    expect(open({ enabled: true, mode: 'sidecar' })).toEqual([7070, 6379, 8080]);
    expect(open({ enabled: false, mode: 'ambient' })).toEqual([7070, 6379, 8080]);
  });

  it.each([
    ['plain', {}],
    ['ambient', { mesh: { enabled: true, mode: 'ambient' } }],
  ])('validates with kubernetes-models networking.k8s.io/v1 NetworkPolicy (%s)', (_n, extra) => {
    const np = networkPolicy({ networkPolicy: { enabled: true }, ...extra })!;
    expect(() => new NetworkPolicy(structuredClone(np) as never).validate()).not.toThrow();
    expect(objectProblems(np as never)).toEqual([]);
  });

  it('the validator catches a broken NetworkPolicy', () => {
    const np = structuredClone(networkPolicy({ networkPolicy: { enabled: true } })!);
    np.spec.policyTypes = ['Inbound'];
    np.spec.ingress[0].froms = np.spec.ingress[0].from;
    const problems = objectProblems(np as never).join('\n');
    expect(problems).toMatch(/policyTypes/);
    expect(problems).toMatch(/froms: unknown field/);
  });

  it('is applied before the StatefulSet, owned like the rest, and pruned when turned off', () => {
    const objects = renderCluster(cluster({ networkPolicy: { enabled: true } }), ctx, NO_CAPABILITIES);
    expect(objects.map((o) => o.kind)).toEqual([
      'ConfigMap',
      'Service',
      'Service',
      'NetworkPolicy',
      'StatefulSet',
      'PodDisruptionBudget',
    ]);
    expect(objects.find((o) => o.kind === 'NetworkPolicy')!.metadata.ownerReferences?.[0]?.uid).toBe('uid-1');
    // Listed as an owned kind, so the operator finds it and deletes it once unwanted.
    expect(OWNED_KINDS).toContainEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      plural: 'networkpolicies',
    });
  });
});
