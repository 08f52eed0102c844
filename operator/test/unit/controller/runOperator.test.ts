import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseOperatorSettings } from '../../../src/k8s/operatorSettings.js';
import { runOperator } from '../../../src/k8s/runOperator.js';
import type { FakeApiServer } from '../../support/FakeApiServer.js';
import { startFakeApi, User, waitFor } from '../../support/operatorHarness.js';
import { repoRoot } from '../../support/repoRoot.js';

// Generous: these tests wait on watches and leases, and CI machines are shared and noisy.
jest.setTimeout(60_000);

// The operator process against the Kubernetes API TEST DOUBLE: endpoints,
// graceful shutdown, and the compiled binary under SIGTERM.
let server: FakeApiServer;
let kc: KubeConfig;

beforeEach(async () => {
  ({ server, kc } = await startFakeApi());
});
afterEach(async () => {
  await server.stop();
});

const lease = () => server.get('coordination.k8s.io/v1', 'leases', 'ops', 'meshcache-operator');

describe('meshcache-operator process', () => {
  it('parses flags and environment', () => {
    const s = parseOperatorSettings(['--node-image', 'img:1', '--workers', '3'], {
      POD_NAME: 'op-0',
      POD_NAMESPACE: 'ops',
      MESHCACHE_WATCH_NAMESPACE: 'apps',
    });
    expect(s).toMatchObject({
      nodeImage: 'img:1',
      workers: 3,
      identity: 'op-0',
      leaseNamespace: 'ops',
      watchNamespace: 'apps',
      leaderElect: true,
    });
    expect(() => parseOperatorSettings(['--workers', '0'], {})).toThrow(/positive/);
  });

  it('serves /metrics, /healthz, /readyz, reconciles, and shuts down gracefully', async () => {
    const settings = parseOperatorSettings(['--port', '1', '--node-image', 'img'], {
      POD_NAME: 'op-0',
      POD_NAMESPACE: 'ops',
    });
    const logs: string[] = [];
    const running = await runOperator({ ...settings, port: 0 } as never, {
      kubeConfig: kc,
      log: (m) => logs.push(m),
    });
    // port 0 picks a free port
    const base = `http://127.0.0.1:${running.port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      await waitFor('leader', () => lease()?.spec.holderIdentity === 'op-0');
      await new User(kc).create('apps', 'c1', {});
      await waitFor('reconciled', () => server.get('apps/v1', 'statefulsets', 'apps', 'c1'));
      const metrics = await waitFor('reconcile metrics', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return text.includes('meshcache_operator_reconciles_total{') ? text : undefined;
      });
      for (const m of [
        'meshcache_operator_reconciles_total',
        'meshcache_operator_reconcile_duration_seconds_bucket',
        'meshcache_operator_reconcile_errors_total',
        'meshcache_operator_watch_restarts_total',
        'meshcache_operator_leader 1',
      ]) {
        expect(metrics).toContain(m);
      }
    } finally {
      await running.shutdown('test');
    }
    expect(lease().spec.holderIdentity).toBe('');
    expect(logs).toEqual(expect.arrayContaining(['became leader', 'shutting down', 'stopped']));
  });

  const bin = join(repoRoot, 'operator', 'dist', 'bin', 'meshcache-operator.js');
  (existsSync(bin) ? it : it.skip)(
    'the compiled binary releases its Lease and exits 0 on SIGTERM',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'meshcache-op-'));
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: server.url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: { token: 't' } }],
          contexts: [{ name: 'c', context: { cluster: 'fake', user: 'u' } }],
          'current-context': 'c',
        }),
      );
      const child = spawn(process.execPath, [bin, '--port', '0', '--node-image', 'img'], {
        env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAME: 'op-bin', POD_NAMESPACE: 'ops' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await waitFor('binary leads', () => lease()?.spec.holderIdentity === 'op-bin', 15_000).catch(
          (err: Error) => {
            throw new Error(`${err.message}\n${out}`);
          },
        );
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(lease().spec.holderIdentity).toBe('');
        expect(out).toContain('"msg":"stopped"');
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
