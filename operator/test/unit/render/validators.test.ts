/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rendered JSON by path */
import { describe, expect, it } from '@jest/globals';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import type { KubeObject } from '../../../src/render/KubeObject.js';
import { renderCluster } from '../../../src/render/renderCluster.js';
import { objectProblems } from '../../support/validateObject.js';

// The validators used on every rendered object must reject what the API server would.
const objects = renderCluster(
  normalizeCluster({
    apiVersion: 'meshcache.io/v1alpha1',
    kind: 'CacheCluster',
    metadata: { name: 'v', namespace: 'ns', uid: 'u' },
    spec: { mesh: { enabled: true }, monitoring: { serviceMonitor: { enabled: true } } },
  }),
  { defaultImage: 'img', clusterDomain: 'cluster.local' },
  { serviceMonitor: true, prometheusRule: true, istio: true },
);
const get = (kind: string) =>
  structuredClone(objects.find((o) => o.kind === kind)!) as KubeObject & Record<string, any>;

describe('object validators (test support)', () => {
  it('reject an unknown field deep in a StatefulSet', () => {
    const sts = get('StatefulSet');
    sts.spec.template.spec.containers[0].readinessProbe.httpGet.pathh = '/x';
    expect(objectProblems(sts).join('\n')).toMatch(/httpGet\.pathh: unknown field/);
  });

  it('reject a wrong type and a bad enum (kubernetes-models)', () => {
    const svc = get('Service');
    svc.spec.ports[0].protocol = 'QUIC';
    expect(objectProblems(svc).length).toBeGreaterThan(0);
    const pdb = get('PodDisruptionBudget');
    pdb.spec.maxUnavailable = { one: 1 };
    expect(objectProblems(pdb).length).toBeGreaterThan(0);
  });

  it('reject an unknown field in a ServiceMonitor', () => {
    const sm = get('ServiceMonitor');
    sm.spec.endpoints[0].scrapeEvery = '5s';
    expect(objectProblems(sm).join('\n')).toMatch(/scrapeEvery: unknown field/);
  });

  it('reject unknown fields and CEL violations in Istio objects', () => {
    const vs = get('VirtualService');
    vs.spec.http[0].timeoutt = '1s';
    expect(objectProblems(vs).join('\n')).toMatch(/unknown field "timeoutt"/);
    const dr = get('DestinationRule');
    dr.spec.trafficPolicy.tls.mode = 'MUTUAL_PLEASE';
    expect(objectProblems(dr).join('\n')).toMatch(/mode: must be one of/);
    const vs2 = get('VirtualService');
    vs2.spec.http[1].timeout = '0s';
    expect(objectProblems(vs2).join('\n')).toMatch(/valid duration/);
  });
});
