// A write acknowledged by a bare quorum whose coordinator then dies (its hint
// lost) is present on the new replica after the move. Real processes, loopback.
//
// 3 nodes, RF 3: B (the seed), A (the coordinator), C. C is frozen and every
// node sees it DEAD before the writes, so A sends them to B only and queues
// hints for C (nothing waits in C's socket to apply on SIGCONT). A is then
// killed with the hints; C comes back holding none of the writes but with its
// slots still filled (it never restarted). D joins: wherever D replaces B the
// only live copy of a write is B's, and the final set is {A (dead), C, D}, so
// D must have merged B's copy, not C's alone.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, stringSerializer } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { misreadKeys, ownCopies, rebalanceStatus, replicasOfKey } from '../src/rebalance/probes.js';
import { waitSettled } from '../src/rebalance/settle.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

interface Info {
  replication: { hintsPending: number };
}

const infoOf = (node: NodeProcess) => getJson<Info>(`${node.adminUrl}/v1/info`);
const valueOf = (key: string) => `v-${key}`;

describe('rebalancing: a bare-quorum write whose hint died with its coordinator', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];
  let frozen: NodeProcess | undefined;

  afterAll(async () => {
    frozen?.child.kill('SIGCONT');
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('is on the new replica after the move, though the other surviving old replica never saw it', async () => {
    cluster = await Cluster.start(3, {
      // A dead member stays in the view (only its liveness changes), so the
      // final sets keep A and the move is the only thing that changes them;
      // no read repair and no anti-entropy, so nothing but the move can copy
      // a write to C or D.
      args: [
        '--remove-after-ms',
        '600000',
        '--read-repair-chance',
        '0',
        '--anti-entropy',
        'false',
        '--drop-grace-ms',
        '1000',
      ],
    });
    const c = cluster;
    const [b, a, cNode] = c.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const viaA = createClient({ url: a.grpcAddress, serializer: stringSerializer });
    const viaB = createClient({ url: b.grpcAddress, serializer: stringSerializer });
    clients.push(viaA, viaB);
    await waitFor(
      async () => {
        try {
          return await viaA.set('warm', 'up', { consistency: 'ALL', timeoutMs: 2000 });
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'a write at ALL through A (replica streams up)' },
    );

    frozen = cNode;
    cNode.child.kill('SIGSTOP');
    await waitFor(
      async () => (await c.stateOf(a, cNode.id)) === 'dead' && (await c.stateOf(b, cNode.id)) === 'dead',
      { timeoutMs: 60_000, intervalMs: 100, what: 'A and B to see the frozen C DEAD' },
    );
    const keys = Array.from({ length: 300 }, (_, i) => `qh${i}`);
    for (const key of keys) await viaA.set(key, valueOf(key), { consistency: 'QUORUM', timeoutMs: 5000 });
    // Every one of them is a hint on A and nowhere else (C was never sent them).
    const info = await infoOf(a);
    expect(info.replication.hintsPending).toBeGreaterThanOrEqual(keys.length);

    await a.stop('SIGKILL');
    cNode.child.kill('SIGCONT');
    frozen = undefined;
    await waitFor(
      async () =>
        (await c.stateOf(b, cNode.id)) === 'alive' &&
        (await c.stateOf(cNode, b.id)) === 'alive' &&
        (await c.stateOf(b, a.id)) === 'dead' &&
        (await c.stateOf(cNode, a.id)) === 'dead',
      { timeoutMs: 60_000, intervalMs: 100, what: 'B and C to see each other ALIVE and A DEAD' },
    );
    // The scenario holds: C (still filled, it never restarted) misses every
    // write, B holds every one.
    const onC = await ownCopies(cNode, keys);
    expect(keys.filter((k) => onC.get(k) === valueOf(k))).toEqual([]);
    const onB = await ownCopies(b, keys);
    expect(keys.filter((k) => onB.get(k) !== valueOf(k))).toEqual([]);

    const d = await c.add();
    const live = [b, cNode, d];
    const settled = await waitSettled(live, 4, 120_000);
    expect(settled.members.map((m) => m.id).sort()).toEqual([a.id, b.id, cNode.id, d.id].sort());
    expect((await rebalanceStatus(d)).counters.transfersCompleted).toBeGreaterThan(0);

    const onD = keys.filter((k) => replicasOfKey(settled, 3, k).includes(d.id));
    // D takes about 3/4 of the slots: most keys, and some whose final set dropped B.
    expect(onD.length).toBeGreaterThan(keys.length / 2);
    const withoutB = onD.filter((k) => !replicasOfKey(settled, 3, k).includes(b.id));
    expect(withoutB.length).toBeGreaterThan(0);
    const copies = await ownCopies(d, onD);
    const missing = onD.filter((k) => copies.get(k) !== valueOf(k)).map((k) => `${k}: ${copies.get(k)}`);
    expect(missing).toEqual([]);

    // Through a coordinator too: where B left the set, only D's copy answers with C's nothing.
    expect(await misreadKeys(viaB, keys, valueOf)).toEqual([]);
  });
});
