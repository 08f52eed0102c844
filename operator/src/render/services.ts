import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import { type ClusterNames, LABEL_SERVICE_ROLE } from './names.js';

/**
 * Port names follow Istio's protocol selection (`grpc-`, `http-`, `tcp-`
 * prefixes) and carry appProtocol too. Gossip is served on UDP and TCP. The
 * replica port is gRPC (the node-to-node Replica service), so a sidecar
 * proxies it as HTTP/2 (see istio.ts for the mesh's handling of it).
 */
export const PORT_NAMES = {
  grpc: 'grpc-data',
  admin: 'http-admin',
  gossipTcp: 'tcp-gossip',
  gossipUdp: 'udp-gossip',
  redis: 'tcp-redis',
  replica: 'grpc-replica',
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
    // Members only: peers dial each other's replica port at the per-pod DNS name
    // (advertised through gossip), so the headless Service carries it and the
    // client Service does not.
    {
      name: PORT_NAMES.replica,
      port: p.replica,
      targetPort: p.replica,
      protocol: 'TCP',
      appProtocol: 'grpc',
    },
  ];
}

/**
 * Headless Service: gives each pod its DNS name and is the seed list. It
 * publishes pods before they are ready, so joining nodes find each other. It
 * lists every port, replica included, so a mesh knows each port's protocol
 * for the per-pod names.
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
