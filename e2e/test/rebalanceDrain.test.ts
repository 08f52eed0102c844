// Admin drain (scale-down): the drained node's slots move away under load, then it leaves and stays out.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster, getJson, postJson } from '../src/Cluster.js';
import { assertHistoryClean, History } from '../src/history/index.js';
import { waitDigestsMatch, waitSettled } from '../src/rebalance/settle.js';
import { readAll, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

describe('rebalancing: drain', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('refuses a drain that would leave a cache below its replication factor, naming the cache', async () => {
    cluster = await Cluster.start(3, { args: ['--drop-grace-ms', '1000'] });
    await waitSettled(cluster.nodes, 3);
    const r = await postJson(`${cluster.nodes[2]!.adminUrl}/v1/cluster/drain`, {});
    expect(r.status).toBe(409);
    expect(JSON.stringify(r.body)).toMatch(/cache 'default' has replication factor 3/);
    const bad = await postJson(`${cluster.nodes[2]!.adminUrl}/v1/cluster/drain`, { force: 'yes' });
    expect(bad.status).toBe(400);
    // Nothing changed: still three members, nothing pending.
    await waitSettled(cluster.nodes, 3);
  });

  it('one of four drained under idempotent load: nothing lost, no client-visible error, the node stays out', async () => {
    await cluster!.add();
    await waitSettled(cluster!.nodes, 4);
    const c = cluster!;
    const drained = c.nodes[3]!;
    for (const node of c.nodes.slice(0, 3)) clients.push(createClient({ url: node.grpcAddress }));
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    const history = new History();
    let stop = false;
    const writing = runWriters({
      clients,
      keys,
      writers: 8,
      history,
      consistency: 'QUORUM',
      readShare: 0.3,
      deleteShare: 0.1,
      timeoutMs: 2000,
      stop: () => stop,
    });
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 500, {
      timeoutMs: 30_000,
      what: '500 acknowledged operations before the drain',
    });
    const r = await postJson(`${drained.adminUrl}/v1/cluster/drain`, {});
    expect(r.status).toBe(202);
    const remaining = c.nodes.slice(0, 3);
    const settled = await waitSettled(remaining, 3, 120_000);
    expect(settled.members.map((m) => m.id)).not.toContain(drained.id);
    const after = performance.now();
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok' && o.invokedAt > after).length >= 300, {
      timeoutMs: 30_000,
      what: '300 acknowledged operations after the drain',
    });
    stop = true;
    const report = await writing;
    expect(Object.fromEntries(report.errorCodes)).toEqual({});
    expect(report.failed + report.unknown).toBe(0);

    await readAll(clients[0]!, keys, history, 'QUORUM');
    assertHistoryClean(history);
    // The drained node stays up, not ready, out of the view, and does not rejoin.
    expect(drained.exitCode).toBeUndefined();
    expect((await fetch(`${drained.adminUrl}/readyz`)).status).toBe(503);
    const view = await getJson<{ member: boolean }>(`${drained.adminUrl}/v1/cluster/view`);
    expect(view.member).toBe(false);
    const mismatches = await waitDigestsMatch(remaining, settled, 3);
    expect(mismatches.slice(0, 10)).toEqual([]);
    // Still out a while later: every remaining node holds a view without it.
    const later = await c.waitForAgreement(remaining);
    expect(later.members.map((m) => m.id)).not.toContain(drained.id);
  });
});
