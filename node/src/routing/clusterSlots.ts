import { DEFAULT_CACHE_NAME, type Member, type Topology } from '@meshcache/proto';

/** One replica of a range, with where to reach it. */
export interface SlotsReplica {
  id: string;
  zone: string;
  grpcAddress: string;
  redisAddress: string;
  meshAddress: string;
  state: number;
}

/** What `/v1/cluster/slots` returns: the table as ranges, like Redis CLUSTER SLOTS. */
export interface ClusterSlots {
  epoch: number;
  replicationFactor: number;
  /** Caches that route by this table. */
  caches: string[];
  ranges: { start: number; end: number; primary: SlotsReplica; replicas: SlotsReplica[] }[];
  /**
   * Slots moving to a new replica set: reads still use `ranges`; writes go to
   * both until the cutover (a client writing at a level must reach it in both).
   */
  pending: { start: number; end: number; since: number; replicas: SlotsReplica[] }[];
}

/**
 * The slot ranges of one replication factor (the default cache's unless
 * `replicationFactor` is given) with each replica's addresses, primary first;
 * undefined when the topology has no table for it.
 */
export function clusterSlots(topology: Topology, replicationFactor?: number): ClusterSlots | undefined {
  const factor =
    replicationFactor ??
    (topology.caches.find((c) => c.name === DEFAULT_CACHE_NAME) ?? topology.caches[0])?.replicationFactor;
  const table = topology.tables.find((t) => t.replicationFactor === factor);
  if (factor === undefined || !table) return undefined;
  const byId = new Map<string, Member>(topology.members.map((m) => [m.id, m]));
  const replica = (id: string): SlotsReplica => {
    const m = byId.get(id);
    return {
      id,
      zone: m?.zone ?? '',
      grpcAddress: m?.grpcAddress ?? '',
      redisAddress: m?.redisAddress ?? '',
      meshAddress: m?.meshAddress ?? '',
      state: m?.state ?? 0,
    };
  };
  return {
    epoch: topology.epoch,
    replicationFactor: factor,
    caches: topology.caches.filter((c) => c.replicationFactor === factor).map((c) => c.name),
    ranges: table.ranges.map((r) => {
      const replicas = r.replicas.map(replica);
      return { start: r.start, end: r.end, primary: replicas[0]!, replicas };
    }),
    pending: (table.pending ?? []).map((p) => ({
      start: p.start,
      end: p.end,
      since: p.since,
      replicas: p.replicas.map(replica),
    })),
  };
}
