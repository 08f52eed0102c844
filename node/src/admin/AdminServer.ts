import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { type ClusterAdminSource, registerClusterRoutes } from '../membership/adminRoutes.js';

export interface AdminSources {
  registry: Registry;
  /** Serving and not shutting down. */
  ready: () => boolean;
  info: () => unknown;
  topology: () => unknown;
  /** Membership views and requests: /v1/cluster/members, /view, /join, /remove. */
  cluster?: ClusterAdminSource;
}

/** Admin HTTP: health, readiness, metrics and views of the node. */
export function createAdminServer(src: AdminSources): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (src.ready()) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready' });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', src.registry.contentType);
    return src.registry.metrics();
  });
  app.get('/v1/info', async () => src.info());
  app.get('/v1/cluster/topology', async () => src.topology());
  if (src.cluster) registerClusterRoutes(app, src.cluster);
  return app;
}
