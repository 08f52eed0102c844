import { performance } from 'node:perf_hooks';
import { type Consistency, ErrorCode, ReplicaOpType, type ReplicaReply } from '@meshcache/proto';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { ArenaStore } from '../store/index.js';
import { COUNTED, LOST, mergeStale, Quorum } from './Quorum.js';
import { compareHeld, type HeldVersion, type RoundHost } from './RoundHost.js';
import type { SlotRoute } from './SlotRoute.js';

const EMPTY = Buffer.alloc(0);

/** What a read round settles on: the newest version a level of replicas holds. */
export interface ReadOutcome {
  code: ErrorCode;
  message: string;
  /** The newest version (hlc 0: no replica holds anything); a tombstone or an expired value reads as absent. */
  held: HeldVersion;
  /** When a replica refused this node's epoch (STALE_EPOCH): the highest epoch a refusal named (0: none named). */
  stale?: number;
}

/** Nothing held: the answer when no replica has the key. */
const NOTHING: HeldVersion = { hlc: 0, node: 0, tombstone: true, value: EMPTY, expiresAtMs: 0 };
/** A member outside the read set that would not tell its version: older than anything, so it is repaired. */
const UNKNOWN: HeldVersion = { hlc: -1, node: 0, tombstone: true, value: EMPTY, expiresAtMs: 0 };

/**
 * A read at QUORUM or ALL (or the read half of a read-modify-write): asks
 * every reachable replica of the route's read set for the version it holds,
 * settles on the newest once the level of them answered, and repairs the
 * replicas that answered with older versions (a repair is a write of the
 * newest version). It answers only once the level holds that newest version
 * (repair acks count), so a later read at the level, whose replicas overlap
 * these, cannot return anything older: two QUORUM reads never go back in
 * time. Replicas that answer after the decision are repaired in the
 * background.
 *
 * While the slot moves (a dual route) the value still comes from the read
 * set alone, but the repair is a write: the newest version must reach the
 * level in every set of the route before the read answers, because the next
 * read may use the other set (after the cutover, or at a coordinator on the
 * other side of it) and must not go back in time either. So the members
 * outside the read set are asked for their version only, in parallel with
 * the read, and the stale or empty ones get the newest; their acks count
 * like a write's (a member still filling the slot answers NOT_READY: it
 * gets the newest without knowing what it held). A member holding a newer version counts as holding this
 * one (a later write overwrote it there; a read of that set returns no
 * older). When nothing is held anywhere in the read set there is nothing to
 * write, and the read set alone decides.
 */
export class ReadRound {
  /** Per target: undefined waiting, null no answer, else the version it holds (or holds after repair). */
  private readonly held: (HeldVersion | null | undefined)[];
  /** Per target: whether it answered the read (only read-set members count toward the decision). */
  private readonly answers: Uint8Array;
  /** Per target: whether it holds the newest version (or a newer one), after the decision. */
  private readonly holds: Uint8Array;
  private readonly readQuorum: Quorum;
  private readonly writeQuorum: Quorum;
  private newest: HeldVersion | undefined;
  private answered = false;
  private timer: NodeJS.Timeout | undefined;
  private stale: number | undefined;
  private readonly cache: string;
  private readonly targets: readonly string[];

  constructor(
    private readonly host: RoundHost,
    cache: string,
    private readonly key: Buffer,
    route: SlotRoute,
    level: Consistency,
    private readonly deadline: number,
    private readonly store: ArenaStore,
    private readonly resolve: (outcome: ReadOutcome) => void,
  ) {
    this.cache = cache;
    this.targets = route.targets;
    const n = this.targets.length;
    this.held = new Array<HeldVersion | null | undefined>(n);
    this.answers = new Uint8Array(n);
    this.holds = new Uint8Array(n);
    this.readQuorum = Quorum.ofRead(route, level);
    this.writeQuorum = route.dual ? Quorum.of(route, level) : this.readQuorum;
  }

  start(): void {
    for (let i = 0; i < this.targets.length; i++) {
      const id = this.targets[i]!;
      if (id === this.host.selfId) {
        this.held[i] = this.readLocal();
        this.answers[i] = COUNTED;
        continue;
      }
      if (!this.host.reachable(id)) {
        this.held[i] = null;
        this.answers[i] = LOST;
        this.holds[i] = LOST;
        continue;
      }
      const request = emptyRequest();
      request.type = ReplicaOpType.READ;
      request.cache = this.cache;
      request.key = this.key;
      // Outside the read set only the version matters: whether it needs the repair.
      request.versionOnly = !this.readQuorum.includes(i);
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
    if (reply?.code === ErrorCode.NOT_READY && !this.readQuorum.includes(i)) {
      // Filling the slot it joins (or restarted empty): its version is unknown, it gets the newest blind.
      this.held[i] = UNKNOWN;
      if (this.newest !== undefined) this.settle(i, UNKNOWN);
      this.check();
      return;
    }
    if (reply === undefined || reply.code !== ErrorCode.OK) {
      this.noteRefusal(reply);
      if (this.held[i] === undefined) this.held[i] = null;
      this.answers[i] = LOST;
      this.holds[i] = LOST;
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
    this.answers[i] = COUNTED;
    // Answered after the decision: bring it up to date (in the background once answered).
    if (this.newest !== undefined) this.settle(i, v);
    this.check();
  }

  private check(): void {
    if (this.answered) return;
    if (this.newest === undefined) {
      if (this.readQuorum.met(this.answers)) this.decide();
      else if (!this.readQuorum.possible(this.answers)) {
        this.answer(ErrorCode.TIMEOUT, `read reached ${this.readQuorum.describe(this.answers)}`);
        return;
      }
    }
    if (this.newest === undefined || this.answered) return;
    const quorum = this.quorumFor();
    if (quorum.met(this.holds)) this.answer(ErrorCode.OK, '');
    else if (!quorum.possible(this.holds)) {
      this.answer(ErrorCode.TIMEOUT, `read found its version on ${quorum.describe(this.holds)}`);
    }
  }

  /** Whose holding the newest the answer waits for: every set once there is something to write. */
  private quorumFor(): Quorum {
    return this.newest !== undefined && this.newest.hlc !== 0 ? this.writeQuorum : this.readQuorum;
  }

  /** Settles on the newest answer of the read set so far and repairs the older ones. */
  private decide(): void {
    let newest: HeldVersion = NOTHING;
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held[i];
      if (h && this.readQuorum.includes(i) && compareHeld(h.hlc, h.node, newest.hlc, newest.node) > 0) {
        newest = h;
      }
    }
    this.newest = newest;
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held[i];
      if (h) this.settle(i, h);
    }
  }

  /** Target i answered holding `h`: it holds the newest, or gets it. */
  private settle(i: number, h: HeldVersion): void {
    const n = this.newest!;
    if (compareHeld(h.hlc, h.node, n.hlc, n.node) >= 0) this.holds[i] = COUNTED;
    else this.repair(i);
  }

  /** Writes the newest version to target i; its ack counts toward the level. */
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
    const id = this.targets[i]!;
    if (id === this.host.selfId) {
      this.holds[i] = this.host.applyLocal(this.store, write) ? COUNTED : LOST;
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
        this.holds[i] = compareHeld(reply.hlc, reply.node, n.hlc, n.node) >= 0 ? COUNTED : LOST;
      } else {
        this.noteRefusal(reply);
        this.holds[i] = LOST;
      }
      this.check();
    });
  }

  private noteRefusal(reply: ReplicaReply | undefined): void {
    if (reply?.code === ErrorCode.STALE_EPOCH) this.stale = mergeStale(this.stale, reply.epoch);
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    if (this.answered) return;
    if (this.newest === undefined) {
      this.answer(ErrorCode.TIMEOUT, `read reached ${this.readQuorum.describe(this.answers)}`);
    } else {
      this.answer(ErrorCode.TIMEOUT, `read found its version on ${this.quorumFor().describe(this.holds)}`);
    }
  };

  private answer(code: ErrorCode, message: string): void {
    if (this.answered) return;
    this.answered = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve({
      code,
      message,
      held: this.newest ?? NOTHING,
      stale: code === ErrorCode.OK ? undefined : this.stale,
    });
  }
}
