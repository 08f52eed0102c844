import { describe, expect, it } from '@jest/globals';
import Fastify from 'fastify';
import { registerClusterRoutes } from '../../../src/membership/adminRoutes.js';
import type { GossipFaults } from '../../../src/membership/GossipTransport.js';
import { Simulation } from '../../../src/membership/sim/Simulation.js';

function cluster() {
  const sim = new Simulation({ nodes: 3, seed: 9, preformed: true });
  sim.startFormed();
  sim.run(2000);
  return sim;
}

describe('cluster admin routes', () => {
  it('shows members with liveness and membership, and the committed view', async () => {
    const sim = cluster();
    const app = Fastify();
    registerClusterRoutes(app, { membership: () => sim.nodes[1]!.membership });
    const members = (await app.inject({ url: '/v1/cluster/members' })).json();
    expect(members).toMatchObject({ self: 'n1', epoch: 1, member: true, decider: 'n0' });
    expect(
      members.members.map((m: { id: string; state: string; member: boolean }) => [m.id, m.state, m.member]),
    ).toEqual([
      ['n0', 'alive', true],
      ['n1', 'alive', true],
      ['n2', 'alive', true],
    ]);
    const view = (await app.inject({ url: '/v1/cluster/view' })).json();
    expect(view).toMatchObject({ epoch: 1, decider: 'n0', currentDecider: 'n0', member: true });
    expect(view.members.map((m: { id: string }) => m.id)).toEqual(['n0', 'n1', 'n2']);
    expect(view.payload).toBeUndefined();
    expect((await app.inject({ url: '/v1/cluster/view?payload=1' })).json()).toHaveProperty('payload', null);
    // No fault hook unless the node runs with testFaults.
    expect((await app.inject({ url: '/v1/test/gossip-faults' })).statusCode).toBe(404);
  });

  it('validates and forwards removal and join requests', async () => {
    const sim = cluster();
    const app = Fastify();
    registerClusterRoutes(app, { membership: () => sim.nodes[1]!.membership });
    expect((await app.inject({ method: 'POST', url: '/v1/cluster/remove', payload: {} })).statusCode).toBe(
      400,
    );
    expect(
      (await app.inject({ method: 'POST', url: '/v1/cluster/remove', payload: { id: 'zz' } })).statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/cluster/remove', payload: { id: 'n2' } })).statusCode,
    ).toBe(202);
    expect(sim.runUntil(() => !sim.nodes[2]!.membership!.isMember, 10_000)).toBe(true);
    const app2 = Fastify();
    registerClusterRoutes(app2, { membership: () => sim.nodes[2]!.membership });
    expect(
      (await app2.inject({ method: 'POST', url: '/v1/cluster/join', payload: { seeds: 'x' } })).statusCode,
    ).toBe(400);
    expect((await app2.inject({ method: 'POST', url: '/v1/cluster/join', payload: {} })).statusCode).toBe(
      202,
    );
    expect(sim.runUntil(() => sim.converged(), 10_000)).toBe(true);
  });

  it('answers 503 before membership runs, and exposes the fault hook only when given one', async () => {
    const faults: GossipFaults = { dropRate: 0, blocked: [] };
    const app = Fastify();
    registerClusterRoutes(app, { membership: () => undefined, faults });
    expect((await app.inject({ url: '/v1/cluster/members' })).statusCode).toBe(503);
    const set = await app.inject({
      method: 'POST',
      url: '/v1/test/gossip-faults',
      payload: { dropRate: 0.05, blocked: ['a:1'] },
    });
    expect(set.json()).toEqual({ dropRate: 0.05, blocked: ['a:1'] });
    expect(faults).toEqual({ dropRate: 0.05, blocked: ['a:1'] });
    expect(
      (await app.inject({ method: 'POST', url: '/v1/test/gossip-faults', payload: { dropRate: 2 } }))
        .statusCode,
    ).toBe(400);
  });
});
