import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, rawSerializer } from '@meshcache/client';
import {
  antiEntropyArgs,
  infoOf,
  metricSum,
  waitDigestsMatch,
  writeLocal,
} from '../src/antientropy/antiEntropy.js';
import { Cluster } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(180_000);

/**
 * Anti-entropy between real nodes (RF 3 over three nodes: every node holds
 * every slot). Setups:
 * - `--test-write-local`: a test writes into one node's store alone (a new
 *   version from that node's clock, replicated nowhere), which is how the
 *   replicas are made to differ without a fault;
 * - `--read-repair-chance 0`: a read at ONE through a node reads that node's
 *   own store and repairs nothing, so reads neither hide a difference nor fix
 *   one, and what a ONE read shows is that replica's copy;
 * - `--remove-after-ms 120000`: a paused replica stays a member (only its
 *   liveness changes), so the replica sets never move.
 */
const COMMON = ['--read-repair-chance', '0', '--remove-after-ms', '120000'];
const RF = 3;

describe('anti-entropy', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];
  const stopped: NodeProcess[] = [];

  afterEach(async () => {
    for (const n of stopped.splice(0)) n.child.kill('SIGCONT');
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cluster?.stopAll();
    cluster = undefined;
  });

  /** A client per node: at ONE each reads its own node's store. */
  function clientsOf(nodes: readonly NodeProcess[]): MeshcacheClient[] {
    const out = nodes.map((n) => createClient({ url: n.grpcAddress, serializer: rawSerializer }));
    clients.push(...out);
    return out;
  }

  async function readAt(
    c: MeshcacheClient,
    key: string,
    consistency: 'ONE' | 'QUORUM' | 'ALL',
  ): Promise<string | null> {
    const v = await c.get<Buffer>(key, { consistency, timeoutMs: 5000 });
    return v === undefined ? null : v.toString();
  }

  it('divergence injected on one replica (a newer value, a key only it holds, a delete only it saw) is repaired within the configured maximum anti-entropy interval', async () => {
    const MIN = 1000;
    const MAX = 4000;
    cluster = await Cluster.start(3, { args: [...COMMON, ...antiEntropyArgs(MIN, MAX)] });
    const nodes = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const topology = await cluster.waitSettled(nodes, 3);
    const [c0] = clientsOf(nodes);
    const base = Array.from({ length: 300 }, (_, i) => `ae:${i}`);
    for (const k of base) expect(await c0!.set(k, Buffer.from(`${k}=v1`), { consistency: 'ALL' })).toBe(true);
    await waitDigestsMatch(nodes, topology, RF, 10_000);
    const repairedBefore = await Promise.all(
      nodes.map((n) => metricSum(n, 'meshcache_antientropy_keys_repaired_total')),
    );

    // Each divergence is on one replica only; the other two must get it.
    const newer = base.slice(0, 10); // node 1 holds a newer value
    const onlyOne = Array.from({ length: 10 }, (_, i) => `ae:new:${i}`); // node 2 alone holds the key
    const deleted = base.slice(10, 20); // node 0 alone saw a delete
    const injectedAt = performance.now();
    for (const k of newer) expect((await writeLocal(nodes[1], k, `${k}=v2`)).tombstone).toBe(false);
    for (const k of onlyOne) expect((await writeLocal(nodes[2], k, `${k}=only`)).tombstone).toBe(false);
    for (const k of deleted) expect((await writeLocal(nodes[0], k, undefined)).tombstone).toBe(true);

    // Every pair is compared at least once per maximum interval (the schedule's
    // delays never exceed it), so each divergence meets a round with each of
    // the two other replicas within it, plus the rounds' own time.
    await waitDigestsMatch(nodes, topology, RF, MAX + 4000);
    const tookMs = performance.now() - injectedAt;
    expect(tookMs).toBeLessThan(MAX + 4000);

    const expected = new Map<string, string | null>(base.map((k) => [k, `${k}=v1`]));
    for (const k of newer) expected.set(k, `${k}=v2`);
    for (const k of onlyOne) expected.set(k, `${k}=only`);
    for (const k of deleted) expected.set(k, null);
    const perNode = clientsOf(nodes);
    for (const [i, c] of perNode.entries()) {
      for (const [k, want] of expected) {
        expect({ node: i, k, got: await readAt(c, k, 'ONE') }).toEqual({ node: i, k, got: want });
      }
    }

    // 30 keys differed on one replica each: two copies applied per key, nothing else changed.
    const repairedAfter = await Promise.all(
      nodes.map((n) => metricSum(n, 'meshcache_antientropy_keys_repaired_total')),
    );
    const repaired = repairedAfter.reduce((a, b, i) => a + b - repairedBefore[i]!, 0);
    expect(repaired).toBe(60);
    const sum = async (name: string, labels: Record<string, string> = {}) =>
      (await Promise.all(nodes.map((n) => metricSum(n, name, labels)))).reduce((a, b) => a + b, 0);
    expect(await sum('meshcache_antientropy_rounds_total', { outcome: 'repaired' })).toBeGreaterThan(0);
    // Rounds after the repair find the replicas equal (the schedule reaches each pair within MAX).
    await waitFor(
      async () =>
        (await sum('meshcache_antientropy_rounds_total', { outcome: 'clean' })) > 0 ? true : undefined,
      { timeoutMs: 3 * MAX + 10_000, what: 'a clean anti-entropy round after the repairs' },
    );
    expect(await sum('meshcache_antientropy_differences_total')).toBeGreaterThan(0);
    expect(await sum('meshcache_antientropy_bytes_sent_total')).toBeGreaterThan(0);
    // Node 0 has the smallest id of the three pairs it is in: it runs those rounds, node 2 runs none.
    const infos = await Promise.all(nodes.map(infoOf));
    const ids = nodes.map((n) => n.id).sort();
    for (const [i, info] of infos.entries()) {
      const peersRun = info.antiEntropy.loops.map((l) => l.peer).sort();
      expect(peersRun).toEqual(ids.filter((id) => id > nodes[i]!.id));
      // Rounds count on both sides: every node has a covering round with each peer.
      expect(info.antiEntropy.covered.map((c) => c.peer).sort()).toEqual(
        ids.filter((id) => id !== nodes[i]!.id),
      );
    }
  });

  it('a replica away longer than the tombstone grace comes back without resurrecting a deleted key', async () => {
    // Hints expire (2 s) long before C returns, so nothing delivers the
    // deletes to C while it is away; the grace (5 s) passes meanwhile.
    const GRACE = 5000;
    const MAX = 2000;
    cluster = await Cluster.start(3, {
      args: [
        ...COMMON,
        ...antiEntropyArgs(1000, MAX),
        '--tombstone-grace-ms',
        String(GRACE),
        '--max-hint-age-ms',
        '2000',
      ],
    });
    const nodes = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const [a, b, c] = nodes;
    const topology = await cluster.waitSettled(nodes, 3);
    const [viaA, viaB, viaC] = clientsOf(nodes);
    const keys = Array.from({ length: 40 }, (_, i) => `gone:${i}`);
    const kept = Array.from({ length: 40 }, (_, i) => `kept:${i}`);
    for (const k of [...keys, ...kept]) {
      expect(await viaA!.set(k, Buffer.from(`${k}=v1`), { consistency: 'ALL' })).toBe(true);
    }
    await waitDigestsMatch(nodes, topology, RF, 10_000);

    c.child.kill('SIGSTOP');
    stopped.push(c);
    // Once A and B see C DEAD nothing is sent to it: the deletes could reach C only by hint.
    await waitFor(
      async () =>
        (await Promise.all([a, b].map((o) => cluster!.stateOf(o, c.id)))).every((s) => s === 'dead'),
      { timeoutMs: 30_000, intervalMs: 50, what: `A and B to see ${c.id} DEAD` },
    );
    for (const k of keys) expect(await viaA!.delete(k, { consistency: 'QUORUM' })).toBe(true);
    const deletedAt = Date.now();
    await waitFor(
      async () =>
        (await Promise.all([a, b].map(infoOf))).reduce((n, i) => n + i.replication.hints.expired, 0) >=
        keys.length,
      { timeoutMs: 30_000, what: "the deletes' hints to C to expire" },
    );
    // Past the grace, with rounds between A and B meanwhile: A and B keep the
    // tombstones. C, a current replica, has had no round with them since the
    // deletes (the ledger cannot vouch for it), and the deletes are unsettled
    // (C never acknowledged them: published as unsettled, pinned).
    await waitFor(() => Date.now() - deletedAt > GRACE + 2 * MAX, {
      timeoutMs: GRACE + 2 * MAX + 1000,
      intervalMs: 200,
      what: 'the grace and two rounds between A and B to pass',
    });
    for (const n of [a, b]) {
      const info = await infoOf(n);
      expect({ node: n.id, tombstones: info.caches[0]!.tombstones }).toEqual({
        node: n.id,
        tombstones: keys.length,
      });
      const withC = info.antiEntropy.covered.find((r) => r.peer === c.id);
      expect(withC === undefined || Date.parse(withC.startedAt) < deletedAt).toBe(true);
      const withPeer = info.antiEntropy.covered.find((r) => r.peer === (n === a ? b : a).id);
      expect(Date.parse(withPeer!.startedAt)).toBeGreaterThan(deletedAt);
    }

    c.child.kill('SIGCONT');
    stopped.splice(stopped.indexOf(c), 1);
    // C drops what it held and bootstraps (it was out of touch for longer than
    // the grace); the rounds with it compare its slots once they are filled.
    await waitDigestsMatch(nodes, topology, RF, 4 * MAX + 10_000);
    for (const k of keys) expect({ k, c: await readAt(viaC!, k, 'ONE') }).toEqual({ k, c: null });
    for (const k of kept) expect({ k, c: await readAt(viaC!, k, 'ONE') }).toEqual({ k, c: `${k}=v1` });

    // C's copies of the tombstones are settled there (A's marks cover them, and
    // C never held them pinned): C purges them after its grace; A and B keep
    // theirs (pinned). Rounds after that leave the tombstones, older than the
    // grace by their version, out of the digests: they do not push them back
    // to C again and again.
    await waitFor(async () => (await infoOf(c)).caches[0]!.tombstones === 0, {
      timeoutMs: GRACE + 10_000,
      intervalMs: 200,
      what: 'C to purge its copies of the tombstones',
    });
    const repairedOnC = await metricSum(c, 'meshcache_antientropy_keys_repaired_total');
    const purgedAt = Date.now();
    await waitFor(
      async () =>
        (await Promise.all([a, b].map(infoOf))).every((i) => {
          const withC = i.antiEntropy.covered.find((r) => r.peer === c.id);
          return withC !== undefined && Date.parse(withC.startedAt) > purgedAt + MAX;
        }),
      { timeoutMs: 6 * MAX + 5000, intervalMs: 200, what: 'rounds of A and B with C after C purged' },
    );
    expect(await metricSum(c, 'meshcache_antientropy_keys_repaired_total')).toBe(repairedOnC);
    expect((await infoOf(c)).caches[0]!.tombstones).toBe(0);
    for (const n of [a, b]) expect((await infoOf(n)).caches[0]!.tombstones).toBe(keys.length);

    // Through every node, at QUORUM and ALL: the deleted keys stay deleted.
    for (const via of [viaA!, viaB!, viaC!]) {
      for (const k of keys) {
        expect({ k, q: await readAt(via, k, 'QUORUM') }).toEqual({ k, q: null });
        expect({ k, all: await readAt(via, k, 'ALL') }).toEqual({ k, all: null });
      }
      for (const k of kept) expect({ k, q: await readAt(via, k, 'QUORUM') }).toEqual({ k, q: `${k}=v1` });
    }
    expect(await metricSum(c, 'meshcache_antientropy_rounds_served_total')).toBeGreaterThan(0);
  });
});
