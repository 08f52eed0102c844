#!/usr/bin/env node
/**
 * False positives (`npm run bench:membership-fp`; add `-- --json FILE`): 10
 * meshcache-node processes with the default membership settings, 5% packet
 * loss on the gossip path, and one node frozen with SIGSTOP for 2 s every
 * 30 s, for 5 minutes. Every node is healthy, so every DEAD mark is a false
 * positive; the goal is none. Also reports suspicions (which Lifeguard lets
 * happen and refutes) and whether the committed view stayed put.
 *
 * Loss: `tc netem` inside network namespaces when running as root and the
 * kernel has netem; otherwise the nodes' test-only transport fault hook drops
 * 5% of the gossip packets each node sends (the bench says which it used).
 *
 * Options: --nodes N (10), --duration-s N (300), --pause-ms N (2000),
 * --every-s N (30), --loss F (0.05), --json FILE.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { agreed, arg, getJson, postJson, sleep, startCluster, table, waitFor } from './benchNodes.js';

const NODES = Number(arg('nodes', '10'));
const DURATION_S = Number(arg('duration-s', '300'));
const PAUSE_MS = Number(arg('pause-ms', '2000'));
const EVERY_S = Number(arg('every-s', '30'));
const LOSS = Number(arg('loss', '0.05'));
const JSON_FILE = arg('json', '');

/** Why netem cannot be used here, or undefined if it can. */
function netemProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  const ns = `mcfp${process.pid % 100000}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return '`ip netns add` failed';
  try {
    const res = spawnSync(
      'ip',
      ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', '5%'],
      {
        encoding: 'utf8',
      },
    );
    if (res.status !== 0) return `tc netem failed: ${(res.stderr || 'unknown error').trim()}`;
    return undefined;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

interface MembersReply {
  members: { id: string; state: string; incarnation: number }[];
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  const problem = netemProblem();
  // The netem path would run the nodes in namespaces with netem on their links; this kernel
  // usually lacks sch_netem, so the transport hook is the one exercised here.
  const lossMethod = `transport fault hook (each node drops ${LOSS * 100}% of the gossip packets it sends)${problem ? `; tc netem unusable: ${problem}` : ''}`;
  console.log(`loss: ${lossMethod}`);
  const nodes = await startCluster(NODES, `fp${process.pid}`, ['--test-faults', 'true']);
  const paused = nodes[Math.floor(NODES / 2)]!;
  const startView = await getJson<{ epoch: number }>(`${nodes[0]!.adminUrl}/v1/cluster/view`);
  const startInc = (await getJson<MembersReply>(`${nodes[0]!.adminUrl}/v1/cluster/members`)).members.find(
    (m) => m.id === paused.id,
  )!.incarnation;
  for (const n of nodes) await postJson(`${n.adminUrl}/v1/test/gossip-faults`, { dropRate: LOSS });
  const began = Date.now();
  let pauses = 0;
  console.log(
    `${NODES} nodes, ${paused.id} frozen ${PAUSE_MS} ms every ${EVERY_S} s, ${LOSS * 100}% loss, for ${DURATION_S} s ...`,
  );
  try {
    for (let t = 10; t < DURATION_S; t += EVERY_S) {
      await sleep(began + t * 1000 - Date.now());
      paused.kill('SIGSTOP');
      await sleep(PAUSE_MS);
      paused.kill('SIGCONT');
      pauses++;
      const dead = nodes.flatMap((n) =>
        n.events.filter((e) => e.time >= began && e.msg === 'member state' && e.entry['state'] === 'dead'),
      );
      console.log(`  t=${String(t).padStart(3)} s: pause ${pauses} done; DEAD marks so far: ${dead.length}`);
    }
    await sleep(Math.max(0, began + DURATION_S * 1000 - Date.now()));
    for (const n of nodes) await postJson(`${n.adminUrl}/v1/test/gossip-faults`, { dropRate: 0 });
    await waitFor(() => agreed(nodes, NODES), 30_000, 'the view to be unchanged');
    const texts = await Promise.all(nodes.map(async (n) => (await fetch(`${n.adminUrl}/metrics`)).text()));
    const endView = await getJson<{ epoch: number }>(`${nodes[0]!.adminUrl}/v1/cluster/view`);
    const endInc = (await getJson<MembersReply>(`${nodes[0]!.adminUrl}/v1/cluster/members`)).members.find(
      (m) => m.id === paused.id,
    )!.incarnation;
    const deadMarks = nodes.flatMap((n) =>
      n.events
        .filter((e) => e.time >= began && e.msg === 'member state' && e.entry['state'] === 'dead')
        .map((e) => `${n.id} marked ${String(e.entry['member'])} DEAD`),
    );
    const declared = texts.reduce((s, t) => s + metric(t, 'meshcache_membership_deaths_declared_total'), 0);
    const suspicions = texts.reduce((s, t) => s + metric(t, 'meshcache_membership_suspicions_total'), 0);
    const refutations = texts.reduce((s, t) => s + metric(t, 'meshcache_membership_refutations_total'), 0);
    const stalls = metric(texts[nodes.indexOf(paused)]!, 'meshcache_membership_stalls_total');
    console.log();
    console.log(
      table(
        ['figure', 'value', 'goal'],
        [
          ['DEAD marks of healthy nodes (all nodes, all marks)', deadMarks.length, '0'],
          ['DEAD declarations (suspicion timeouts)', declared, '0'],
          ['suspicions raised (refuted, not DEAD)', suspicions, ''],
          ['refutations', refutations, ''],
          [`${paused.id} incarnation increase (its refutations)`, endInc - startInc, ''],
          [`${paused.id} noticed its own freeze (stalls)`, stalls, ''],
          ['view epoch before -> after', `${startView.epoch} -> ${endView.epoch}`, 'unchanged'],
          ['pauses', pauses, ''],
        ],
      ),
    );
    for (const d of deadMarks) console.log(`  ${d}`);
    console.log(`\nloss via ${lossMethod}`);
    if (JSON_FILE) {
      writeFileSync(
        JSON_FILE,
        JSON.stringify(
          {
            nodes: NODES,
            durationS: DURATION_S,
            pauseMs: PAUSE_MS,
            everyS: EVERY_S,
            loss: LOSS,
            lossMethod,
            pauses,
            falseDeadMarks: deadMarks.length,
            deathsDeclared: declared,
            suspicions,
            refutations,
            pausedNodeIncarnationIncrease: endInc - startInc,
            pausedNodeStalls: stalls,
            epochBefore: startView.epoch,
            epochAfter: endView.epoch,
          },
          null,
          2,
        ),
      );
    }
  } finally {
    paused.kill('SIGCONT');
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
