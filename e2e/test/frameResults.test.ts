import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { keySlot, SlotTable } from '@meshcache/proto';
import { Cluster, getJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';

jest.setTimeout(90_000);

/**
 * A node answers each operation of a frame as soon as it is done: one slow
 * operation (forwarded to a node that is paused) must not hold back the
 * results of the others that travelled in the same frame.
 */
describe('Execute stream: results leave as they finish, not per frame', () => {
  let cluster: Cluster | undefined;
  let client: MeshcacheClient | undefined;

  afterAll(async () => {
    for (const n of cluster?.nodes ?? []) n.child.kill('SIGCONT');
    await client?.close();
    await cluster?.stopAll();
  });

  it('a local key answers while a frame-mate waits on a paused owner', async () => {
    cluster = await Cluster.start(3, {
      args: [
        '--caches',
        '[{name: one, replicationFactor: 1, defaultConsistency: ONE}]',
        '--request-timeout-ms',
        '30000',
        // The paused owner stays suspected, not DEAD, for a long while: its forward hangs.
        '--suspicion-timeout-ms',
        '10000',
      ],
    });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    const [n0, , n2] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const slots = await getJson<{ ranges: { start: number; end: number; replicas: { id: string }[] }[] }>(
      `${n0.adminUrl}/v1/cluster/slots?replicationFactor=1`,
    );
    const table = SlotTable.fromRanges(
      1,
      slots.ranges.map((r) => ({ start: r.start, end: r.end, replicas: r.replicas.map((x) => x.id) })),
    );
    const keyOn = (id: string) => {
      for (let i = 0; ; i++) if (table.primary(keySlot(`fr:${i}`)) === id) return `fr:${i}`;
    };
    const local = keyOn(n0.id);
    const remote = keyOn(n2.id);
    client = createClient({ url: n0.grpcAddress });
    await client.set(local, 'here', { cache: 'one' });
    await client.set(remote, 'there', { cache: 'one' });
    n2.child.kill('SIGSTOP');
    try {
      let remoteSettled = false;
      // Issued in one tick: one frame.
      const slow = client
        .get(remote, { cache: 'one', timeoutMs: 60_000 })
        .catch(() => undefined)
        .finally(() => (remoteSettled = true));
      const fast = client.get(local, { cache: 'one', timeoutMs: 60_000 });
      expect(await fast).toBe('here');
      // The forward is still hanging: the owner is paused and not yet declared DEAD
      // (a node that held the frame's results until every operation finished would
      // only have answered once the forward failed).
      expect(remoteSettled).toBe(false);
      expect(await cluster.stateOf(n0, n2.id)).not.toBe('dead');
      n2.child.kill('SIGCONT');
      await slow;
    } finally {
      n2.child.kill('SIGCONT');
    }
  });
});
