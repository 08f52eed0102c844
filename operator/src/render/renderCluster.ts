import { API_VERSION, type CacheCluster, KIND } from '../crd/CacheClusterSchema.js';
import { buildIstioObjects } from './istio.js';
import type { KubeObject } from './KubeObject.js';
import { buildPrometheusRule, buildServiceMonitor } from './monitoring.js';
import { clusterNames } from './names.js';
import { buildNetworkPolicy } from './networkPolicy.js';
import { buildConfigMap } from './nodeConfig.js';
import { buildPodDisruptionBudget } from './podDisruptionBudget.js';
import type { Capabilities, RenderContext } from './RenderContext.js';
import { buildClientService, buildHeadlessService } from './services.js';
import { buildStatefulSet } from './statefulSet.js';

/** Kinds the operator may write for a cluster, in apply order. */
export const OWNED_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', plural: 'servicemonitors' },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', plural: 'prometheusrules' },
  { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices' },
  { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', plural: 'destinationrules' },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', plural: 'peerauthentications' },
] as const;

/**
 * Every object a CacheCluster should have, given the optional APIs the
 * cluster serves. Pure: the same inputs give the same objects. Each carries a
 * controller owner reference to the CacheCluster, so deleting it garbage-
 * collects them.
 */
export function renderCluster(cluster: CacheCluster, ctx: RenderContext, caps: Capabilities): KubeObject[] {
  const names = clusterNames(cluster, ctx.clusterDomain);
  const s = cluster.spec;
  const objects: KubeObject[] = [
    buildConfigMap(cluster, names) as KubeObject,
    buildHeadlessService(cluster, names) as KubeObject,
    buildClientService(cluster, names) as KubeObject,
  ];
  // Before the StatefulSet, so new pods are never without it.
  if (s.networkPolicy.enabled) objects.push(buildNetworkPolicy(cluster, names));
  objects.push(buildStatefulSet(cluster, ctx, names) as KubeObject);
  if (s.podDisruptionBudget.enabled) objects.push(buildPodDisruptionBudget(names) as KubeObject);
  if (s.monitoring.serviceMonitor.enabled && caps.serviceMonitor)
    objects.push(buildServiceMonitor(cluster, names));
  if (s.monitoring.prometheusRule.enabled && caps.prometheusRule)
    objects.push(buildPrometheusRule(cluster, names));
  if (s.mesh.enabled && caps.istio) objects.push(...buildIstioObjects(cluster, names));
  const owner = {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cluster.metadata.name,
    uid: cluster.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  return objects.map((o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: [owner] } }));
}
