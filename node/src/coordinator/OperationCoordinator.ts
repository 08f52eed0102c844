import type { Consistency, Operation, Result } from '@meshcache/proto';

/** How one operation is to be run through the cluster. */
export interface ExecuteOptions {
  /** ONE, QUORUM or ALL; CONSISTENCY_DEFAULT takes the cache's default level. */
  consistency: Consistency;
  /** Absolute deadline on the `performance.now()` clock: past it the operation is answered TIMEOUT. */
  deadline: number;
  /**
   * Another node forwarded it here to coordinate: if this node cannot (it is
   * still filling the slot), it answers NOT_READY, and the forwarder tries the
   * next replica, instead of forwarding it on.
   */
  forwarded?: boolean;
}

/**
 * What the doors (gRPC, Redis) hand operations to. The coordinator owns
 * distribution: key -> replicas, forwarding, fan-out, quorums, read repair,
 * hints. Doors do protocol work only.
 */
export interface OperationCoordinator {
  /**
   * Whether an operation of cache `cacheIndex` on a key of `slot` may run on
   * this node's local executor, synchronously, at the given level (the fast
   * path: a single-copy cache whose slot this node serves, at ONE). When
   * false, go through execute().
   */
  isLocal(cacheIndex: number, slot: number, consistency: Consistency): boolean;
  /**
   * Runs one operation through the cluster. Never rejects: every failure is
   * a Result with a stable code (UNAVAILABLE: too few replicas live to try;
   * TIMEOUT: the level was missed after sending, the outcome is unknown).
   * Multi-key operations (GET_MANY, SET_MANY) are split per key and merged.
   */
  execute(op: Operation, options: ExecuteOptions): Promise<Result>;
}
