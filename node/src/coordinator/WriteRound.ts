import { performance } from 'node:perf_hooks';
import { ErrorCode, ReplicaOpType, type ReplicaReply, type Result } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { SettleToken } from '../replication/SettledMarks.js';
import { hlcLogical, hlcPhysicalMs } from '../store/index.js';
import { compareHeld, type RoundHost, type VersionedWrite } from './RoundHost.js';

const WAITING = 0;
const ACKED = 1;
const MISSING = 2;

/**
 * One write's fan-out to the replicas of its key, after the coordinator
 * stamped it (above every version a level of replicas held: VersionRound)
 * and applied it locally.
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
  private readonly tokens: SettleToken[] = [];
  private answered = false;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly host: RoundHost,
    private readonly write: VersionedWrite,
    private readonly replicas: readonly string[],
    private readonly required: number,
    private readonly deadline: number,
    private readonly result: Result,
    private readonly resolve: (r: Result) => void,
  ) {
    this.state = new Uint8Array(replicas.length);
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
    for (let i = 0; i < this.replicas.length; i++) {
      const id = this.replicas[i]!;
      if (id === this.host.selfId) {
        this.state[i] = ACKED; // applied locally before the round
        continue;
      }
      if (!this.host.reachable(id)) {
        this.state[i] = MISSING;
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
      this.state[i] = compareHeld(reply.hlc, reply.node, w.hlc, w.node) >= 0 ? ACKED : MISSING;
    } else {
      this.state[i] = MISSING;
    }
    this.check();
  }

  private check(): void {
    if (this.finished) return;
    let acked = 0;
    let waiting = 0;
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] === ACKED) acked++;
      else if (this.state[i] === WAITING) waiting++;
    }
    if (!this.answered && acked >= this.required) {
      this.answered = true;
      const w = this.write;
      this.result.version = {
        physicalMs: hlcPhysicalMs(w.hlc),
        logical: hlcLogical(w.hlc),
        node: w.node >>> 0,
      };
      this.resolve(this.result);
    }
    if (!this.answered && acked + waiting < this.required) this.answerTimeout(acked);
    if (waiting === 0) this.finish();
  }

  private answerTimeout(acked: number): void {
    this.answered = true;
    this.resolve({
      ...this.result,
      code: ErrorCode.TIMEOUT,
      message: `write reached ${acked} of the ${this.required} replicas it needs (of ${this.replicas.length}); it may still apply`,
      version: undefined,
      applied: false,
    });
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    if (this.finished) return;
    let acked = 0;
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] === WAITING) this.state[i] = MISSING;
      if (this.state[i] === ACKED) acked++;
    }
    if (!this.answered) this.answerTimeout(acked);
    this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const missing: string[] = [];
    for (let i = 0; i < this.state.length; i++) if (this.state[i] !== ACKED) missing.push(this.replicas[i]!);
    this.host.finishWrite(this.write, missing, this.tokens);
  }
}
