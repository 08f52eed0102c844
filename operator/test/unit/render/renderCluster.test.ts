/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rendered JSON by path */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { validateNodeOptions, loadNodeConfig } from '@meshcache/node';
import type { CacheCluster } from '../../../src/crd/CacheClusterSchema.js';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import type { KubeObject } from '../../../src/render/KubeObject.js';
import { nodeSettings } from '../../../src/render/nodeConfig.js';
import { type Capabilities, NO_CAPABILITIES, type RenderContext } from '../../../src/render/RenderContext.js';
import { renderCluster } from '../../../src/render/renderCluster.js';
import { objectProblems } from '../../support/validateObject.js';
import { repoRoot } from '../../support/repoRoot.js';

const ctx: RenderContext = { defaultImage: 'meshcache/node:0.1.0', clusterDomain: 'cluster.local' };
const ALL: Capabilities = { serviceMonitor: true, prometheusRule: true, istio: true };

function cluster(spec: Record<string, unknown>, name = 'c1'): CacheCluster {
  return normalizeCluster({
    apiVersion: 'meshcache.io/v1alpha1',
    kind: 'CacheCluster',
    metadata: { name, namespace: 'ns1', uid: 'uid-1', generation: 1 },
    spec,
  });
}

function find(objects: KubeObject[], kind: string, name?: string): Record<string, any> {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o as Record<string, any>;
}

const example = parseAllDocuments(
  readFileSync(join(repoRoot, 'examples/cachecluster.yaml'), 'utf8'),
)[0]!.toJS();

const SPECS: Array<[string, Record<string, unknown>]> = [
  ['defaults', {}],
  ['examples/cachecluster.yaml', example.spec],
  [
    'everything on',
    {
      replicas: 5,
      image: 'registry.example/meshcache/node:1.2.3',
      imagePullPolicy: 'Always',
      imagePullSecrets: ['regcred'],
      logLevel: 'debug',
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: 2147483648 } },
      scheduling: {
        nodeSelector: { pool: 'cache' },
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
        },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cache', effect: 'NoSchedule' }],
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' },
        ],
        zoneAware: true,
        priorityClassName: 'high',
      },
      caches: [
        { name: 'a', replicationFactor: 3, defaultConsistency: 'ALL', defaultTtl: '1h30m', maxMemory: '1Gi' },
        { name: 'b', evictionPolicy: 'lru', maxValueSize: '64Ki' },
      ],
      replication: { maxClockSkew: '1s', tombstoneGrace: '1h', maxHintAge: '30m', readRepairChance: 0.5 },
      ports: { grpc: 9000, admin: 9001, gossip: 9002, redis: 9003, replica: 9004 },
      mesh: { enabled: true, mtls: 'PERMISSIVE', batchTimeout: '2s', batchRetries: 3 },
      monitoring: {
        serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } },
        prometheusRule: { enabled: true, labels: { release: 'prom' } },
      },
      podDisruptionBudget: { enabled: true },
      networkPolicy: { enabled: true },
      updateStrategy: { type: 'OnDelete' },
      podMetadata: { labels: { team: 'x' }, annotations: { note: 'y' } },
    },
  ],
  ['ambient mesh', { mesh: { enabled: true, mode: 'ambient' }, networkPolicy: { enabled: true } }],
];

describe('renderCluster', () => {
  it.each(SPECS)(
    'every object for "%s" validates (kubernetes-models, @kubernetes-models/istio with the Istio CEL rules; unknown fields rejected)',
    (_n, spec) => {
      const objects = renderCluster(cluster(spec), ctx, ALL);
      const problems = objects.flatMap((o) => objectProblems(o));
      expect(problems).toEqual([]);
      // Every spec above is also a valid CacheCluster.
      expect(
        objectProblems({
          apiVersion: 'meshcache.io/v1alpha1',
          kind: 'CacheCluster',
          metadata: { name: 'c1' },
          spec,
        } as never),
      ).toEqual([]);
    },
  );

  it('renders the core objects, each owned by the CacheCluster as controller', () => {
    const objects = renderCluster(cluster({}), ctx, NO_CAPABILITIES);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/c1-config',
      'Service/c1-headless',
      'Service/c1',
      'StatefulSet/c1',
      'PodDisruptionBudget/c1',
    ]);
    for (const o of objects) {
      expect(o.metadata.namespace).toBe('ns1');
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'meshcache.io/v1alpha1',
          kind: 'CacheCluster',
          name: 'c1',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('renders ServiceMonitor, PrometheusRule and Istio objects only when asked and their CRDs exist', () => {
    const on = cluster({
      mesh: { enabled: true },
      monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
    });
    const kinds = (c: CacheCluster, caps: Capabilities) => renderCluster(c, ctx, caps).map((o) => o.kind);
    expect(kinds(on, NO_CAPABILITIES)).not.toContain('ServiceMonitor');
    expect(kinds(on, { ...NO_CAPABILITIES, serviceMonitor: true })).toContain('ServiceMonitor');
    expect(kinds(on, { ...NO_CAPABILITIES, serviceMonitor: true })).not.toContain('PrometheusRule');
    expect(kinds(on, ALL)).toEqual(
      expect.arrayContaining(['PrometheusRule', 'VirtualService', 'DestinationRule', 'PeerAuthentication']),
    );
    expect(kinds(cluster({}), ALL)).toEqual([
      'ConfigMap',
      'Service',
      'Service',
      'StatefulSet',
      'PodDisruptionBudget',
    ]);
    expect(kinds(cluster({ podDisruptionBudget: { enabled: false } }), ALL)).not.toContain(
      'PodDisruptionBudget',
    );
  });

  it('headless Service publishes not-ready pods; ports are named for Istio', () => {
    const objects = renderCluster(cluster({}), ctx, NO_CAPABILITIES);
    const headless = find(objects, 'Service', 'c1-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(headless.spec.ports.map((p: any) => `${p.name}:${p.port}/${p.protocol}`)).toEqual([
      'grpc-data:7070/TCP',
      'tcp-redis:6379/TCP',
      'http-admin:8080/TCP',
      'tcp-gossip:7946/TCP',
      'udp-gossip:7946/UDP',
      'grpc-replica:7071/TCP',
    ]);
    for (const p of headless.spec.ports) expect(p.name).toMatch(/^(grpc|http|tcp|udp)-/);
    const client = find(objects, 'Service', 'c1');
    expect(client.spec.publishNotReadyAddresses).toBeUndefined();
    expect(client.spec.ports.map((p: any) => p.name)).toEqual(['grpc-data', 'tcp-redis']);
  });

  it('StatefulSet: readiness on /readyz, seeds from the headless Service, each pod its mesh name', () => {
    const sts = find(renderCluster(cluster({}), ctx, NO_CAPABILITIES), 'StatefulSet');
    expect(sts.spec.serviceName).toBe('c1-headless');
    expect(sts.spec.replicas).toBe(3);
    const c = sts.spec.template.spec.containers[0];
    expect(c.image).toBe('meshcache/node:0.1.0');
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-admin' });
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env['MESHCACHE_SEEDS']).toBe('c1-headless.ns1.svc.cluster.local:7946');
    expect(env['MESHCACHE_HOST']).toBe('$(POD_NAME).c1-headless.ns1.svc.cluster.local');
    expect(env['MESHCACHE_MESH_ADDRESS']).toBe('$(POD_NAME).c1-headless.ns1.svc.cluster.local:7070');
    expect(env['MESHCACHE_ID']).toBe('$(POD_NAME)');
    expect(env['POD_NAME']).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env['MESHCACHE_ZONE']).toBeUndefined();
    expect(sts.spec.template.metadata.annotations['proxy.istio.io/config']).toBeUndefined();
  });

  it('zone awareness spreads pods over zones and tells each node its zone', () => {
    const sts = find(
      renderCluster(cluster({ scheduling: { zoneAware: true } }), ctx, NO_CAPABILITIES),
      'StatefulSet',
    );
    const pod = sts.spec.template.spec;
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'meshcache', 'app.kubernetes.io/instance': 'c1' },
        },
      },
    ]);
    const zone = pod.containers[0].env.find((e: any) => e.name === 'MESHCACHE_ZONE');
    expect(zone.valueFrom.fieldRef.fieldPath).toBe("metadata.labels['topology.kubernetes.io/zone']");
  });

  it('meshed pods wait for the proxy and keep the UDP gossip port out of capture', () => {
    const sts = find(
      renderCluster(cluster({ mesh: { enabled: true } }), ctx, NO_CAPABILITIES),
      'StatefulSet',
    );
    const meta = sts.spec.template.metadata;
    expect(JSON.parse(meta.annotations['proxy.istio.io/config'])).toEqual({
      holdApplicationUntilProxyStarts: true,
    });
    expect(meta.annotations['traffic.sidecar.istio.io/excludeInboundPorts']).toBe('7946');
    expect(meta.annotations['traffic.sidecar.istio.io/excludeOutboundPorts']).toBe('7946');
    expect(meta.labels['sidecar.istio.io/inject']).toBe('true');
    const ambient = find(
      renderCluster(cluster({ mesh: { enabled: true, mode: 'ambient' } }), ctx, NO_CAPABILITIES),
      'StatefulSet',
    );
    expect(ambient.spec.template.metadata.labels['istio.io/dataplane-mode']).toBe('ambient');
    expect(ambient.spec.template.metadata.annotations['proxy.istio.io/config']).toBeUndefined();
  });

  it('PodDisruptionBudget allows at most one unavailable pod', () => {
    const pdb = find(renderCluster(cluster({}), ctx, NO_CAPABILITIES), 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'meshcache',
      'app.kubernetes.io/instance': 'c1',
    });
  });

  it('a config change changes the pod template (rolls the pods); other changes leave the hash', () => {
    const hash = (spec: Record<string, unknown>) =>
      find(renderCluster(cluster(spec), ctx, NO_CAPABILITIES), 'StatefulSet').spec.template.metadata
        .annotations['meshcache.io/config-hash'];
    expect(hash({})).toBe(hash({ replicas: 5 }));
    expect(hash({})).not.toBe(hash({ caches: [{ name: 'default', maxMemory: '512Mi' }] }));
  });

  it('the ConfigMap and environment make a valid meshcache-node configuration', () => {
    const c = cluster(example.spec);
    const objects = renderCluster(c, ctx, NO_CAPABILITIES);
    const yaml = find(objects, 'ConfigMap').data['node.yaml'];
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-op-'));
    try {
      const file = join(dir, 'node.yaml');
      writeFileSync(file, yaml);
      const options = loadNodeConfig({
        argv: [],
        env: {
          MESHCACHE_CONFIG: file,
          MESHCACHE_ID: 'demo-0',
          MESHCACHE_HOST: 'demo-0.demo-headless.ns1.svc.cluster.local',
          MESHCACHE_SEEDS: 'demo-headless.ns1.svc.cluster.local:7946',
          MESHCACHE_MESH_ADDRESS: 'demo-0.demo-headless.ns1.svc.cluster.local:7070',
          MESHCACHE_ZONE: 'zone-a',
        },
      });
      expect(
        options.caches.map((x) => [
          x.name,
          x.maxMemoryBytes,
          x.defaultTtlMs,
          x.maxValueBytes,
          x.evictionPolicy,
        ]),
      ).toEqual([
        ['sessions', 256 * 1024 * 1024, 30 * 60 * 1000, 1024 * 1024, 's3fifo'],
        ['pages', 128 * 1024 * 1024, 0, 512 * 1024, 'lru'],
      ]);
      expect(options.seeds).toEqual(['demo-headless.ns1.svc.cluster.local:7946']);
      expect(options.grpcPort).toBe(7070);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => validateNodeOptions({ ...nodeSettings(c.spec) })).toThrow(/id/); // only per-pod fields missing
  });
});

describe('istio/ manifests', () => {
  it.each(['istio/virtualservice.yaml', 'istio/destinationrule.yaml', 'istio/peerauthentication.yaml'])(
    '%s validates against @kubernetes-models/istio (v1) and the Istio CEL rules',
    (path) => {
      const docs = parseAllDocuments(readFileSync(join(repoRoot, path), 'utf8')).map((d) => d.toJS());
      expect(docs.length).toBe(1);
      expect(docs.flatMap((d) => objectProblems(d))).toEqual([]);
    },
  );

  it('the VirtualService has no timeout on the Execute stream, timeout and retries on ExecuteBatch', () => {
    const vs = parseAllDocuments(
      readFileSync(join(repoRoot, 'istio/virtualservice.yaml'), 'utf8'),
    )[0]!.toJS();
    const byMethod = (m: string) =>
      vs.spec.http.find((r: any) => r.match.some((x: any) => x.uri?.exact === `/meshcache.v1.Cache/${m}`));
    expect(byMethod('Execute').timeout).toBeUndefined();
    expect(byMethod('WatchTopology').timeout).toBeUndefined();
    expect(byMethod('Execute').retries).toBeUndefined();
    expect(byMethod('ExecuteBatch').timeout).toBe('5s');
    expect(byMethod('ExecuteBatch').retries.attempts).toBe(2);
    expect(byMethod('Execute').route.map((r: any) => [r.destination.subset, r.weight])).toEqual([
      ['stable', 90],
      ['canary', 10],
    ]);
  });
});
