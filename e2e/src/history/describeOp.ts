import type { OpRecord } from './types.js';

/** A time for a report: three decimals are enough to tell performance.now() instants apart. */
export function formatTime(ms: number): string {
  if (ms === Infinity) return '∞';
  if (ms === -Infinity) return '-∞';
  return `${ms.toFixed(3)}ms`;
}

/**
 * One operation in one line, with everything a reader needs to replay the
 * reasoning by hand: who, what, the client-side interval and the outcome.
 * e.g. `#12 p2 write "v7" [10.000ms–12.500ms, ok]`, `#13 p1 read → null [...]`.
 */
export function describeOp(op: OpRecord): string {
  let what: string;
  if (op.kind === 'write') {
    what = `write ${JSON.stringify(op.value)}`;
    if (op.expiresAtMs !== undefined) what += ` (may expire from ${formatTime(op.expiresAtMs)})`;
  } else if (op.kind === 'read' && op.readValue !== undefined) {
    what = `read → ${op.readValue === null ? 'null' : JSON.stringify(op.readValue)}`;
  } else {
    what = op.kind;
  }
  const end = op.completedAt === undefined ? 'pending' : formatTime(op.completedAt);
  return `#${op.id} ${op.process} ${what} [${formatTime(op.invokedAt)}–${end}, ${op.outcome ?? 'pending'}]`;
}
