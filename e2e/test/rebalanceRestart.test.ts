// Restarts under the same id: kill -9 (comes back empty) and SIGTERM (restart, not leave). Real processes, loopback.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import { assertHistoryClean, History } from '../src/history/index.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { waitDigestsMatch, waitSettled } from '../src/rebalance/settle.js';
import { outcomeOf, readAll, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

interface RebalanceStatus {
  filled: boolean;
  counters: { bootstrapsCompleted: number; keysMoved: number };
}

const status = (n: NodeProcess) => getJson<RebalanceStatus>(`${n.adminUrl}/v1/cluster/rebalance`);
const readyz = async (n: NodeProcess) => (await fetch(`${n.adminUrl}/readyz`)).status;

/**
 * Watches a restarted node until it is ready, recording whether it ever said
 * ready while its slots were not all filled.
 */
async function watchBootstrap(
  node: NodeProcess,
): Promise<{ readyBeforeFilled: boolean; sawNotReady: boolean }> {
  let readyBeforeFilled = false;
  let sawNotReady = false;
  await waitFor(
    async () => {
      // Status first: if it says unfilled and readyz then says ready, the fill finished in between.
      const s = await status(node);
      const r = await readyz(node);
      if (r !== 200) sawNotReady = true;
      if (r === 200 && !s.filled && !(await status(node)).filled) readyBeforeFilled = true;
      return r === 200 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20, what: `${node.id} to bootstrap and turn ready` },
  );
  return { readyBeforeFilled, sawNotReady };
}

describe('rebalancing: a replica restarted under its id bootstraps', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('kill -9 then SIGTERM: each bootstraps before ready, digests match, QUORUM reads never go back', async () => {
    // A slow transfer throttle keeps each bootstrap going long enough for reads to meet it.
    cluster = await Cluster.start(3, { args: ['--transfer-bytes-per-second', '200000'] });
    await waitSettled(cluster.nodes, 3);
    for (const node of cluster.nodes.slice(0, 2)) clients.push(createClient({ url: node.grpcAddress }));
    const filler = Array.from({ length: 3000 }, (_, i) => `fill${i}`);
    await Promise.all(
      Array.from({ length: 20 }, (_, w) =>
        (async () => {
          for (let i = w; i < filler.length; i += 20) {
            await clients[i % 2]!.set(filler[i]!, 'x'.repeat(100), { consistency: 'QUORUM' });
          }
        })(),
      ),
    );
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const history = new History();
    let stop = false;
    const writing = runWriters({
      clients,
      keys,
      writers: 8,
      history,
      consistency: 'QUORUM',
      readShare: 0.5,
      stop: () => stop,
    });
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 300, {
      timeoutMs: 30_000,
      what: '300 acknowledged operations before the first restart',
    });

    // kill -9: the process comes back empty under the same id.
    await cluster.nodes[2]!.stop('SIGKILL');
    const killed = await cluster.add(2);
    // QUORUM reads through the restarted node while it bootstraps: it coordinates none of its
    // unfilled slots itself (another replica does), so none may go back in time.
    const duringBoot = createClient({ url: killed.grpcAddress });
    clients.push(duringBoot);
    let booting = true;
    const bootReads = (async () => {
      let n = 0;
      while (booting) {
        const key = keys[n++ % keys.length]!;
        const h = history.invoke('boot-reader', 'read', key);
        try {
          const got = await duringBoot.get<string>(key, { consistency: 'QUORUM', timeoutMs: 3000 });
          history.complete(h, 'ok', got ?? null);
        } catch (err) {
          history.complete(h, outcomeOf(err));
        }
      }
      return n;
    })();
    const first = await watchBootstrap(killed);
    booting = false;
    expect(await bootReads).toBeGreaterThan(0);
    expect(first.readyBeforeFilled).toBe(false);
    expect(first.sawNotReady).toBe(true);
    expect((await status(killed)).counters.bootstrapsCompleted).toBeGreaterThan(0);
    // Reads through the restarted node from now on.
    clients.push(createClient({ url: killed.grpcAddress }));

    // SIGTERM: a restart, not a leave; the view keeps the member.
    const before = await waitSettled(cluster.running(), 3);
    expect(await cluster.nodes[1]!.stop('SIGTERM')).toBe(0);
    const view = await cluster.view(cluster.nodes[0]!);
    expect(view.members.map((m) => m.id)).toContain(cluster.idOf(1));
    const restarted = await cluster.add(1);
    const second = await watchBootstrap(restarted);
    expect(second.readyBeforeFilled).toBe(false);
    expect((await status(restarted)).counters.bootstrapsCompleted).toBeGreaterThan(0);

    stop = true;
    await writing;
    const settled = await waitSettled(cluster.running(), 3);
    expect(settled.members.map((m) => m.id).sort()).toEqual(before.members.map((m) => m.id).sort());
    await readAll(clients[0]!, keys, history, 'QUORUM');
    assertHistoryClean(history);
    const mismatches = await waitDigestsMatch(cluster.running(), settled, 3);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
