import type { NodeInfo, NodeMeta, View } from './messages.js';

const indexes = new WeakMap<View, Map<string, NodeInfo>>();

/** The view's members by id (cached per view object; views are immutable). */
export function membersById(view: View): Map<string, NodeInfo> {
  let index = indexes.get(view);
  if (!index) {
    index = new Map(view.members.map((m) => [m.id, m]));
    indexes.set(view, index);
  }
  return index;
}

/** Votes needed to commit the next view: a majority of this view's members. */
export function majority(view: View): number {
  return Math.floor(view.members.length / 2) + 1;
}

/** True when this process instance of `id` is a member (a restarted process must rejoin before it votes). */
export function isVoter(view: View, id: string, inst: number): boolean {
  return membersById(view).get(id)?.inst === inst;
}

function sameMeta(a: NodeMeta, b: NodeMeta): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** Same process advertising the same details. */
export function sameNode(a: NodeInfo, b: NodeInfo): boolean {
  return (
    a.id === b.id && a.inst === b.inst && a.addr === b.addr && a.zone === b.zone && sameMeta(a.meta, b.meta)
  );
}

/** A string that differs for views that differ in anything (for invariant checks). */
export function viewFingerprint(view: View): string {
  return JSON.stringify([
    view.cluster,
    view.epoch,
    view.decider,
    view.members.map((m) => [m.id, m.inst, m.addr, m.zone, m.meta]),
    view.removed,
    view.payload,
  ]);
}

export function sameView(a: View, b: View): boolean {
  return a === b || viewFingerprint(a) === viewFingerprint(b);
}

/** True if nodes of `b`'s lineage should move to `a`'s (the larger cluster, then the smaller id). */
export function preferredLineage(a: View, b: View): boolean {
  if (a.members.length !== b.members.length) return a.members.length > b.members.length;
  return a.cluster < b.cluster;
}

/** Copies just the identity fields (drops message tags and liveness fields). */
export function nodeInfoOf(n: NodeInfo): NodeInfo {
  return { id: n.id, inst: n.inst, addr: n.addr, zone: n.zone, meta: n.meta };
}
