import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ClusterNames } from './names.js';

/** At most one node voluntarily down at a time (drains, node upgrades). */
export function buildPodDisruptionBudget(names: ClusterNames): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: names.podDisruptionBudget, namespace: names.namespace, labels: names.labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: names.selector } },
  };
}
