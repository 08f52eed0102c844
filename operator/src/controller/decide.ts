import type {
  CacheCluster,
  CacheClusterCondition,
  CacheClusterStatus,
  ConditionType,
  Phase,
} from '../crd/CacheClusterSchema.js';
import type { KubeObject } from '../render/KubeObject.js';
import { clusterNames } from '../render/names.js';
import type { Capabilities, RenderContext } from '../render/RenderContext.js';
import { renderCluster } from '../render/renderCluster.js';
import { FINALIZER } from './constants.js';
import { validateClusterSpec } from './validateClusterSpec.js';

/** What the reconciler saw of one CacheCluster's world. */
export interface Observed {
  /** The CacheCluster, spec defaulted. */
  cluster: CacheCluster;
  statefulSet?: {
    generation?: number;
    status?: {
      observedGeneration?: number;
      replicas?: number;
      readyReplicas?: number;
      updatedReplicas?: number;
      currentRevision?: string;
      updateRevision?: string;
    };
  };
  /** Objects that exist and name this cluster as their controller. */
  owned: ObjectRef[];
  /** Names of the ready pods, when known. */
  readyMembers?: string[];
  /** Topology epoch reported by a node, when one answered. */
  topologyEpoch?: number;
  capabilities: Capabilities;
  now: Date;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export type Action =
  | { type: 'addFinalizer' }
  | { type: 'removeFinalizer' }
  | { type: 'apply'; object: KubeObject }
  | { type: 'delete'; ref: ObjectRef }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string };

export interface Decision {
  /** In order: finalizer, applies, deletes, events. */
  actions: Action[];
  /** Status to write (undefined: leave it). Written after the actions. */
  status?: CacheClusterStatus;
  /** Reconcile again after this long even if nothing changes (undefined: only on change). */
  requeueAfterMs?: number;
}

/** While converging, look again this often; once running, resync this often. */
export const REQUEUE_PROGRESSING_MS = 10_000;
export const REQUEUE_STEADY_MS = 300_000;

const refKey = (r: { kind: string; metadata?: { name: string }; name?: string }) =>
  `${r.kind}/${r.metadata?.name ?? r.name}`;

/**
 * The pure heart of the controller: from what was observed, the objects to
 * apply or delete, the finalizer, the status and Events, and when to look
 * again. Level-based: it depends only on the observed state, never on what
 * triggered the reconcile, so running it twice changes nothing.
 */
export function decide(observed: Observed, ctx: RenderContext): Decision {
  const { cluster } = observed;
  const hasFinalizer = (cluster.metadata.finalizers ?? []).includes(FINALIZER);
  const prev = cluster.status;

  if (cluster.metadata.deletionTimestamp) {
    if (!hasFinalizer) return { actions: [] };
    // Owned objects go by garbage collection (owner references).
    return {
      actions: [
        {
          type: 'event',
          eventType: 'Normal',
          reason: 'Deleting',
          message: `Deleting CacheCluster ${cluster.metadata.name}: its objects are garbage-collected`,
        },
        { type: 'removeFinalizer' },
      ],
    };
  }

  const problems = validateClusterSpec(cluster, ctx);
  if (problems.length > 0) {
    const message = `Invalid spec: ${problems.join('; ')}`;
    const status = statusWith(observed, 'Invalid', [
      cond(
        'Available',
        prev,
        (observed.statefulSet?.status?.readyReplicas ?? 0) > 0,
        'Unchanged',
        'Objects left as they were',
      ),
      cond('Progressing', prev, false, 'InvalidSpec', 'Waiting for a valid spec'),
      cond('Degraded', prev, true, 'InvalidSpec', message),
    ]);
    const changed = prev?.phase !== 'Invalid' || conditionMessage(prev, 'Degraded') !== message;
    return {
      actions: changed ? [{ type: 'event', eventType: 'Warning', reason: 'InvalidSpec', message }] : [],
      status,
    };
  }

  const actions: Action[] = [];
  if (!hasFinalizer) actions.push({ type: 'addFinalizer' });
  const desired = renderCluster(cluster, ctx, observed.capabilities);
  for (const object of desired) actions.push({ type: 'apply', object });
  const wanted = new Set(desired.map(refKey));
  for (const ref of observed.owned) {
    if (!wanted.has(refKey(ref))) actions.push({ type: 'delete', ref });
  }

  const { phase, conditions } = assess(observed);
  const status = statusWith(observed, phase, conditions);
  if (prev?.phase !== phase) {
    const warn = phase === 'Degraded';
    actions.push({
      type: 'event',
      eventType: warn ? 'Warning' : 'Normal',
      reason: phase,
      message: conditions.find(
        (c) => c.type === (warn ? 'Degraded' : phase === 'Running' ? 'Available' : 'Progressing'),
      )!.message,
    });
  }
  for (const d of actions.filter((a): a is Extract<Action, { type: 'delete' }> => a.type === 'delete')) {
    actions.push({
      type: 'event',
      eventType: 'Normal',
      reason: 'Deleted',
      message: `Deleted ${d.ref.kind} ${d.ref.name}: no longer wanted by the spec`,
    });
  }
  return {
    actions,
    status,
    requeueAfterMs: phase === 'Running' ? REQUEUE_STEADY_MS : REQUEUE_PROGRESSING_MS,
  };
}

function assess(observed: Observed): { phase: Phase; conditions: CacheClusterCondition[] } {
  const { cluster } = observed;
  const prev = cluster.status;
  const want = cluster.spec.replicas;
  const st = observed.statefulSet?.status;
  const replicas = st?.replicas ?? 0;
  const ready = st?.readyReplicas ?? 0;
  const updated = st?.updatedReplicas ?? 0;
  const stale =
    !observed.statefulSet ||
    (st?.observedGeneration ?? 0) < (observed.statefulSet.generation ?? 1) ||
    st === undefined;
  const rolling =
    (st?.updateRevision !== undefined &&
      st.currentRevision !== undefined &&
      st.updateRevision !== st.currentRevision) ||
    updated < replicas;
  const wasUp = prev?.phase !== undefined && !['Pending', 'Creating', 'Invalid'].includes(prev.phase);

  let phase: Phase;
  let progress = '';
  if (!wasUp && (stale || ready < want)) {
    phase = 'Creating';
    progress = `${ready}/${want} nodes ready`;
  } else if (stale || replicas !== want) {
    phase = 'Scaling';
    progress = `scaling from ${replicas} to ${want} nodes (${ready} ready)`;
  } else if (rolling && cluster.spec.updateStrategy.type === 'RollingUpdate') {
    phase = 'Updating';
    progress = `${updated}/${want} nodes updated, ${ready} ready`;
  } else if (ready < want) {
    phase = 'Degraded';
  } else {
    phase = 'Running';
  }
  const conditions = [
    cond(
      'Available',
      prev,
      ready > 0,
      ready > 0 ? 'NodesReady' : 'NoNodesReady',
      `${ready}/${want} nodes ready`,
    ),
    cond(
      'Progressing',
      prev,
      phase === 'Creating' || phase === 'Scaling' || phase === 'Updating',
      phase === 'Creating' || phase === 'Scaling' || phase === 'Updating' ? phase : 'Reconciled',
      progress || `${want} nodes at the current spec`,
    ),
    cond(
      'Degraded',
      prev,
      phase === 'Degraded',
      phase === 'Degraded' ? 'NodesNotReady' : 'AsExpected',
      phase === 'Degraded' ? `${want - ready} of ${want} nodes not ready` : 'All objects applied',
    ),
  ];
  return { phase, conditions };
}

function statusWith(
  observed: Observed,
  phase: Phase,
  conditions: CacheClusterCondition[],
): CacheClusterStatus {
  const { cluster } = observed;
  const st = observed.statefulSet?.status;
  const names = clusterNames(cluster, 'unused');
  const status: CacheClusterStatus = {
    observedGeneration: cluster.metadata.generation ?? 1,
    phase,
    replicas: st?.replicas ?? 0,
    readyReplicas: st?.readyReplicas ?? 0,
    updatedReplicas: st?.updatedReplicas ?? 0,
    selector: names.selectorString,
    image: cluster.spec.image ?? cluster.status?.image,
    conditions: conditions.map((c) => ({ ...c, observedGeneration: cluster.metadata.generation ?? 1 })),
  };
  const members = observed.readyMembers ?? cluster.status?.members;
  if (members) status.members = [...members].sort();
  const epoch = observed.topologyEpoch ?? cluster.status?.topologyEpoch;
  if (epoch !== undefined) status.topologyEpoch = epoch;
  if (status.image === undefined) delete status.image;
  return stampTimes(status, observed.now);
}

/** A condition; lastTransitionTime is kept from the previous one when the status is the same. */
function cond(
  type: ConditionType,
  prev: CacheClusterStatus | undefined,
  isTrue: boolean,
  reason: string,
  message: string,
): CacheClusterCondition {
  const status = isTrue ? 'True' : 'False';
  const before = prev?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : '',
  };
}

function stampTimes(status: CacheClusterStatus, now: Date): CacheClusterStatus {
  const t = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const c of status.conditions ?? []) if (!c.lastTransitionTime) c.lastTransitionTime = t;
  return status;
}

function conditionMessage(status: CacheClusterStatus | undefined, type: ConditionType): string | undefined {
  return status?.conditions?.find((c) => c.type === type)?.message;
}

/** The status after applying failed: Degraded with the API server's reason. */
export function withApplyFailure(status: CacheClusterStatus, message: string, now: Date): CacheClusterStatus {
  const t = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const prevDegraded = status.conditions?.find((c) => c.type === 'Degraded');
  const degraded: CacheClusterCondition = {
    type: 'Degraded',
    status: 'True',
    reason: 'ApplyFailed',
    message,
    lastTransitionTime: prevDegraded?.status === 'True' ? prevDegraded.lastTransitionTime : t,
    observedGeneration: status.observedGeneration,
  };
  return {
    ...status,
    phase: 'Degraded',
    conditions: [...(status.conditions ?? []).filter((c) => c.type !== 'Degraded'), degraded],
  };
}

/** Status equality ignoring nothing: used to skip writes that change nothing. */
export function sameStatus(a: CacheClusterStatus | undefined, b: CacheClusterStatus | undefined): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(s: CacheClusterStatus | undefined): unknown {
  if (!s) return s;
  const sorted = (o: Record<string, unknown>): unknown =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => {
          const v = o[k];
          if (Array.isArray(v))
            return [k, v.map((x) => (x && typeof x === 'object' ? sorted(x as Record<string, unknown>) : x))];
          return [k, v && typeof v === 'object' ? sorted(v as Record<string, unknown>) : v];
        }),
    );
  return sorted(s as Record<string, unknown>);
}
