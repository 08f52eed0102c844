import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import { type ClusterNames, LABEL_SERVICE_ROLE } from './names.js';

/**
 * Port names follow Istio's protocol selection (`grpc-`, `http-`, `tcp-`
 * prefixes) and carry appProtocol too. Gossip is served on UDP and TCP.
 */
export const PORT_NAMES = {
  grpc: 'grpc-data',
  admin: 'http-admin',
  gossipTcp: 'tcp-gossip',
  gossipUdp: 'udp-gossip',
  redis: 'tcp-redis',
} as const;

export function servicePorts(cluster: CacheCluster, which: 'all' | 'client'): V1ServicePort[] {
  const p = cluster.spec.ports;
  const client: V1ServicePort[] = [
    { name: PORT_NAMES.grpc, port: p.grpc, targetPort: p.grpc, protocol: 'TCP', appProtocol: 'grpc' },
    { name: PORT_NAMES.redis, port: p.redis, targetPort: p.redis, protocol: 'TCP', appProtocol: 'tcp' },
  ];
  if (which === 'client') return client;
  return [
    ...client,
    { name: PORT_NAMES.admin, port: p.admin, targetPort: p.admin, protocol: 'TCP', appProtocol: 'http' },
    { name: PORT_NAMES.gossipTcp, port: p.gossip, targetPort: p.gossip, protocol: 'TCP', appProtocol: 'tcp' },
    { name: PORT_NAMES.gossipUdp, port: p.gossip, targetPort: p.gossip, protocol: 'UDP' },
  ];
}

/**
 * Headless Service: gives each pod its DNS name and is the seed list. It
 * publishes pods before they are ready, so joining nodes find each other.
 */
export function buildHeadlessService(cluster: CacheCluster, names: ClusterNames): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.headlessService,
      namespace: names.namespace,
      labels: { ...names.labels, [LABEL_SERVICE_ROLE]: 'headless' },
    },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: names.selector,
      ports: servicePorts(cluster, 'all'),
    },
  };
}

/** Client Service: one stable name for applications (gRPC and Redis), ready pods only. */
export function buildClientService(cluster: CacheCluster, names: ClusterNames): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.clientService,
      namespace: names.namespace,
      labels: { ...names.labels, [LABEL_SERVICE_ROLE]: 'client' },
    },
    spec: {
      type: 'ClusterIP',
      selector: names.selector,
      ports: servicePorts(cluster, 'client'),
    },
  };
}
