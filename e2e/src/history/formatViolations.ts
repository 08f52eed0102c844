import type { Violation } from './types.js';

export interface FormatOptions {
  /** How many violations to spell out; the rest are only counted (default 20). */
  limit?: number;
}

/**
 * The violations as a numbered multi-line message for a failing test, e.g.
 * `expect(violations).toEqual([])` is unreadable with long histories, while
 * `if (violations.length) throw new Error(formatViolations(violations))` tells
 * the reader what went wrong first. Kinds are counted up front because one bug
 * usually shows as many violations of one kind.
 */
export function formatViolations(violations: readonly Violation[], options: FormatOptions = {}): string {
  if (violations.length === 0) return 'no violations';
  const limit = options.limit ?? 20;
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
  const byKind = [...counts].map(([kind, n]) => `${kind} ×${n}`).join(', ');
  const lines = [`${violations.length} violation${violations.length === 1 ? '' : 's'} (${byKind}):`];
  violations.slice(0, limit).forEach((v, i) => lines.push(`${i + 1}. [${v.kind}] ${v.explanation}`));
  if (violations.length > limit) lines.push(`… and ${violations.length - limit} more`);
  return lines.join('\n');
}
