#!/usr/bin/env node
/**
 * Membership at scale in the simulator (`npm run bench:membership-sim`; add
 * `-- --json FILE`): the same membership code on a virtual clock over a
 * simulated network (latency 0.2-2 ms, so messages reorder), at 100, 1000
 * and 5000 nodes, default timings except removeAfterMs = 5 s. Per size:
 *
 *  - messages per node per second in a quiet cluster (every message counted,
 *    piggybacked ones included) and UDP packets per node per second;
 *  - detection: crash one node, time until every live node marks it DEAD
 *    (p50/p99 over the trials), and the spread from the first DEAD mark to
 *    the last (dissemination);
 *  - view convergence: the removal view's commit until every live node holds it;
 *  - false positives: 5% packet loss with a random node frozen for 2 s every
 *    10 s: DEAD marks of running nodes (goal 0), and suspicions raised.
 *
 * Bigger clusters run fewer trials and fewer simulated seconds, so each size
 * finishes in a few minutes. Options: --sizes 100,1000,5000, --seed N, --json FILE.
 */
import { writeFileSync } from 'node:fs';
import { membership } from '@meshcache/node';
import { arg, percentile, table } from './benchNodes.js';

const SIZES = arg('sizes', '100,1000,5000').split(',').map(Number);
const SEED = Number(arg('seed', '1'));
const JSON_FILE = arg('json', '');

interface SizeResult {
  nodes: number;
  trials: number;
  simulatedS: number;
  wallS: number;
  messagesPerNodeS: number;
  packetsPerNodeS: number;
  messagesPerNodeSUnderLoss: number;
  detectionMs: { p50: number; p99: number; max: number };
  disseminationMs: { p50: number; p99: number };
  viewConvergenceMs: { p50: number; p99: number; max: number };
  falseDead: number;
  suspicionsPerNodeMin: number;
  fpSimulatedS: number;
}

function plan(n: number): { trials: number; fpSeconds: number; steadySeconds: number } {
  if (n <= 200) return { trials: 20, fpSeconds: 300, steadySeconds: 20 };
  if (n <= 2000) return { trials: 6, fpSeconds: 60, steadySeconds: 10 };
  return { trials: 3, fpSeconds: 10, steadySeconds: 5 };
}

function runSize(n: number): SizeResult {
  const wall0 = Date.now();
  const { trials, fpSeconds, steadySeconds } = plan(n);
  const sim = new membership.Simulation({
    nodes: n,
    seed: SEED + n,
    preformed: true,
    latencyMs: [0.2, 2],
    timings: { removeAfterMs: 5000 },
  });
  sim.startFormed();
  sim.run(3000);
  const sent = () => sim.nodes.reduce((s, x) => [s[0]! + x.sentMessages, s[1]! + x.sentPackets], [0, 0]);
  const [m0, p0] = sent();
  sim.run(steadySeconds * 1000);
  const [m1, p1] = sent();
  const messagesPerNodeS = (m1! - m0!) / n / steadySeconds;
  const packetsPerNodeS = (p1! - p0!) / n / steadySeconds;

  // Who marked whom DEAD when, and who adopted which view when.
  let victim = '';
  const marks = new Map<string, number>();
  sim.onDeadMark((observer, record) => {
    if (record.id === victim && !marks.has(observer.id)) marks.set(observer.id, sim.now);
  });
  const adoptions = new Map<string, { count: number; last: number }>();
  sim.onViewAdopted((_node, view) => {
    const key = `${view.cluster}|${view.epoch}`;
    const a = adoptions.get(key) ?? { count: 0, last: 0 };
    a.count++;
    a.last = sim.now;
    adoptions.set(key, a);
  });

  const detection: number[] = [];
  const dissemination: number[] = [];
  const convergence: number[] = [];
  const rng = new membership.SeededRandom(SEED);
  for (let t = 0; t < trials; t++) {
    const running = sim.running();
    const target = running[1 + Math.floor(rng.next() * (running.length - 1))]!;
    victim = target.id;
    marks.clear();
    const crashedAt = sim.now;
    sim.crash(target.index);
    const live = running.length - 1;
    if (!sim.runUntil(() => marks.size >= live, 120_000, 20))
      throw new Error(`n=${n}: ${victim} not detected`);
    const times = [...marks.values()];
    detection.push(Math.max(...times) - crashedAt);
    dissemination.push(Math.max(...times) - Math.min(...times));
    // The decider removes it after removeAfterMs; then the view spreads.
    let key = '';
    const removed = sim.runUntil(
      () => {
        const v = sim.lastCommitted!;
        if (membership.membersById(v).has(victim)) return false;
        key = `${v.cluster}|${v.epoch}`;
        return (adoptions.get(key)?.count ?? 0) >= live;
      },
      120_000,
      20,
    );
    if (!removed) throw new Error(`n=${n}: removal of ${victim} did not converge`);
    const committedAt = sim.commits.get(key)!.at;
    convergence.push(adoptions.get(key)!.last - committedAt);
    process.stdout.write(
      `  n=${n} trial ${t + 1}/${trials}: DEAD everywhere ${Math.round(detection.at(-1)!)} ms, removal view everywhere ${Math.round(convergence.at(-1)!)} ms after commit\n`,
    );
  }

  // False positives: loss and freezes; every node is healthy.
  sim.loss = 0.05;
  let falseDead = 0;
  sim.onLiveness((_observer, record) => {
    const subject = sim.nodeById(record.id);
    if (subject.membership && subject.inst === record.inst && record.state === 'dead') falseDead++;
  });
  const raised = () => sim.running().reduce((s, x) => s + x.membership!.counters.suspicions, 0);
  const s0 = raised();
  const [m2] = sent();
  const fpStart = sim.now;
  for (let s = 0; s < fpSeconds; s += 10) {
    const running = sim.running();
    sim.pause(running[Math.floor(rng.next() * running.length)]!.index, 2000);
    sim.run(10_000);
  }
  const [m3] = sent();
  const suspicions = raised() - s0;
  const fpSimulated = (sim.now - fpStart) / 1000;
  const live = sim.running().length;
  const sd = [...detection].sort((a, b) => a - b);
  const sx = [...dissemination].sort((a, b) => a - b);
  const sc = [...convergence].sort((a, b) => a - b);
  return {
    nodes: n,
    trials,
    simulatedS: Math.round(sim.now / 1000),
    wallS: Math.round((Date.now() - wall0) / 1000),
    messagesPerNodeS: messagesPerNodeS,
    packetsPerNodeS,
    messagesPerNodeSUnderLoss: (m3! - m2!) / live / fpSimulated,
    detectionMs: { p50: percentile(sd, 50), p99: percentile(sd, 99), max: sd.at(-1)! },
    disseminationMs: { p50: percentile(sx, 50), p99: percentile(sx, 99) },
    viewConvergenceMs: { p50: percentile(sc, 50), p99: percentile(sc, 99), max: sc.at(-1)! },
    falseDead,
    // Suspicions raised by failed probes (each then refuted), per node per minute.
    suspicionsPerNodeMin: suspicions / live / (fpSimulated / 60),
    fpSimulatedS: fpSimulated,
  };
}

function main(): void {
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    console.log(`simulating ${n} nodes ...`);
    results.push(runSize(n));
  }
  const r = (x: number) => String(Math.round(x));
  const f = (x: number) => x.toFixed(1);
  console.log();
  console.log(
    table(
      [
        'nodes',
        'trials',
        'detect p50 ms',
        'detect p99 ms',
        'spread p50 ms',
        'view conv p50 ms',
        'view conv max ms',
        'false DEAD',
        'suspicions/node/min',
        'msgs/node/s',
        'pkts/node/s',
        'msgs/node/s (5% loss)',
        'sim s',
        'wall s',
      ],
      results.map((x) => [
        x.nodes,
        x.trials,
        r(x.detectionMs.p50),
        r(x.detectionMs.p99),
        r(x.disseminationMs.p50),
        r(x.viewConvergenceMs.p50),
        r(x.viewConvergenceMs.max),
        `${x.falseDead} in ${x.fpSimulatedS} s`,
        f(x.suspicionsPerNodeMin),
        f(x.messagesPerNodeS),
        f(x.packetsPerNodeS),
        f(x.messagesPerNodeSUnderLoss),
        x.simulatedS,
        x.wallS,
      ]),
    ),
  );
  console.log(
    '\ndetect = crash until every live node marks it DEAD; spread = first to last DEAD mark; view conv = removal' +
      '\nview commit until every live node holds it; false DEAD under 5% loss with a node frozen 2 s every 10 s.',
  );
  if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify({ seed: SEED, sizes: results }, null, 2));
}

main();
