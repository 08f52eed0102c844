import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { CacheCluster, CacheClusterSpec } from '../crd/CacheClusterSchema.js';
import { toYaml } from '../manifests/toYaml.js';
import type { ClusterNames } from './names.js';
import { parseBytes, parseDurationMs } from './units.js';

/** Key of the node configuration in the ConfigMap, and where pods mount it. */
export const NODE_CONFIG_KEY = 'node.yaml';
export const NODE_CONFIG_DIR = '/etc/meshcache';
export const NODE_CONFIG_PATH = `${NODE_CONFIG_DIR}/${NODE_CONFIG_KEY}`;

/**
 * The `meshcache-node` settings every pod of the cluster shares, with the keys
 * of its YAML config file (node/src/config/NodeOptions.ts). Per-pod settings
 * (id, advertised host, zone) come from the environment instead.
 */
export function nodeSettings(spec: CacheClusterSpec): Record<string, unknown> {
  return {
    grpcPort: spec.ports.grpc,
    adminPort: spec.ports.admin,
    gossipPort: spec.ports.gossip,
    redisPort: spec.ports.redis,
    replicaPort: spec.ports.replica,
    logLevel: spec.logLevel,
    ...replicationSettings(spec.replication),
    caches: spec.caches.map((c) => ({
      name: c.name,
      maxMemoryBytes: parseBytes(c.maxMemory),
      defaultTtlMs: parseDurationMs(c.defaultTtl),
      maxValueBytes: parseBytes(c.maxValueSize),
      evictionPolicy: c.evictionPolicy,
      replicationFactor: c.replicationFactor,
      defaultConsistency: c.defaultConsistency,
    })),
  };
}

/** spec.replication as node settings: only the fields set (the rest keep the node's defaults). */
export function replicationSettings(r: CacheClusterSpec['replication']): Record<string, number> {
  const out: Record<string, number> = {};
  if (r.maxClockSkew !== undefined) out['maxClockSkewMs'] = parseDurationMs(r.maxClockSkew);
  if (r.tombstoneGrace !== undefined) out['tombstoneGraceMs'] = parseDurationMs(r.tombstoneGrace);
  if (r.maxHintAge !== undefined) out['maxHintAgeMs'] = parseDurationMs(r.maxHintAge);
  if (r.readRepairChance !== undefined) out['readRepairChance'] = r.readRepairChance;
  return out;
}

export function nodeConfigYaml(spec: CacheClusterSpec): string {
  return toYaml([nodeSettings(spec)], 'meshcache-node settings, written by the meshcache operator.');
}

/** Short digest of the config; in the pod template, so a change rolls the pods. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function buildConfigMap(cluster: CacheCluster, names: ClusterNames): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.configMap, namespace: names.namespace, labels: names.labels },
    data: { [NODE_CONFIG_KEY]: nodeConfigYaml(cluster.spec) },
  };
}
