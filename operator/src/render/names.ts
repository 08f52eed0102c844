import type { CacheCluster } from '../crd/CacheClusterSchema.js';

/** Names, labels and DNS names of the objects of one CacheCluster. */
export interface ClusterNames {
  cluster: string;
  namespace: string;
  statefulSet: string;
  headlessService: string;
  clientService: string;
  configMap: string;
  podDisruptionBudget: string;
  serviceMonitor: string;
  prometheusRule: string;
  istio: string;
  networkPolicy: string;
  /** Labels every object of the cluster carries. */
  labels: Record<string, string>;
  /** The pod selector (immutable once the StatefulSet exists). */
  selector: Record<string, string>;
  /** `app.kubernetes.io/name=meshcache,app.kubernetes.io/instance=NAME`. */
  selectorString: string;
  /** FQDN of the headless Service (seeds). */
  headlessFqdn: string;
  /** FQDN of the client Service (what applications and the mesh route to). */
  clientFqdn: string;
}

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** Tells the two Services apart (the ServiceMonitor selects the headless one). */
export const LABEL_SERVICE_ROLE = 'meshcache.io/service';
export const MANAGED_BY = 'meshcache-operator';

export function clusterNames(cluster: Pick<CacheCluster, 'metadata'>, clusterDomain: string): ClusterNames {
  const name = cluster.metadata.name;
  const namespace = cluster.metadata.namespace ?? 'default';
  const selector = { [LABEL_NAME]: 'meshcache', [LABEL_INSTANCE]: name };
  const headless = `${name}-headless`;
  return {
    cluster: name,
    namespace,
    statefulSet: name,
    headlessService: headless,
    clientService: name,
    configMap: `${name}-config`,
    podDisruptionBudget: name,
    serviceMonitor: name,
    prometheusRule: name,
    istio: name,
    networkPolicy: name,
    labels: {
      ...selector,
      [LABEL_COMPONENT]: 'cache-node',
      [LABEL_PART_OF]: 'meshcache',
      [LABEL_MANAGED_BY]: MANAGED_BY,
    },
    selector,
    selectorString: Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    headlessFqdn: `${headless}.${namespace}.svc.${clusterDomain}`,
    clientFqdn: `${name}.${namespace}.svc.${clusterDomain}`,
  };
}
