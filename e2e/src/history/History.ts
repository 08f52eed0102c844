import { performance } from 'node:perf_hooks';
import type { OpHandle, OpKind, OpRecord, Outcome } from './types.js';

export interface HistoryOptions {
  /**
   * The clock, in milliseconds. Defaults to performance.now(): monotonic, so wall-clock
   * steps on the test machine cannot reorder operations. Tests inject a counter or a
   * settable variable to build histories with exact times.
   */
  now?: () => number;
}

export interface WriteOptions {
  /** See OpRecord.expiresAtMs: the earliest instant the value may have expired. */
  expiresAtMs?: number;
}

type MutableOp = { -readonly [K in keyof OpRecord]: OpRecord[K] };

/**
 * Records what a test's clients did, for checkHistory to judge. Call `invoke` right
 * before the request is sent and `complete` right after its answer (or error) is
 * seen: the recorded interval must contain the instant the operation took effect,
 * so anything done between the call and the network (serialising, queueing) only
 * widens it, which is safe, while recording late would not be.
 *
 * The recorder enforces the one contract the checker relies on: within a key, every
 * written value is unique, so a value read names the one write that produced it.
 * The checker also assumes each key starts absent: record a key's history from its
 * creation (use fresh keys per run), or its older values read as never written.
 */
export class History {
  readonly #now: () => number;
  readonly #ops: MutableOp[] = [];
  // Handles are matched by identity, so a handle from another History (or a forged
  // `{ id }`) is rejected instead of completing an unrelated operation.
  readonly #handles = new WeakSet<OpHandle>();
  readonly #writtenValues = new Map<string, Set<string>>();

  constructor(options: HistoryOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** The recorder's clock, for computing `expiresAtMs` on the same time base. */
  now(): number {
    return this.#now();
  }

  /** Every operation so far, in invocation-call order; pending ones have no outcome. */
  get ops(): readonly OpRecord[] {
    return this.#ops;
  }

  /** Operations invoked but never completed (they count as `unknown`). */
  pending(): OpRecord[] {
    return this.#ops.filter((op) => op.outcome === undefined);
  }

  invoke(process: string, kind: 'write', key: string, value: string, options?: WriteOptions): OpHandle;
  invoke(process: string, kind: 'delete' | 'read', key: string): OpHandle;
  invoke(process: string, kind: OpKind, key: string, value?: string, options: WriteOptions = {}): OpHandle {
    const op: MutableOp = { id: this.#ops.length, process, kind, key, invokedAt: this.#now() };
    if (kind === 'write') {
      if (typeof value !== 'string') throw new Error(`write to "${key}" needs a value`);
      let values = this.#writtenValues.get(key);
      if (!values) this.#writtenValues.set(key, (values = new Set()));
      // A repeated value would make a read ambiguous; it is a bug in the test, so fail loudly.
      if (values.has(value)) throw new Error(`value "${value}" was already written to "${key}"`);
      values.add(value);
      op.value = value;
      if (options.expiresAtMs !== undefined) op.expiresAtMs = options.expiresAtMs;
    } else if (value !== undefined) {
      throw new Error(`a ${kind} carries no value`);
    }
    this.#ops.push(op);
    const handle: OpHandle = Object.freeze({ id: op.id });
    this.#handles.add(handle);
    return handle;
  }

  /**
   * Records how the operation ended. A read completed `ok` must say what it read:
   * the value, or null for "not found".
   */
  complete(handle: OpHandle, outcome: Outcome, readValue?: string | null): void {
    if (!this.#handles.has(handle)) throw new Error('not a handle from this history');
    const op = this.#ops[handle.id]!;
    if (op.outcome !== undefined) throw new Error(`operation #${op.id} was already completed`);
    if (op.kind === 'read' && outcome === 'ok') {
      if (readValue === undefined)
        throw new Error(`read #${op.id} completed ok without a value (null = not found)`);
      op.readValue = readValue;
    } else if (readValue !== undefined) {
      throw new Error(`only a read completed ok carries a value (operation #${op.id})`);
    }
    op.completedAt = this.#now();
    op.outcome = outcome;
  }

  /** The operations as plain data, e.g. to save a failing run's history for replay. */
  toJSON(): OpRecord[] {
    return this.#ops.map((op) => ({ ...op }));
  }
}
