import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, type MeshcacheError } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';
import { checkHistory, formatViolations, History } from '../src/history/index.js';

jest.setTimeout(120_000);

/**
 * All nodes here share one clock, so the test-only flag --test-clock-offset-ms
 * plays machines whose clocks are off: node 0 runs 200 ms ahead, node 1 200 ms
 * behind. A sequential writer alternates between them, so every other write
 * is stamped by a clock 400 ms behind the previous write's.
 */
describe('replication: versions keep real-time order across skewed clocks', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('a write (or delete) acknowledged after another always wins, whichever coordinator stamped it', async () => {
    const offsets = [200, -200, 0];
    cluster = await Cluster.start(3, {
      nodeArgs: (i) => ['--test-clock-offset-ms', String(offsets[i] ?? 0)],
    });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    const [ahead, behind] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const a = createClient({ url: ahead.grpcAddress });
    const b = createClient({ url: behind.grpcAddress });
    clients.push(a, b);
    const history = new History();
    const run = async (
      p: string,
      kind: 'write' | 'delete' | 'read',
      client: MeshcacheClient,
      key: string,
      value?: string,
    ) => {
      const h = kind === 'write' ? history.invoke(p, 'write', key, value!) : history.invoke(p, kind, key);
      try {
        if (kind === 'write') await client.set(key, value!, { consistency: 'QUORUM' });
        else if (kind === 'delete') await client.delete(key, { consistency: 'QUORUM' });
        else {
          const got = await client.get<string>(key, { consistency: 'QUORUM' });
          history.complete(h, 'ok', got ?? null);
          return got;
        }
        history.complete(h, 'ok');
      } catch (err) {
        history.complete(h, 'unknown');
        throw err;
      }
      return undefined;
    };
    // Writes alternate between the two coordinators, back to back (many land in one millisecond).
    for (let i = 0; i < 200; i++) {
      const key = `clock:${i % 5}`;
      const client = i % 2 === 0 ? a : b;
      await run('writer', 'write', client, key, `v${i}`);
      // The other coordinator must read the write just acknowledged.
      expect(await run('reader', 'read', i % 2 === 0 ? b : a, key)).toBe(`v${i}`);
    }
    // A delete acknowledged after a write wins too, both ways round.
    for (let i = 0; i < 50; i++) {
      const key = `clock-del:${i}`;
      const [writer, deleter] = i % 2 === 0 ? [a, b] : [b, a];
      await run('writer', 'write', writer, key, `d${i}`);
      await run('deleter', 'delete', deleter, key);
      expect(await run('reader', 'read', writer, key)).toBeUndefined();
      // And a write after the delete comes back.
      await run('writer', 'write', writer === a ? b : a, key, `r${i}`);
      expect(await run('reader', 'read', deleter, key)).toBe(`r${i}`);
    }
    const violations = checkHistory(history);
    if (violations.length > 0) throw new Error(formatViolations(violations));
    // The skew was real: versions the behind node stamped run ahead of its own
    // clock (now - 200 ms), because its clock merged the ahead node's versions.
    await run('writer', 'write', b, 'clock:probe', 'probe');
    const entry = await b.getEntry('clock:probe', { consistency: 'QUORUM' });
    expect(entry?.version.physicalMs).toBeGreaterThan(Date.now() - 200 + 100);
  });
});

describe('replication: a node whose clock is out of bounds stops coordinating writes', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('the node 2 s ahead refuses writes with CLOCK_SKEW and says so; the two in bound go on at ALL', async () => {
    cluster = await Cluster.start(3, {
      nodeArgs: (i) => ['--test-clock-offset-ms', i === 2 ? '2000' : '0'],
    });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    const [good, , skewed] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const g = createClient({ url: good.grpcAddress });
    const s = createClient({ url: skewed.grpcAddress });
    clients.push(g, s);
    // Offsets are measured on replica traffic: write through both until the skewed node knows.
    const err = await waitFor(
      async () => {
        await g.set('skew:warm', 'x', { consistency: 'ALL' });
        try {
          await s.set('skew:k', 'from-skewed', { consistency: 'QUORUM' });
          return undefined;
        } catch (e) {
          return (e as MeshcacheError).code === 'CLOCK_SKEW' ? (e as MeshcacheError) : undefined;
        }
      },
      { timeoutMs: 30_000, what: 'the skewed node to refuse a write with CLOCK_SKEW' },
    );
    expect(err.message).toMatch(/ms from its peers'; the limit is 500 \(maxClockSkewMs\)/);
    const info = await getJson<{ replication: { writeBlocker: string | null } }>(
      `${skewed.adminUrl}/v1/info`,
    );
    expect(info.replication.writeBlocker).toContain('maxClockSkewMs');
    expect(
      (await getJson<{ replication: { writeBlocker: string | null } }>(`${good.adminUrl}/v1/info`))
        .replication.writeBlocker,
    ).toBeNull();
    // The others are in bound: writes at ALL (the skewed node is a replica) and reads work.
    for (let i = 0; i < 20; i++) await g.set(`skew:ok${i}`, `v${i}`, { consistency: 'ALL' });
    for (let i = 0; i < 20; i++) expect(await s.get(`skew:ok${i}`, { consistency: 'ALL' })).toBe(`v${i}`);
    expect(await g.get('skew:k', { consistency: 'QUORUM' })).toBeUndefined();
    const metrics = await (await fetch(`${skewed.adminUrl}/metrics`)).text();
    expect(
      Number(/^meshcache_clock_offset_median_seconds(?:\{[^}]*\})? (\S+)/m.exec(metrics)?.[1]),
    ).toBeLessThan(-1.5);
  });
});
