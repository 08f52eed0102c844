import type { OpKind, OpRecord, Outcome } from './types.js';

/** How many operations ended each way; `pending` ones never completed. */
export type OutcomeCounts = Record<Outcome | 'pending', number>;

export interface HistorySummary {
  readonly ops: number;
  readonly keys: number;
  readonly processes: number;
  readonly byKind: Readonly<Record<OpKind, OutcomeCounts>>;
  /** Reads completed ok that found the key absent: a run where every read is null proves little. */
  readonly nullReads: number;
}

/**
 * Counts operations by kind and outcome. Worth printing next to a verdict: a
 * clean check of a run where most writes ended `unknown`, or no read ever
 * overlapped a fault, is weak evidence, and the counts show it.
 */
export function summarizeHistory(
  history: { readonly ops: readonly OpRecord[] } | readonly OpRecord[],
): HistorySummary {
  const ops = 'ops' in history ? history.ops : history;
  const zero = (): OutcomeCounts => ({ ok: 0, fail: 0, unknown: 0, pending: 0 });
  const byKind: Record<OpKind, OutcomeCounts> = { write: zero(), delete: zero(), read: zero() };
  const keys = new Set<string>();
  const processes = new Set<string>();
  let nullReads = 0;
  for (const op of ops) {
    byKind[op.kind][op.outcome ?? 'pending']++;
    keys.add(op.key);
    processes.add(op.process);
    if (op.kind === 'read' && op.outcome === 'ok' && op.readValue === null) nullReads++;
  }
  return { ops: ops.length, keys: keys.size, processes: processes.size, byKind, nullReads };
}

/** One line, e.g. `120 ops on 3 keys by 4 processes; write 50 (ok 45, fail 2, unknown 3); ...`. */
export function formatSummary(summary: HistorySummary): string {
  const kinds = (Object.keys(summary.byKind) as OpKind[]).map((kind) => {
    const c = summary.byKind[kind];
    const total = c.ok + c.fail + c.unknown + c.pending;
    const parts = (Object.keys(c) as (keyof OutcomeCounts)[])
      .filter((o) => c[o] > 0)
      .map((o) => `${o} ${c[o]}`);
    return `${kind} ${total}${parts.length ? ` (${parts.join(', ')})` : ''}`;
  });
  return `${plural(summary.ops, 'op')} on ${plural(summary.keys, 'key')} by ${plural(summary.processes, 'process', 'processes')}; ${kinds.join('; ')}; ${plural(summary.nullReads, 'read')} found the key absent`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
