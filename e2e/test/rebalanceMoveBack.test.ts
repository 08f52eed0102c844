// A slot moves away and back within the drop grace: its data is still there
// (kept, not dropped and fetched again). Real processes, loopback.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, stringSerializer } from '@meshcache/client';
import { keySlot } from '@meshcache/proto';
import { Cluster, postJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import {
  committedSets,
  misreadKeys,
  ownCopies,
  type RebalanceCounters,
  rebalanceStatus,
  settledDigestMismatches,
  writeAll,
} from '../src/rebalance/probes.js';
import { type Topology, waitSettled } from '../src/rebalance/settle.js';

jest.setTimeout(360_000);

const DROP_GRACE_MS = 60_000;
const valueOf = (key: string) => `v-${key}`;

/** Slots `id` holds in the committed table of factor 3. */
function heldBy(topology: Topology, id: string): Set<number> {
  const out = new Set<number>();
  committedSets(topology, 3).forEach((replicas, s) => {
    if (replicas.includes(id)) out.add(s);
  });
  return out;
}

describe('rebalancing: a slot moves away and back within the drop grace', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('is kept by its old owners: nothing of it dropped, every key there, replicas agree', async () => {
    // No anti-entropy: it would copy back what a wrong drop removed and hide it.
    cluster = await Cluster.start(4, {
      args: ['--drop-grace-ms', String(DROP_GRACE_MS), '--anti-entropy', 'false'],
    });
    const c = cluster;
    const owners = c.nodes.slice(0, 4);
    for (const n of owners) clients.push(createClient({ url: n.grpcAddress, serializer: stringSerializer }));
    const keys = Array.from({ length: 3000 }, (_, i) => `mb${i}`);
    await writeAll(clients, keys, valueOf);
    const t0 = await waitSettled(owners, 4);
    const before = new Map<string, RebalanceCounters>();
    for (const n of owners) before.set(n.id, (await rebalanceStatus(n)).counters);

    // Away: a 5th node takes slots from every owner.
    const fifth = await c.add();
    const t1 = await waitSettled(c.nodes, 5, 120_000);
    // Back: draining it returns its slots to the four.
    const r = await postJson(`${fifth.adminUrl}/v1/cluster/drain`, {});
    expect(r.status).toBe(202);
    const t2 = await waitSettled(owners, 4, 120_000);
    expect(t2.members.map((m) => m.id)).not.toContain(fifth.id);

    const movedBack = new Map<string, Set<number>>();
    const goneForGood = new Map<string, Set<number>>();
    for (const n of owners) {
      const [h0, h1, h2] = [heldBy(t0, n.id), heldBy(t1, n.id), heldBy(t2, n.id)];
      movedBack.set(n.id, new Set([...h0].filter((s) => !h1.has(s) && h2.has(s))));
      goneForGood.set(n.id, new Set([...h0, ...h1].filter((s) => !h2.has(s))));
    }
    const keysIn = (slots: Set<number>) => keys.filter((k) => slots.has(keySlot(k)));
    // The scenario happened: keys left their owners and came back to them.
    const backKeys = owners.reduce((a, n) => a + keysIn(movedBack.get(n.id)!).length, 0);
    expect(backKeys).toBeGreaterThan(0);

    /**
     * Keys are the measure of what a drop removed: the slots the forming
     * cluster moved around before the preload are dropped inside this window
     * too (they count in slotsDropped), but they held no keys.
     */
    const keysDropped = async (n: NodeProcess) =>
      (await rebalanceStatus(n)).counters.keysDropped - before.get(n.id)!.keysDropped;
    /** Each owner's own copy of every key of the slots that came back to it (no coordinator, no repair). */
    const missingOnOwners = async () => {
      const out: string[] = [];
      for (const n of owners) {
        const back = keysIn(movedBack.get(n.id)!);
        const copies = await ownCopies(n, back);
        for (const k of back) if (copies.get(k) !== valueOf(k)) out.push(`${n.id} ${k}: ${copies.get(k)}`);
      }
      return out;
    };

    // Inside the grace of the first move: no owner dropped a key, and each still holds what came back.
    for (const n of owners)
      expect({ node: n.id, keysDropped: await keysDropped(n) }).toEqual({ node: n.id, keysDropped: 0 });
    expect(await missingOnOwners()).toEqual([]);
    const reader = clients[0]!;
    expect(await misreadKeys(reader, keys, valueOf)).toEqual([]);

    // Past it: once no node holds data outside its slots (every due drop
    // ran), each owner dropped exactly the keys of the slots it stopped
    // holding for good, and none of those that came back. The way back does
    // not return every slot to its first owner (4 -> 5 -> 4 rebalances within
    // the balance band rather than restoring the old table), and those drops
    // were scheduled no earlier than the moved-back slots' (same cutover or a
    // later one): once they have run, the moved-back slots' grace is over too.
    const goneKeys = owners.reduce((a, n) => a + keysIn(goneForGood.get(n.id)!).length, 0);
    expect(goneKeys).toBeGreaterThan(0);
    const mismatches = await settledDigestMismatches(owners, t2, 3, DROP_GRACE_MS + 90_000);
    expect(mismatches.slice(0, 10)).toEqual([]);
    for (const n of owners) {
      expect({ node: n.id, keysDropped: await keysDropped(n) }).toEqual({
        node: n.id,
        keysDropped: keysIn(goneForGood.get(n.id)!).length,
      });
    }
    expect(await missingOnOwners()).toEqual([]);
    expect(await misreadKeys(reader, keys, valueOf)).toEqual([]);
  });
});
