import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import type { KubeObject } from './KubeObject.js';
import { type ClusterNames, LABEL_INSTANCE, LABEL_SERVICE_ROLE } from './names.js';
import { PORT_NAMES } from './services.js';

/** Prometheus Operator ServiceMonitor: scrapes /metrics of every pod through the headless Service. */
export function buildServiceMonitor(cluster: CacheCluster, names: ClusterNames): KubeObject {
  const sm = cluster.spec.monitoring.serviceMonitor;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: names.serviceMonitor,
      namespace: names.namespace,
      labels: { ...(sm.labels ?? {}), ...names.labels },
    },
    spec: {
      selector: { matchLabels: { ...names.selector, [LABEL_SERVICE_ROLE]: 'headless' } },
      endpoints: [{ port: PORT_NAMES.admin, path: '/metrics', interval: sm.interval, scheme: 'http' }],
      podTargetLabels: [LABEL_INSTANCE],
    },
  };
}

/** Alerts on the nodes' own metrics. */
export function buildPrometheusRule(cluster: CacheCluster, names: ClusterNames): KubeObject {
  const pr = cluster.spec.monitoring.prometheusRule;
  const sel = `namespace="${names.namespace}",service="${names.headlessService}"`;
  const who = `CacheCluster ${names.namespace}/${names.cluster}`;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: names.prometheusRule,
      namespace: names.namespace,
      labels: { ...(pr.labels ?? {}), ...names.labels },
    },
    spec: {
      groups: [
        {
          name: `meshcache.${names.namespace}.${names.cluster}`,
          rules: [
            {
              alert: 'MeshcacheNodeDown',
              expr: `up{${sel}} == 0`,
              for: '5m',
              labels: { severity: 'warning' },
              annotations: {
                summary: `A node of ${who} is not answering scrapes`,
                description: 'Pod {{ $labels.pod }} has been down for 5 minutes.',
              },
            },
            {
              alert: 'MeshcacheTopologyDiverged',
              expr: `max(meshcache_topology_epoch{${sel}}) - min(meshcache_topology_epoch{${sel}}) > 0`,
              for: '10m',
              labels: { severity: 'warning' },
              annotations: {
                summary: `Nodes of ${who} disagree on the topology epoch`,
                description: 'Topology epochs have differed for 10 minutes: a node is not converging.',
              },
            },
            {
              alert: 'MeshcacheInternalErrors',
              expr:
                `sum(rate(meshcache_operations_total{${sel},result="INTERNAL"}[5m])) / ` +
                `sum(rate(meshcache_operations_total{${sel}}[5m])) > 0.01`,
              for: '10m',
              labels: { severity: 'critical' },
              annotations: {
                summary: `More than 1% of operations on ${who} fail with INTERNAL`,
                description: 'See the node logs.',
              },
            },
            {
              alert: 'MeshcacheMemoryFull',
              expr: `meshcache_cache_bytes{${sel}} / meshcache_cache_max_bytes{${sel}} > 0.95 and rate(meshcache_evictions_total{${sel}}[15m]) > 100`,
              for: '30m',
              labels: { severity: 'info' },
              annotations: {
                summary: `Cache {{ $labels.cache }} of ${who} evicts heavily at its memory budget`,
                description: 'Consider a larger maxMemory or more replicas.',
              },
            },
          ],
        },
      ],
    },
  };
}
