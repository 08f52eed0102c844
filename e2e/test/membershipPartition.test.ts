// End-to-end: a 2|1 partition of three real nodes. With root (CI) the partition is real: each node
// runs in its own network namespace and the minority's bridge port goes down. Otherwise the nodes
// drop each other's gossip through the test-only fault hook. The test name says which.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, postJson, type ViewReply } from '../src/Cluster.js';
import { ClusterNetwork } from '../src/ClusterNetwork.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';

const REMOVE_AFTER_MS = 4000;
// MESHCACHE_E2E_NETNS=0 forces the fault hook even as root.
const useNetns = process.env['MESHCACHE_E2E_NETNS'] !== '0' && ClusterNetwork.available();
const mode = useNetns ? 'network namespaces, bridge port down' : 'transport fault hook';

function logTime(node: NodeProcess, match: (e: Record<string, unknown>) => boolean): number | undefined {
  for (const line of node.logs) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (match(e)) return new Date(e['time'] as string | number).getTime();
    } catch {
      // not JSON
    }
  }
  return undefined;
}

describe(`a 2|1 partition (${mode})`, () => {
  let net: ClusterNetwork | undefined;
  let c: Cluster;

  beforeAll(async () => {
    if (useNetns) {
      net = new ClusterNetwork(3);
      net.setUp();
    }
    c = await Cluster.start(3, {
      args: [
        '--remove-after-ms',
        String(REMOVE_AFTER_MS),
        '--push-pull-interval-ms',
        '3000',
        '--test-faults',
        'true',
      ],
      placement: (i) =>
        net
          ? {
              prefix: net.prefix(i),
              host: net.clusterIp(i),
              bindHost: '0.0.0.0',
              adminHost: net.controlIp(i),
            }
          : {},
    });
  }, 60_000);

  afterAll(async () => {
    await c?.stopAll();
    net?.tearDown();
  });

  async function cut(minority: NodeProcess, majority: NodeProcess[]): Promise<void> {
    if (net) return net.isolate(c.nodes.indexOf(minority));
    for (const n of majority)
      await postJson(`${n.adminUrl}/v1/test/gossip-faults`, { blocked: [minority.gossipAddress] });
    await postJson(`${minority.adminUrl}/v1/test/gossip-faults`, {
      blocked: majority.map((n) => n.gossipAddress),
    });
  }

  async function heal(minority: NodeProcess): Promise<void> {
    if (net) return net.reconnect(c.nodes.indexOf(minority));
    for (const n of c.nodes) await postJson(`${n.adminUrl}/v1/test/gossip-faults`, { blocked: [] });
  }

  it('the minority commits nothing, the majority removes it after removeAfterMs, and all converge after healing', async () => {
    const before = await c.waitForAgreement(c.nodes, (v) => v.members.length === 3);
    const minority = c.nodes[2]!;
    const majority = [c.nodes[0]!, c.nodes[1]!];
    await cut(minority, majority);

    // Both sides detect the other as DEAD.
    await waitFor(
      async () =>
        (await Promise.all(majority.map((n) => c.stateOf(n, minority.id)))).every((s) => s === 'dead') &&
        (await Promise.all(majority.map((n) => c.stateOf(minority, n.id)))).every((s) => s === 'dead'),
      { timeoutMs: 20_000, intervalMs: 100, what: 'both sides to mark the other DEAD' },
    );
    // The majority removes the minority, only after the removal time.
    const removed = await c.waitForAgreement(
      majority,
      (v) => !v.members.some((m) => m.id === minority.id),
      30_000,
    );
    const decider = majority.find((n) => n.id === removed.decider)!;
    // The removal's own view: a view that cuts moved slots over (same members) may follow it at
    // once, so the agreed view need not be the one that removed the minority; the log has it.
    const removal = (e: Record<string, unknown>) =>
      e['msg'] === 'view committed' &&
      Array.isArray(e['removed']) &&
      (e['removed'] as { id: string; reason: string }[]).some(
        (r) => r.id === minority.id && r.reason === 'dead',
      );
    const deadAt = logTime(
      decider,
      (e) => e['msg'] === 'member state' && e['member'] === minority.id && e['state'] === 'dead',
    )!;
    const committedAt = logTime(decider, removal);
    expect(committedAt).toBeDefined();
    expect(committedAt! - deadAt).toBeGreaterThanOrEqual(REMOVE_AFTER_MS);

    // The minority, alone, tried to remove the other two (it thinks it decides now) and could not commit.
    await waitFor(
      async () => {
        const text = await (await fetch(`${minority.adminUrl}/metrics`)).text();
        return /meshcache_membership_proposals_total\{[^}]*result="failed"[^}]*\} [1-9]/.test(text);
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the minority to fail a proposal' },
    );
    const alone: ViewReply = await c.view(minority);
    expect(alone.epoch).toBe(before.epoch);
    expect(alone.members.map((m) => m.id).sort()).toEqual(before.members.map((m) => m.id).sort());
    expect(
      logTime(minority, (e) => e['msg'] === 'view committed' && (e['epoch'] as number) > before.epoch),
    ).toBeUndefined();

    await heal(minority);
    // Everyone ends on the majority's line of views (the minority learns it, then rejoins).
    const healed = await c.waitForAgreement(c.nodes, (v) => v.members.length === 3, 30_000);
    expect(healed.epoch).toBeGreaterThan(removed.epoch);
    expect(healed.cluster).toBe(removed.cluster);
  }, 60_000);
});
