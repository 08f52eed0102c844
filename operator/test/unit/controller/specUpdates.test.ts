/* eslint-disable @typescript-eslint/no-explicit-any -- reads free-form JSON */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { specSchema } from '../../../src/crd/CacheClusterSchema.js';
import type { JsonSchema } from '../../../src/crd/schemaDsl.js';
import type { Operator } from '../../../src/k8s/Operator.js';
import type { FakeApiServer } from '../../support/FakeApiServer.js';
import { makeReady, startFakeApi, startOperator, User, waitFor } from '../../support/operatorHarness.js';
import { objectProblems } from '../../support/validateObject.js';

// Generous: these tests wait on watches and leases, and CI machines are shared and noisy.
jest.setTimeout(60_000);

// Every spec field, changed on a live cluster, reaches the objects the operator
// manages. Runs against the Kubernetes API TEST DOUBLE (FakeApiServer) with the
// Prometheus Operator and Istio APIs installed.
const NS = 'upd';
let server: FakeApiServer;
let kc: KubeConfig;
let user: User;
let op: Operator;

const get = (apiVersion: string, plural: string, name = 'c1') => server.get(apiVersion, plural, NS, name);
const sts = () => get('apps/v1', 'statefulsets');
const pod = () => sts()?.spec.template.spec;
const node = () => pod()?.containers[0];
const envOf = (name: string) => node()?.env.find((e: any) => e.name === name);
const config = () => parseYaml(get('v1', 'configmaps', 'c1-config')?.data['node.yaml'] ?? '{}');
const cache = (name: string) => config().caches?.find((c: any) => c.name === name);
const vs = () => get('networking.istio.io/v1', 'virtualservices');
const pa = () => get('security.istio.io/v1', 'peerauthentications');
const sm = () => get('monitoring.coreos.com/v1', 'servicemonitors');
const pr = () => get('monitoring.coreos.com/v1', 'prometheusrules');
const np = () => get('networking.k8s.io/v1', 'networkpolicies');
const headlessPorts = () => get('v1', 'services', 'c1-headless')?.spec.ports.map((p: any) => p.port);

type Step = [covers: string[], patch: Record<string, unknown>, check: () => unknown];

const STEPS: Step[] = [
  [['replicas'], { replicas: 4 }, () => sts()?.spec.replicas === 4],
  [['image'], { image: 'registry.example/node:2' }, () => node()?.image === 'registry.example/node:2'],
  [['imagePullPolicy'], { imagePullPolicy: 'Always' }, () => node()?.imagePullPolicy === 'Always'],
  [
    ['imagePullSecrets'],
    { imagePullSecrets: ['regcred'] },
    () => pod()?.imagePullSecrets?.[0]?.name === 'regcred',
  ],
  [['logLevel'], { logLevel: 'debug' }, () => config().logLevel === 'debug'],
  [
    ['resources.requests'],
    { resources: { requests: { cpu: '250m' } } },
    () => node()?.resources.requests?.cpu === '250m',
  ],
  [
    ['resources.limits'],
    { resources: { limits: { memory: '3Gi' } } },
    () => node()?.resources.limits?.memory === '3Gi',
  ],
  [
    ['scheduling.nodeSelector'],
    { scheduling: { nodeSelector: { pool: 'cache' } } },
    () => pod()?.nodeSelector?.pool === 'cache',
  ],
  [
    ['scheduling.affinity'],
    {
      scheduling: {
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 1, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
            ],
          },
        },
      },
    },
    () => pod()?.affinity?.podAntiAffinity,
  ],
  [
    [
      'scheduling.tolerations[].key',
      'scheduling.tolerations[].operator',
      'scheduling.tolerations[].value',
      'scheduling.tolerations[].effect',
      'scheduling.tolerations[].tolerationSeconds',
    ],
    {
      scheduling: {
        tolerations: [
          { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 30 },
        ],
      },
    },
    () => pod()?.tolerations?.[0]?.tolerationSeconds === 30,
  ],
  [
    [
      'scheduling.topologySpreadConstraints[].maxSkew',
      'scheduling.topologySpreadConstraints[].topologyKey',
      'scheduling.topologySpreadConstraints[].whenUnsatisfiable',
      'scheduling.topologySpreadConstraints[].labelSelector',
      'scheduling.topologySpreadConstraints[].minDomains',
      'scheduling.topologySpreadConstraints[].matchLabelKeys',
      'scheduling.topologySpreadConstraints[].nodeAffinityPolicy',
      'scheduling.topologySpreadConstraints[].nodeTaintsPolicy',
    ],
    {
      scheduling: {
        topologySpreadConstraints: [
          {
            maxSkew: 2,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'c1' } },
            minDomains: 2,
            matchLabelKeys: ['controller-revision-hash'],
            nodeAffinityPolicy: 'Honor',
            nodeTaintsPolicy: 'Ignore',
          },
        ],
      },
    },
    () =>
      pod()?.topologySpreadConstraints?.[0]?.maxSkew === 2 &&
      pod().topologySpreadConstraints[0].nodeTaintsPolicy === 'Ignore',
  ],
  [
    ['scheduling.zoneAware'],
    { scheduling: { zoneAware: true } },
    () => envOf('MESHCACHE_ZONE') && pod()?.topologySpreadConstraints?.length === 2,
  ],
  [
    ['scheduling.zoneTopologyKey'],
    { scheduling: { zoneTopologyKey: 'example.com/zone' } },
    () => envOf('MESHCACHE_ZONE')?.valueFrom.fieldRef.fieldPath === "metadata.labels['example.com/zone']",
  ],
  [
    ['scheduling.priorityClassName'],
    { scheduling: { priorityClassName: 'high' } },
    () => pod()?.priorityClassName === 'high',
  ],
  [
    [
      'caches[].name',
      'caches[].replicationFactor',
      'caches[].defaultConsistency',
      'caches[].defaultTtl',
      'caches[].maxMemory',
      'caches[].maxValueSize',
      'caches[].evictionPolicy',
    ],
    {
      caches: [
        {
          name: 'sessions',
          replicationFactor: 3,
          defaultConsistency: 'QUORUM',
          defaultTtl: '1m',
          maxMemory: '64Mi',
          maxValueSize: '4Ki',
          evictionPolicy: 'lru',
        },
      ],
    },
    () => {
      const c = cache('sessions');
      return (
        c?.replicationFactor === 3 &&
        c.defaultConsistency === 'QUORUM' &&
        c.defaultTtlMs === 60_000 &&
        c.maxMemoryBytes === 64 * 1024 * 1024 &&
        c.maxValueBytes === 4096 &&
        c.evictionPolicy === 'lru' &&
        !cache('default')
      );
    },
  ],
  [
    [
      'replication.maxClockSkew',
      'replication.tombstoneGrace',
      'replication.maxHintAge',
      'replication.readRepairChance',
    ],
    { replication: { maxClockSkew: '1s', tombstoneGrace: '1h', maxHintAge: '30m', readRepairChance: 0.5 } },
    () => {
      const c = config();
      return (
        c.maxClockSkewMs === 1000 &&
        c.tombstoneGraceMs === 3_600_000 &&
        c.maxHintAgeMs === 1_800_000 &&
        c.readRepairChance === 0.5
      );
    },
  ],
  [
    ['ports.grpc'],
    { ports: { grpc: 9070 } },
    () => headlessPorts()?.includes(9070) && config().grpcPort === 9070,
  ],
  [
    ['ports.admin'],
    { ports: { admin: 9080 } },
    () => headlessPorts()?.includes(9080) && config().adminPort === 9080,
  ],
  [['ports.gossip'], { ports: { gossip: 9946 } }, () => envOf('MESHCACHE_SEEDS')?.value.endsWith(':9946')],
  [
    ['ports.redis'],
    { ports: { redis: 7379 } },
    () => headlessPorts()?.includes(7379) && config().redisPort === 7379,
  ],
  [
    ['ports.replica'],
    { ports: { replica: 7171 } },
    () =>
      headlessPorts()?.includes(7171) &&
      config().replicaPort === 7171 &&
      node()?.ports.some((p: any) => p.name === 'grpc-replica' && p.containerPort === 7171),
  ],
  [
    ['mesh.enabled'],
    { mesh: { enabled: true } },
    () => vs() && pa() && sts()?.spec.template.metadata.annotations['proxy.istio.io/config'],
  ],
  [
    ['mesh.mode'],
    { mesh: { mode: 'ambient' } },
    () => sts()?.spec.template.metadata.labels['istio.io/dataplane-mode'] === 'ambient',
  ],
  [['mesh.mtls'], { mesh: { mtls: 'PERMISSIVE' } }, () => pa()?.spec.mtls.mode === 'PERMISSIVE'],
  [['mesh.batchTimeout'], { mesh: { batchTimeout: '2s' } }, () => vs()?.spec.http[1].timeout === '2s'],
  [['mesh.batchRetries'], { mesh: { batchRetries: 4 } }, () => vs()?.spec.http[1].retries.attempts === 4],
  [['monitoring.serviceMonitor.enabled'], { monitoring: { serviceMonitor: { enabled: true } } }, () => sm()],
  [
    ['monitoring.serviceMonitor.interval'],
    { monitoring: { serviceMonitor: { interval: '10s' } } },
    () => sm()?.spec.endpoints[0].interval === '10s',
  ],
  [
    ['monitoring.serviceMonitor.labels'],
    { monitoring: { serviceMonitor: { labels: { release: 'p' } } } },
    () => sm()?.metadata.labels.release === 'p',
  ],
  [['monitoring.prometheusRule.enabled'], { monitoring: { prometheusRule: { enabled: true } } }, () => pr()],
  [
    ['monitoring.prometheusRule.labels'],
    { monitoring: { prometheusRule: { labels: { release: 'p' } } } },
    () => pr()?.metadata.labels.release === 'p',
  ],
  [
    ['podDisruptionBudget.enabled'],
    { podDisruptionBudget: { enabled: false } },
    () => !get('policy/v1', 'poddisruptionbudgets'),
  ],
  [
    ['networkPolicy.enabled'],
    { networkPolicy: { enabled: true } },
    // The member-only rule arrives whole: the client's NetworkPolicy model calls `from` `_from`.
    () =>
      np()?.spec.ingress[0].ports[0].port === 7171 &&
      np().spec.ingress[0].from?.[0]?.podSelector.matchLabels['app.kubernetes.io/instance'] === 'c1',
  ],
  [
    ['updateStrategy.type'],
    { updateStrategy: { type: 'OnDelete' } },
    () => sts()?.spec.updateStrategy.type === 'OnDelete',
  ],
  [
    ['podMetadata.labels'],
    { podMetadata: { labels: { team: 't' } } },
    () => sts()?.spec.template.metadata.labels.team === 't',
  ],
  [
    ['podMetadata.annotations'],
    { podMetadata: { annotations: { note: 'n' } } },
    () => sts()?.spec.template.metadata.annotations.note === 'n',
  ],
  // Turning things off deletes what they made.
  [[], { mesh: { enabled: false } }, () => !vs() && !pa()],
  [[], { networkPolicy: { enabled: false } }, () => !np()],
  [
    [],
    { monitoring: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } } },
    () => !sm() && !pr(),
  ],
];

/** Leaf fields of the spec schema (maps and free-form objects are leaves; list items recurse). */
function leaves(s: JsonSchema, path: string): string[] {
  if (s.type === 'object' && s.properties)
    return Object.entries(s.properties).flatMap(([k, sub]) => leaves(sub, path ? `${path}.${k}` : k));
  if (s.type === 'array' && s.items?.type === 'object' && s.items.properties)
    return leaves(s.items, `${path}[]`);
  return [path];
}

beforeAll(async () => {
  ({ server, kc } = await startFakeApi());
  server.installOptional('prometheus');
  server.installOptional('istio');
  user = new User(kc);
  op = startOperator(kc, 'op-upd');
  await user.create(NS, 'c1', { resources: { limits: { memory: '2Gi' } } });
  await waitFor('StatefulSet', () => sts());
  makeReady(server, NS, 'c1', 3);
  await waitFor(
    'Running',
    () => server.get('meshcache.io/v1alpha1', 'cacheclusters', NS, 'c1')?.status?.phase === 'Running',
  );
});

afterAll(async () => {
  await op.stop();
  await server.stop();
});

describe('update of every spec field (against the API test double)', () => {
  it('the steps below cover every field of the spec', () => {
    const covered = new Set(STEPS.flatMap(([c]) => c));
    expect(leaves(specSchema.json, '').filter((p) => !covered.has(p))).toEqual([]);
  });

  it.each(STEPS.map((s, i) => [i + 1, s[0].join(', ') || JSON.stringify(s[1]), s] as const))(
    'step %i: %s',
    async (_i, _what, step) => {
      const [, patch, check] = step;
      await user.patchSpec(NS, 'c1', patch);
      await waitFor(`effect of ${JSON.stringify(patch)}`, check, 15_000);
      const objs = [
        sts(),
        get('v1', 'configmaps', 'c1-config'),
        get('v1', 'services', 'c1-headless'),
        get('v1', 'services'),
        vs(),
        pa(),
        get('networking.istio.io/v1', 'destinationrules'),
        sm(),
        pr(),
        np(),
      ].filter(Boolean);
      expect(objs.flatMap((o) => objectProblems(o))).toEqual([]);
      const cc = server.get('meshcache.io/v1alpha1', 'cacheclusters', NS, 'c1');
      await waitFor(
        'status caught up',
        () =>
          server.get('meshcache.io/v1alpha1', 'cacheclusters', NS, 'c1')?.status?.observedGeneration ===
          cc.metadata.generation,
      );
    },
  );
});
