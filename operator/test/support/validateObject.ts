import { cacheClusterOpenApiSchema } from '../../src/crd/cacheClusterCrd.js';
import { kubernetesModelProblems } from './kubernetesModels.js';
import { StructuralValidator } from './structuralValidator.js';

const cacheCluster = new StructuralValidator(cacheClusterOpenApiSchema());

/**
 * Problems of any object the project renders or ships: Kubernetes, Prometheus
 * Operator and Istio kinds against kubernetes-models (@kubernetes-models/istio
 * for Istio, plus the Istio CRDs' CEL rules), CacheCluster against its own
 * CRD; unknown fields rejected everywhere.
 */
export function objectProblems(obj: { apiVersion: string; kind: string }): string[] {
  if (obj.apiVersion === 'meshcache.io/v1alpha1' && obj.kind === 'CacheCluster') {
    return cacheCluster.validate(obj).problems.map((p) => `CacheCluster ${p.path}: ${p.message}`);
  }
  return kubernetesModelProblems(obj);
}
