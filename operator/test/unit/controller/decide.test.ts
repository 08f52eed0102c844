import { describe, expect, it } from '@jest/globals';
import { FINALIZER } from '../../../src/controller/constants.js';
import {
  decide,
  type Observed,
  REQUEUE_PROGRESSING_MS,
  REQUEUE_STEADY_MS,
  withApplyFailure,
} from '../../../src/controller/decide.js';
import type { CacheClusterStatus } from '../../../src/crd/CacheClusterSchema.js';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import { NO_CAPABILITIES } from '../../../src/render/RenderContext.js';

const ctx = { defaultImage: 'img', clusterDomain: 'cluster.local' };
const now = new Date('2030-01-01T00:00:00Z');

function observed(
  over: {
    spec?: Record<string, unknown>;
    meta?: Record<string, unknown>;
    status?: CacheClusterStatus;
  } & Partial<Observed> = {},
): Observed {
  const { spec, meta, status, ...rest } = over;
  return {
    cluster: normalizeCluster({
      apiVersion: 'meshcache.io/v1alpha1',
      kind: 'CacheCluster',
      metadata: { name: 'c', namespace: 'n', uid: 'u', generation: 2, finalizers: [FINALIZER], ...meta },
      spec: spec ?? {},
      status,
    }),
    owned: [],
    capabilities: NO_CAPABILITIES,
    now,
    ...rest,
  };
}

const sts = (ready: number, replicas = 3, extra = {}) => ({
  generation: 1,
  status: {
    observedGeneration: 1,
    replicas,
    readyReplicas: ready,
    updatedReplicas: replicas,
    currentRevision: 'r1',
    updateRevision: 'r1',
    ...extra,
  },
});

describe('decide (pure)', () => {
  it('a new cluster: finalizer first, then every object, Creating, look again soon', () => {
    const d = decide(observed({ meta: { finalizers: [] } }), ctx);
    expect(d.actions[0]).toEqual({ type: 'addFinalizer' });
    expect(
      d.actions.filter((a) => a.type === 'apply').map((a) => (a.type === 'apply' ? a.object.kind : '')),
    ).toEqual(['ConfigMap', 'Service', 'Service', 'StatefulSet', 'PodDisruptionBudget']);
    expect(d.status?.phase).toBe('Creating');
    expect(d.requeueAfterMs).toBe(REQUEUE_PROGRESSING_MS);
  });

  it('is level-based: the same observation gives the same decision', () => {
    const o = observed({ statefulSet: sts(3) });
    expect(decide(o, ctx)).toEqual(decide(o, ctx));
  });

  it('all ready: Running, Available, resync later; the event only on the transition', () => {
    const first = decide(observed({ statefulSet: sts(3), readyMembers: ['c-1', 'c-0', 'c-2'] }), ctx);
    expect(first.status).toMatchObject({
      phase: 'Running',
      readyReplicas: 3,
      members: ['c-0', 'c-1', 'c-2'],
      observedGeneration: 2,
    });
    expect(first.requeueAfterMs).toBe(REQUEUE_STEADY_MS);
    expect(first.actions.some((a) => a.type === 'event' && a.reason === 'Running')).toBe(true);
    const again = decide(observed({ statefulSet: sts(3), status: first.status }), { ...ctx });
    expect(again.actions.some((a) => a.type === 'event')).toBe(false);
    // Conditions keep their transition time while unchanged.
    const later = decide(
      observed({ statefulSet: sts(3), status: first.status, now: new Date('2031-01-01T00:00:00Z') }),
      ctx,
    );
    expect(later.status?.conditions).toEqual(first.status?.conditions);
  });

  it('phases: Scaling, Updating, Degraded', () => {
    const running = decide(observed({ statefulSet: sts(3) }), ctx).status!;
    expect(
      decide(observed({ spec: { replicas: 5 }, statefulSet: sts(3), status: running }), ctx).status?.phase,
    ).toBe('Scaling');
    expect(
      decide(
        observed({ statefulSet: sts(3, 3, { updateRevision: 'r2', updatedReplicas: 1 }), status: running }),
        ctx,
      ).status?.phase,
    ).toBe('Updating');
    const degraded = decide(observed({ statefulSet: sts(2), status: running }), ctx);
    expect(degraded.status?.phase).toBe('Degraded');
    expect(degraded.actions).toContainEqual(
      expect.objectContaining({ type: 'event', eventType: 'Warning', reason: 'Degraded' }),
    );
  });

  it('an invalid spec: no apply, no finalizer, Invalid with the reason', () => {
    const d = decide(
      observed({
        meta: { finalizers: [] },
        spec: { caches: [{ name: 'a', maxMemory: '1Mi', maxValueSize: '2Mi' }] },
      }),
      ctx,
    );
    expect(d.actions.map((a) => a.type)).toEqual(['event']);
    expect(d.status?.phase).toBe('Invalid');
    expect(d.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      message: 'Invalid spec: cache "a": maxValueSize 2Mi is larger than its maxMemory 1Mi',
    });
    expect(d.requeueAfterMs).toBeUndefined();
  });

  it('a cache budget the node would refuse is an invalid spec, not a crash-looping pod', () => {
    const d = decide(
      observed({ spec: { caches: [{ name: 'tiny', maxMemory: '32Ki', maxValueSize: '1Ki' }] } }),
      ctx,
    );
    expect(d.status?.phase).toBe('Invalid');
    expect(d.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toBe(
      'Invalid spec: cache "tiny": maxMemory 32Ki is outside 64Ki..16Gi, the budgets a node accepts per cache',
    );
  });

  it('objects no longer wanted are deleted', () => {
    const d = decide(
      observed({
        spec: { podDisruptionBudget: { enabled: false } },
        owned: [{ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'n', name: 'c' }],
      }),
      ctx,
    );
    expect(d.actions).toContainEqual({
      type: 'delete',
      ref: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'n', name: 'c' },
    });
  });

  it('deletion: only the finalizer goes (children are garbage-collected)', () => {
    const d = decide(observed({ meta: { deletionTimestamp: '2030-01-01T00:00:00Z' } }), ctx);
    expect(d.actions.map((a) => a.type)).toEqual(['event', 'removeFinalizer']);
    expect(d.status).toBeUndefined();
    expect(decide(observed({ meta: { deletionTimestamp: 'x', finalizers: [] } }), ctx).actions).toEqual([]);
  });

  it('an apply failure marks the status Degraded/ApplyFailed', () => {
    const s = withApplyFailure(
      decide(observed({ statefulSet: sts(3) }), ctx).status!,
      'StatefulSet c was rejected: x',
      now,
    );
    expect(s.phase).toBe('Degraded');
    expect(s.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ApplyFailed',
    });
  });
});
