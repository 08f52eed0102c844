import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import { checkHistory, formatViolations, History } from '../src/history/index.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(120_000);

interface Info {
  replication: { hintsPending: number; hints: { queued: number; replayed: number } };
}

interface Digests {
  items: number;
  slots: Record<string, string>;
}

const digestsOf = (node: NodeProcess) => getJson<Digests>(`${node.adminUrl}/v1/caches/default/digests`);
const infoOf = (node: NodeProcess) => getJson<Info>(`${node.adminUrl}/v1/info`);

describe('replication: a replica paused during writes catches up through hints', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('hints drain after SIGCONT and the three replicas hold identical data, slot by slot', async () => {
    cluster = await Cluster.start(3);
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    const [n0, n1, paused] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    clients.push(createClient({ url: n0.grpcAddress }), createClient({ url: n1.grpcAddress }));
    const keys = Array.from({ length: 200 }, (_, i) => `p${i}`);
    const history = new History();
    let stop = false;
    const writing = runWriters({
      clients,
      keys,
      writers: 8,
      history,
      consistency: 'QUORUM',
      deleteShare: 0.1,
      readShare: 0.2,
      stop: () => stop,
    });
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 300, {
      timeoutMs: 30_000,
      what: 'writes before the pause',
    });
    paused.child.kill('SIGSTOP');
    const pausedAt = performance.now();
    try {
      // Writes go on at QUORUM with two of three replicas; the paused one gets hints.
      await waitFor(
        () => history.ops.filter((o) => o.outcome === 'ok' && o.invokedAt > pausedAt).length >= 1000,
        { timeoutMs: 30_000, what: 'writes while one replica is paused' },
      );
      // Stay paused until the coordinators gave up waiting on it and queued hints
      // (a short pause would be covered by its late acks alone).
      await waitFor(
        async () =>
          (await infoOf(n0)).replication.hints.queued + (await infoOf(n1)).replication.hints.queued > 0,
        { timeoutMs: 30_000, what: 'hints queued for the paused replica' },
      );
    } finally {
      paused.child.kill('SIGCONT');
    }
    stop = true;
    await writing;
    // The paused replica missed writes: hints were queued for it (at the latest when the
    // write rounds gave up waiting on it, or when it was declared DEAD).
    await waitFor(
      async () =>
        (await infoOf(n0)).replication.hints.queued + (await infoOf(n1)).replication.hints.queued > 0,
      { timeoutMs: 30_000, what: 'hints queued for the paused replica' },
    );
    await waitFor(
      async () => {
        const infos = await Promise.all(cluster!.nodes.map(infoOf));
        return infos.every((i) => i.replication.hintsPending === 0);
      },
      { timeoutMs: 60_000, what: 'every hint to be replayed' },
    );
    const digests = await Promise.all(cluster.nodes.map(digestsOf));
    expect(digests[0]!.items).toBeGreaterThan(0);
    expect(digests[1]).toEqual(digests[0]);
    expect(digests[2]).toEqual(digests[0]);
    const violations = checkHistory(history);
    if (violations.length > 0) throw new Error(formatViolations(violations));
  });
});
