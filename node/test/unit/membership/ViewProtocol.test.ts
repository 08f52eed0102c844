// Committed views over the simulated network: formation, removal, partitions, decider failure, payloads.
import { describe, expect, it } from '@jest/globals';
import type { View } from '../../../src/membership/messages.js';
import { FAST_TIMINGS } from '../../../src/membership/sim/randomSchedule.js';
import { Simulation } from '../../../src/membership/sim/Simulation.js';
import { membersById } from '../../../src/membership/View.js';

const epochs = (sim: Simulation, ids: number[]) => ids.map((i) => sim.nodes[i]!.membership!.epoch);

describe('committed views (simulated network)', () => {
  it('forms exactly one cluster when nodes start together from a shared seed list', () => {
    for (let seed = 0; seed < 60; seed++) {
      const sim = new Simulation({
        nodes: 3 + (seed % 6),
        seed,
        seeds: 1 + (seed % 3),
        latencyMs: [0.2, 5 + (seed % 30)],
        loss: (seed % 4) * 0.03,
        timings: FAST_TIMINGS,
      });
      sim.startAll(seed % 2 === 0 ? 0 : 3000);
      sim.run(3000);
      expect(sim.runUntil(() => sim.converged(), 60_000, 200)).toBe(true);
      expect(sim.genesisCount).toBe(1);
      expect(sim.violations).toEqual([]);
    }
  });

  it('keeps a crashed node a member while DEAD, and removes it only after removeAfterMs', () => {
    const sim = new Simulation({ nodes: 5, seed: 11, preformed: true, timings: { removeAfterMs: 10_000 } });
    sim.startFormed();
    sim.run(2000);
    sim.crash(4);
    const alive = [0, 1, 2, 3];
    expect(
      sim.runUntil(
        () => alive.every((i) => sim.nodes[i]!.membership!.detector.get('n4')?.state === 'dead'),
        20_000,
        10,
      ),
    ).toBe(true);
    const deadAt = sim.now;
    expect(alive.every((i) => membersById(sim.nodes[i]!.membership!.view!).has('n4'))).toBe(true);
    expect(sim.runUntil(() => sim.converged(), 30_000, 10)).toBe(true);
    // Removed no earlier than removeAfterMs after the first DEAD mark (which came slightly before deadAt).
    expect(sim.now - deadAt).toBeGreaterThan(9000);
    const last = sim.nodes[0]!.membership!.view!;
    expect(last.removed).toEqual([{ id: 'n4', reason: 'dead' }]);
    expect(sim.violations).toEqual([]);
  });

  it('never lets a minority side commit; the majority removes it after removeAfterMs; all converge after healing', () => {
    const sim = new Simulation({
      nodes: 5,
      seed: 12,
      preformed: true,
      timings: { ...FAST_TIMINGS, removeAfterMs: 5000 },
    });
    sim.startFormed();
    sim.run(2000);
    const before = sim.maxEpoch;
    sim.partition([
      [0, 1, 2],
      [3, 4],
    ]);
    sim.run(40_000);
    expect(epochs(sim, [3, 4])).toEqual([before, before]);
    const majority = sim.nodes[0]!.membership!.view!;
    expect(majority.epoch).toBeGreaterThan(before);
    expect(majority.members.map((m) => m.id).sort()).toEqual(['n0', 'n1', 'n2']);
    // The minority kept trying and failing.
    expect(
      sim.nodes[3]!.membership!.counters.proposalsFailed + sim.nodes[4]!.membership!.counters.proposalsFailed,
    ).toBeGreaterThan(0);
    sim.heal();
    expect(sim.runUntil(() => sim.converged(), 60_000, 100)).toBe(true);
    expect(sim.violations).toEqual([]);
  });

  it('keeps a view accepted by a majority when its decider dies before announcing it', () => {
    for (let seed = 20; seed < 40; seed++) {
      const sim = new Simulation({ nodes: 5, seed, preformed: true, timings: FAST_TIMINGS });
      sim.startFormed();
      sim.run(2000);
      let proposed: View | undefined;
      let accepts = 0;
      const crashAfter = 1 + (seed % 4);
      const hook = (_a: string, ballot: { id: string }, view: View) => {
        proposed ??= view;
        accepts++;
        if (accepts === crashAfter) sim.crash(sim.nodeById(ballot.id).index);
        else sim.onNextAccept.push(hook);
      };
      sim.onNextAccept.push(hook);
      sim.crash(4); // the decider will propose its removal
      sim.run(20_000);
      expect(proposed).toBeDefined();
      // Whoever decides next re-proposes what a majority accepted: the epoch holds that view or a
      // view chosen before a majority accepted this one - never two views.
      expect(sim.violations).toEqual([]);
      if (crashAfter >= 3) {
        const committed = sim.commits.get(`${proposed!.cluster}|${proposed!.epoch}`);
        expect(committed?.view.members.map((m) => m.id)).toEqual(proposed!.members.map((m) => m.id));
      }
      expect(sim.runUntil(() => sim.converged(), 30_000, 100)).toBe(true);
    }
  });

  it('commits the decider payload with the view, identical on every node', () => {
    const sim = new Simulation({
      nodes: 4,
      seed: 13,
      timings: FAST_TIMINGS,
      payload: (prev, next) => ({ basedOn: prev?.epoch ?? 0, order: next.members.map((m) => m.id) }),
    });
    sim.startAll();
    sim.run(1000);
    expect(sim.runUntil(() => sim.converged(), 30_000)).toBe(true);
    const views = sim.running().map((x) => x.membership!.view!);
    for (const v of views) {
      expect(v.payload).toEqual({ basedOn: v.epoch - 1, order: v.members.map((m) => m.id) });
      expect(v).toEqual(views[0]);
    }
  });

  it('removes a member on admin request; it stays out until asked to join again', () => {
    const sim = new Simulation({ nodes: 4, seed: 14, preformed: true, timings: FAST_TIMINGS });
    sim.startFormed();
    sim.run(2000);
    expect(sim.nodes[3]!.membership!.requestRemove('n1')).toBe(true);
    expect(sim.runUntil(() => !sim.nodes[1]!.membership!.isMember, 10_000)).toBe(true);
    sim.run(10_000);
    expect(sim.nodes[1]!.membership!.isMember).toBe(false);
    expect(sim.nodes[0]!.membership!.view!.removed).toEqual([{ id: 'n1', reason: 'admin' }]);
    sim.nodes[1]!.membership!.requestJoin();
    expect(sim.runUntil(() => sim.converged(), 10_000)).toBe(true);
  });

  it('removes a member that leaves gracefully at once (not after removeAfterMs)', () => {
    const sim = new Simulation({ nodes: 4, seed: 15, preformed: true });
    sim.startFormed();
    sim.run(2000);
    const t0 = sim.now;
    sim.leave(0, 3000); // the decider itself leaves
    expect(sim.runUntil(() => sim.running().length === 3 && sim.converged(), 10_000, 10)).toBe(true);
    expect(sim.now - t0).toBeLessThan(5000);
    expect(sim.nodes[1]!.membership!.view!.removed).toEqual([{ id: 'n0', reason: 'left' }]);
  });

  it('replaces a restarted member in place (same position, new process instance)', () => {
    const sim = new Simulation({ nodes: 4, seed: 16, preformed: true });
    sim.startFormed();
    sim.run(2000);
    const order = sim.nodes[0]!.membership!.view!.members.map((m) => m.id);
    sim.crash(2);
    sim.run(500);
    sim.start(2);
    expect(sim.runUntil(() => sim.converged(), 20_000)).toBe(true);
    const v = sim.nodes[0]!.membership!.view!;
    expect(v.members.map((m) => m.id)).toEqual(order);
    expect(membersById(v).get('n2')!.inst).toBe(sim.nodes[2]!.inst);
  });

  it('waits while configured seeds resolve to nothing, then forms one cluster (a headless Service filling in)', () => {
    for (let seed = 0; seed < 30; seed++) {
      const sim = new Simulation({
        nodes: 5,
        seed,
        timings: FAST_TIMINGS,
        // DNS: nothing until 3 s, then every address (publishNotReadyAddresses).
        resolver: (_node, s) => ({
          configured: 1,
          resolve: (done) => done(s.now < 3000 ? [] : s.nodes.map((n) => n.addr)),
        }),
      });
      sim.startAll(1000);
      sim.run(2900);
      expect(sim.genesisCount).toBe(0);
      expect(sim.runUntil(() => sim.converged(), 60_000, 200)).toBe(true);
      expect(sim.genesisCount).toBe(1);
      expect(sim.violations).toEqual([]);
    }
  });

  it('ends in one cluster even when nodes resolve different seed sets while pods appear', () => {
    for (let seed = 0; seed < 30; seed++) {
      const sim = new Simulation({
        nodes: 6,
        seed,
        timings: FAST_TIMINGS,
        // Each node sees the pods started so far (in DNS order), so "the first seed" differs between nodes.
        resolver: (_node, s) => ({
          configured: 1,
          resolve: (done) => done(s.running().map((n) => n.addr)),
        }),
      });
      sim.startAll(4000);
      sim.run(4000);
      expect(sim.runUntil(() => sim.converged(), 90_000, 200)).toBe(true);
      expect(sim.violations).toEqual([]);
    }
  });

  it('merges a cluster a restarted seed formed alone into the larger one', () => {
    const sim = new Simulation({ nodes: 4, seed: 17, seeds: 1, timings: FAST_TIMINGS });
    sim.startAll();
    sim.run(1000);
    expect(sim.runUntil(() => sim.converged(), 20_000)).toBe(true);
    sim.crash(0);
    sim.partition([[1, 2, 3], [0]]);
    sim.start(0); // the only seed, cut off: it can only bootstrap anew
    sim.run(5000);
    expect(sim.genesisCount).toBe(2);
    sim.heal();
    expect(sim.runUntil(() => sim.converged(), 60_000, 100)).toBe(true);
    expect(sim.nodes[0]!.membership!.view!.cluster).toBe(sim.nodes[1]!.membership!.view!.cluster);
    expect(sim.violations).toEqual([]);
  });
});
