import { performance } from 'node:perf_hooks';
import { type Consistency, ErrorCode, ReplicaOpType } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { ArenaStore } from '../store/index.js';
import { COUNTED, outsideReadSet, LOST, mergeStale, Quorum, WAITING } from './Quorum.js';
import type { RoundHost } from './RoundHost.js';
import type { SlotRoute } from './SlotRoute.js';

/** The highest version a level of replicas reported, or why they could not be asked. */
export interface VersionOutcome {
  code: ErrorCode;
  message: string;
  /** Highest HLC timestamp among the answers (0: nothing anywhere). */
  highest: number;
  /** When a replica refused this node's epoch (STALE_EPOCH): the highest epoch a refusal named (0: none named). */
  stale?: number;
}

/**
 * The first half of a write at QUORUM or ALL: asks the key's replicas which
 * version they hold (no values) and merges the highest answer into this
 * node's clock once the level has answered, so the write is stamped above
 * every write acknowledged before it began (whose level overlaps these
 * replicas).
 *
 * Why not stamp first and re-stamp when a replica reports a newer version:
 * the first stamp is readable as soon as any replica applies it, and a reader
 * may return it and repair it onto a quorum; a later write is then stamped
 * above it and acknowledged; re-stamping the first write above that one
 * would make a value readers already saw come back after its overwrite (the
 * history checker caught exactly this). Stamped once, above what a quorum
 * holds, a write never needs a second version.
 *
 * While the slot moves it asks every target of the route and needs the level
 * in each set, not only in the read set. A write acknowledged with the level
 * in both sets would be seen through either; but coordinators of one slot do
 * not all hold the same epoch, and one a step behind acknowledged its write
 * in the set it knew: a node that has not installed the move wrote to the
 * old set only, while this node, past the cutover, reads the new one. With
 * the level of both sets answering, the stamp lands above every write
 * acknowledged under either set, whatever epoch its coordinator held. It
 * costs no availability (the write itself needs the level in both sets) and
 * no round trip (the sets are asked in parallel), and a STALE_EPOCH from a
 * new member surfaces here, before anything is stamped. A member outside the
 * read set answering NOT_READY (one of the incoming set still filling the
 * slot, or one of the set it was just cut over from, which let the slot go)
 * counts as an answer holding nothing above the read set's (see start()).
 */
export class VersionRound {
  private readonly state: Uint8Array;
  private readonly quorum: Quorum;
  private highest = 0;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private stale: number | undefined;

  constructor(
    private readonly host: RoundHost,
    private readonly cache: string,
    private readonly key: Buffer,
    private readonly route: SlotRoute,
    level: Consistency,
    private readonly deadline: number,
    private readonly store: ArenaStore,
    private readonly resolve: (outcome: VersionOutcome) => void,
  ) {
    this.state = new Uint8Array(route.targets.length);
    this.quorum = Quorum.of(route, level);
  }

  start(): void {
    const targets = this.route.targets;
    for (let i = 0; i < targets.length; i++) {
      const id = targets[i]!;
      if (id === this.host.selfId) {
        const h = this.store.versionAt(this.key, 0, this.key.length);
        if (h >= 0) this.highest = Math.max(this.highest, this.store.hlcOf(h));
        this.state[i] = COUNTED;
        continue;
      }
      if (!this.host.reachable(id)) {
        this.state[i] = LOST;
        continue;
      }
      this.state[i] = WAITING;
      const request = emptyRequest();
      request.type = ReplicaOpType.READ;
      request.cache = this.cache;
      request.key = this.key;
      request.versionOnly = true;
      request.timeoutMs = Math.max(1, Math.round(this.deadline - performance.now()));
      this.host.send(id, request, (reply) => {
        if (reply !== undefined && reply.code === ErrorCode.OK) {
          this.state[i] = COUNTED;
          if (reply.hlc > this.highest) this.highest = reply.hlc;
        } else if (reply?.code === ErrorCode.NOT_READY && outsideReadSet(this.route, i)) {
          // Still filling the slot it joins. It holds nothing the read set lacks: the writes
          // it got were acknowledged under a route that includes the read set, at its level.
          this.state[i] = COUNTED;
        } else {
          if (reply?.code === ErrorCode.STALE_EPOCH) this.stale = mergeStale(this.stale, reply.epoch);
          this.state[i] = LOST;
        }
        this.check();
      });
    }
    this.check();
    if (!this.done) this.timer = setTimeout(this.onDeadline, Math.max(0, this.deadline - performance.now()));
  }

  private check(): void {
    if (this.done) return;
    if (this.quorum.met(this.state)) this.finish(ErrorCode.OK, '');
    else if (!this.quorum.possible(this.state)) {
      this.finish(
        ErrorCode.UNAVAILABLE,
        `version read before the write reached ${this.quorum.describe(this.state)}; nothing was written`,
      );
    }
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    this.finish(
      ErrorCode.TIMEOUT,
      `version read before the write reached ${this.quorum.describe(this.state)} before the deadline; nothing was written`,
    );
  };

  private finish(code: ErrorCode, message: string): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve({
      code,
      message,
      highest: this.highest,
      stale: code === ErrorCode.OK ? undefined : this.stale,
    });
  }
}
