import { performance } from 'node:perf_hooks';
import { type Consistency, ErrorCode, ReplicaOpType, type ReplicaReply, type Result } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { SettleToken } from '../replication/SettledMarks.js';
import { hlcLogical, hlcPhysicalMs } from '../store/index.js';
import { COUNTED, LOST, mergeStale, Quorum, WAITING } from './Quorum.js';
import { compareHeld, type RoundHost, type VersionedWrite } from './RoundHost.js';
import type { SlotRoute } from './SlotRoute.js';

/**
 * One write's fan-out to every target of its key's route, after the
 * coordinator stamped it (above every version a level of replicas held:
 * VersionRound) and applied it locally. It succeeds once the level is met in
 * every set of the route (one set normally; the old and the new while the
 * slot moves), an ack counting toward every set its replica is in.
 *
 * Every ack carries the version the replica holds after applying. A replica
 * holding a newer version got a concurrent write that was stamped after this
 * one; this write is overwritten there, which is its place in the order, so
 * that replica counts as holding it (nothing to hint). Past the level, the
 * round keeps collecting acks until the deadline; replicas still missing then
 * get hints.
 */
export class WriteRound {
  private readonly state: Uint8Array;
  private readonly quorum: Quorum;
  private readonly tokens: SettleToken[] = [];
  private answered = false;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();
  /** Highest epoch a STALE_EPOCH refusal named (0: none named); undefined: no refusal. */
  private stale: number | undefined;

  /**
   * `resolve` gets the answer and, when a replica refused this node's epoch
   * (STALE_EPOCH) before it, the highest epoch a refusal named (0: none named).
   */
  constructor(
    private readonly host: RoundHost,
    private readonly write: VersionedWrite,
    private readonly route: SlotRoute,
    level: Consistency,
    private readonly deadline: number,
    private readonly result: Result,
    private readonly resolve: (r: Result, stale: number | undefined) => void,
  ) {
    this.state = new Uint8Array(route.targets.length);
    this.quorum = Quorum.of(route, level);
  }

  start(): void {
    this.tokens.push(this.host.openToken(this.write.hlc));
    this.sendAll();
    if (!this.finished) {
      this.timer = setTimeout(this.onDeadline, Math.max(0, this.deadline - performance.now()));
    }
  }

  private sendAll(): void {
    const w = this.write;
    const targets = this.route.targets;
    for (let i = 0; i < targets.length; i++) {
      const id = targets[i]!;
      if (id === this.host.selfId) {
        this.state[i] = COUNTED; // applied locally before the round
        continue;
      }
      if (!this.host.reachable(id)) {
        this.state[i] = LOST;
        continue;
      }
      this.state[i] = WAITING;
      const request = emptyRequest();
      request.type = ReplicaOpType.APPLY;
      request.cache = w.cache;
      request.key = w.key;
      request.value = w.value;
      request.hlc = w.hlc;
      request.node = w.node;
      request.expiresAtMs = w.expiresAtMs;
      request.tombstone = w.tombstone;
      request.timeoutMs = Math.max(1, Math.round(this.deadline - performance.now()));
      this.host.send(id, request, (reply) => this.onReply(i, reply));
    }
    this.check();
  }

  private onReply(i: number, reply: ReplicaReply | undefined): void {
    if (this.finished) return;
    if (reply !== undefined && reply.code === ErrorCode.OK) {
      this.host.stats.observeAck((performance.now() - this.startedAt) / 1000);
      const w = this.write;
      // Equal: it holds this write. Newer: a later-stamped write overwrote it there.
      this.state[i] = compareHeld(reply.hlc, reply.node, w.hlc, w.node) >= 0 ? COUNTED : LOST;
    } else {
      if (reply?.code === ErrorCode.STALE_EPOCH) this.stale = mergeStale(this.stale, reply.epoch);
      this.state[i] = LOST;
    }
    this.check();
  }

  private check(): void {
    if (this.finished) return;
    if (!this.answered && this.quorum.met(this.state)) {
      this.answered = true;
      const w = this.write;
      this.result.version = {
        physicalMs: hlcPhysicalMs(w.hlc),
        logical: hlcLogical(w.hlc),
        node: w.node >>> 0,
      };
      this.resolve(this.result, undefined);
    }
    if (!this.answered && !this.quorum.possible(this.state)) this.answerTimeout();
    if (!this.state.includes(WAITING)) this.finish();
  }

  private answerTimeout(): void {
    this.answered = true;
    this.resolve(
      {
        ...this.result,
        code: ErrorCode.TIMEOUT,
        message: `write reached ${this.quorum.describe(this.state)}; it may still apply`,
        version: undefined,
        applied: false,
      },
      this.stale,
    );
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    if (this.finished) return;
    for (let i = 0; i < this.state.length; i++) if (this.state[i] === WAITING) this.state[i] = LOST;
    if (!this.answered) this.answerTimeout();
    this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const missing: string[] = [];
    const targets = this.route.targets;
    for (let i = 0; i < this.state.length; i++) if (this.state[i] !== COUNTED) missing.push(targets[i]!);
    this.host.finishWrite(this.write, missing, this.tokens);
  }
}
