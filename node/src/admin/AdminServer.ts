import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { type ClusterAdminSource, registerClusterRoutes } from '../membership/adminRoutes.js';

export interface AdminSources {
  registry: Registry;
  /** Serving and not shutting down. */
  ready: () => boolean;
  info: () => unknown;
  topology: () => unknown;
  /** The slot table of a replication factor (default: the default cache's) with addresses. */
  slots?: (replicationFactor?: number) => unknown;
  /** Membership views and requests: /v1/cluster/members, /view, /join, /remove. */
  cluster?: ClusterAdminSource;
  /** Per-slot digests of one cache's contents on this node; undefined for an unknown cache. */
  digests?: (cache: string) => unknown;
  /** Rebalancing progress on this node (fills, drops, pending slots). */
  rebalance?: () => unknown;
  /** Drains this node (its slots move away, then it leaves the view). */
  drain?: (force: boolean) => Promise<{ code: number; message: string }>;
  /** Tests only (testWriteLocal): POST /v1/test/write-local; the route does not exist without it. */
  writeLocal?: (w: LocalWrite) => LocalWriteResult;
}

/** A write into one node's own store: `value` sets the key (no TTL), none deletes it. */
export interface LocalWrite {
  cache: string;
  key: string;
  value?: string;
}

export type LocalWriteResult =
  | { code: 'OK'; version: { hlc: number; node: number; tombstone: boolean } | null }
  | { code: 'UNKNOWN_CACHE' | 'FAILED'; message: string };

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
  const slots = src.slots;
  if (slots) {
    app.get<{ Querystring: { replicationFactor?: string } }>('/v1/cluster/slots', async (req, reply) => {
      const raw = req.query.replicationFactor;
      const factor = raw === undefined ? undefined : Number(raw);
      if (factor !== undefined && !(Number.isInteger(factor) && factor > 0)) {
        return reply.code(400).send({ error: 'replicationFactor must be a positive integer' });
      }
      const out = slots(factor);
      if (out === undefined)
        return reply.code(404).send({ error: 'no slot table for that replication factor yet' });
      return out;
    });
  }
  const digests = src.digests;
  if (digests) {
    app.get<{ Params: { cache: string } }>('/v1/caches/:cache/digests', async (req, reply) => {
      const out = digests(req.params.cache);
      if (out === undefined) return reply.code(404).send({ error: `unknown cache '${req.params.cache}'` });
      return out;
    });
  }
  const rebalance = src.rebalance;
  if (rebalance) app.get('/v1/cluster/rebalance', async () => rebalance());
  const drain = src.drain;
  if (drain) {
    app.post<{ Body: { force?: unknown } | undefined }>('/v1/cluster/drain', async (req, reply) => {
      const force = req.body?.force;
      if (force !== undefined && typeof force !== 'boolean') {
        return reply.code(400).send({ error: 'force must be true or false' });
      }
      const r = await drain(force === true);
      if (r.code !== 0) return reply.code(409).send({ error: r.message, code: r.code });
      return reply.code(202).send({ status: 'draining', message: r.message });
    });
  }
  const writeLocal = src.writeLocal;
  if (writeLocal) {
    app.post<{ Body: Record<string, unknown> | undefined }>('/v1/test/write-local', async (req, reply) => {
      const b = req.body ?? {};
      const del = b['delete'];
      if (typeof b['cache'] !== 'string' || typeof b['key'] !== 'string') {
        return reply.code(400).send({ error: 'cache and key must be strings' });
      }
      if (del !== undefined && typeof del !== 'boolean') {
        return reply.code(400).send({ error: 'delete must be true or false' });
      }
      const value = b['value'];
      if ((del === true) === (value !== undefined) || (value !== undefined && typeof value !== 'string')) {
        return reply.code(400).send({ error: 'give either a string value or delete: true' });
      }
      const r = writeLocal({ cache: b['cache'], key: b['key'], ...(value !== undefined ? { value } : {}) });
      if (r.code === 'OK') return r;
      return reply.code(r.code === 'UNKNOWN_CACHE' ? 404 : 409).send({ error: r.message, code: r.code });
    });
  }
  if (src.cluster) registerClusterRoutes(app, src.cluster);
  return app;
}
