/* eslint-disable @typescript-eslint/no-explicit-any -- reads free-form JSON */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { FIELD_MANAGER, FINALIZER } from '../../../src/controller/constants.js';
import type { Operator } from '../../../src/k8s/Operator.js';
import type { FakeApiServer } from '../../support/FakeApiServer.js';
import { makeReady, startFakeApi, startOperator, User, waitFor } from '../../support/operatorHarness.js';
import { objectProblems } from '../../support/validateObject.js';

// Generous: these tests wait on watches and leases, and CI machines are shared and noisy.
jest.setTimeout(60_000);

// Controller tests against the in-repo Kubernetes API TEST DOUBLE
// (operator/test/support/FakeApiServer.ts): no API server can run here. The
// operator and the "user" both talk HTTP to it through @kubernetes/client-node.
const NS = 'team-a';

let server: FakeApiServer;
let kc: KubeConfig;
let user: User;
const operators: Operator[] = [];

const cc = () => server.get('meshcache.io/v1alpha1', 'cacheclusters', NS, 'c1');
const sts = () => server.get('apps/v1', 'statefulsets', NS, 'c1');
const cond = (type: string) => cc()?.status?.conditions?.find((c: any) => c.type === type);
const events = () => server.list('events.k8s.io/v1', 'events', NS);
const metric = async (op: Operator, name: string) =>
  (await op.metrics.registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));

beforeEach(async () => {
  ({ server, kc } = await startFakeApi());
  user = new User(kc);
});

afterEach(async () => {
  await Promise.all(operators.splice(0).map((o) => o.stop()));
  await server.stop();
});

function operator(identity = 'op-a', extra = {}): Operator {
  const op = startOperator(kc, identity, extra);
  operators.push(op);
  return op;
}

async function createAndSettle(spec: Record<string, unknown> = {}): Promise<void> {
  await user.create(NS, 'c1', spec);
  await waitFor('StatefulSet', () => sts());
  makeReady(server, NS, 'c1', sts().spec.replicas);
  await waitFor('Running', () => cc()?.status?.phase === 'Running');
}

describe('operator against the Kubernetes API test double', () => {
  it('creates every object with owner references, a finalizer, status and events', async () => {
    operator();
    await user.create(NS, 'c1', {});
    await waitFor('finalizer', () => cc().metadata.finalizers?.includes(FINALIZER));
    await waitFor('PodDisruptionBudget', () => server.get('policy/v1', 'poddisruptionbudgets', NS, 'c1'));
    for (const [apiVersion, plural, name] of [
      ['v1', 'configmaps', 'c1-config'],
      ['v1', 'services', 'c1-headless'],
      ['v1', 'services', 'c1'],
      ['apps/v1', 'statefulsets', 'c1'],
      ['policy/v1', 'poddisruptionbudgets', 'c1'],
    ] as const) {
      const o = server.get(apiVersion, plural, NS, name);
      expect(o).toBeDefined();
      expect(o.metadata.ownerReferences[0]).toMatchObject({
        kind: 'CacheCluster',
        name: 'c1',
        uid: cc().metadata.uid,
        controller: true,
      });
      expect(objectProblems(o)).toEqual([]);
    }
    await waitFor('Creating status', () => cc().status?.phase === 'Creating');
    expect(cc().status).toMatchObject({
      observedGeneration: 1,
      replicas: 0,
      readyReplicas: 0,
      selector: 'app.kubernetes.io/name=meshcache,app.kubernetes.io/instance=c1',
    });
    expect(cond('Progressing')).toMatchObject({ status: 'True', reason: 'Creating' });

    makeReady(server, NS, 'c1', 3);
    await waitFor('Running', () => cc().status?.phase === 'Running');
    expect(cond('Available')).toMatchObject({
      status: 'True',
      reason: 'NodesReady',
      message: '3/3 nodes ready',
    });
    expect(cond('Degraded')).toMatchObject({ status: 'False' });
    expect(cc().status.members).toEqual(['c1-0', 'c1-1', 'c1-2']);
    expect(cc().status.topologyEpoch).toBe(7);
    await waitFor('events', () => events().some((e: any) => e.reason === 'Running'));
    expect(events().map((e: any) => e.reason)).toEqual(expect.arrayContaining(['Creating', 'Running']));
    expect(events()[0].regarding).toMatchObject({ kind: 'CacheCluster', name: 'c1' });

    // One node goes unready: Degraded, then back.
    makeReady(server, NS, 'c1', 2);
    await waitFor('Degraded', () => cc().status?.phase === 'Degraded');
    expect(cond('Degraded')).toMatchObject({ status: 'True', reason: 'NodesNotReady' });
    makeReady(server, NS, 'c1', 3);
    await waitFor('Running again', () => cc().status?.phase === 'Running');
  });

  it('reconciling a settled cluster writes nothing (idempotent, level-based)', async () => {
    const op = operator();
    await createAndSettle();
    await waitFor('the work queue to drain', () => op.idle);
    // (The Lease is renewed meanwhile, so compare the cluster's own objects.)
    const versions = () =>
      [
        cc(),
        ...['configmaps', 'services', 'pods', 'events'].flatMap((p) => server.list('v1', p, NS)),
        ...server.list('apps/v1', 'statefulsets', NS),
        ...server.list('policy/v1', 'poddisruptionbudgets', NS),
        ...server.list('events.k8s.io/v1', 'events', NS),
      ].map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`);
    const before = versions();
    await op.reconciler.reconcile(NS, 'c1');
    await op.reconciler.reconcile(NS, 'c1');
    expect(versions()).toEqual(before);
  });

  it('deletion: the finalizer goes, then the cluster, then its objects (garbage collection)', async () => {
    operator();
    await createAndSettle();
    await user.delete(NS, 'c1');
    await waitFor('cluster gone', () => cc() === undefined);
    await waitFor('objects collected', () => !sts() && !server.get('v1', 'services', NS, 'c1-headless'));
    expect(server.list('v1', 'configmaps', NS)).toEqual([]);
    expect(events().some((e: any) => e.reason === 'Deleting')).toBe(true);
  });

  it('retries on 409 Conflict and takes back fields another manager changed', async () => {
    const op = operator();
    await user.create(NS, 'c1', {});
    await waitFor('StatefulSet', () => sts());
    // The next status write and the next finalizer patch conflict.
    server.failNext('PUT', /cacheclusters\/c1\/status$/, 409, 2);
    makeReady(server, NS, 'c1', 3);
    await waitFor('Running despite conflicts', () => cc().status?.phase === 'Running');
    expect((await metric(op, 'meshcache_operator_conflicts_total')).join()).toMatch(/ [1-9]/);

    // Someone scales the StatefulSet directly (another field manager); the operator's spec wins.
    const s = sts();
    server.put('apps/v1', 'statefulsets', { ...s, spec: { ...s.spec, replicas: 9 } });
    server.touch('meshcache.io/v1alpha1', 'cacheclusters', NS, 'c1');
    await waitFor('replicas restored', () => sts().spec.replicas === 3);
  });

  it('recovers from watch loss and from 410 Gone', async () => {
    const op = operator();
    await createAndSettle();
    // The connection drops: the supervisor restarts the watch from the last resourceVersion.
    server.dropWatches();
    await user.patchSpec(NS, 'c1', { replicas: 4 });
    await waitFor('replicas 4 after watch loss', () => sts().spec.replicas === 4);
    // History compacted while disconnected: the restart gets 410 Gone and relists.
    await waitFor('watches reopened', () => server.openWatches >= 2);
    server.compact();
    server.dropWatches();
    await user.patchSpec(NS, 'c1', { replicas: 5 });
    await waitFor('replicas 5 after 410', () => sts().spec.replicas === 5);
    await waitFor('gone counted', async () =>
      (await metric(op, 'meshcache_operator_watch_restarts_total')).some((l) => l.includes('cause="gone"')),
    );
    // 2 lists at start, then at least one more after the 410.
    await waitFor(
      'relisted',
      async () =>
        (await metric(op, 'meshcache_operator_relists_total'))
          .map((l) => Number(l.split(' ').at(-1)))
          .reduce((a, b) => a + b, 0) >= 3,
    );
  });

  it('hands leadership over: only the leader reconciles; a successor takes over on release and on crash', async () => {
    const a = operator('op-a');
    await waitFor('a leads', () => a.isLeader);
    const b = operator('op-b');
    await createAndSettle();
    expect(b.isLeader).toBe(false);
    expect(b.watches).toEqual([]);
    const lease = server.get('coordination.k8s.io/v1', 'leases', 'meshcache-system', 'meshcache-operator');
    expect(lease.spec.holderIdentity).toBe('op-a');

    await a.stop(); // graceful: releases the lease
    operators.splice(operators.indexOf(a), 1);
    await waitFor('b leads', () => b.isLeader, 5_000);
    await user.patchSpec(NS, 'c1', { replicas: 2 });
    await waitFor('b reconciles', () => sts().spec.replicas === 2);

    const c = operator('op-c');
    await b.crash(); // no release: c waits for the lease to expire
    operators.splice(operators.indexOf(b), 1);
    await waitFor('c leads after expiry', () => c.isLeader, 5_000);
    await user.patchSpec(NS, 'c1', { replicas: 3 });
    await waitFor('c reconciles', () => sts().spec.replicas === 3);
    const l = server.get('coordination.k8s.io/v1', 'leases', 'meshcache-system', 'meshcache-operator');
    expect(l.spec.holderIdentity).toBe('op-c');
    expect(l.spec.leaseTransitions).toBeGreaterThanOrEqual(2);
  });

  it('the CRD rejects bad specs with the rule message (API server validation)', async () => {
    await expect(
      user.create(NS, 'bad', { replicas: 2, caches: [{ name: 'a', replicationFactor: 3 }] }),
    ).rejects.toMatchObject({
      code: 422,
      body: expect.stringContaining('every cache replicationFactor must be at most spec.replicas'),
    });
    await expect(user.create(NS, 'bad', { replicas: 0 })).rejects.toMatchObject({ code: 422 });
    expect(server.list('meshcache.io/v1alpha1', 'cacheclusters', NS)).toEqual([]);
  });

  it('reports specs only the operator can judge as Invalid, changing no objects', async () => {
    operator();
    await user.create(NS, 'c1', {
      resources: { limits: { memory: '256Mi' } },
      caches: [{ name: 'big', maxMemory: '1Gi' }],
    });
    await waitFor('Invalid', () => cc()?.status?.phase === 'Invalid');
    expect(cond('Degraded')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(cond('Degraded').message).toMatch(/does not fit in resources.limits.memory 256Mi/);
    expect(sts()).toBeUndefined();
    expect(server.list('v1', 'services', NS)).toEqual([]);
    expect(events().some((e: any) => e.reason === 'InvalidSpec' && e.type === 'Warning')).toBe(true);

    // A valid settled cluster made invalid keeps its objects as they are.
    await user.patchSpec(NS, 'c1', { resources: { limits: { memory: '4Gi' } } });
    await waitFor('StatefulSet', () => sts());
    makeReady(server, NS, 'c1', 3);
    await waitFor('Running', () => cc().status?.phase === 'Running');
    const rv = sts().metadata.resourceVersion;
    await user.patchSpec(NS, 'c1', { replicas: 5, resources: { limits: { memory: '64Mi' } } });
    await waitFor('Invalid again', () => cc().status?.phase === 'Invalid');
    expect(sts().metadata.resourceVersion).toBe(rv);
    expect(sts().spec.replicas).toBe(3);
  });

  it('reports objects the API server rejects as Degraded/ApplyFailed', async () => {
    operator();
    // affinity is free-form in the CRD; the API server checks it when the StatefulSet is applied.
    const badAffinity = {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] },
    };
    await user.create(NS, 'c1', { scheduling: { affinity: badAffinity } });
    await waitFor('ApplyFailed', () => cond('Degraded')?.reason === 'ApplyFailed');
    expect(cond('Degraded').message).toMatch(/StatefulSet c1 was rejected: .*topologyKey/);
    expect(events().some((e: any) => e.reason === 'ApplyFailed')).toBe(true);
    await user.patchSpec(NS, 'c1', { scheduling: { affinity: null } });
    await waitFor('StatefulSet', () => sts());
  });

  it('applies under one field manager with server-side apply', async () => {
    operator();
    await createAndSettle();
    const applies = server.requests.filter((r) => r.startsWith('PATCH') && r.includes('fieldManager='));
    expect(applies.length).toBeGreaterThan(0);
    expect(
      new Set(applies.map((r) => new URL(r.split(' ')[1]!, 'http://x').searchParams.get('fieldManager'))),
    ).toEqual(new Set([FIELD_MANAGER]));
  });
});
