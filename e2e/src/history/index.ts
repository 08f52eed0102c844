// The history checker for the replication tests: record what clients saw with
// History, judge it with checkHistory, print with formatViolations/formatSummary.
export { History, type HistoryOptions, type WriteOptions } from './History.js';
export { assertHistoryClean } from './assertHistoryClean.js';
export { checkHistory } from './checkHistory.js';
export { describeOp, formatTime } from './describeOp.js';
export { formatViolations, type FormatOptions } from './formatViolations.js';
export {
  formatSummary,
  summarizeHistory,
  type HistorySummary,
  type OutcomeCounts,
} from './summarizeHistory.js';
export type { CheckOptions, OpHandle, OpKind, OpRecord, Outcome, Violation, ViolationKind } from './types.js';
