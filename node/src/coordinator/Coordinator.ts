import { performance } from 'node:perf_hooks';
import {
  Consistency,
  DEFAULT_CACHE_NAME,
  type Entry,
  ErrorCode,
  keySlot,
  type Operation,
  OpType,
  ReplicaOpType,
  type ReplicaRequest,
  type Result,
  SetCondition,
  type UnsettledWrite,
} from '@meshcache/proto';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import { emptyRequest, type ReplyCallback } from '../replication/ReplicaPeer.js';
import type { SettledMarks, SettleToken } from '../replication/SettledMarks.js';
import {
  type ArenaStore,
  HLC_MAX_LOGICAL,
  hlcLogical,
  hlcPhysicalMs,
  type HybridLogicalClock,
  makeHlc,
} from '../store/index.js';
import { LEVEL_NAMES, levelOf, requiredReplicas } from './consistency.js';
import type { HintQueues } from './HintQueues.js';
import { KeyLocks } from './KeyLocks.js';
import type { ExecuteOptions, OperationCoordinator } from './OperationCoordinator.js';
import { type ReadOutcome, ReadRound } from './ReadRound.js';
import type { ReplicaSets } from './ReplicaSets.js';
import type { SlotRoute } from './SlotRoute.js';
import type { ReplicationStats } from './ReplicationStats.js';
import type { HeldVersion, RoundHost, VersionedWrite } from './RoundHost.js';
import { VersionRound } from './VersionRound.js';
import { WriteRound } from './WriteRound.js';

const EMPTY = Buffer.alloc(0);

/** Tunables of the coordinator; their defaults and validation are the node options' (readRepairChance). */
export interface CoordinatorOptions {
  /** Share of reads at ONE that also check the other replicas in the background and repair them (0..1). */
  readRepairChance: number;
}

/** What the coordinator reaches peers with (ReplicaPeers). */
export interface PeerSender {
  send(target: string, request: ReplicaRequest, done: ReplyCallback): void;
  /** Whether a request to the member would leave now (its stream is not in backoff). */
  reachable(id: string): boolean;
}

export interface CoordinatorDeps {
  selfId: string;
  caches: CacheRegistry;
  executor: OperationExecutor;
  sets: ReplicaSets;
  peers: PeerSender;
  hints: HintQueues;
  marks: SettledMarks;
  clock: HybridLogicalClock;
  stats: ReplicationStats;
  wallClock: () => number;
  /** Why this node must not coordinate writes now (clock not yet above its peers', or out of bounds), or undefined. */
  writeBlocker: () => { code: ErrorCode; message: string } | undefined;
  /** While the clock warms up after start, a promise for the end of it: writes wait for it instead of failing. */
  whenWarm: () => Promise<void> | undefined;
  /** Sends an unsettled record to every peer (a write given up on). */
  publishUnsettled: (write: UnsettledWrite) => void;
  options: CoordinatorOptions;
  /**
   * Whether this node has filled the slot (holds a complete copy); a node
   * still filling it (restarted empty, or a new replica) coordinates nothing
   * of it. Absent: always.
   */
  filled?: (cacheIndex: number, slot: number) => boolean;
}

type Kind = 'read' | 'write' | 'rmw';

/** One try of a read or a plain write: its result, and whether a replica refused this node's epoch. */
interface Attempt {
  result: Result;
  /** The highest epoch a STALE_EPOCH refusal named (0: none named); undefined: no refusal. */
  stale: number | undefined;
}

/** An operation waiting for this node to install an epoch before it runs again. */
interface EpochWaiter {
  epoch: number;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/** Operations that need the current value: coordinated by the slot's primary, after a read at the level. */
function kindOf(op: Operation): Kind {
  switch (op.type) {
    case OpType.GET:
      return 'read';
    case OpType.SET:
      return op.condition === SetCondition.ALWAYS && !op.returnPrevious && !op.keepTtl ? 'write' : 'rmw';
    case OpType.DELETE:
      return op.returnPrevious ? 'rmw' : 'write';
    default:
      return 'rmw';
  }
}

/** How an UNAVAILABLE message names set `k` of a moving slot's route. */
function setName(route: SlotRoute, k: number): string {
  if (route.sets[k] === route.read) return 'current';
  return route.sets.indexOf(route.read) > k ? 'previous' : 'incoming';
}

function result(id: number, code: ErrorCode = ErrorCode.OK, message = ''): Result {
  return {
    id,
    code,
    message,
    found: false,
    value: EMPTY,
    version: undefined,
    ttlMs: 0,
    applied: false,
    number: 0,
    entries: [],
  };
}

/**
 * The one place operations are distributed. Both doors hand operations here;
 * it maps key -> slot -> route (SlotRoute: the committed set reads use, and
 * the one or two sets a write needs its level in while the slot moves) in
 * the committed view of the cache's replication factor and then:
 * - a single-copy cache's key on this node runs on the local executor (the
 *   fast path, synchronous) unless the slot is moving; elsewhere it is
 *   forwarded to its owner;
 * - a read or a plain write is coordinated by any replica of the committed
 *   set (a node that is not one forwards to a live one, primary first); the
 *   write goes to every set's members and needs its level in each; the read
 *   decides from the committed set and repairs like a write (ReadRound);
 *   either runs again once this node catches up when a replica refused its
 *   epoch (STALE_EPOCH);
 * - a read-modify-write (conditional SET, INCR, APPEND, CAS, TTL changes,
 *   GETDEL) is coordinated by the slot's first live replica in table order:
 *   it reads the key at the level (repairing, so its own copy is the newest),
 *   runs the operation on its own store, and replicates the entry it wrote.
 *   Not linearizable across a change of that replica (a later issue adds
 *   leases).
 * Quorums are strict: a DEAD, unreachable or refusing replica is a missing
 * ack. UNAVAILABLE means nothing was sent; TIMEOUT means the level was missed
 * after sending and the write may still apply.
 */
export class Coordinator implements OperationCoordinator, RoundHost {
  readonly selfId: string;
  readonly clock: HybridLogicalClock;
  readonly stats: ReplicationStats;
  private readonly factors: number[];
  private readonly defaults: Consistency[];
  private readonly locks = new KeyLocks();
  private stopping = false;
  private readonly epochWaiters = new Set<EpochWaiter>();

  constructor(private readonly d: CoordinatorDeps) {
    this.selfId = d.selfId;
    this.clock = d.clock;
    this.stats = d.stats;
    this.factors = d.caches.options.map((c) => c.replicationFactor);
    this.defaults = d.caches.options.map((c) => Consistency[c.defaultConsistency]);
    d.sets.onEpoch(this.onEpoch);
  }

  // ------------------------------------------------------------- doors' API

  /**
   * SIGTERM: this node hands coordination off. Operations other nodes forward
   * here from now on are answered SHUTTING_DOWN (nothing applied) and the
   * forwarder tries the next replica, so the roles this node held move before
   * its peers even notice it is gone.
   */
  stopCoordinating(): void {
    this.stopping = true;
  }

  isLocal(cacheIndex: number, slot: number): boolean {
    const route = this.d.sets.route(this.factors[cacheIndex] ?? 1, slot);
    if (route === undefined) return true; // no committed view yet: a lone node serves everything
    // A single copy moving to another node is written to both: not local.
    return !route.dual && route.read.length === 1 && route.read[0] === this.selfId;
  }

  /** Whether this node holds a copy of the slot (a client that routes itself may send it here). */
  isReplica(cacheIndex: number, slot: number): boolean {
    const table = this.d.sets.table(this.factors[cacheIndex] ?? 1);
    return table === undefined || table.positionOf(slot, this.selfId) >= 0;
  }

  /** Whether every key of every operation may run on the local fast path (one check per frame). */
  allLocal(ops: readonly Operation[]): boolean {
    for (const op of ops) {
      const cache = this.d.caches.indexOf(op.cache === '' ? DEFAULT_CACHE_NAME : op.cache);
      if (cache < 0) continue; // fails locally with UNKNOWN_CACHE
      if (op.type === OpType.GET_MANY) {
        for (const k of op.keys) if (!this.isLocal(cache, keySlot(k))) return false;
      } else if (op.type === OpType.SET_MANY) {
        for (const e of op.entries) if (!this.isLocal(cache, keySlot(e.key))) return false;
      } else if (!this.isLocal(cache, keySlot(op.key))) {
        return false;
      }
    }
    return true;
  }

  execute(op: Operation, options: ExecuteOptions): Promise<Result> {
    if (performance.now() >= options.deadline) {
      // Its caller has given up (it waited in a queue or on a forwarding hop): never apply it.
      return Promise.resolve(
        result(op.id, ErrorCode.TIMEOUT, 'deadline passed before the operation ran; nothing was applied'),
      );
    }
    if (!(options.consistency in LEVEL_NAMES) && options.consistency !== Consistency.CONSISTENCY_DEFAULT) {
      return Promise.resolve(
        result(
          op.id,
          ErrorCode.INVALID_ARGUMENT,
          `consistency ${options.consistency} is not ONE (1), QUORUM (2) or ALL (3)`,
        ),
      );
    }
    if (op.type !== OpType.GET && op.type !== OpType.GET_MANY) {
      // A node that just started stamps nothing until its clock is above its peers' (at most maxClockSkewMs).
      const warm = this.d.whenWarm();
      if (warm !== undefined) return warm.then(() => this.execute(op, options));
    }
    const cache = this.d.caches.indexOf(op.cache === '' ? DEFAULT_CACHE_NAME : op.cache);
    if (cache < 0) return Promise.resolve(this.d.executor.execute(op)); // UNKNOWN_CACHE, with its message
    const level = levelOf(options.consistency, this.defaults[cache]!);
    if (op.type === OpType.GET_MANY) return this.getMany(op, cache, level, options.deadline);
    if (op.type === OpType.SET_MANY) return this.setMany(op, cache, level, options.deadline);
    return this.one(op, cache, level, options.deadline, options.forwarded === true);
  }

  // ---------------------------------------------------------- distribution

  private one(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    forwarded = false,
  ): Promise<Result> {
    const kind = kindOf(op);
    const slot = keySlot(op.key);
    const route = this.d.sets.route(this.factors[cache]!, slot);
    if (route === undefined) return Promise.resolve(this.d.executor.execute(op));
    const read = route.read;
    if (!route.dual && read.length === 1) {
      if (read[0] === this.selfId) return Promise.resolve(this.d.executor.execute(op));
      return this.forward(op, level, deadline, read, slot, kind);
    }
    if (forwarded && this.stopping) {
      return Promise.resolve(
        result(op.id, ErrorCode.SHUTTING_DOWN, `${this.selfId} is stopping; nothing was applied`),
      );
    }
    if (read.includes(this.selfId) && this.d.filled !== undefined && !this.d.filled(cache, slot)) {
      // Still filling this slot: its copy may miss acknowledged writes, so another replica coordinates.
      if (forwarded) {
        return Promise.resolve(
          result(
            op.id,
            ErrorCode.NOT_READY,
            `${this.selfId} is still filling slot ${slot}; nothing was applied`,
          ),
        );
      }
      return this.forward(op, level, deadline, read, slot, kind);
    }
    if (kind === 'rmw') {
      const primary = read.find((id) => this.d.sets.isLive(id) && this.reachable(id));
      if (primary !== this.selfId) return this.forward(op, level, deadline, read, slot, kind);
      const lockKey = `${cache}:${op.key.toString('latin1')}`;
      return this.locks.run(lockKey, () => this.readModifyWrite(op, cache, level, deadline, route, slot));
    }
    if (!read.includes(this.selfId)) return this.forward(op, level, deadline, read, slot, kind);
    if (kind === 'read' && level === Consistency.ONE) return this.readOne(op, cache, deadline, route);
    const epoch = this.d.sets.epoch;
    const attempt =
      kind === 'read'
        ? this.read(op, cache, level, deadline, route, slot)
        : this.write(op, cache, level, deadline, route, slot);
    return attempt.then((a) => this.retryStale(a, op, cache, level, deadline, kind, epoch));
  }

  /**
   * A read or plain write that missed its level while some replica refused
   * this node's epoch (STALE_EPOCH: the slot's write targets gained a member
   * this node does not know of yet) runs again, re-routed, once this node
   * holds an epoch at least the refusal's, or the next one when the refusal
   * names none. Safe for these two kinds only: a read changes nothing but
   * repairs, and a plain SET or DELETE is stamped anew above whatever its
   * first attempt left (a write acknowledged later still wins). A
   * read-modify-write applied its operation locally first: it never runs
   * twice.
   */
  private async retryStale(
    a: Attempt,
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    kind: Kind,
    epoch: number,
  ): Promise<Result> {
    const r = a.result;
    if (r.code !== ErrorCode.OK && a.stale !== undefined) {
      const wanted = Math.max(a.stale, epoch + 1);
      if (await this.untilEpoch(wanted, deadline)) return this.one(op, cache, level, deadline);
      r.message = `${r.message}; a replica refused this node's epoch ${epoch} and epoch ${wanted} did not arrive before the deadline`;
    }
    this.stats.record(level, kind === 'read' ? 'read' : 'write', r.code);
    return r;
  }

  /** Resolves true once this node's committed epoch reaches `epoch`, false at the deadline. */
  private untilEpoch(epoch: number, deadline: number): Promise<boolean> {
    if (this.d.sets.epoch >= epoch) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter: EpochWaiter = {
        epoch,
        resolve,
        timer: setTimeout(
          () => {
            this.epochWaiters.delete(waiter);
            resolve(false);
          },
          Math.max(0, deadline - performance.now()),
        ),
      };
      this.epochWaiters.add(waiter);
    });
  }

  private readonly onEpoch = (epoch: number): void => {
    for (const w of this.epochWaiters) {
      if (epoch < w.epoch) continue;
      this.epochWaiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(true);
    }
  };

  /** Sends the operation to a live replica (primary first) to coordinate; tries the next one only when nothing was sent. */
  private forward(
    op: Operation,
    level: Consistency,
    deadline: number,
    replicas: readonly string[],
    slot: number,
    kind: Kind,
  ): Promise<Result> {
    this.stats.forwarded++;
    const candidates = replicas.filter((id) => id !== this.selfId && this.d.sets.isLive(id));
    const record = (r: Result): Result => {
      r.id = op.id;
      this.stats.record(level, kind === 'read' ? 'read' : 'write', r.code);
      return r;
    };
    return new Promise<Result>((resolve) => {
      let settled = false;
      const finish = (r: Result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(record(r));
      };
      const timer = setTimeout(
        () =>
          finish(result(op.id, ErrorCode.TIMEOUT, `no answer from the coordinator of slot ${slot} in time`)),
        Math.max(0, deadline - performance.now()),
      );
      const attempt = (k: number) => {
        const target = candidates[k];
        if (target === undefined) {
          finish(
            result(
              op.id,
              ErrorCode.UNAVAILABLE,
              `no live replica of slot ${slot} to coordinate (${replicas.join(', ')})`,
            ),
          );
          return;
        }
        const request = emptyRequest();
        request.type = ReplicaOpType.COORDINATE;
        request.operation = { ...op, consistency: level };
        request.timeoutMs = Math.max(1, Math.round(deadline - performance.now()));
        this.d.peers.send(target, request, (reply, sent) => {
          // A replica still filling the slot coordinates nothing (nothing applied): the next one may.
          const code = reply?.result?.code;
          if ((code === ErrorCode.NOT_READY || code === ErrorCode.SHUTTING_DOWN) && k + 1 < candidates.length)
            attempt(k + 1);
          else if (reply !== undefined && reply.result !== undefined) finish(reply.result);
          else if (reply !== undefined)
            finish(result(op.id, reply.code || ErrorCode.INTERNAL, reply.message));
          // Nothing left this node, or a read (safe to ask again) lost with its coordinator: the next replica.
          else if (!sent || (kind === 'read' && k + 1 < candidates.length)) attempt(k + 1);
          else {
            finish(
              result(
                op.id,
                kind === 'read' ? ErrorCode.UNAVAILABLE : ErrorCode.TIMEOUT,
                `lost the connection to ${target}, coordinator of slot ${slot}${kind === 'read' ? '' : '; the write may have applied'}`,
              ),
            );
          }
        });
      };
      attempt(0);
    });
  }

  /**
   * UNAVAILABLE when, in some set of the route, fewer replicas are live than
   * the level needs there (nothing is sent). Reads too: a read's repair is a
   * write, which while the slot moves needs the level in each set.
   */
  private unavailable(op: Operation, level: Consistency, route: SlotRoute, slot: number): Result | undefined {
    const sets = route.sets;
    for (let k = 0; k < sets.length; k++) {
      const set = sets[k]!;
      const required = requiredReplicas(level, set.length);
      let live = 0;
      for (const id of set) if (this.reachable(id)) live++;
      if (live >= required) continue;
      const levelName = LEVEL_NAMES[level] ?? 'the level';
      return result(
        op.id,
        ErrorCode.UNAVAILABLE,
        route.dual
          ? `${live} of ${set.length} replicas of slot ${slot} in its ${setName(route, k)} set (${set.join(', ')}) are live; ${levelName} needs ${required} in each of its sets while it moves`
          : `${live} of ${set.length} replicas of slot ${slot} are live; ${levelName} needs ${required}`,
      );
    }
    return undefined;
  }

  /** A read at ONE: this node's copy, and now and then a background check of the others. */
  private readOne(op: Operation, cache: number, deadline: number, route: SlotRoute): Promise<Result> {
    const r = this.d.executor.execute(op);
    if (Math.random() < this.d.options.readRepairChance && r.code === ErrorCode.OK) {
      this.readRound(op, cache, Consistency.ALL, deadline, route, () => {});
    }
    this.stats.record(Consistency.ONE, 'read', r.code);
    return Promise.resolve(r);
  }

  private read(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    route: SlotRoute,
    slot: number,
  ): Promise<Attempt> {
    const down = this.unavailable(op, level, route, slot);
    if (down) return Promise.resolve({ result: down, stale: undefined });
    return new Promise<Attempt>((resolve) => {
      this.readRound(op, cache, level, deadline, route, (outcome) => {
        const r = result(op.id, outcome.code, outcome.message);
        if (outcome.code === ErrorCode.OK) this.fillRead(r, outcome.held);
        resolve({ result: r, stale: outcome.stale });
      });
    });
  }

  private readRound(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    route: SlotRoute,
    done: (outcome: ReadOutcome) => void,
  ): void {
    const store = this.d.caches.stores[cache]!;
    new ReadRound(this, store.name, op.key, route, level, deadline, store, done).start();
  }

  /** A GET result from the version a read settled on (a tombstone or an expired value is a miss). */
  private fillRead(r: Result, held: HeldVersion): void {
    const now = this.d.wallClock();
    if (held.hlc === 0 || held.tombstone || (held.expiresAtMs !== 0 && held.expiresAtMs <= now)) return;
    r.found = true;
    r.value = held.value;
    r.version = { physicalMs: hlcPhysicalMs(held.hlc), logical: hlcLogical(held.hlc), node: held.node >>> 0 };
    r.ttlMs = held.expiresAtMs === 0 ? -1 : Math.max(0, held.expiresAtMs - now);
  }

  private write(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    route: SlotRoute,
    slot: number,
  ): Promise<Attempt> {
    const refused = this.unavailable(op, level, route, slot) ?? this.blocked(op);
    if (refused) return Promise.resolve({ result: refused, stale: undefined });
    // At ONE the write promises no order against other coordinators' writes: stamp at once.
    if (level === Consistency.ONE) return this.stampAndReplicate(op, cache, level, deadline, route);
    const store = this.d.caches.stores[cache]!;
    return new Promise<Attempt>((resolve) => {
      new VersionRound(this, store.name, op.key, route, level, deadline, store, (outcome) => {
        if (outcome.code !== ErrorCode.OK) {
          resolve({ result: result(op.id, outcome.code, outcome.message), stale: outcome.stale });
          return;
        }
        // Stamp above what the level holds (the clock also merged every reply frame's clock).
        // Counted when that is ahead of this node's own clock: a clock behind its peers'.
        if (outcome.highest > makeHlc(Math.floor(this.d.wallClock()), HLC_MAX_LOGICAL)) this.stats.restamps++;
        if (outcome.highest > 0) this.clock.observe(outcome.highest);
        this.stampAndReplicate(op, cache, level, deadline, route).then(resolve);
      }).start();
    });
  }

  private readModifyWrite(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    route: SlotRoute,
    slot: number,
  ): Promise<Result> {
    const refused = this.unavailable(op, level, route, slot) ?? this.blocked(op);
    if (refused) {
      this.stats.record(level, 'write', refused.code);
      return Promise.resolve(refused);
    }
    // Read first, at the level, so this node's copy is the newest a level of replicas holds.
    return new Promise<Result>((resolve) => {
      this.readRound(op, cache, level, deadline, route, (outcome) => {
        if (outcome.code !== ErrorCode.OK) {
          const r = result(op.id, outcome.code, `${outcome.message}; nothing was written`);
          this.stats.record(level, 'write', r.code);
          resolve(r);
          return;
        }
        this.stampAndReplicate(op, cache, level, deadline, route).then((a) => {
          this.stats.record(level, 'write', a.result.code);
          resolve(a.result);
        });
      });
    });
  }

  private blocked(op: Operation): Result | undefined {
    const b = this.d.writeBlocker();
    return b === undefined ? undefined : result(op.id, b.code, b.message);
  }

  /**
   * Runs the write on the local store (which stamps its version from this
   * node's clock and applies the operation's semantics), then sends the
   * entry it wrote to every target of the route.
   */
  private stampAndReplicate(
    op: Operation,
    cache: number,
    level: Consistency,
    deadline: number,
    route: SlotRoute,
  ): Promise<Attempt> {
    const store = this.d.caches.stores[cache]!;
    const key = op.key;
    const before = store.versionAt(key, 0, key.length);
    const beforeHlc = before < 0 ? 0 : store.hlcOf(before);
    const beforeNode = before < 0 ? 0 : store.nodeOf(before);
    const r = this.d.executor.execute(op);
    if (r.code !== ErrorCode.OK) return Promise.resolve({ result: r, stale: undefined });
    const h = store.versionAt(key, 0, key.length);
    if (h < 0 || (store.hlcOf(h) === beforeHlc && store.nodeOf(h) === beforeNode)) {
      // The operation wrote nothing (a condition failed, a TTL change of a missing key).
      return Promise.resolve({ result: r, stale: undefined });
    }
    const tombstone = store.isTombstone(h);
    const plainSet = op.type === OpType.SET && kindOf(op) === 'write';
    const write: VersionedWrite = {
      cache: store.name,
      key,
      value: tombstone ? EMPTY : plainSet ? op.value : store.valueBuffer(h),
      hlc: store.hlcOf(h),
      node: store.nodeOf(h),
      expiresAtMs: tombstone ? 0 : store.expiresAtOf(h),
      tombstone,
    };
    return new Promise<Attempt>((resolve) => {
      new WriteRound(this, write, route, level, deadline, r, (out, stale) =>
        resolve({ result: out, stale }),
      ).start();
    });
  }

  private async getMany(op: Operation, cache: number, level: Consistency, deadline: number): Promise<Result> {
    const parts = await Promise.all(
      op.keys.map((key, i) =>
        this.one({ ...op, id: i, type: OpType.GET, key, keys: [] }, cache, level, deadline),
      ),
    );
    const failed = parts.find((p) => p.code !== ErrorCode.OK);
    if (failed) return { ...failed, id: op.id };
    const entries: Entry[] = parts.map((p) => ({
      found: p.found,
      value: p.value,
      version: p.version,
      ttlMs: p.ttlMs,
    }));
    return { ...result(op.id), entries, found: entries.some((e) => e.found) };
  }

  private async setMany(op: Operation, cache: number, level: Consistency, deadline: number): Promise<Result> {
    const parts = await Promise.all(
      op.entries.map((e, i) =>
        this.one(
          { ...op, id: i, type: OpType.SET, key: e.key, value: e.value, ttlMs: e.ttlMs, entries: [] },
          cache,
          level,
          deadline,
        ),
      ),
    );
    const failed = parts.find((p) => p.code !== ErrorCode.OK);
    if (failed) return { ...failed, id: op.id };
    return { ...result(op.id), applied: true, number: parts.length };
  }

  // ------------------------------------------------------------- RoundHost

  wallClock(): number {
    return this.d.wallClock();
  }

  reachable(id: string): boolean {
    return id === this.selfId || (this.d.sets.isLive(id) && this.d.peers.reachable(id));
  }

  send(target: string, request: ReplicaRequest, done: ReplyCallback): void {
    this.d.peers.send(target, request, done);
  }

  openToken(hlc: number): SettleToken {
    return this.d.marks.open(hlc);
  }

  applyLocal(store: ArenaStore, w: VersionedWrite): boolean {
    try {
      store.applyAt(
        w.key,
        0,
        w.key.length,
        w.value,
        0,
        w.value.length,
        w.expiresAtMs,
        w.hlc,
        w.node,
        w.tombstone,
      );
      return true;
    } catch {
      // Out of memory or over a limit: this copy stays stale; the level counts it missing.
      return false;
    }
  }

  finishWrite(write: VersionedWrite, missing: readonly string[], tokens: SettleToken[]): void {
    if (missing.length === 0) {
      for (const t of tokens) this.d.marks.settle(t);
      return;
    }
    // Hints outlive the request: copy what may be a view of a client's frame.
    const key = Buffer.from(write.key);
    const value = write.value.length === 0 ? EMPTY : Buffer.from(write.value);
    const kept: VersionedWrite = { ...write, key, value };
    let left = missing.length;
    let allDelivered = true;
    const done = (delivered: boolean) => {
      allDelivered &&= delivered;
      if (--left > 0) return;
      if (allDelivered) {
        for (const t of tokens) this.d.marks.settle(t);
      } else {
        const now = performance.now();
        for (const t of tokens) {
          const record = { cache: kept.cache, key, hlc: t.hlc, node: this.clock.nodeTag };
          this.d.publishUnsettled(this.d.marks.abandon(t, record, now));
        }
      }
    };
    const now = performance.now();
    for (const target of missing) {
      this.d.hints.add(target, { ...kept, queuedAt: now, done });
    }
  }
}
