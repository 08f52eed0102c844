// SWIM with Lifeguard, driven over the simulated network and virtual clock (the same code a node runs).
import { describe, expect, it } from '@jest/globals';
import { FailureDetector } from '../../../src/membership/FailureDetector.js';
import { newCounters } from '../../../src/membership/MembershipCounters.js';
import { DEFAULT_MEMBERSHIP_TIMINGS } from '../../../src/membership/MembershipOptions.js';
import type { GossipMessage, Liveness } from '../../../src/membership/messages.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { EventQueue } from '../../../src/membership/sim/EventQueue.js';
import { Simulation } from '../../../src/membership/sim/Simulation.js';

function formed(
  nodes: number,
  seed: number,
  extra: Partial<ConstructorParameters<typeof Simulation>[0]> = {},
) {
  const sim = new Simulation({ nodes, seed, preformed: true, encode: true, ...extra });
  sim.startFormed();
  sim.run(3000);
  return sim;
}

function stateAt(sim: Simulation, observer: number, id: string): Liveness | undefined {
  return sim.nodes[observer]!.membership!.detector.get(id)?.state;
}

describe('failure detection (simulated network)', () => {
  it('suspects a crashed member first, then every live member marks it DEAD within the suspicion bounds', () => {
    const sim = formed(8, 1);
    const seen: { state: Liveness; at: number }[] = [];
    sim.onLiveness((_o, r) => {
      if (r.id === 'n5') seen.push({ state: r.state, at: sim.now });
    });
    const t0 = sim.now;
    sim.crash(5);
    expect(
      sim.runUntil(() => [0, 1, 2, 3, 4, 6, 7].every((i) => stateAt(sim, i, 'n5') === 'dead'), 20_000, 10),
    ).toBe(true);
    const firstSuspect = seen.find((s) => s.state === 'suspect')!;
    const firstDead = seen.find((s) => s.state === 'dead')!;
    expect(firstSuspect.at).toBeLessThan(firstDead.at);
    // Confirmed suspicion lasts at least the minimum, and the whole detection stays well under the maximum.
    expect(firstDead.at - firstSuspect.at).toBeGreaterThanOrEqual(
      DEFAULT_MEMBERSHIP_TIMINGS.suspicionTimeoutMs,
    );
    expect(sim.now - t0).toBeLessThan(8000);
    const declared = sim.running().reduce((n, x) => n + x.membership!.counters.deathsDeclared, 0);
    expect(declared).toBeGreaterThanOrEqual(1);
  });

  it('keeps a member ALIVE whose direct link is cut, thanks to indirect probes through others', () => {
    const sim = formed(6, 2);
    sim.blockLink(0, 1);
    let suspected = 0;
    sim.onLiveness((o, r) => {
      if (o.index === 0 && r.id === 'n1' && r.state !== 'alive') suspected++;
    });
    sim.run(30_000);
    expect(suspected).toBe(0);
    expect(stateAt(sim, 0, 'n1')).toBe('alive');
    expect(sim.nodes[0]!.membership!.counters.indirectProbes).toBeGreaterThan(0);
  });

  it('lets a frozen member refute its suspicion with a higher incarnation instead of being declared DEAD', () => {
    const sim = formed(10, 3);
    const before = sim.nodes[4]!.membership!.detector.self.inc;
    let dead = 0;
    let suspected = 0;
    sim.onLiveness((_o, r) => {
      if (r.id !== 'n4') return;
      if (r.state === 'dead') dead++;
      if (r.state === 'suspect') suspected++;
    });
    for (let i = 0; i < 5; i++) {
      sim.pause(4, 2000);
      sim.run(10_000);
    }
    expect(suspected).toBeGreaterThan(0);
    expect(dead).toBe(0);
    expect(sim.nodes[4]!.membership!.detector.self.inc).toBeGreaterThan(before);
    expect(sim.nodes[4]!.membership!.counters.refutations).toBeGreaterThan(0);
    // The frozen node noticed it had stalled and did not accuse anyone meanwhile.
    expect(sim.nodes[4]!.membership!.counters.stalls).toBeGreaterThan(0);
    for (const x of sim.running()) expect(stateAt(sim, x.index, 'n4')).toBe('alive');
  });

  it('raises the local health multiplier of a node that hears little (missed acks and nacks)', () => {
    const sim = formed(6, 4);
    sim.setInboundLoss(2, 0.7);
    let max = 0;
    for (let i = 0; i < 60; i++) {
      sim.run(500);
      max = Math.max(max, sim.nodes[2]!.membership!.detector.health.score);
    }
    expect(max).toBeGreaterThan(0);
    sim.setInboundLoss(2, 0);
    sim.run(30_000);
    expect(sim.nodes[2]!.membership!.detector.health.score).toBe(0);
  });

  it('brings a restarted node (same id, new process) back ALIVE with a higher incarnation', () => {
    const sim = formed(5, 5, { timings: { removeAfterMs: 60_000 } });
    const oldInc = sim.nodes[3]!.membership!.detector.self.inc;
    sim.crash(3);
    expect(sim.runUntil(() => stateAt(sim, 0, 'n3') === 'dead', 20_000)).toBe(true);
    sim.start(3);
    expect(
      sim.runUntil(() => sim.running().every((x) => stateAt(sim, x.index, 'n3') === 'alive'), 20_000),
    ).toBe(true);
    expect(sim.nodes[0]!.membership!.detector.get('n3')!.inc).toBeGreaterThan(oldInc);
    expect(sim.nodes[0]!.membership!.detector.get('n3')!.inst).toBe(sim.nodes[3]!.inst);
  });

  it('marks a member that leaves gracefully LEFT, never DEAD', () => {
    const sim = formed(5, 6);
    const states = new Set<Liveness>();
    sim.onLiveness((_o, r) => {
      if (r.id === 'n2') states.add(r.state);
    });
    sim.leave(2, 1000);
    expect(sim.runUntil(() => [0, 1, 3, 4].every((i) => stateAt(sim, i, 'n2') === 'left'), 10_000)).toBe(
      true,
    );
    expect(states.has('dead')).toBe(false);
  });

  it('detects within bounds and without false DEAD under 5% loss', () => {
    const sim = formed(10, 7, { loss: 0.05 });
    let falseDead = 0;
    sim.onDeadMark((_o, r) => {
      if (sim.nodeById(r.id).membership) falseDead++;
    });
    sim.run(60_000);
    expect(falseDead).toBe(0);
    sim.crash(9);
    expect(
      sim.runUntil(() => sim.running().every((x) => stateAt(sim, x.index, 'n9') === 'dead'), 20_000),
    ).toBe(true);
  });
});

describe('incarnation rules (one detector)', () => {
  function detector() {
    const q = new EventQueue();
    const sent: GossipMessage[][] = [];
    const changes: [string, Liveness][] = [];
    const d = new FailureDetector(
      { id: 'me', inst: 100, addr: 'me:1', zone: '', meta: {} },
      100,
      DEFAULT_MEMBERSHIP_TIMINGS,
      {
        now: () => q.now,
        schedule: (ms, fn) => {
          const ev = q.push(q.now + ms, fn);
          return { cancel: () => (ev.cancelled = true) };
        },
      },
      new SeededRandom(1),
      newCounters(),
      {
        sendPacket: (_to, msgs) => sent.push([...msgs]),
        changed: (r) => changes.push([r.id, r.state]),
        reaped: () => undefined,
        keep: () => false,
      },
    );
    const alive = (id: string, inc: number, inst = 1) =>
      d.onAlive({ t: 'alive', id, inst, inc, addr: `${id}:1`, zone: '', meta: {} });
    return { q, d, sent, changes, alive };
  }

  it('ignores stale news and lets only a higher incarnation revive a DEAD member', () => {
    const { d, alive } = detector();
    alive('x', 5);
    d.onSuspect({ t: 'suspect', id: 'x', inc: 4, from: 'y' });
    expect(d.get('x')!.state).toBe('alive');
    d.onDead({ t: 'dead', id: 'x', inc: 5, from: 'y' });
    expect(d.get('x')!.state).toBe('dead');
    alive('x', 5);
    expect(d.get('x')!.state).toBe('dead');
    alive('x', 6, 2);
    expect(d.get('x')!.state).toBe('alive');
    expect(d.get('x')!.inst).toBe(2);
  });

  it('refutes a suspicion or death notice about itself with a higher incarnation', () => {
    const { d } = detector();
    d.onSuspect({ t: 'suspect', id: 'me', inc: 100, from: 'y' });
    expect(d.self.inc).toBe(101);
    d.onDead({ t: 'dead', id: 'me', inc: 150, from: 'y' });
    expect(d.self.inc).toBe(151);
    expect(d.self.state).toBe('alive');
    // An older claim is ignored.
    d.onSuspect({ t: 'suspect', id: 'me', inc: 3, from: 'y' });
    expect(d.self.inc).toBe(151);
  });

  it('outbids a claim about its id made by an older process of the same id', () => {
    const { d } = detector();
    d.onAlive({ t: 'alive', id: 'me', inst: 50, inc: 120, addr: 'old:1', zone: '', meta: {} });
    expect(d.self.inc).toBe(121);
    expect(d.self.addr).toBe('me:1');
  });

  it('piggybacks queued updates on probes within the packet budget', () => {
    const { q, d, sent, alive } = detector();
    for (let i = 0; i < 40; i++) alive(`m${i}`, 1);
    d.start();
    q.runUntil(1000);
    expect(sent.length).toBeGreaterThan(0);
    for (const packet of sent) {
      expect(Buffer.byteLength(JSON.stringify(packet))).toBeLessThanOrEqual(
        DEFAULT_MEMBERSHIP_TIMINGS.maxPacketBytes,
      );
    }
    expect(sent.some((p) => p[0]!.t === 'ping' && p.length > 1)).toBe(true);
    d.stop();
  });
});
