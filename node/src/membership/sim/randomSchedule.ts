import { SeededRandom } from '../SeededRandom.js';
import { isVoter, majority } from '../View.js';
import { type SimNode, Simulation } from './Simulation.js';

export interface ScheduleResult {
  seed: number;
  nodes: number;
  steps: string[];
  violations: string[];
  commits: number;
  /** Simulated milliseconds. */
  simulatedMs: number;
}

/** Timings that make removals and retries happen within a few simulated seconds. */
export const FAST_TIMINGS = {
  removeAfterMs: 2000,
  proposalTimeoutMs: 1000,
  pushPullIntervalMs: 3000,
  reconnectIntervalMs: 1000,
  bootstrapSearchMs: 1500,
  joinBackoffMaxMs: 1000,
  deadReapMs: 10_000,
};

function pick<T>(rng: SeededRandom, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(rng.next() * items.length)];
}

/**
 * One randomized schedule: a cluster of 3-7 nodes forms, then suffers a
 * random sequence of crashes, restarts, partitions, heals, freezes, packet
 * loss, admin removals and graceful leaves; the simulation checks the view
 * invariants throughout. Finally the network heals and, if a majority of the
 * last view's members still runs, every running node must converge on one
 * view holding exactly the running nodes; otherwise they must at least agree.
 */
export function runRandomSchedule(seed: number): ScheduleResult {
  const rng = new SeededRandom(seed * 7919 + 17);
  const n = 3 + Math.floor(rng.next() * 5);
  const sim = new Simulation({
    nodes: n,
    seed,
    seeds: 1 + Math.floor(rng.next() * n),
    encode: seed % 8 === 0,
    latencyMs: [0.2, 1 + rng.next() * 20],
    loss: rng.next() < 0.3 ? rng.next() * 0.1 : 0,
    timings: FAST_TIMINGS,
  });
  const steps: string[] = [];
  const log = (s: string) => steps.push(`t=${Math.round(sim.now)} ${s}`);
  sim.startAll(rng.next() * 2000);
  sim.run(2000);
  sim.runUntil(() => sim.converged(), 20_000, 250);
  log(`formed=${sim.converged()} epoch=${sim.maxEpoch}`);

  let healing = false;
  const count = 6 + Math.floor(rng.next() * 10);
  for (let s = 0; s < count && sim.violations.length === 0; s++) {
    const running = sim.running().map((x) => x.index);
    const stopped = sim.nodes.filter((x) => !x.membership).map((x) => x.index);
    const r = rng.next();
    if (r < 0.18 && running.length > 1) {
      const i = pick(rng, running)!;
      sim.crash(i);
      log(`crash n${i}`);
    } else if (r < 0.32 && stopped.length > 0) {
      const i = pick(rng, stopped)!;
      sim.start(i);
      log(`restart n${i}`);
    } else if (r < 0.47) {
      const side = sim.nodes.map((x) => x.index).filter(() => rng.next() < 0.4);
      sim.partition([[], side]);
      log(`partition [${side.join(',')}] from the rest`);
    } else if (r < 0.57) {
      sim.heal();
      log('heal');
    } else if (r < 0.65) {
      sim.loss = rng.next() < 0.5 ? 0 : rng.next() * 0.3;
      log(`loss ${sim.loss.toFixed(2)}`);
    } else if (r < 0.73 && running.length > 0) {
      const i = pick(rng, running)!;
      const ms = 500 + rng.next() * 3500;
      sim.pause(i, ms);
      log(`pause n${i} ${Math.round(ms)}ms`);
    } else if (r < 0.8 && running.length > 0) {
      const by = sim.nodes[pick(rng, running)!]!.membership!;
      const target = pick(rng, by.view?.members ?? []);
      if (target) {
        by.requestRemove(target.id);
        log(`admin remove ${target.id} via ${by.self.id}`);
      }
    } else if (r < 0.86 && running.length > 1) {
      const i = pick(rng, running)!;
      sim.leave(i, 500 + rng.next() * 2000);
      log(`leave n${i}`);
    } else if (r < 0.96) {
      // Ambush the next proposal: once the first acceptor accepts, crash or cut off its proposer
      // within a few milliseconds, so some accepts land and the commit may never be sent.
      const cut = rng.next() < 0.5;
      const after = rng.next() * 3;
      sim.onNextAccept.push((_acceptor, ballot) => {
        const i = sim.nodeById(ballot.id).index;
        sim.queue.push(sim.now + after, () => {
          if (healing) return;
          if (cut) sim.partition([[], [i]]);
          else sim.crash(i);
        });
      });
      log(`ambush the next proposer (${cut ? 'cut off' : 'crash'})`);
      // Give it something to propose.
      const by = running.length > 0 ? sim.nodes[pick(rng, running)!]!.membership! : undefined;
      const target = by ? pick(rng, by.view?.members ?? []) : undefined;
      if (by && target && rng.next() < 0.5) by.requestRemove(target.id);
    }
    const ms = 300 + rng.next() * 6000;
    sim.run(ms);
  }

  // Heal everything; nodes an admin removed are asked back (again, as removals may commit late).
  healing = true;
  sim.onNextAccept.length = 0;
  sim.heal();
  sim.loss = 0;
  let asked = -Infinity;
  const askBack = (): void => {
    if (sim.now - asked < 5000) return;
    asked = sim.now;
    for (const x of sim.running()) {
      const m = x.membership!;
      if (m.view && !m.isMember) m.requestJoin();
    }
  };
  // A node that restarted while every seed is down and the cluster forgot it cannot find the cluster.
  const orphan = (x: SimNode): boolean =>
    x.membership!.view === undefined &&
    !sim.nodes.some((s) => s !== x && s.membership !== undefined && sim.seedAddrs.includes(s.addr));
  const agreed = (): boolean => {
    askBack();
    return sim.agreed(orphan);
  };
  const converged = (): boolean => {
    askBack();
    return sim.converged(orphan);
  };
  // Running nodes must come to hold one view; if a majority of its members
  // still runs, that view must then hold exactly the running nodes. (Without
  // a majority a view can never change again: that is the safety price.)
  // With no view anywhere, a cluster forms only if the first seed runs with a majority of the seeds.
  const noViewLegit = (): boolean => {
    if (!sim.running().every((x) => x.membership!.view === undefined)) return false;
    const seedsUp = sim.nodes.filter((x) => x.membership && sim.seedAddrs.includes(x.addr)).length;
    return sim.nodes[0]!.membership === undefined || seedsUp * 2 <= sim.seedAddrs.length;
  };
  if (!sim.runUntil(() => agreed() || noViewLegit(), 60_000, 500)) {
    sim.violations.push(
      `running nodes disagree on the view after healing: ${sim
        .running()
        .map((x) => `${x.id}:${x.membership!.view?.cluster}/${x.membership!.epoch}`)
        .join(' ')}`,
    );
  }
  // Converged, or legitimately stuck: the agreed view has lost a majority of its
  // members' processes, so it can never change again (the price of safety).
  const stuck = (): boolean => {
    const view = sim.running().find((x) => !orphan(x))?.membership?.view;
    if (!view || !sim.agreed(orphan)) return false;
    const voters = view.members.filter((m) => {
      const x = sim.nodeById(m.id);
      return x.membership !== undefined && isVoter(view, m.id, x.inst);
    }).length;
    return voters < majority(view);
  };
  if (
    sim.violations.length === 0 &&
    !sim.runUntil(() => converged() || stuck() || noViewLegit(), 90_000, 500)
  ) {
    const last = sim.lastCommitted!;
    sim.violations.push(
      `no convergence after healing: views ${sim
        .running()
        .map((x) => `${x.id}:${x.membership!.epoch}${x.membership!.isMember ? '' : '(out)'}`)
        .join(' ')}; last committed ${last.epoch} [${last.members.map((m) => m.id).join(',')}]`,
    );
  }
  log(`end epoch=${sim.maxEpoch} converged=${sim.converged()}`);
  return {
    seed,
    nodes: n,
    steps,
    violations: sim.violations,
    commits: sim.commitCount,
    simulatedMs: sim.now,
  };
}
