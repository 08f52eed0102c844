import { applySchemaDefaults } from './applySchemaDefaults.js';
import type { CacheCluster } from './CacheClusterSchema.js';
import { specSchema } from './CacheClusterSchema.js';

/**
 * A CacheCluster read from the API with every spec default filled in, as the
 * API server's structural defaulting would (an object stored before a default
 * was added, or written by a test, may lack some).
 */
export function normalizeCluster(raw: unknown): CacheCluster {
  const obj = raw as CacheCluster;
  return { ...obj, spec: applySchemaDefaults(specSchema.json, obj.spec ?? {}) as CacheCluster['spec'] };
}
