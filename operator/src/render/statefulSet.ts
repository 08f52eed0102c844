import type {
  V1Container,
  V1EnvVar,
  V1PodSpec,
  V1ResourceRequirements,
  V1StatefulSet,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import type { ClusterNames } from './names.js';
import { configHash, NODE_CONFIG_DIR, NODE_CONFIG_PATH, nodeConfigYaml } from './nodeConfig.js';
import type { RenderContext } from './RenderContext.js';
import { PORT_NAMES } from './services.js';

export const CONTAINER_NAME = 'node';
export const CONFIG_HASH_ANNOTATION = 'meshcache.io/config-hash';
/** The node image's user (uid/gid 1000, `node` in the official Node.js images). */
const NODE_UID = 1000;

/**
 * Pod annotations and labels for the mesh. Sidecar mode: the app waits for
 * the proxy, and the gossip port stays out of traffic capture (gossip is UDP,
 * which the sidecar does not proxy; its TCP push-pull goes the same way so
 * both reach the peer alike). The replica port is captured like the client
 * ports: node-to-node replication goes through the sidecars with mTLS (see
 * buildPeerAuthentication). Ambient mode: the pod is enrolled by label.
 */
export function meshPodMetadata(cluster: CacheCluster): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const mesh = cluster.spec.mesh;
  if (!mesh.enabled) return { labels: {}, annotations: {} };
  if (mesh.mode === 'ambient') return { labels: { 'istio.io/dataplane-mode': 'ambient' }, annotations: {} };
  const gossip = String(cluster.spec.ports.gossip);
  return {
    labels: { 'sidecar.istio.io/inject': 'true' },
    annotations: {
      'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}',
      'traffic.sidecar.istio.io/excludeInboundPorts': gossip,
      'traffic.sidecar.istio.io/excludeOutboundPorts': gossip,
    },
  };
}

function env(cluster: CacheCluster, names: ClusterNames): V1EnvVar[] {
  const podDns = `$(POD_NAME).${names.headlessFqdn}`;
  const vars: V1EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'MESHCACHE_CONFIG', value: NODE_CONFIG_PATH },
    { name: 'MESHCACHE_ID', value: '$(POD_NAME)' },
    // Advertised to peers and clients: the pod's stable DNS name through the headless Service.
    { name: 'MESHCACHE_HOST', value: podDns },
    // The pod's mesh name (hybrid clients route to it through the mesh).
    { name: 'MESHCACHE_MESH_ADDRESS', value: `${podDns}:${cluster.spec.ports.grpc}` },
    // Seeds: the headless Service resolves to every pod, ready or not.
    { name: 'MESHCACHE_SEEDS', value: `${names.headlessFqdn}:${cluster.spec.ports.gossip}` },
  ];
  if (cluster.spec.scheduling.zoneAware) {
    // The zone label on the pod (set from the node's by Kubernetes' pod topology labels).
    vars.push({
      name: 'MESHCACHE_ZONE',
      valueFrom: { fieldRef: { fieldPath: `metadata.labels['${cluster.spec.scheduling.zoneTopologyKey}']` } },
    });
  }
  return vars;
}

function container(cluster: CacheCluster, ctx: RenderContext, names: ClusterNames): V1Container {
  const s = cluster.spec;
  const resources: V1ResourceRequirements = {};
  if (s.resources?.requests) resources.requests = { ...s.resources.requests } as Record<string, string>;
  if (s.resources?.limits) resources.limits = { ...s.resources.limits } as Record<string, string>;
  return {
    name: CONTAINER_NAME,
    image: s.image ?? ctx.defaultImage,
    imagePullPolicy: s.imagePullPolicy,
    env: env(cluster, names),
    ports: [
      { name: 'grpc', containerPort: s.ports.grpc, protocol: 'TCP' },
      { name: PORT_NAMES.admin, containerPort: s.ports.admin, protocol: 'TCP' },
      { name: PORT_NAMES.gossipTcp, containerPort: s.ports.gossip, protocol: 'TCP' },
      { name: PORT_NAMES.gossipUdp, containerPort: s.ports.gossip, protocol: 'UDP' },
      { name: PORT_NAMES.redis, containerPort: s.ports.redis, protocol: 'TCP' },
      { name: PORT_NAMES.replica, containerPort: s.ports.replica, protocol: 'TCP' },
    ],
    readinessProbe: {
      httpGet: { path: '/readyz', port: PORT_NAMES.admin },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: PORT_NAMES.admin },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 6,
    },
    startupProbe: {
      httpGet: { path: '/healthz', port: PORT_NAMES.admin },
      periodSeconds: 2,
      failureThreshold: 60,
    },
    resources,
    volumeMounts: [{ name: 'config', mountPath: NODE_CONFIG_DIR, readOnly: true }],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

function scheduling(cluster: CacheCluster, names: ClusterNames): Partial<V1PodSpec> {
  const s = cluster.spec.scheduling;
  const out: Partial<V1PodSpec> = {};
  if (s.nodeSelector) out.nodeSelector = { ...s.nodeSelector };
  if (s.affinity) out.affinity = s.affinity as V1PodSpec['affinity'];
  if (s.tolerations?.length) out.tolerations = s.tolerations.map((t) => ({ ...t }) as V1Toleration);
  const spread: V1TopologySpreadConstraint[] = (s.topologySpreadConstraints ?? []).map(
    (t) =>
      ({
        ...t,
        labelSelector: t.labelSelector ?? { matchLabels: names.selector },
      }) as V1TopologySpreadConstraint,
  );
  if (s.zoneAware) {
    spread.push({
      maxSkew: 1,
      topologyKey: s.zoneTopologyKey,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: names.selector },
    });
  }
  if (spread.length) out.topologySpreadConstraints = spread;
  if (s.priorityClassName) out.priorityClassName = s.priorityClassName;
  return out;
}

/** The StatefulSet of the cache nodes. */
export function buildStatefulSet(
  cluster: CacheCluster,
  ctx: RenderContext,
  names: ClusterNames,
): V1StatefulSet {
  const s = cluster.spec;
  const mesh = meshPodMetadata(cluster);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: names.statefulSet, namespace: names.namespace, labels: names.labels },
    spec: {
      replicas: s.replicas,
      serviceName: names.headlessService,
      // Nodes join through gossip, so they can start together; the operator
      // orders scale-down and upgrades itself.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: names.selector },
      updateStrategy:
        s.updateStrategy.type === 'OnDelete'
          ? { type: 'OnDelete' }
          : { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      template: {
        metadata: {
          labels: { ...(s.podMetadata?.labels ?? {}), ...mesh.labels, ...names.labels },
          annotations: {
            ...(s.podMetadata?.annotations ?? {}),
            ...mesh.annotations,
            [CONFIG_HASH_ANNOTATION]: configHash(nodeConfigYaml(s)),
          },
        },
        spec: {
          containers: [container(cluster, ctx, names)],
          ...(s.imagePullSecrets?.length
            ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) }
            : {}),
          ...scheduling(cluster, names),
          // Node SIGTERM: stop taking work, finish in flight (shutdownTimeoutMs, 10 s), exit.
          terminationGracePeriodSeconds: 30,
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NODE_UID,
            runAsGroup: NODE_UID,
            fsGroup: NODE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumes: [{ name: 'config', configMap: { name: names.configMap } }],
        },
      },
    },
  };
}
