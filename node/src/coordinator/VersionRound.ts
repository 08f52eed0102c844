import { performance } from 'node:perf_hooks';
import { ErrorCode, ReplicaOpType } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { ArenaStore } from '../store/index.js';
import type { RoundHost } from './RoundHost.js';

/** The highest version `required` replicas reported, or why they could not be asked. */
export interface VersionOutcome {
  code: ErrorCode;
  message: string;
  /** Highest HLC timestamp among the answers (0: nothing anywhere). */
  highest: number;
}

/**
 * The first half of a write at QUORUM or ALL: asks the key's replicas which
 * version they hold (no values) and merges the highest of `required`
 * answers into this node's clock, so the write is stamped above every write
 * acknowledged before it began (whose quorum overlaps these replicas).
 *
 * Why not stamp first and re-stamp when a replica reports a newer version:
 * the first stamp is readable as soon as any replica applies it, and a reader
 * may return it and repair it onto a quorum; a later write is then stamped
 * above it and acknowledged; re-stamping the first write above that one
 * would make a value readers already saw come back after its overwrite (the
 * history checker caught exactly this). Stamped once, above what a quorum
 * holds, a write never needs a second version.
 */
export class VersionRound {
  private answers = 0;
  private pending = 0;
  private highest = 0;
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: RoundHost,
    private readonly cache: string,
    private readonly key: Buffer,
    private readonly replicas: readonly string[],
    private readonly required: number,
    private readonly deadline: number,
    private readonly store: ArenaStore,
    private readonly resolve: (outcome: VersionOutcome) => void,
  ) {}

  start(): void {
    for (const id of this.replicas) {
      if (id === this.host.selfId) {
        const h = this.store.versionAt(this.key, 0, this.key.length);
        if (h >= 0) this.highest = Math.max(this.highest, this.store.hlcOf(h));
        this.answers++;
        continue;
      }
      if (!this.host.reachable(id)) continue;
      this.pending++;
      const request = emptyRequest();
      request.type = ReplicaOpType.READ;
      request.cache = this.cache;
      request.key = this.key;
      request.versionOnly = true;
      request.timeoutMs = Math.max(1, Math.round(this.deadline - performance.now()));
      this.host.send(id, request, (reply) => {
        this.pending--;
        if (reply !== undefined && reply.code === ErrorCode.OK) {
          this.answers++;
          if (reply.hlc > this.highest) this.highest = reply.hlc;
        }
        this.check();
      });
    }
    this.check();
    if (!this.done) this.timer = setTimeout(this.onDeadline, Math.max(0, this.deadline - performance.now()));
  }

  private check(): void {
    if (this.done) return;
    if (this.answers >= this.required) this.finish(ErrorCode.OK, '');
    else if (this.answers + this.pending < this.required) {
      this.finish(
        ErrorCode.UNAVAILABLE,
        `${this.answers} of ${this.replicas.length} replicas answered before the write; the level needs ${this.required}; nothing was written`,
      );
    }
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    this.finish(
      ErrorCode.TIMEOUT,
      `${this.answers} of the ${this.required} replicas needed answered before the deadline; nothing was written`,
    );
  };

  private finish(code: ErrorCode, message: string): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve({ code, message, highest: this.highest });
  }
}
