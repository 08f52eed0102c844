import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { cacheClusterOpenApiSchema } from '../../../src/crd/cacheClusterCrd.js';
import { StructuralValidator } from '../../support/structuralValidator.js';
import { repoRoot } from '../../support/repoRoot.js';

// The CRD's OpenAPI schema and CEL rules, evaluated as the API server would
// (test double: ajv for OpenAPI with unknown fields rejected, @marcbachmann/cel-js for CEL).
const validator = new StructuralValidator(cacheClusterOpenApiSchema());

function cluster(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'meshcache.io/v1alpha1', kind: 'CacheCluster', metadata: { name: 'c1' }, spec };
}

function messages(spec: Record<string, unknown>): string[] {
  return validator.validate(cluster(spec)).problems.map((p) => `${p.path}: ${p.message}`);
}

describe('CacheCluster validation (OpenAPI + CEL)', () => {
  it('accepts an empty spec and fills every default', () => {
    const r = validator.validate(cluster({}));
    expect(r.problems).toEqual([]);
    const spec = (r.value as { spec: Record<string, unknown> }).spec;
    expect(spec['replicas']).toBe(3);
    expect(spec['caches']).toEqual([
      {
        name: 'default',
        replicationFactor: 1,
        defaultConsistency: 'ONE',
        defaultTtl: '0s',
        maxMemory: '256Mi',
        maxValueSize: '1Mi',
        evictionPolicy: 's3fifo',
      },
    ]);
    expect(spec['ports']).toEqual({ grpc: 7070, admin: 8080, gossip: 7946, redis: 6379, replica: 7071 });
    expect(spec['replication']).toEqual({}); // every field left to the node's defaults
    expect(spec['networkPolicy']).toEqual({ enabled: false });
    expect(spec['mesh']).toEqual({
      enabled: false,
      mode: 'sidecar',
      mtls: 'STRICT',
      batchTimeout: '5s',
      batchRetries: 2,
    });
    expect(spec['podDisruptionBudget']).toEqual({ enabled: true });
  });

  it('accepts examples/cachecluster.yaml', () => {
    const example = parseYaml(readFileSync(join(repoRoot, 'examples/cachecluster.yaml'), 'utf8')) as unknown;
    expect(validator.validate(example).problems).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['zero replicas', { replicas: 0 }, '.spec.replicas: must be >= 1'],
    ['an unknown field', { replica: 3 }, '.spec: unknown field "replica"'],
    ['an unknown cache field', { caches: [{ name: 'a', ttl: 5 }] }, '.spec.caches.0: unknown field "ttl"'],
    [
      'a bad eviction policy',
      { caches: [{ name: 'a', evictionPolicy: 'lfu' }] },
      'must be one of "s3fifo", "lru"',
    ],
    ['a bad cache name', { caches: [{ name: 'Bad Name' }] }, '.spec.caches.0.name: must match pattern'],
    [
      'a bad memory size',
      { caches: [{ name: 'a', maxMemory: '1 gig' }] },
      '.spec.caches.0.maxMemory: must match pattern',
    ],
    [
      'a bad TTL',
      { caches: [{ name: 'a', defaultTtl: '10' }] },
      '.spec.caches.0.defaultTtl: must match pattern',
    ],
    ['no caches', { caches: [] }, '.spec.caches: must NOT have fewer than 1 items'],
    ['a bad port', { ports: { grpc: 70000 } }, '.spec.ports.grpc: must be <= 65535'],
    [
      'a bad resource quantity',
      { resources: { limits: { memory: '2 GB' } } },
      '.spec.resources.limits.memory: must match pattern',
    ],
    ['a bad mesh mode', { mesh: { enabled: true, mode: 'linkerd' } }, '.spec.mesh.mode: must be one of'],
  ])('rejects %s (OpenAPI)', (_name, spec, expected) => {
    expect(messages(spec).join('\n')).toContain(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a replication factor above replicas',
      { replicas: 2, caches: [{ name: 'a', replicationFactor: 3 }] },
      '.spec.caches: every cache replicationFactor must be at most spec.replicas',
    ],
    [
      'two ports the same',
      { ports: { grpc: 8080 } },
      '.spec.ports: ports.grpc, ports.admin, ports.gossip, ports.redis and ports.replica must be five different ports',
    ],
    [
      'the replica port on a client port',
      { ports: { replica: 7070 } },
      '.spec.ports: ports.grpc, ports.admin, ports.gossip, ports.redis and ports.replica must be five different ports',
    ],
    [
      'the replica port on the default gossip port',
      { ports: { gossip: 7071 } },
      '.spec.ports: ports.grpc, ports.admin, ports.gossip, ports.redis and ports.replica must be five different ports',
    ],
    [
      'a reserved pod label',
      { podMetadata: { labels: { 'app.kubernetes.io/instance': 'x' } } },
      '.spec.podMetadata: podMetadata.labels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/managed-by (the operator owns them)',
    ],
    [
      'a toleration Exists with a value',
      { scheduling: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } },
      '.spec.scheduling.tolerations[0]: a toleration with operator Exists must not set value',
    ],
    [
      'zoneAware with its own zone constraint',
      {
        scheduling: {
          zoneAware: true,
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
          ],
        },
      },
      '.spec.scheduling.topologySpreadConstraints: scheduling.zoneAware already spreads over zoneTopologyKey',
    ],
    [
      'duplicate cache names',
      { caches: [{ name: 'a' }, { name: 'a' }] },
      '.spec.caches[1]: Duplicate value: ["a"]',
    ],
  ])('rejects %s (CEL / list type)', (_name, spec, expected) => {
    expect(messages(spec).join('\n')).toContain(expected);
  });
});
