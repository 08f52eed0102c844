#!/usr/bin/env node
/**
 * Failure detection with real nodes (`npm run bench:membership-detect`; add
 * `-- --json FILE` for the figures): 10 meshcache-node processes on loopback
 * with the default membership settings; each trial kills one member with
 * SIGKILL and measures the time until every live node has marked it DEAD
 * (from the nodes' own timestamped logs), then restarts it with the same id.
 * Each restart commits a view (the restarted process rejoins as a new
 * instance), which gives the second figure: the time from the decider's
 * commit until all 10 nodes hold the view.
 *
 * Options: --nodes N (10), --trials N (24), --json FILE.
 */
import { writeFileSync } from 'node:fs';
import {
  agreed,
  arg,
  BenchNode,
  getJson,
  type LogEvent,
  percentile,
  sleep,
  startCluster,
  table,
  waitFor,
} from './benchNodes.js';

const NODES = Number(arg('nodes', '10'));
const TRIALS = Number(arg('trials', '24'));
const JSON_FILE = arg('json', '');

interface MembersReply {
  members: { id: string; state: string }[];
}

async function allAlive(nodes: BenchNode[]): Promise<boolean> {
  const replies = await Promise.all(
    nodes.map((n) => getJson<MembersReply>(`${n.adminUrl}/v1/cluster/members`)),
  );
  return replies.every(
    (r) => r.members.length === nodes.length && r.members.every((m) => m.state === 'alive'),
  );
}

function firstAfter(events: LogEvent[], after: number, match: (e: LogEvent) => boolean): number | undefined {
  return events.find((e) => e.time >= after && match(e))?.time;
}

async function main(): Promise<void> {
  const prefix = `det${process.pid}`;
  console.log(`starting ${NODES} nodes (default membership settings) ...`);
  const nodes = await startCluster(NODES, prefix, []);
  const detections: number[] = [];
  const firstDeclared: number[] = [];
  const viewSpread: number[] = [];
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      await waitFor(
        async () => (await agreed(nodes, NODES)) && (await allAlive(nodes)),
        60_000,
        'a quiet cluster',
      );
      await sleep(500 + Math.random() * 1000);
      const index = 1 + (trial % (NODES - 1));
      const victim = nodes[index]!;
      const others = nodes.filter((n) => n !== victim);
      const killedAt = Date.now();
      victim.kill('SIGKILL');
      await victim.waitForExit();
      const isDead = (e: LogEvent) =>
        e.msg === 'member state' && e.entry['member'] === victim.id && e.entry['state'] === 'dead';
      const marks = await waitFor(
        () => {
          const t = others.map((o) => firstAfter(o.events, killedAt, isDead));
          return t.every((x) => x !== undefined) ? (t as number[]) : undefined;
        },
        60_000,
        `every node to mark ${victim.id} DEAD`,
      );
      const all = Math.max(...marks) - killedAt;
      const first = Math.min(...marks) - killedAt;
      detections.push(all);
      firstDeclared.push(first);
      // Restart with the same id: a new process instance, which the decider commits into the view.
      const restartedAt = Date.now();
      const again = await BenchNode.start(victim.id, ['--seeds', nodes[0]!.gossipAddress]);
      nodes[index] = again;
      const view = await waitFor(
        () => {
          const d = nodes.find((n) => firstAfter(n.events, restartedAt, (e) => e.msg === 'view committed'));
          if (!d) return undefined;
          const c = d.events.find((e) => e.time >= restartedAt && e.msg === 'view committed')!;
          const epoch = c.entry['epoch'];
          const adopted = nodes.map((n) =>
            n.events.find(
              (e) => e.time >= restartedAt && e.msg === 'view adopted' && e.entry['epoch'] === epoch,
            ),
          );
          return adopted.every((a) => a !== undefined)
            ? { committed: c.time, adopted: adopted.map((a) => a!.time) }
            : undefined;
        },
        60_000,
        'the rejoin view to reach every node',
      );
      viewSpread.push(Math.max(...view.adopted) - view.committed);
      console.log(
        `trial ${String(trial + 1).padStart(2)}: ${victim.id} DEAD everywhere after ${all} ms (first ${first} ms); rejoin view on all ${NODES} nodes ${Math.max(...view.adopted) - view.committed} ms after commit`,
      );
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
  const s = [...detections].sort((a, b) => a - b);
  const f = [...firstDeclared].sort((a, b) => a - b);
  const v = [...viewSpread].sort((a, b) => a - b);
  console.log();
  console.log(
    table(
      ['figure (ms)', 'p50', 'p99', 'max', 'goal'],
      [
        [
          `kill -9 -> DEAD on all ${NODES - 1} live nodes`,
          percentile(s, 50),
          percentile(s, 99),
          s.at(-1)!,
          'p50 <= 3000, p99 <= 6000',
        ],
        ['kill -9 -> first DEAD declaration', percentile(f, 50), percentile(f, 99), f.at(-1)!, ''],
        [
          `view commit -> held by all ${NODES} nodes`,
          percentile(v, 50),
          percentile(v, 99),
          v.at(-1)!,
          '<= 2000',
        ],
      ],
    ),
  );
  console.log(
    `\n${TRIALS} trials, ${NODES} nodes on loopback, default settings (probe 300 ms, suspicion 2000 ms).`,
  );
  if (JSON_FILE) {
    writeFileSync(
      JSON_FILE,
      JSON.stringify(
        {
          nodes: NODES,
          trials: TRIALS,
          detectionAllMs: {
            p50: percentile(s, 50),
            p99: percentile(s, 99),
            max: s.at(-1),
            samples: detections,
          },
          detectionFirstMs: {
            p50: percentile(f, 50),
            p99: percentile(f, 99),
            max: f.at(-1),
            samples: firstDeclared,
          },
          viewSpreadMs: {
            p50: percentile(v, 50),
            p99: percentile(v, 99),
            max: v.at(-1),
            samples: viewSpread,
          },
        },
        null,
        2,
      ),
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
