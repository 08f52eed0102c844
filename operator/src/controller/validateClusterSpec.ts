import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import type { RenderContext } from '../render/RenderContext.js';
import { parseBytes, parseQuantity } from '../render/units.js';

/** Headroom the node process needs beside its caches' budgets (runtime, buffers). */
export const NODE_OVERHEAD_BYTES = 128 * 1024 * 1024;

/** A node's per-cache budget bounds (the node checks them too: `caches.N.maxMemoryBytes`). */
export const MIN_CACHE_MEMORY_BYTES = 64 * 1024;
export const MAX_CACHE_MEMORY_BYTES = 16 * 1024 * 1024 * 1024;

/**
 * Checks the CRD's schema cannot make (sums, quantities, operator settings).
 * Returns one clear sentence per problem; empty when the spec is usable.
 * The CRD rules themselves (OpenAPI and CEL) are enforced by the API server.
 */
export function validateClusterSpec(cluster: CacheCluster, ctx: RenderContext): string[] {
  const s = cluster.spec;
  const problems: string[] = [];
  if (!s.image && !ctx.defaultImage) {
    problems.push('spec.image is empty and the operator has no default node image (--node-image)');
  }
  let budget = 0;
  for (const c of s.caches) {
    const mem = parseBytes(c.maxMemory);
    const value = parseBytes(c.maxValueSize);
    budget += mem;
    if (mem < MIN_CACHE_MEMORY_BYTES || mem > MAX_CACHE_MEMORY_BYTES) {
      problems.push(
        `cache "${c.name}": maxMemory ${c.maxMemory} is outside 64Ki..16Gi, the budgets a node accepts per cache`,
      );
    }
    if (value > mem) {
      problems.push(
        `cache "${c.name}": maxValueSize ${c.maxValueSize} is larger than its maxMemory ${c.maxMemory}`,
      );
    }
  }
  const limit = s.resources?.limits?.['memory'];
  if (limit !== undefined) {
    const limitBytes = parseQuantity(limit);
    if (budget + NODE_OVERHEAD_BYTES > limitBytes) {
      problems.push(
        `the caches' maxMemory adds up to ${mib(budget)} MiB, which with ${mib(NODE_OVERHEAD_BYTES)} MiB for the node process ` +
          `does not fit in resources.limits.memory ${limit} (${mib(limitBytes)} MiB): raise the limit or lower maxMemory`,
      );
    }
  }
  const request = s.resources?.requests?.['memory'];
  if (request !== undefined && limit !== undefined && parseQuantity(request) > parseQuantity(limit)) {
    problems.push(`resources.requests.memory ${request} is larger than resources.limits.memory ${limit}`);
  }
  const cpuReq = s.resources?.requests?.['cpu'];
  const cpuLim = s.resources?.limits?.['cpu'];
  if (cpuReq !== undefined && cpuLim !== undefined && parseQuantity(cpuReq) > parseQuantity(cpuLim)) {
    problems.push(`resources.requests.cpu ${cpuReq} is larger than resources.limits.cpu ${cpuLim}`);
  }
  return problems;
}

function mib(bytes: number): number {
  return Math.round((bytes / (1024 * 1024)) * 10) / 10;
}
