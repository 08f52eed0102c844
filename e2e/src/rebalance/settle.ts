import { getJson } from '../Cluster.js';
import type { NodeProcess } from '../NodeProcess.js';
import { waitFor } from '../waitFor.js';

interface TopologyReply {
  epoch: number;
  members: { id: string }[];
  tables: {
    replicationFactor: number;
    ranges: { start: number; end: number; replicas: string[] }[];
    pending?: { start: number; end: number; replicas: string[]; since: number }[];
  }[];
}

export type Topology = TopologyReply;

export function topologyOf(node: NodeProcess): Promise<TopologyReply> {
  return getJson<TopologyReply>(`${node.adminUrl}/v1/cluster/topology`);
}

/**
 * Waits until every node holds the same epoch with `members` members, no
 * pending move, and says it is ready (every slot it holds filled); returns
 * that topology.
 */
export async function waitSettled(
  nodes: readonly NodeProcess[],
  members: number,
  timeoutMs = 60_000,
): Promise<TopologyReply> {
  return waitFor(
    async () => {
      const tops = await Promise.all(nodes.map((n) => topologyOf(n)));
      const first = tops[0]!;
      if (first.members.length !== members) return undefined;
      if (!tops.every((t) => t.epoch === first.epoch)) return undefined;
      if (first.tables.some((t) => (t.pending ?? []).length > 0)) return undefined;
      const ready = await Promise.all(nodes.map(async (n) => (await fetch(`${n.adminUrl}/readyz`)).status));
      return ready.every((s) => s === 200) ? first : undefined;
    },
    {
      timeoutMs,
      intervalMs: 200,
      what: `${members} members settled: same epoch, nothing pending, all ready`,
    },
  );
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
  topology: TopologyReply,
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
