/**
 * Time from a committed view to watching clients holding it (part of
 * `npm run bench:placement`; alone: `node bench/dist/placement/topologyWatchBench.js`).
 *
 * Five real nodes on loopback (replication factors 3 and 1, so each view
 * carries two placement tables); one WatchTopology client per node. Each
 * trial removes a member through the admin API, then has it join again: two
 * committed views per trial. For every view: the decider's "view committed"
 * log time (its clock is this machine's) to the moment each watcher receives
 * a topology with that epoch: the first watcher, and the last (all hold it).
 */
import * as grpc from '@grpc/grpc-js';
import { CacheService, type Topology } from '@meshcache/proto';
import { BenchNode, postJson, waitFor } from '../membership/benchNodes.js';

export interface WatchFigures {
  nodes: number;
  views: number;
  /** Commit to the first watcher holding the view, ms. */
  firstMs: { p50: number; p99: number; max: number };
  /** Commit to every watcher holding the view, ms. */
  allMs: { p50: number; p99: number; max: number };
  /** Placement ranges in the pushed topologies (both tables). */
  rangesPerPush: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
};

export async function measureWatch(trials: number): Promise<WatchFigures> {
  const caches = '[{name: default, replicationFactor: 3}, {name: sessions, replicationFactor: 1}]';
  const tag = `pw${process.pid}`;
  const nodes: BenchNode[] = [];
  const watchers: grpc.ClientReadableStream<Topology>[] = [];
  const clients: grpc.Client[] = [];
  try {
    const first = await BenchNode.start(`${tag}-0`, ['--caches', caches, '--zone', 'zone-0']);
    nodes.push(first);
    const rest = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        BenchNode.start(`${tag}-${i}`, [
          '--caches',
          caches,
          '--zone',
          `zone-${i % 3}`,
          '--seeds',
          first.gossipAddress,
        ]),
      ),
    );
    nodes.push(...rest);
    const memberCount = async (n: BenchNode) =>
      ((await (await fetch(`${n.adminUrl}/v1/cluster/view`)).json()) as { members: unknown[] }).members
        .length;
    await waitFor(
      async () => (await Promise.all(nodes.map(memberCount))).every((c) => c === 5),
      60_000,
      'five members',
    );
    // epoch -> receive time, per watcher.
    const received = nodes.map(() => new Map<number, number>());
    let ranges = 0;
    for (const [i, n] of nodes.entries()) {
      const client = new grpc.Client(`127.0.0.1:${n.grpcPort}`, grpc.credentials.createInsecure());
      clients.push(client);
      const w = client.makeServerStreamRequest(
        CacheService.watchTopology.path,
        CacheService.watchTopology.requestSerialize,
        CacheService.watchTopology.responseDeserialize,
        { knownEpoch: 0 },
      );
      w.on('data', (t: Topology) => {
        if (!received[i]!.has(t.epoch)) received[i]!.set(t.epoch, Date.now());
        ranges = t.tables.reduce((a, x) => a + x.ranges.length, 0);
      });
      w.on('error', () => undefined);
      watchers.push(w);
    }
    const committed = (): Map<number, number> => {
      const out = new Map<number, number>();
      for (const n of nodes) {
        for (const e of n.events) {
          if (e.msg !== 'view committed') continue;
          const epoch = e.entry['epoch'] as number;
          if (!out.has(epoch)) out.set(epoch, e.time);
        }
      }
      return out;
    };
    const startEpochs = new Set(committed().keys());
    for (let t = 0; t < trials; t++) {
      const target = nodes[1 + (t % 4)]!;
      if ((await postJson(`${nodes[0]!.adminUrl}/v1/cluster/remove`, { id: target.id })) !== 202) {
        throw new Error('remove refused');
      }
      await waitFor(async () => (await memberCount(nodes[0]!)) === 4, 30_000, 'the removal');
      if ((await postJson(`${target.adminUrl}/v1/cluster/join`, {})) !== 202) throw new Error('join refused');
      await waitFor(async () => (await memberCount(nodes[0]!)) === 5, 30_000, 'the rejoin');
    }
    const views = [...committed()].filter(([epoch]) => !startEpochs.has(epoch));
    await waitFor(
      () => views.every(([epoch]) => received.every((r) => r.has(epoch))),
      10_000,
      'every watcher to hold every view',
    ).catch(() => undefined);
    const firsts: number[] = [];
    const alls: number[] = [];
    for (const [epoch, at] of views) {
      const times = received.map((r) => r.get(epoch)).filter((x): x is number => x !== undefined);
      if (times.length === 0) continue;
      firsts.push(Math.max(0, Math.min(...times) - at));
      if (times.length === received.length) alls.push(Math.max(0, Math.max(...times) - at));
    }
    return {
      nodes: nodes.length,
      views: views.length,
      firstMs: summary(firsts),
      allMs: summary(alls),
      rangesPerPush: ranges,
    };
  } finally {
    for (const w of watchers) w.cancel();
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureWatch(Number(process.argv[2] ?? 10));
  console.log(JSON.stringify(figures, null, 2));
}
