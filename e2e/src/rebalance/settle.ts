import { Cluster, getJson, type SettledTopology } from '../Cluster.js';
import type { NodeProcess } from '../NodeProcess.js';

export type Topology = SettledTopology;

export function topologyOf(node: NodeProcess): Promise<Topology> {
  return getJson<Topology>(`${node.adminUrl}/v1/cluster/topology`);
}

/** Cluster.waitSettled for nodes of any cluster. */
export function waitSettled(
  nodes: readonly NodeProcess[],
  members: number,
  timeoutMs = 60_000,
): Promise<Topology> {
  return new Cluster().waitSettled(nodes, members, timeoutMs);
}

interface DigestsReply {
  items: number;
  slots: Record<string, string>;
}

/**
 * Compares per-slot digests across nodes against the table: every replica
 * of a slot holds the same digest, and a node holds nothing of a slot it is
 * not a replica of. Returns the mismatches (empty when all agree).
 */
export async function digestMismatches(
  nodes: readonly NodeProcess[],
  topology: Topology,
  replicationFactor: number,
  cache = 'default',
): Promise<string[]> {
  const table = topology.tables.find((t) => t.replicationFactor === replicationFactor);
  if (table === undefined) return [`no table of factor ${replicationFactor}`];
  const byId = new Map<string, DigestsReply>();
  for (const n of nodes)
    byId.set(n.id, await getJson<DigestsReply>(`${n.adminUrl}/v1/caches/${cache}/digests`));
  const out: string[] = [];
  for (const r of table.ranges) {
    for (let s = r.start; s <= r.end; s++) {
      const want = byId.get(r.replicas[0]!)?.slots[String(s)];
      for (const id of r.replicas) {
        const got = byId.get(id)?.slots[String(s)];
        if (got !== want)
          out.push(`slot ${s}: ${id} ${got ?? 'empty'} != ${r.replicas[0]} ${want ?? 'empty'}`);
      }
      for (const [id, d] of byId) {
        if (!r.replicas.includes(id) && d.slots[String(s)] !== undefined)
          out.push(`slot ${s}: ${id} holds data but is not a replica`);
      }
    }
  }
  return out;
}

/** Waits until digestMismatches finds none (old owners drop after their grace); returns the last mismatches. */
export async function waitDigestsMatch(
  nodes: readonly NodeProcess[],
  topology: Topology,
  replicationFactor: number,
  timeoutMs = 30_000,
): Promise<string[]> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const m = await digestMismatches(nodes, topology, replicationFactor);
    if (m.length === 0 || performance.now() >= end) return m;
    await new Promise((r) => setTimeout(r, 500));
  }
}
