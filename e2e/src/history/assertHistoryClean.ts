import { checkHistory } from './checkHistory.js';
import type { History } from './History.js';
import { formatViolations } from './formatViolations.js';
import { formatSummary, summarizeHistory } from './summarizeHistory.js';
import type { CheckOptions } from './types.js';

/** Throws, with the violations and a summary of the history, unless the checker finds none. */
export function assertHistoryClean(history: History, options: CheckOptions = {}): void {
  const violations = checkHistory(history, options);
  if (violations.length > 0) {
    throw new Error(`${formatViolations(violations)}\n${formatSummary(summarizeHistory(history))}`);
  }
}
