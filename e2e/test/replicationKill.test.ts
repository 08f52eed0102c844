import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster } from '../src/Cluster.js';
import {
  checkHistory,
  formatSummary,
  formatViolations,
  History,
  summarizeHistory,
} from '../src/history/index.js';
import { readAll, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(120_000);

describe('replication: kill -9 of one of three nodes under QUORUM writers', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('loses no acknowledged write: every one reads back at QUORUM with its value or a later one', async () => {
    cluster = await Cluster.start(3);
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    for (const node of cluster.nodes) clients.push(createClient({ url: node.grpcAddress }));
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
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
    // Let every writer get acknowledged writes in before the kill.
    await waitFor(() => history.ops.filter((o) => o.outcome === 'ok').length >= 400, {
      timeoutMs: 30_000,
      what: '400 acknowledged writes before the kill',
    });
    const victim = cluster.nodes[2]!;
    await victim.stop('SIGKILL');
    const killedAt = performance.now();
    await waitFor(
      () => history.ops.filter((o) => o.outcome === 'ok' && o.invokedAt > killedAt).length >= 400,
      { timeoutMs: 30_000, what: '400 acknowledged writes after the kill' },
    );
    stop = true;
    const report = await writing;
    await readAll(clients[0]!, keys, history, 'QUORUM');
    const violations = checkHistory(history);
    const summary = formatSummary(summarizeHistory(history));
    if (violations.length > 0) throw new Error(`${formatViolations(violations)}\n${summary}`);
    expect(violations).toEqual([]);
    expect(report.acked).toBeGreaterThan(800);
  });
});
