import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import type { KubeObject } from './KubeObject.js';
import type { ClusterNames } from './names.js';

export const GRPC_SERVICE = 'meshcache.v1.Cache';
/** Label of the canary example's subsets. */
export const TRACK_LABEL = 'meshcache.io/track';

export interface IstioOptions {
  /**
   * Canary example: split traffic between pods labelled
   * `meshcache.io/track: stable` and `meshcache.io/track: canary` (set through
   * spec.podMetadata.labels), sending `weight` percent to the canary.
   */
  canary?: { weight: number };
}

function destination(cluster: CacheCluster, names: ClusterNames, opts: IstioOptions): unknown[] {
  const base = { host: names.clientFqdn, port: { number: cluster.spec.ports.grpc } };
  if (!opts.canary) return [{ destination: base }];
  return [
    { destination: { ...base, subset: 'stable' }, weight: 100 - opts.canary.weight },
    { destination: { ...base, subset: 'canary' }, weight: opts.canary.weight },
  ];
}

/**
 * VirtualService of the client Service's gRPC port. The long-lived streams
 * (Execute, WatchTopology) get no timeout (the field is left out); the unary ExecuteBatch gets a
 * timeout and retries (meshes balance and retry it per call); the rest
 * (Handshake, Ping) a timeout.
 */
export function buildVirtualService(
  cluster: CacheCluster,
  names: ClusterNames,
  opts: IstioOptions = {},
): KubeObject {
  const mesh = cluster.spec.mesh;
  const grpcPort = cluster.spec.ports.grpc;
  const route = destination(cluster, names, opts);
  const method = (m: string) => ({ uri: { exact: `/${GRPC_SERVICE}/${m}` }, port: grpcPort });
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: names.istio, namespace: names.namespace, labels: names.labels },
    spec: {
      hosts: [names.clientFqdn],
      http: [
        {
          name: 'streams',
          match: [method('Execute'), method('WatchTopology')],
          route,
          // No timeout field: Istio then applies none, which long-lived streams need
          // (the CRD rejects "0s").
        },
        {
          name: 'execute-batch',
          match: [method('ExecuteBatch')],
          route,
          timeout: mesh.batchTimeout,
          retries: {
            attempts: mesh.batchRetries,
            retryOn: 'unavailable,resource-exhausted,connect-failure,refused-stream,reset',
          },
        },
        { name: 'unary', match: [{ port: grpcPort }], route, timeout: mesh.batchTimeout },
      ],
    },
  };
}

/** DestinationRule: mutual TLS, bounded connection pool, outlier detection (and canary subsets). */
export function buildDestinationRule(
  _cluster: CacheCluster,
  names: ClusterNames,
  opts: IstioOptions = {},
): KubeObject {
  const spec: Record<string, unknown> = {
    host: names.clientFqdn,
    trafficPolicy: {
      tls: { mode: 'ISTIO_MUTUAL' },
      loadBalancer: { simple: 'LEAST_REQUEST' },
      connectionPool: {
        tcp: {
          maxConnections: 1024,
          connectTimeout: '2s',
          tcpKeepalive: { time: '300s', interval: '30s', probes: 3 },
        },
        http: {
          http2MaxRequests: 10000,
          maxRequestsPerConnection: 0,
          maxRetries: 64,
        },
      },
      outlierDetection: {
        consecutive5xxErrors: 5,
        consecutiveGatewayErrors: 3,
        interval: '10s',
        baseEjectionTime: '30s',
        maxEjectionPercent: 34,
      },
    },
  };
  if (opts.canary) {
    spec['subsets'] = [
      { name: 'stable', labels: { [TRACK_LABEL]: 'stable' } },
      { name: 'canary', labels: { [TRACK_LABEL]: 'canary' } },
    ];
  }
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: names.istio, namespace: names.namespace, labels: names.labels },
    spec,
  };
}

/**
 * PeerAuthentication of the pods: mTLS on the data plane. Gossip is outside
 * the mesh (not captured); the admin port also accepts plain text, so the
 * kubelet's probes, Prometheus and the operator reach /readyz and /metrics.
 *
 * The replica port (node-to-node Replica streams) is in the mesh: it is
 * captured like the client ports, named `grpc-replica` (appProtocol grpc) on
 * the headless Service, and peers dial it at the per-pod DNS name
 * (`POD.NAME-headless...:replica`, advertised through gossip), which the
 * sidecar routes to that pod with auto mTLS and no route timeout, so the
 * long-lived streams need no VirtualService or DestinationRule of their own
 * (those here are for the client Service's host only). It is listed at port
 * level with the same mode as the workload, spec.mesh.mtls: STRICT by
 * default, since both ends are always meshed pods of this cluster; PERMISSIVE
 * only when asked, which also lets not-yet-meshed pods replicate while a
 * cluster is being moved into the mesh pod by pod. Listing it keeps the
 * port's mode visible beside gossip's DISABLE and admin's PERMISSIVE.
 */
export function buildPeerAuthentication(cluster: CacheCluster, names: ClusterNames): KubeObject {
  const ports = cluster.spec.ports;
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: names.istio, namespace: names.namespace, labels: names.labels },
    spec: {
      selector: { matchLabels: names.selector },
      mtls: { mode: cluster.spec.mesh.mtls },
      portLevelMtls: {
        [String(ports.gossip)]: { mode: 'DISABLE' },
        [String(ports.admin)]: { mode: 'PERMISSIVE' },
        [String(ports.replica)]: { mode: cluster.spec.mesh.mtls },
      },
    },
  };
}

export function buildIstioObjects(
  cluster: CacheCluster,
  names: ClusterNames,
  opts: IstioOptions = {},
): KubeObject[] {
  return [
    buildVirtualService(cluster, names, opts),
    buildDestinationRule(cluster, names, opts),
    buildPeerAuthentication(cluster, names),
  ];
}
