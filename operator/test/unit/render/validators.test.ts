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

  it('accept the rendered Istio objects, which are networking.istio.io/v1 and security.istio.io/v1', () => {
    const istio = objects.filter((o) => /\.istio\.io\//.test(o.apiVersion));
    expect(istio.map((o) => `${o.apiVersion}/${o.kind}`)).toEqual([
      'networking.istio.io/v1/VirtualService',
      'networking.istio.io/v1/DestinationRule',
      'security.istio.io/v1/PeerAuthentication',
    ]);
    expect(istio.flatMap((o) => objectProblems(o))).toEqual([]);
  });

  it('reject wrong types, bad enums and unknown fields in Istio objects (@kubernetes-models/istio)', () => {
    const vs = get('VirtualService');
    vs.spec.hosts = 'one-host';
    expect(objectProblems(vs).join('\n')).toMatch(/VirtualService\.spec\.hosts: must be array/);
    const vs2 = get('VirtualService');
    vs2.spec.http[0].match[0].uri = { exact: '/a', prefix: '/b' }; // exactly one of exact/prefix/regex
    expect(objectProblems(vs2).join('\n')).toMatch(/uri: must match exactly one schema/);
    const dr = get('DestinationRule');
    dr.spec.trafficPolicy.loadBalancer.simplee = 'ROUND_ROBIN';
    expect(objectProblems(dr).join('\n')).toMatch(/loadBalancer\.simplee: unknown field "simplee"/);
    const dr2 = get('DestinationRule');
    dr2.spec.trafficPolicy.outlierDetection.consecutive5xxErrors = -1;
    expect(objectProblems(dr2).join('\n')).toMatch(/consecutive5xxErrors: must be >= 0/);
    const pa = get('PeerAuthentication');
    pa.spec.mtls.mode = 'SOMETIMES';
    expect(objectProblems(pa).join('\n')).toMatch(/mtls\.mode: must be one of .*"STRICT"/);
  });

  it('reject violations of the Istio CRDs CEL rules (which the models leave out)', () => {
    const dr = get('DestinationRule');
    dr.spec.trafficPolicy.connectionPool.tcp.connectTimeout = '0.5ms';
    expect(objectProblems(dr).join('\n')).toMatch(
      /tcp\.connectTimeout: must be a valid duration greater than 1ms/,
    );
    const vs = get('VirtualService');
    vs.spec.http[1].timeout = 'soon';
    expect(objectProblems(vs).join('\n')).toMatch(/http\[1\]\.timeout: rule .* failed to evaluate/);
    const pa = get('PeerAuthentication');
    pa.spec.portLevelMtls['70000'] = { mode: 'DISABLE' };
    expect(objectProblems(pa).join('\n')).toMatch(/portLevelMtls: port must be between 1-65535/);
    const pa2 = get('PeerAuthentication');
    delete pa2.spec.selector;
    expect(objectProblems(pa2).join('\n')).toMatch(/spec: portLevelMtls requires selector/);
    const pa3 = get('PeerAuthentication');
    pa3.spec.selector.matchLabels['app.kubernetes.io/name'] = 'mesh*';
    expect(objectProblems(pa3).join('\n')).toMatch(/wildcard not allowed in label value match/);
  });

  it('reject an Istio apiVersion the renderer does not use (no model checked against it)', () => {
    const pa = get('PeerAuthentication');
    pa.apiVersion = 'security.istio.io/v1beta1';
    expect(objectProblems(pa)).toEqual([
      'security.istio.io/v1beta1/PeerAuthentication: no kubernetes-models schema known to the test',
    ]);
  });
});
