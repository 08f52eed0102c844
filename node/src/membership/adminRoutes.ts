import type { FastifyInstance } from 'fastify';
import type { GossipFaults } from './GossipTransport.js';
import type { Membership } from './Membership.js';

export interface ClusterAdminSource {
  membership: () => Membership | undefined;
  /** Present only when the node runs with `testFaults`: the transport's fault settings. */
  faults?: GossipFaults;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0 && s.length < 300)
    ? (v as string[])
    : undefined;
}

/**
 * Cluster routes of the admin server: liveness and membership of every known
 * node, the committed view, join and removal requests, and (test builds
 * only) the gossip fault hook.
 */
export function registerClusterRoutes(app: FastifyInstance, src: ClusterAdminSource): void {
  const unavailable = { error: 'membership is not running yet' };

  app.get('/v1/cluster/members', async (_req, reply) => {
    const m = src.membership();
    if (!m) return reply.code(503).send(unavailable);
    return {
      self: m.self.id,
      epoch: m.epoch,
      member: m.isMember,
      decider: m.decider ?? null,
      localHealth: m.detector.health.score,
      members: m.members(),
    };
  });

  app.get<{ Querystring: { payload?: string } }>('/v1/cluster/view', async (req, reply) => {
    const m = src.membership();
    if (!m) return reply.code(503).send(unavailable);
    const v = m.view;
    if (!v)
      return { epoch: 0, members: [], decider: null, currentDecider: null, self: m.self.id, member: false };
    return {
      cluster: v.cluster,
      epoch: v.epoch,
      members: v.members.map((x) => ({
        id: x.id,
        zone: x.zone,
        address: x.addr,
        instance: x.inst,
        meta: x.meta,
      })),
      decider: v.decider,
      currentDecider: m.decider ?? null,
      removed: v.removed,
      self: m.self.id,
      member: m.isMember,
      ...(req.query.payload === '1' || req.query.payload === 'true' ? { payload: v.payload } : {}),
    };
  });

  app.post<{ Body: { seeds?: unknown } | undefined }>('/v1/cluster/join', async (req, reply) => {
    const m = src.membership();
    if (!m) return reply.code(503).send(unavailable);
    const seeds = req.body?.seeds === undefined ? [] : stringList(req.body.seeds);
    if (seeds === undefined)
      return reply.code(400).send({ error: 'seeds must be a list of host:port strings' });
    m.requestJoin(seeds);
    return reply.code(202).send({ joining: !m.isMember, member: m.isMember, epoch: m.epoch });
  });

  app.post<{ Body: { id?: unknown } | undefined }>('/v1/cluster/remove', async (req, reply) => {
    const m = src.membership();
    if (!m) return reply.code(503).send(unavailable);
    const id = req.body?.id;
    if (typeof id !== 'string' || id.length === 0) return reply.code(400).send({ error: 'id is required' });
    if (!m.requestRemove(id))
      return reply.code(404).send({ error: `${id} is not a member of view ${m.epoch}` });
    return reply.code(202).send({ removing: id, epoch: m.epoch });
  });

  const faults = src.faults;
  if (faults) {
    app.get('/v1/test/gossip-faults', async () => faults);
    app.post<{ Body: { dropRate?: unknown; blocked?: unknown } | undefined }>(
      '/v1/test/gossip-faults',
      async (req, reply) => {
        const body = req.body ?? {};
        if (body.dropRate !== undefined) {
          if (typeof body.dropRate !== 'number' || body.dropRate < 0 || body.dropRate > 1) {
            return reply.code(400).send({ error: 'dropRate must be a number in [0, 1]' });
          }
          faults.dropRate = body.dropRate;
        }
        if (body.blocked !== undefined) {
          const blocked = stringList(body.blocked);
          if (!blocked) return reply.code(400).send({ error: 'blocked must be a list of addresses' });
          faults.blocked = blocked;
        }
        return faults;
      },
    );
  }
}
