// The vocabulary shared by the history recorder, the checker and the reports.
// A history is what the test CLIENT saw: when each operation was invoked and when
// (and how) it completed, on the client's own monotonic clock. Server versions,
// server clocks and replica states never enter it: a replication test must judge
// the system by what a user could observe, nothing else.

/** What an operation does to its key. Keys are independent registers. */
export type OpKind = 'write' | 'delete' | 'read';

/**
 * How an operation ended, as far as the client can tell.
 * - `ok`: it took effect (mutations) or returned a value (reads), at some instant
 *   between invocation and completion.
 * - `fail`: it definitely did NOT take effect (e.g. UNAVAILABLE before anything was
 *   sent). The test must only use this when it is certain; a wrong `fail` turns a
 *   legal history into a reported violation.
 * - `unknown`: a TIMEOUT or a lost connection. A mutation may take effect at any
 *   instant after its invocation (even long after the client gave up), or never.
 *   A read with this outcome carries no value and is ignored.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

/**
 * One recorded operation. Times are milliseconds on the recorder's clock
 * (`performance.now()` unless a clock was injected); only their order matters.
 * An operation that never completed (the test ended while it was in flight) has
 * no `completedAt`/`outcome` and is treated as `unknown`.
 */
export interface OpRecord {
  /** Position in the history, unique within it; used to name operations in reports. */
  readonly id: number;
  /** The client process (or logical client) that issued it; only for reports. */
  readonly process: string;
  readonly kind: OpKind;
  readonly key: string;
  /** For writes: the value written. The test makes every written value unique. */
  readonly value?: string;
  /**
   * For writes with a TTL: the earliest instant, on the recorder's clock, at which
   * the written value may have expired (e.g. invokedAt + ttl - the largest clock
   * offset among the nodes). From then on a read may find the key absent if this
   * write is still the key's latest mutation.
   */
  readonly expiresAtMs?: number;
  readonly invokedAt: number;
  readonly completedAt?: number;
  readonly outcome?: Outcome;
  /** For reads completed `ok`: the value read, or null for "not found". */
  readonly readValue?: string | null;
}

/** Returned by `History.invoke`, given back to `History.complete`. Opaque. */
export interface OpHandle {
  readonly id: number;
}

/**
 * What kind of anomaly a read exposed. Every kind is a proof that no linearizable
 * (atomic register) execution could have produced the history; see checkHistory.ts
 * for the exact rule behind each.
 */
export type ViolationKind =
  /** A read found the key absent after an acknowledged write had replaced every possible cause of absence. */
  | 'lost-write'
  /** A read returned a value that an acknowledged later write had definitely overwritten. */
  | 'overwritten-value-returned'
  /** A read returned a value that an acknowledged later delete had definitely removed. */
  | 'resurrected-delete'
  /** A read returned something older than what an earlier, already completed read had seen. */
  | 'read-went-back'
  /** A read returned a value that no write to that key ever wrote. */
  | 'value-never-written'
  /** A read returned a value whose only write definitely failed. */
  | 'failed-write-observed'
  /** A read returned a value whose write was invoked only after the read had completed. */
  | 'value-from-future';

export interface Violation {
  readonly kind: ViolationKind;
  readonly key: string;
  /** The read that could not have returned what it returned. */
  readonly read: OpRecord;
  /** Every operation the explanation names, the read first. */
  readonly ops: readonly OpRecord[];
  /** Human-readable: names the operations involved with their times and outcomes. */
  readonly explanation: string;
}

export interface CheckOptions {
  /**
   * Two instants closer than this are treated as possibly simultaneous (default 0).
   * Only needed when timestamps come from clocks that may disagree a little, e.g.
   * client workers in several processes; one process's performance.now() needs none.
   */
  readonly clockSlackMs?: number;
  /**
   * By default an expiry is permanent, like a delete: once a read has found a TTL'd
   * value gone, no later read may return it again. Set this when replicas expire
   * keys by their own, offset, clocks and the test accepts that an expired value may
   * briefly show again on a replica whose clock is behind; a null read then only
   * proves the value gone if it completed before the value's `expiresAtMs`.
   */
  readonly expiryMayFlicker?: boolean;
}
