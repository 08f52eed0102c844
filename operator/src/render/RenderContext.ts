/** Settings of the operator that shape what it renders. */
export interface RenderContext {
  /** Node image when a CacheCluster names none (the chart sets it to the release's node image). */
  defaultImage: string;
  /** Cluster DNS domain, for per-pod and Service FQDNs. */
  clusterDomain: string;
}

/** Which optional APIs the cluster serves (their CRDs are installed). */
export interface Capabilities {
  serviceMonitor: boolean;
  prometheusRule: boolean;
  istio: boolean;
}

export const NO_CAPABILITIES: Capabilities = { serviceMonitor: false, prometheusRule: false, istio: false };
