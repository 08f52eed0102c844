import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Operator } from './Operator.js';
import { OperatorMetrics } from './OperatorMetrics.js';
import type { OperatorSettings } from './operatorSettings.js';
import { HttpTopologyProbe } from './TopologyProbe.js';

export type Logger = (msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(
  level: OperatorSettings['logLevel'],
  write = (s: string) => process.stdout.write(s),
): Logger {
  return (msg, fields) => {
    if (level === 'error' && !/fail|error|lost/.test(msg)) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
  };
}

export interface RunningOperator {
  operator: Operator;
  /** Bound port of /metrics, /healthz, /readyz. */
  port: number;
  /** Graceful stop: not ready, watches stopped, in-flight reconciles finished (or timed out), lease released. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts the operator process: Kubernetes client (in-cluster or KUBECONFIG),
 * leader election, controller, and the HTTP endpoints (/metrics, /healthz,
 * /readyz: ready while not shutting down).
 */
export async function runOperator(
  settings: OperatorSettings,
  options: { kubeConfig?: KubeConfig; log?: Logger; onLostLeadership?: () => void } = {},
): Promise<RunningOperator> {
  const log = options.log ?? jsonLogger(settings.logLevel);
  const kc = options.kubeConfig ?? new KubeConfig();
  if (!options.kubeConfig) kc.loadFromDefault();
  const metrics = new OperatorMetrics();
  const operator = new Operator(kc, {
    ctx: { defaultImage: settings.nodeImage, clusterDomain: settings.clusterDomain },
    watchNamespace: settings.watchNamespace || undefined,
    identity: settings.identity,
    leaseNamespace: settings.leaseNamespace,
    leaseName: settings.leaseName,
    leaderElection: settings.leaderElect,
    workers: settings.workers,
    resyncMs: settings.resyncSeconds * 1000,
    metrics,
    probe: new HttpTopologyProbe(settings.clusterDomain),
    log,
    onLostLeadership: options.onLostLeadership,
  });
  let shuttingDown = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      void metrics.registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      });
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const ok = !shuttingDown;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ready' : 'shutting down', leader: operator.isLeader }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(settings.port, resolve));
  const port = (server.address() as AddressInfo).port;
  operator.start();
  log('operator started', {
    identity: settings.identity,
    port,
    watchNamespace: settings.watchNamespace || '(all)',
    leaderElect: settings.leaderElect,
  });
  return {
    operator,
    port,
    async shutdown(reason: string) {
      if (shuttingDown) return;
      shuttingDown = true;
      log('shutting down', { reason });
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), settings.shutdownTimeoutSeconds * 1000).unref(),
      );
      const result = await Promise.race([operator.stop().then(() => 'stopped' as const), timeout]);
      if (result === 'timeout') log('shutdown timed out: leaving in-flight work', {});
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      log('stopped', {});
    },
  };
}
