/** Slots with the same number of holes that the same members may fill. */
export interface HoleGroup {
  eligible: number[];
  missing: number;
  slots: number;
}

/**
 * Maximum flow from hole groups to members: each group offers missing x
 * slots holes, a member takes at most one per slot of a group it is eligible
 * for, and at most `need` in all. Returns the total and, per group, how many
 * holes each eligible member takes (aligned with `eligible`). Dinic's
 * algorithm; the graph has a vertex per group and per member.
 */
export function holeFlow(
  groups: readonly HoleGroup[],
  need: readonly number[],
): { total: number; taken: number[][] } {
  const g = groups.length;
  const n = need.length;
  const source = g + n;
  const sink = source + 1;
  const head = new Array<number>(sink + 1).fill(-1);
  const to: number[] = [];
  const cap: number[] = [];
  const next: number[] = [];
  const edge = (u: number, v: number, c: number): number => {
    to.push(v, u);
    cap.push(c, 0);
    next.push(head[u]!, head[v]!);
    head[u] = to.length - 2;
    head[v] = to.length - 1;
    return to.length - 2;
  };
  const edges = groups.map((x, i) => {
    edge(source, i, x.missing * x.slots);
    return x.eligible.map((m) => edge(i, g + m, x.slots));
  });
  need.forEach((c, m) => {
    if (c > 0) edge(g + m, sink, c);
  });
  let total = 0;
  const level = new Array<number>(sink + 1);
  const it = new Array<number>(sink + 1);
  const bfs = () => {
    level.fill(-1);
    level[source] = 0;
    const q = [source];
    for (let k = 0; k < q.length; k++) {
      for (let e = head[q[k]!]!; e >= 0; e = next[e]!) {
        if (cap[e]! > 0 && level[to[e]!]! < 0) {
          level[to[e]!] = level[q[k]!]! + 1;
          q.push(to[e]!);
        }
      }
    }
    return level[sink]! >= 0;
  };
  const dfs = (u: number, f: number): number => {
    if (u === sink) return f;
    for (; it[u]! >= 0; it[u] = next[it[u]!]!) {
      const e = it[u]!;
      const v = to[e]!;
      if (cap[e]! > 0 && level[v] === level[u]! + 1) {
        const d = dfs(v, Math.min(f, cap[e]!));
        if (d > 0) {
          cap[e]! -= d;
          cap[e ^ 1]! += d;
          return d;
        }
      }
    }
    return 0;
  };
  while (bfs()) {
    for (let v = 0; v <= sink; v++) it[v] = head[v]!;
    for (let f = dfs(source, Infinity); f > 0; f = dfs(source, Infinity)) total += f;
  }
  // Flow on an edge = its reverse edge's capacity.
  const taken = edges.map((list) => list.map((e) => cap[e ^ 1]!));
  return { total, taken };
}
