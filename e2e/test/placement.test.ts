// End-to-end: slot placement committed with views, the topology stream, and routing at the node,
// with real meshcache-node processes on loopback.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '@meshcache/client';
import { keySlot, SlotTable } from '@meshcache/proto';
import { placement } from '@meshcache/node';
import { ErrorCode, OpType, type Topology } from '@meshcache/proto';
import { Cluster, FAST_REMOVAL_ARGS, getJson, postJson } from '../src/Cluster.js';
import { op, RawCacheClient } from '../src/RawCacheClient.js';
import { waitFor } from '../src/waitFor.js';

/** Two caches: replication factor 3 (default) and 1, so the nodes commit two tables. */
const CACHES = '[{name: default, replicationFactor: 3}, {name: sessions, replicationFactor: 1}]';
const ZONES = 3;
const zoneOf = (i: number) => `zone-${i % ZONES}`;

interface TopologyJson {
  epoch: number;
  members: { id: string; zone: string; grpcAddress: string }[];
  ranges: { start: number; end: number; replicas: string[] }[];
  tables: {
    replicationFactor: number;
    ranges: { start: number; end: number; replicas: string[] }[];
    pending?: unknown[];
  }[];
}

/** The tables in a comparable form. */
const tablesOf = (t: Pick<Topology, 'tables'> | TopologyJson) =>
  JSON.stringify(
    t.tables.map((x) => ({
      replicationFactor: x.replicationFactor,
      ranges: x.ranges.map((r) => [r.start, r.end, ...r.replicas]),
    })),
  );

describe('placement (5 real nodes in 3 zones, replication factors 3 and 1)', () => {
  let c: Cluster;
  const pushed: Topology[] = [];
  let watcher: RawCacheClient;

  const topologyOf = (i: number) => getJson<TopologyJson>(`${c.nodes[i]!.adminUrl}/v1/cluster/topology`);

  /**
   * Waits until every running node serves the same epoch and tables for
   * `members` nodes, with no move pending (every cutover done); returns that topology.
   */
  async function agreedTopology(members: number): Promise<TopologyJson> {
    await c.waitForAgreement(c.running(), (v) => v.members.length === members);
    return waitFor(
      async () => {
        const all = await Promise.all(
          c.nodes.map((n, i) => (c.running().includes(n) ? topologyOf(i) : null)),
        );
        const live = all.filter((t): t is TopologyJson => t !== null);
        const first = live[0]!;
        const same = live.every((t) => t.epoch === first.epoch && tablesOf(t) === tablesOf(first));
        const settled = first.tables.every((x) => (x.pending ?? []).length === 0);
        return same && settled && first.members.length === members && first.tables.length === 2
          ? first
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `every node to serve one table for ${members} members` },
    );
  }

  beforeAll(async () => {
    c = await Cluster.start(5, {
      args: [...FAST_REMOVAL_ARGS, '--caches', CACHES],
      placement: (i) => ({ env: { MESHCACHE_ZONE: zoneOf(i) } }),
    });
    watcher = new RawCacheClient(c.nodes[1]!.grpcAddress);
    const watch = watcher.watchTopology(0);
    watch.on('data', (t: Topology) => pushed.push(t));
    watch.on('error', () => undefined);
  }, 90_000);

  afterAll(async () => {
    watcher?.close();
    await c?.stopAll();
  });

  it('every node and WatchTopology hold the same table: every slot placed, zones distinct, balanced', async () => {
    const t = await agreedTopology(5);
    await waitFor(() => pushed.some((p) => p.epoch === t.epoch), { what: 'the watcher to get the epoch' });
    const last = pushed.filter((p) => p.epoch === t.epoch).at(-1)!;
    expect(tablesOf(last)).toBe(tablesOf(t));
    expect(last.tables.map((x) => x.replicationFactor)).toEqual([1, 3]);
    // `ranges` is the default cache's table (replication factor 3).
    expect(t.ranges).toEqual(t.tables.find((x) => x.replicationFactor === 3)!.ranges);
    const members = t.members.map((m) => ({ id: m.id, zone: m.zone }));
    expect(new Set(members.map((m) => m.zone))).toEqual(new Set(['zone-0', 'zone-1', 'zone-2']));
    for (const x of t.tables) {
      const table = SlotTable.fromRanges(x.replicationFactor, x.ranges);
      expect(table.width).toBe(x.replicationFactor);
      expect(new Set(table.members)).toEqual(new Set(members.map((m) => m.id)));
      expect(placement.zoneViolations(table, members)).toBe(0);
      const b = placement.balanceOf(table, members);
      expect(b.primaries).toBeLessThanOrEqual(1.05);
      // Zones of 2, 2 and 1 nodes with three replicas: the lone zone-2 node holds every slot; otherwise balanced.
      if (b.replicasBound <= 1.05) expect(b.replicasVsShare).toBeLessThanOrEqual(1.05);
      expect(placement.rangesOf(table).heldAvg).toBeLessThanOrEqual(4);
    }
    // /v1/cluster/slots: ranges with the replicas' addresses, primary first.
    const slots = await getJson<{
      epoch: number;
      replicationFactor: number;
      caches: string[];
      ranges: {
        start: number;
        end: number;
        primary: { id: string; grpcAddress: string };
        replicas: { id: string }[];
      }[];
    }>(`${c.nodes[2]!.adminUrl}/v1/cluster/slots`);
    expect(slots.epoch).toBe(t.epoch);
    expect(slots.replicationFactor).toBe(3);
    expect(slots.caches).toEqual(['default']);
    expect(slots.ranges.map((r) => [r.start, r.end, ...r.replicas.map((x) => x.id)])).toEqual(
      t.ranges.map((r) => [r.start, r.end, ...r.replicas]),
    );
    for (const r of slots.ranges) {
      expect(r.primary.id).toBe(r.replicas[0]!.id);
      expect(r.primary.grpcAddress).toBe(t.members.find((m) => m.id === r.primary.id)!.grpcAddress);
    }
    const one = await getJson<{ replicationFactor: number; caches: string[] }>(
      `${c.nodes[0]!.adminUrl}/v1/cluster/slots?replicationFactor=1`,
    );
    expect(one.caches).toEqual(['sessions']);
    expect((await fetch(`${c.nodes[0]!.adminUrl}/v1/cluster/slots?replicationFactor=2`)).status).toBe(404);
    expect((await fetch(`${c.nodes[0]!.adminUrl}/v1/cluster/slots?replicationFactor=x`)).status).toBe(400);
  }, 60_000);

  it('any node serves any key: forwarding for clients that ask, NOT_OWNER with the epoch for the others', async () => {
    // (The default cache has replication factor 3: a node serves the keys it holds a copy of.)
    const t = await agreedTopology(5);
    const writer = createClient({ url: c.nodes[0]!.grpcAddress });
    const reader = createClient({ url: c.nodes[3]!.grpcAddress });
    const keys = Array.from({ length: 60 }, (_, i) => `user:${i}`);
    for (const k of keys) await writer.set(k, `v-${k}`);
    for (const k of keys) expect(await reader.get(k)).toBe(`v-${k}`);
    expect(await reader.get('sessions-key', { cache: 'sessions' })).toBeUndefined();
    await writer.set('sessions-key', 'S', { cache: 'sessions' });
    expect(await reader.get('sessions-key', { cache: 'sessions' })).toBe('S');
    // Multi-key operations whose keys live on several nodes are split and merged.
    await writer.setMany(keys.slice(0, 20).map((k) => ({ key: k, value: `m-${k}` })));
    expect(await reader.getMany(keys.slice(0, 20))).toEqual(keys.slice(0, 20).map((k) => `m-${k}`));
    await writer.close();
    await reader.close();
    // Three of the five nodes hold each key; the others forward, and the counters show they did.
    const table = SlotTable.fromRanges(3, t.ranges);
    const metric = async (i: number, name: string) => {
      const text = await (await fetch(`${c.nodes[i]!.adminUrl}/metrics`)).text();
      return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    };
    expect(await metric(0, 'meshcache_forwarded_operations_total')).toBeGreaterThan(0);
    expect(await metric(3, 'meshcache_forwarded_operations_total')).toBeGreaterThan(0);
    // A client that routes itself (no forwarding asked) gets NOT_OWNER and the epoch for keys a node holds no copy of.
    // Node 2 is alone in its zone, so with three zones it holds a copy of every slot: ask node 4.
    const raw = new RawCacheClient(c.nodes[4]!.grpcAddress);
    const askedId = c.nodes[4]!.id;
    const frame = await raw.executeBatch(
      keys.map((k, i) => op({ id: i + 1, type: OpType.GET, key: Buffer.from(k) })),
      '1',
    );
    expect(frame.epoch).toBe(t.epoch);
    let owned = 0;
    for (const [i, k] of keys.entries()) {
      const r = frame.results.find((x) => x.id === i + 1)!;
      if (table.positionOf(keySlot(k), askedId) >= 0) {
        owned++;
        expect(r.code).toBe(ErrorCode.OK);
        // The client stores values as JSON by default.
        expect(r.value.toString()).toBe(JSON.stringify(i < 20 ? `m-${k}` : `v-${k}`));
      } else {
        expect(r.code).toBe(ErrorCode.NOT_OWNER);
        expect(r.message).toContain(`epoch ${t.epoch}`);
      }
    }
    expect(owned).toBeGreaterThan(0);
    expect(owned).toBeLessThan(keys.length);
    expect(await metric(4, 'meshcache_not_owner_operations_total')).toBeGreaterThanOrEqual(
      keys.length - owned,
    );
    raw.close();
  }, 60_000);

  it('after a join and after a removal, every node and a watching client hold the new epoch and table; a client with an old epoch learns it from its next reply', async () => {
    const before = await agreedTopology(5);
    const stale = new RawCacheClient(c.nodes[4]!.grpcAddress);
    expect((await stale.ping()).epoch).toBe(before.epoch);

    // Join: a sixth node, in zone-2.
    await c.add(5, []);
    const joined = await agreedTopology(6);
    expect(joined.epoch).toBeGreaterThan(before.epoch);
    expect(tablesOf(joined)).not.toBe(tablesOf(before));
    await waitFor(() => pushed.some((p) => p.epoch === joined.epoch && tablesOf(p) === tablesOf(joined)), {
      what: 'the watcher to hold the join',
    });
    // The stale client's next reply carries the new epoch; asking WatchTopology with the old one returns the new table at once.
    const reply = await stale.executeBatch(
      [op({ id: 1, type: OpType.GET, key: Buffer.from('anything') })],
      '1',
    );
    expect(reply.epoch).toBe(joined.epoch);
    const fresh = await new Promise<Topology>((resolve, reject) => {
      const w = stale.watchTopology(before.epoch);
      w.once('data', (t: Topology) => {
        w.cancel();
        resolve(t);
      });
      w.once('error', reject);
    });
    expect(fresh.epoch).toBe(joined.epoch);
    expect(tablesOf(fresh)).toBe(tablesOf(joined));

    // Removal (admin): back to five.
    const leaving = c.nodes[5]!;
    expect((await postJson(`${c.nodes[0]!.adminUrl}/v1/cluster/remove`, { id: leaving.id })).status).toBe(
      202,
    );
    await c.waitForAgreement(
      c.running().filter((n) => n !== leaving),
      (v) => !v.members.some((m) => m.id === leaving.id),
    );
    await leaving.stop('SIGTERM');
    const removed = await agreedTopology(5);
    expect(removed.epoch).toBeGreaterThan(joined.epoch);
    expect(removed.members.map((m) => m.id)).not.toContain(leaving.id);
    for (const x of removed.tables) for (const r of x.ranges) expect(r.replicas).not.toContain(leaving.id);
    await waitFor(() => pushed.some((p) => p.epoch === removed.epoch && tablesOf(p) === tablesOf(removed)), {
      what: 'the watcher to hold the removal',
    });
    expect((await stale.ping()).epoch).toBe(removed.epoch);
    stale.close();
  }, 120_000);
});
