import type { PendingOp } from './PendingOp.js';

/** Whoever holds a submitted operation (a node connection) and must drop it when it is cancelled. */
export interface OpOwner {
  /** Removes `op` from wherever it waits (queue or in-flight table) and fails it with `CANCELLED`. */
  cancel(op: PendingOp): void;
}
