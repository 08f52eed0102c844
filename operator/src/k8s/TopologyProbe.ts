import type { CacheCluster } from '../crd/CacheClusterSchema.js';
import { clusterNames } from '../render/names.js';

/** Asks a node of the cluster which topology epoch it holds. */
export interface TopologyProbe {
  epoch(cluster: CacheCluster, readyPods: string[]): Promise<number | undefined>;
}

/** Reads /v1/cluster/topology from the admin port of up to three ready pods (first answer wins). */
export class HttpTopologyProbe implements TopologyProbe {
  constructor(
    private readonly clusterDomain: string,
    private readonly timeoutMs = 1_000,
  ) {}

  async epoch(cluster: CacheCluster, readyPods: string[]): Promise<number | undefined> {
    const names = clusterNames(cluster, this.clusterDomain);
    for (const pod of readyPods.slice(0, 3)) {
      try {
        const res = await fetch(
          `http://${pod}.${names.headlessFqdn}:${cluster.spec.ports.admin}/v1/cluster/topology`,
          {
            signal: AbortSignal.timeout(this.timeoutMs),
          },
        );
        if (!res.ok) continue;
        const body = (await res.json()) as { epoch?: number | string };
        if (body.epoch !== undefined) return Number(body.epoch);
      } catch {
        // next pod
      }
    }
    return undefined;
  }
}
