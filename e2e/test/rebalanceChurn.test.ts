// Churn: two nodes join and one leaves at once, and a transfer source is
// killed midway and restarted under its id. Transfers resume, nothing
// acknowledged is lost, and the cluster settles on the final table. Real
// processes on loopback, QUORUM writers and readers throughout.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, stringSerializer } from '@meshcache/client';
import { Cluster, getJson, postJson } from '../src/Cluster.js';
import {
  checkHistory,
  formatSummary,
  formatViolations,
  History,
  summarizeHistory,
} from '../src/history/index.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import {
  countMismatches,
  misreadKeys,
  rebalanceStatus,
  settledDigestMismatches,
  writeAll,
} from '../src/rebalance/probes.js';
import { waitSettled } from '../src/rebalance/settle.js';
import { readAll, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(300_000);

const valueOf = (key: string) => `v-${key}-${'x'.repeat(150)}`;

describe('rebalancing: churn with a transfer source killed midway', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];
  let stop = false;

  afterAll(async () => {
    stop = true;
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('two join, one drains, a source restarts: nothing acknowledged lost, settles on the final table', async () => {
    // Slow transfers (small batches under a low throttle) keep the moves
    // pending for seconds, so the kill lands in the middle of them. No
    // anti-entropy: the moves alone must leave every replica complete (a
    // round would repair one that filled short, and hide it).
    cluster = await Cluster.start(4, {
      args: [
        '--anti-entropy',
        'false',
        '--transfer-bytes-per-second',
        '100000',
        '--transfer-batch-bytes',
        '16384',
        '--drop-grace-ms',
        '1000',
      ],
    });
    const c = cluster;
    // nodes[0] seeds every (re)start and nodes[3] is drained; the victim is nodes[2].
    const [n0, n1, victim, drained] = c.nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
    const loaders = c.nodes.map((n) => createClient({ url: n.grpcAddress, serializer: stringSerializer }));
    clients.push(...loaders);
    const preloaded = Array.from({ length: 4000 }, (_, i) => `pre${i}`);
    await writeAll(loaders, preloaded, valueOf);

    // Writers coordinate through the two nodes that stay up throughout.
    const writerClients = [loaders[0]!, loaders[1]!];
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const history = new History();
    const writing = runWriters({
      clients: writerClients,
      keys,
      writers: 8,
      history,
      consistency: 'QUORUM',
      readShare: 0.3,
      deleteShare: 0.1,
      stop: () => stop,
    });
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 300, {
      timeoutMs: 30_000,
      what: '300 acknowledged operations before the churn',
    });

    const [j1, j2, drain] = await Promise.all([
      c.add(),
      c.add(),
      postJson(`${drained.adminUrl}/v1/cluster/drain`, {}),
    ]);
    expect(drain.status).toBe(202);
    const joiners = [j1, j2];

    // Kill the victim while a joiner is merging from it: one of the sources a
    // running transfer merges (the first `need` candidates it can reach).
    await waitFor(
      async () => {
        for (const j of joiners) {
          const merging = (await rebalanceStatus(j)).tasks.some(
            (t) =>
              t.purpose === 'TRANSFER' &&
              t.state === 'running' &&
              t.sources.slice(0, t.need).includes(victim.id),
          );
          if (merging) return true;
        }
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: `a joiner's transfer to be merging from ${victim.id}` },
    );
    await victim.stop('SIGKILL');
    // It died with transfers unfinished (moves re-planned since may have re-keyed the one found).
    expect(
      (await Promise.all(joiners.map(rebalanceStatus))).some((s) =>
        s.tasks.some((t) => t.purpose === 'TRANSFER'),
      ),
    ).toBe(true);
    const restarted = await c.add(2);

    const finalNodes = [n0, n1, restarted, j1, j2];
    const settled = await waitSettled(finalNodes, 5, 180_000);
    expect(settled.members.map((m) => m.id).sort()).toEqual(finalNodes.map((n) => n.id).sort());
    const after = performance.now();
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok' && o.invokedAt > after).length >= 200, {
      timeoutMs: 30_000,
      what: '200 acknowledged operations after the cluster settled',
    });
    stop = true;
    await writing;

    // The transfers finished (resumed past the kill) and the restarted node bootstrapped.
    for (const j of joiners)
      expect((await rebalanceStatus(j)).counters.transfersCompleted).toBeGreaterThan(0);
    expect((await rebalanceStatus(restarted)).counters.bootstrapsCompleted).toBeGreaterThan(0);
    // The drained node is out and stays out.
    expect(drained.exitCode).toBeUndefined();
    expect((await getJson<{ member: boolean }>(`${drained.adminUrl}/v1/cluster/view`)).member).toBe(false);

    // Replicas are compared before anything reads the preloaded keys: a
    // QUORUM read repairs the replica it finds behind, which would hide one
    // that called a slot filled without its data.
    const mismatches = await settledDigestMismatches(finalNodes, settled, 3);
    // No slot ever had every other replica gone (one node restarted at a
    // time, RF 3), so none may complete empty.
    const slotsLost: Record<string, number> = {};
    for (const n of finalNodes) slotsLost[n.id] = (await rebalanceStatus(n)).counters.slotsLost;
    const reader = createClient({ url: j1.grpcAddress, serializer: stringSerializer });
    clients.push(reader);
    await readAll(reader, keys, history, 'QUORUM');
    const violations = checkHistory(history);
    const misread = await misreadKeys(reader, preloaded, valueOf);
    expect({
      violations:
        violations.length > 0
          ? `${formatViolations(violations)}\n${formatSummary(summarizeHistory(history))}`
          : '',
      misread: misread.slice(0, 10),
      slotsLost,
      mismatches: countMismatches(mismatches),
      firstMismatches: mismatches.slice(0, 10),
    }).toEqual({
      violations: '',
      misread: [],
      slotsLost: Object.fromEntries(finalNodes.map((n) => [n.id, 0])),
      mismatches: {},
      firstMismatches: [],
    });
  });
});
