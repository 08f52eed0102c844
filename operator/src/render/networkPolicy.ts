import type { V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import type { KubeObject } from './KubeObject.js';
import type { ClusterNames } from './names.js';

/** Istio ambient mode: ztunnel delivers all meshed traffic to a pod on this port (HBONE). */
export const ISTIO_HBONE_PORT = 15008;

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

/**
 * NetworkPolicy of the pods (spec.networkPolicy.enabled): the member-only
 * ports, replica (node-to-node Replica streams) and gossip (TCP and UDP),
 * admit only pods of this cluster (same namespace, the pod selector); the
 * client ports (grpc, redis) and admin (probes, Prometheus, the operator's
 * topology probe) admit anyone. Every other port is closed to ingress; egress
 * is left open (DNS, peers). In Istio ambient mode every meshed connection
 * arrives on ztunnel's HBONE port, replica included, so that port is open and
 * member-only replica traffic is then up to the mesh (mTLS identities), not
 * this policy. Sidecar mode needs nothing more: the sidecar forwards to the
 * original port from the original pod address.
 *
 * In the JSON form (`from`, not the client model's `_from`): see
 * KubeClusterApi.toClientModel.
 */
export function buildNetworkPolicy(cluster: CacheCluster, names: ClusterNames): KubeObject {
  const p = cluster.spec.ports;
  const mesh = cluster.spec.mesh;
  const open = [tcp(p.grpc), tcp(p.redis), tcp(p.admin)];
  if (mesh.enabled && mesh.mode === 'ambient') open.push(tcp(ISTIO_HBONE_PORT));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: names.networkPolicy, namespace: names.namespace, labels: names.labels },
    spec: {
      podSelector: { matchLabels: names.selector },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: names.selector } }],
          ports: [tcp(p.replica), tcp(p.gossip), { protocol: 'UDP', port: p.gossip }],
        },
        { ports: open },
      ],
    },
  };
}
