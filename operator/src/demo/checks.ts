// Pure parts of the demo: what "the cluster is formed" means, how read results
// are tallied, and how figures are printed.

/** What `GET /v1/cluster/view` returns (the fields the demo reads). */
export interface ViewReply {
  cluster?: string;
  epoch: number;
  members: { id: string; instance: number }[];
  member: boolean;
}

/** What `GET /v1/info` returns (the fields the demo reads). */
export interface InfoReply {
  caches: { name: string; replicationFactor?: number; effectiveReplicationFactor?: number }[];
}

/** What `GET /v1/cluster/members` returns (the fields the demo reads). */
export interface MembersReply {
  members: { id: string; state: string }[];
}

/** One node's answers while the demo waits for the cluster to form. */
export interface NodeState {
  id: string;
  view: ViewReply;
  info: InfoReply;
}

/**
 * Whether every node holds the same committed view (same cluster, epoch and
 * members) with `size` members, is a member of it, and gives `cache` the
 * replication factor `factor`. `ok: false` comes with what is still missing.
 */
export function clusterFormed(
  nodes: readonly NodeState[],
  size: number,
  cache: string,
  factor: number,
): { ok: true; epoch: number } | { ok: false; reason: string } {
  const first = nodes[0];
  if (first === undefined) return { ok: false, reason: 'no nodes' };
  const membersOf = (v: ViewReply) => v.members.map((m) => `${m.id}@${m.instance}`).join(',');
  for (const n of nodes) {
    const v = n.view;
    if (!v.member) return { ok: false, reason: `${n.id} is not a member of a view yet (epoch ${v.epoch})` };
    if (v.members.length !== size) {
      return {
        ok: false,
        reason: `${n.id} holds epoch ${v.epoch} with ${v.members.length} members (${v.members.map((m) => m.id).join(', ')})`,
      };
    }
    if (
      v.cluster !== first.view.cluster ||
      v.epoch !== first.view.epoch ||
      membersOf(v) !== membersOf(first.view)
    ) {
      return {
        ok: false,
        reason: `${n.id} holds epoch ${v.epoch}, ${first.id} holds epoch ${first.view.epoch}: views differ`,
      };
    }
    const c = n.info.caches.find((x) => x.name === cache);
    if (c === undefined) return { ok: false, reason: `${n.id} has no cache "${cache}"` };
    if (c.effectiveReplicationFactor !== factor) {
      return {
        ok: false,
        reason: `${n.id} gives cache "${cache}" replication factor ${String(c.effectiveReplicationFactor)}, not ${factor}`,
      };
    }
  }
  return { ok: true, epoch: first.view.epoch };
}

/** Key and value of the demo's i-th entry (the value is checked on read). */
export function demoKey(i: number): string {
  return `demo:${String(i).padStart(6, '0')}`;
}

export function demoValue(i: number): string {
  // A value that differs per key and cannot be mistaken for another key's.
  return `value-${i}-${((i * 2654435761) >>> 0).toString(16)}`;
}

/** What reading the keys back found. */
export interface ReadTally {
  found: number;
  missing: number[];
  wrong: { index: number; got: unknown }[];
  failed: { index: number; error: string }[];
}

export function emptyTally(): ReadTally {
  return { found: 0, missing: [], wrong: [], failed: [] };
}

/** Adds one read's outcome: the value, or the error it failed with. */
export function tallyRead(
  t: ReadTally,
  index: number,
  outcome: { value: unknown } | { error: string },
): void {
  if ('error' in outcome) t.failed.push({ index, error: outcome.error });
  else if (outcome.value === undefined) t.missing.push(index);
  else if (outcome.value === demoValue(index)) t.found++;
  else t.wrong.push({ index, got: outcome.value });
}

/** 12,345 */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1.23 s */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** 5,432 ops/s */
export function rate(ops: number, ms: number): string {
  return ms > 0 ? `${int((ops * 1000) / ms)} ops/s` : '- ops/s';
}

/** Width of the step column. */
export const STEP_WIDTH = 26;

/** One line of output: the step, then its figures. */
export function stepLine(step: string, figures: string): string {
  return `  ${step.padEnd(STEP_WIDTH)} ${figures}`;
}

/** Error messages grouped by text, most frequent first: "3 x TIMEOUT: ...". */
export function groupErrors(errors: readonly string[], limit = 5): string[] {
  const counts = new Map<string, number>();
  for (const e of errors) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([e, n]) => `${int(n)} x ${e}`);
}

/** Up to `limit` keys of a list of indexes: "demo:000017, demo:000042, ... (+12 more)". */
export function keyList(indexes: readonly number[], limit = 8): string {
  const shown = indexes.slice(0, limit).map(demoKey).join(', ');
  return indexes.length > limit ? `${shown}, ... (+${int(indexes.length - limit)} more)` : shown;
}
