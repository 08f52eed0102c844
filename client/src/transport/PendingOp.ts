import type { Span } from '@opentelemetry/api';
import {
  type Consistency,
  ExpireCondition,
  type KeyValue,
  type Operation,
  OpType,
  type Result,
  SetCondition,
  type Version,
} from '@meshcache/proto';
import { ErrorCodes } from '../errors/ErrorCodes.js';
import { MeshcacheError } from '../errors/MeshcacheError.js';
import { errorFromServer } from '../errors/errorFromServer.js';
import { endCallSpan } from '../telemetry/callSpan.js';
import type { FrameRecord } from './FrameRecord.js';
import type { OpOwner } from './OpOwner.js';
import type { ResultDecoder } from './ResultDecoder.js';

/** Where a {@link PendingOp} is in its life. */
export const OpState = {
  /** Built, not yet handed to a connection. */
  NEW: 0,
  /** In a connection's outbox, waiting to be sent. */
  QUEUED: 1,
  /** Written to a stream, waiting for its result. */
  IN_FLIGHT: 2,
  /** Resolved or rejected; late results are dropped. */
  DONE: 3,
} as const;
export type OpStateValue = (typeof OpState)[keyof typeof OpState];

const EMPTY = Buffer.alloc(0);
const NO_KEYS: Buffer[] = [];
const NO_ENTRIES: KeyValue[] = [];
function noop(): void {}

/**
 * One cache operation from call to settlement. It is the wire `Operation`
 * itself (the frame's `ops` array holds these objects, so nothing is copied to
 * build a frame), plus the call's bookkeeping: promise callbacks, deadline,
 * abort signal, span. It is its own abort listener (`handleEvent`), so a call
 * allocates no closure for cancellation, and no timer: deadlines are enforced
 * by the shared `DeadlineSweeper`.
 */
export class PendingOp implements Operation {
  // --- wire fields (meshcache.v1.Operation) ---
  id = 0;
  type: OpType;
  cache: string;
  key: Buffer = EMPTY;
  value: Buffer = EMPTY;
  ttlMs = 0;
  condition: SetCondition = SetCondition.ALWAYS;
  expectedVersion: Version | undefined = undefined;
  delta = 0;
  keys: Buffer[] = NO_KEYS;
  entries: KeyValue[] = NO_ENTRIES;
  consistency: Consistency;
  returnPrevious = false;
  expireCondition: ExpireCondition = ExpireCondition.EXPIRE_ALWAYS;
  keepTtl = false;
  expiresAtMs = 0;

  // --- bookkeeping ---
  state: OpStateValue = OpState.NEW;
  /** Monotonic ms (`performance.now()` clock) after which the op fails with TIMEOUT. */
  deadlineAt: number;
  readonly timeoutMs: number;
  /** Rough encoded size, for splitting frames under the node's byte limit. */
  approxBytes = 0;
  signal: AbortSignal | undefined = undefined;
  owner: OpOwner | undefined = undefined;
  frame: FrameRecord | undefined = undefined;
  span: Span | undefined = undefined;
  resolve: (value: unknown) => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(
    type: OpType,
    cache: string,
    consistency: Consistency,
    timeoutMs: number,
    nowMs: number,
    readonly decoder: ResultDecoder,
  ) {
    this.type = type;
    this.cache = cache;
    this.consistency = consistency;
    this.timeoutMs = timeoutMs;
    this.deadlineAt = nowMs + timeoutMs;
  }

  /** Settles with a server result (OK or not). */
  complete(result: Result, nodeId: string | undefined): void {
    if (this.state === OpState.DONE) return;
    if (result.code !== 0) {
      this.fail(errorFromServer(result.code, result.message, nodeId));
      return;
    }
    let value: unknown;
    try {
      value = this.decoder.decode(result);
    } catch (err) {
      this.fail(
        new MeshcacheError(ErrorCodes.SERIALIZATION, `cannot deserialize value: ${(err as Error).message}`, {
          nodeId,
          cause: err,
        }),
      );
      return;
    }
    this.finish();
    if (this.span !== undefined) endCallSpan(this.span, undefined);
    this.resolve(value);
  }

  /** Settles with an error (no-op when already settled). */
  fail(err: Error): void {
    if (this.state === OpState.DONE) return;
    this.finish();
    if (this.span !== undefined) endCallSpan(this.span, err);
    this.reject(err);
  }

  /** The abort listener: `signal.addEventListener('abort', op)`. */
  handleEvent(): void {
    if (this.state === OpState.DONE) return;
    if (this.owner !== undefined) {
      this.owner.cancel(this);
    } else {
      this.fail(cancelledError(this.signal));
    }
  }

  private finish(): void {
    this.state = OpState.DONE;
    this.frame = undefined;
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
  }
}

/** The error of an operation whose signal was aborted. */
export function cancelledError(signal: AbortSignal | undefined): MeshcacheError {
  const reason: unknown = signal?.reason;
  const detail = reason instanceof Error ? `: ${reason.message}` : '';
  return new MeshcacheError(ErrorCodes.CANCELLED, `operation cancelled${detail}`, { cause: reason });
}

/** Display name of a wire op type, for messages and spans. */
export function opTypeName(type: OpType): string {
  return OpType[type] ?? `OP_${type}`;
}
