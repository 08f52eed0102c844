import { performance } from 'node:perf_hooks';
import { ErrorCode, ReplicaOpType, type ReplicaReply } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { ArenaStore } from '../store/index.js';
import { compareHeld, type HeldVersion, type RoundHost } from './RoundHost.js';

const EMPTY = Buffer.alloc(0);

/** What a read round settles on: the newest version a level of replicas holds. */
export interface ReadOutcome {
  code: ErrorCode;
  message: string;
  /** The newest version (hlc 0: no replica holds anything); a tombstone or an expired value reads as absent. */
  held: HeldVersion;
}

/** Nothing held: the answer when no replica has the key. */
const NOTHING: HeldVersion = { hlc: 0, node: 0, tombstone: true, value: EMPTY, expiresAtMs: 0 };

/**
 * A read at QUORUM or ALL (or the read half of a read-modify-write): asks
 * every reachable replica for the version it holds, settles on the newest
 * among the first `required` answers, and repairs the replicas that answered
 * with older versions (a repair is a write of the newest version). It answers
 * only once `required` replicas hold that newest version (repair acks count),
 * so a later read at the level, whose replicas overlap these, cannot return
 * anything older: two QUORUM reads never go back in time. Replicas that
 * answer after the decision are repaired in the background.
 */
export class ReadRound {
  /** Per replica: undefined waiting, null no answer, else the version it holds (or holds after repair). */
  private readonly held: (HeldVersion | null | undefined)[];
  private readonly holdsNewest: Uint8Array;
  private newest: HeldVersion | undefined;
  private answered = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly cache: string;

  constructor(
    private readonly host: RoundHost,
    cache: string,
    private readonly key: Buffer,
    private readonly replicas: readonly string[],
    private readonly required: number,
    private readonly deadline: number,
    private readonly store: ArenaStore,
    private readonly resolve: (outcome: ReadOutcome) => void,
  ) {
    this.cache = cache;
    this.held = new Array<HeldVersion | null | undefined>(replicas.length);
    this.holdsNewest = new Uint8Array(replicas.length);
  }

  start(): void {
    for (let i = 0; i < this.replicas.length; i++) {
      const id = this.replicas[i]!;
      if (id === this.host.selfId) {
        this.held[i] = this.readLocal();
        continue;
      }
      if (!this.host.reachable(id)) {
        this.held[i] = null;
        continue;
      }
      const request = emptyRequest();
      request.type = ReplicaOpType.READ;
      request.cache = this.cache;
      request.key = this.key;
      request.timeoutMs = Math.max(1, Math.round(this.deadline - performance.now()));
      this.host.send(id, request, (reply) => this.onReply(i, reply));
    }
    this.check();
    if (!this.answered) {
      this.timer = setTimeout(this.onDeadline, Math.max(0, this.deadline - performance.now()));
    }
  }

  private readLocal(): HeldVersion {
    const s = this.store;
    const h = s.versionAt(this.key, 0, this.key.length);
    if (h < 0) return NOTHING;
    const tombstone = s.isTombstone(h);
    return {
      hlc: s.hlcOf(h),
      node: s.nodeOf(h),
      tombstone,
      value: tombstone ? EMPTY : s.valueBuffer(h),
      expiresAtMs: tombstone ? 0 : s.expiresAtOf(h),
    };
  }

  private onReply(i: number, reply: ReplicaReply | undefined): void {
    if (reply === undefined || reply.code !== ErrorCode.OK) {
      if (this.held[i] === undefined) this.held[i] = null;
      this.check();
      return;
    }
    const v: HeldVersion = {
      hlc: reply.hlc,
      node: reply.node,
      tombstone: reply.tombstone || reply.hlc === 0,
      value: reply.value,
      expiresAtMs: reply.expiresAtMs,
    };
    this.held[i] = v;
    if (this.newest !== undefined) {
      // Answered after the decision: bring it up to date in the background.
      const order = compareHeld(v.hlc, v.node, this.newest.hlc, this.newest.node);
      if (order < 0) this.repair(i);
      else if (order === 0) this.holdsNewest[i] = 1;
    }
    this.check();
  }

  private check(): void {
    if (this.newest === undefined) {
      let answers = 0;
      let waiting = 0;
      for (const h of this.held) {
        if (h === undefined) waiting++;
        else if (h !== null) answers++;
      }
      if (answers >= this.required) this.decide();
      else if (answers + waiting < this.required) {
        this.answer(
          ErrorCode.TIMEOUT,
          `read reached ${answers} of the ${this.required} replicas it needs (of ${this.replicas.length})`,
        );
        return;
      }
    }
    if (this.newest === undefined || this.answered) return;
    let holders = 0;
    for (let i = 0; i < this.holdsNewest.length; i++) holders += this.holdsNewest[i]!;
    if (holders >= this.required) this.answer(ErrorCode.OK, '');
  }

  /** Settles on the newest answer so far and repairs the older ones. */
  private decide(): void {
    let newest: HeldVersion = NOTHING;
    for (const h of this.held) {
      if (h && compareHeld(h.hlc, h.node, newest.hlc, newest.node) > 0) newest = h;
    }
    this.newest = newest;
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held[i];
      if (!h) continue;
      if (compareHeld(h.hlc, h.node, newest.hlc, newest.node) === 0) this.holdsNewest[i] = 1;
      else this.repair(i);
    }
  }

  /** Writes the newest version to replica i; its ack counts toward the level. */
  private repair(i: number): void {
    const n = this.newest!;
    if (n.hlc === 0) return; // nothing to repair with
    this.host.stats.readRepairs++;
    const write = {
      cache: this.cache,
      key: this.key,
      value: n.tombstone ? EMPTY : n.value,
      hlc: n.hlc,
      node: n.node,
      expiresAtMs: n.tombstone ? 0 : n.expiresAtMs,
      tombstone: n.tombstone,
    };
    const id = this.replicas[i]!;
    if (id === this.host.selfId) {
      if (this.host.applyLocal(this.store, write)) this.holdsNewest[i] = 1;
      return;
    }
    const request = emptyRequest();
    request.type = ReplicaOpType.APPLY;
    request.cache = write.cache;
    request.key = write.key;
    request.value = write.value;
    request.hlc = write.hlc;
    request.node = write.node;
    request.expiresAtMs = write.expiresAtMs;
    request.tombstone = write.tombstone;
    request.timeoutMs = Math.max(1, Math.round(this.deadline - performance.now()));
    this.host.send(id, request, (reply) => {
      if (reply !== undefined && reply.code === ErrorCode.OK) {
        if (compareHeld(reply.hlc, reply.node, n.hlc, n.node) >= 0) this.holdsNewest[i] = 1;
      }
      this.check();
    });
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    if (this.answered) return;
    let holders = 0;
    for (let i = 0; i < this.holdsNewest.length; i++) holders += this.holdsNewest[i]!;
    this.answer(
      ErrorCode.TIMEOUT,
      `read found its version on ${holders} of the ${this.required} replicas it needs (of ${this.replicas.length})`,
    );
  };

  private answer(code: ErrorCode, message: string): void {
    if (this.answered) return;
    this.answered = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve({ code, message, held: this.newest ?? NOTHING });
  }
}
