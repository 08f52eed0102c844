// A 4th node joins a loaded 3-node RF 3 cluster: real node processes on loopback, QUORUM writers throughout.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster } from '../src/Cluster.js';
import { assertHistoryClean, History } from '../src/history/index.js';
import { waitDigestsMatch, waitSettled } from '../src/rebalance/settle.js';
import { readAll, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(180_000);

describe('rebalancing: a 4th node joins under load', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('loses no acknowledged write, and every node then holds exactly its slots', async () => {
    cluster = await Cluster.start(3, { args: ['--drop-grace-ms', '1000'] });
    await waitSettled(cluster.nodes, 3);
    for (const node of cluster.nodes) clients.push(createClient({ url: node.grpcAddress }));
    // Keys preloaded before the join (they must move) plus keys written throughout.
    const seeded = Array.from({ length: 2000 }, (_, i) => `pre${i}`);
    await Promise.all(
      Array.from({ length: 20 }, (_, w) =>
        (async () => {
          for (let i = w; i < seeded.length; i += 20) {
            await clients[i % clients.length]!.set(seeded[i]!, `v-${seeded[i]}`, { consistency: 'QUORUM' });
          }
        })(),
      ),
    );
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const history = new History();
    let stop = false;
    const writing = runWriters({
      clients,
      keys,
      writers: 8,
      history,
      consistency: 'QUORUM',
      stop: () => stop,
    });
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 300, {
      timeoutMs: 30_000,
      what: '300 acknowledged writes before the join',
    });
    const joiner = await cluster.add();
    const settled = await waitSettled(cluster.nodes, 4, 90_000);
    const after = performance.now();
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok' && o.invokedAt > after).length >= 200, {
      timeoutMs: 30_000,
      what: '200 acknowledged writes after the cutover',
    });
    stop = true;
    await writing;
    expect(settled.tables[0]!.ranges.some((r) => r.replicas.includes(joiner.id))).toBe(true);

    // Every acknowledged write is there, read through the new node too.
    const reader = createClient({ url: joiner.grpcAddress });
    clients.push(reader);
    await readAll(reader, keys, history, 'QUORUM');
    assertHistoryClean(history);
    const missing: string[] = [];
    for (const k of seeded) {
      const got = await reader.get(k, { consistency: 'QUORUM' });
      if (got !== `v-${k}`) missing.push(k);
    }
    expect(missing).toEqual([]);

    // Old owners drop what moved (after --drop-grace-ms); replicas agree slot by slot.
    const mismatches = await waitDigestsMatch(cluster!.nodes, settled, 3);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
