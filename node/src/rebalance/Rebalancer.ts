import {
  backoffDelayMs,
  Consistency,
  DEFAULT_BACKOFF,
  ErrorCode,
  keySlot,
  Placement,
  type ReplicaEntry,
  type ReplicaReply,
  type ReplicaRequest,
  ReplicaOpType,
  ScanPurpose,
  SLOT_COUNT,
} from '@meshcache/proto';
import type { Logger } from 'pino';
import { requiredReplicas } from '../coordinator/consistency.js';
import type { HintQueues } from '../coordinator/HintQueues.js';
import type { ReplicaSets } from '../coordinator/ReplicaSets.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { View } from '../membership/messages.js';
import { drainingOf, holdsSlots, placementPayload, type ViewPayload } from '../placement/placementPayload.js';
import type { PlacementMember } from '../placement/computePlacement.js';
import type { ReplyCallback } from '../replication/ReplicaPeer.js';
import { emptyRequest } from '../replication/ReplicaPeer.js';
import type { RebalanceRequests } from '../replication/ReplicaService.js';
import { SCAN_DONE } from '../store/index.js';
import { FillTask, type FillHost } from './FillTask.js';
import { MoveTracker } from './MoveTracker.js';
import { SlotFill } from './SlotFill.js';
import { describeSlots, fromBitmap, slotsOf, toBitmap } from './slotBitmap.js';
import { TokenBucket } from './TokenBucket.js';

/** Index positions a SCAN examines between checks of the reply size. */
const SCAN_WORK = 4096;
/** Index positions a drop step examines before yielding to the event loop. */
const DROP_WORK = 16_384;
/** How often a target repeats FILLED reports until the cutover commits. */
const REPORT_INTERVAL_MS = 1000;
/** How often a lagging peer is asked for its epoch while something is moving. */
const SYNC_INTERVAL_MS = 200;
/** How often fill tasks that could not finish are planned again. */
const REPLAN_INTERVAL_MS = 500;

/** Rebalancing settings (node options; defaults and validation live there). */
export interface RebalanceOptions {
  /** Bytes per second a node pulls in transfers and bootstraps, over all of them. */
  transferBytesPerSecond: number;
  /** Fill tasks (slot groups) a node runs at once. */
  maxConcurrentTransfers: number;
  /** Size of one SCAN reply a target asks for. */
  transferBatchBytes: number;
  /** How long a node keeps a slot's data after it stops holding the slot (a move back finds it). */
  dropGraceMs: number;
  requestTimeoutMs: number;
  maxFrameBytes: number;
  /** A node out of touch with every peer for longer than this drops its data and bootstraps when back. */
  tombstoneGraceMs: number;
}

/** The membership facts the rebalancer reads and the requests it makes. */
export interface RebalanceMembership {
  readonly view: View | undefined;
  readonly isDecider: boolean;
  readonly decider: string | undefined;
  readonly isMember: boolean;
  kickDecider(): void;
  requestRemove(id: string): boolean;
  /** Liveness records: a member's process instance is the wall-clock ms it started at. */
  readonly detector: { get(id: string): { inst: number } | undefined };
}

export interface RebalancerDeps {
  selfId: string;
  options: RebalanceOptions;
  sets: ReplicaSets;
  caches: CacheRegistry;
  peers: {
    send(target: string, request: ReplicaRequest, done: ReplyCallback): void;
    reachable(id: string): boolean;
  };
  /** Hinted handoff: hints queued for an old replica of a slot that starts moving are copied to its new replicas. */
  hints?: HintQueues;
  membership: () => RebalanceMembership | undefined;
  wallClock: () => number;
  now: () => number;
  log: Logger;
}

/** What `GET /v1/cluster/rebalance` returns. */
export interface RebalanceStatus {
  epoch: number;
  /** Every slot of this node's committed sets filled (what readiness waits for). */
  filled: boolean;
  factors: {
    replicationFactor: number;
    slotsPending: number;
    slotsHeld: number;
    slotsFilled: number;
    slotsLost: number;
  }[];
  tasks: {
    purpose: string;
    replicationFactor: number;
    since: number;
    slots: string;
    state: string;
    sources: readonly string[];
    need: number;
    keys: number;
    bytes: number;
  }[];
  throttle: { waits: number; waitedMs: number };
  counters: RebalanceCounters;
  draining: string[];
}

/** Counters for metrics and `/v1/cluster/rebalance`. */
export interface RebalanceCounters {
  keysMoved: number;
  bytesMoved: number;
  transfersCompleted: number;
  bootstrapsCompleted: number;
  slotsFilled: number;
  slotsLost: number;
  slotsDropped: number;
  keysDropped: number;
  scansServed: number;
  /** SCANs refused because the asker is not a replica the purpose allows, or the epoch is not pending. */
  scansRefused: number;
  filledReports: number;
  /** Seconds spent filling slot groups, summed. */
  fillSeconds: number;
  /** Times this node dropped all its data after being out of touch longer than the tombstone grace. */
  wipes: number;
  /** Placement steps (as decider) whose new moves were refused for lack of memory. */
  movesRefused: number;
}

/**
 * Data follows ownership. On every node: fills the slots it holds and has
 * not filled (a target of a pending move merges a read quorum of the old set
 * once every live member holds the move's epoch; a replica that restarted
 * empty bootstraps from the other replicas), answers SCANs for the slots it
 * has filled, reports filled moves to the decider, asks lagging peers for
 * their epoch while something moves, and drops slots it stopped holding
 * after a grace period. On the decider: cuts over moves whose new replicas
 * all reported, and runs drains (the drained member's slots move away, then
 * it is removed).
 */
export class Rebalancer implements RebalanceRequests {
  readonly fill = new SlotFill();
  readonly tracker = new MoveTracker();
  readonly counters: RebalanceCounters = {
    keysMoved: 0,
    bytesMoved: 0,
    transfersCompleted: 0,
    bootstrapsCompleted: 0,
    slotsFilled: 0,
    slotsLost: 0,
    slotsDropped: 0,
    keysDropped: 0,
    scansServed: 0,
    scansRefused: 0,
    filledReports: 0,
    fillSeconds: 0,
    wipes: 0,
    movesRefused: 0,
  };
  private readonly tasks = new Map<string, FillTask>();
  /** Per cache: the item estimates of the fills under way, by task (see reserve). */
  private readonly estimates = new Map<string, Map<string, number>>();
  private readonly bucket: TokenBucket;
  private readonly factors: number[];
  private readonly cachesOf = new Map<number, string[]>();
  private readonly rfOf = new Map<string, number>();
  /** Filled moves this node still reports: `${rf}:${since}` -> slot mask. */
  private readonly reports = new Map<string, { rf: number; since: number; slots: Uint8Array }>();
  private readonly held = new Map<number, Uint8Array>();
  /** Per factor: slot -> when its drop is due (performance.now ms); it re-checks ownership then. */
  private readonly drops = new Map<number, Map<number, number>>();
  private dropping = false;
  /** Drains asked of this node as decider, with whether they were forced. */
  private readonly drainRequests = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private lastReport = 0;
  private lastReplan = 0;
  private readonly lastSync = new Map<string, number>();
  private cluster: string | undefined;
  private wasMember = false;
  /** Each member's process instance in the last view seen. */
  private readonly instances = new Map<string, number>();
  private lastContact: number;
  private lastContactWall: number;
  private parsed: { payload: unknown; placement: Placement } | undefined;
  private readonly host: FillHost;
  private stopped = false;

  constructor(private readonly d: RebalancerDeps) {
    const o = d.options;
    this.lastContact = d.now();
    this.lastContactWall = d.wallClock();
    this.bucket = new TokenBucket(o.transferBytesPerSecond, d.now);
    for (const c of d.caches.options) {
      this.rfOf.set(c.name, c.replicationFactor);
      const list = this.cachesOf.get(c.replicationFactor) ?? [];
      list.push(c.name);
      this.cachesOf.set(c.replicationFactor, list);
    }
    this.factors = [...this.cachesOf.keys()].sort((a, b) => a - b);
    this.host = {
      reachable: (id) => d.sets.isLive(id) && d.peers.reachable(id),
      send: (target, request, done) => d.peers.send(target, request, (reply) => done(reply)),
      newRequest: emptyRequest,
      apply: (cache, e) => this.applyEntry(cache, e),
      reserve: (task, cache, keys) => this.reserve(task, cache, keys),
      throttle: (bytes) => {
        const wait = this.bucket.take(bytes);
        return wait <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, wait).unref());
      },
      retryDelay: (attempt) =>
        new Promise((r) => setTimeout(r, backoffDelayMs(attempt, DEFAULT_BACKOFF, Math.random)).unref()),
      batchBytes: Math.min(o.transferBatchBytes, Math.floor(o.maxFrameBytes / 2)),
      requestTimeoutMs: o.requestTimeoutMs,
    };
    d.sets.onEpoch(() => this.onEpoch());
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 100);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const t of this.tasks.values()) t.cancel();
  }

  /** Pending slots over every factor of the committed view. */
  pendingSlots(): number {
    let n = 0;
    for (const rf of this.factors) n += this.d.sets.pending(rf)?.count ?? 0;
    return n;
  }

  /** Slots this node holds (committed or as a target) and has not filled. */
  unfilledSlots(): number {
    let n = 0;
    for (const rf of this.factors) {
      const table = this.d.sets.table(rf);
      if (table === undefined) continue;
      const pending = this.d.sets.pending(rf);
      for (let s = 0; s < SLOT_COUNT; s++) {
        const held =
          table.positionOf(s, this.d.selfId) >= 0 ||
          (pending !== undefined && pending.isPending(s) && pending.target.positionOf(s, this.d.selfId) >= 0);
        if (held && !this.fill.isFilled(rf, s)) n++;
      }
    }
    return n;
  }

  runningTasks(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.state === 'running') n++;
    return n;
  }

  /** Throttle waits so far (count, ms). */
  get throttle(): { waits: number; waitedMs: number } {
    return { waits: this.bucket.waits, waitedMs: this.bucket.waitedMs };
  }

  // ------------------------------------------------------------ readiness

  /** Whether this node has filled every slot it holds in the committed tables. */
  filledAll(): boolean {
    for (const rf of this.factors) {
      const table = this.d.sets.table(rf);
      if (table === undefined) continue;
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (table.positionOf(s, this.d.selfId) >= 0 && !this.fill.isFilled(rf, s)) return false;
      }
    }
    return true;
  }

  /**
   * A replica write landed here. If this node does not hold the key's slot
   * (a late write from a coordinator of an older epoch, a hint, writes of a
   * cutover's last moments), its data is dropped after the grace like any
   * slot the node let go.
   */
  applied(cache: string, slot: number): void {
    const rf = this.rfOf.get(cache);
    if (rf === undefined) return;
    if (this.heldOf(rf)[slot] !== 0) return;
    const drops = this.dropsOf(rf);
    if (!drops.has(slot)) drops.set(slot, this.d.now() + this.d.options.dropGraceMs);
  }

  readable(cache: string, slot: number): boolean {
    const rf = this.rfOf.get(cache);
    return rf === undefined || this.fill.isFilled(rf, slot);
  }

  // --------------------------------------------------------------- views

  /**
   * The node adopted a view. Forming a new cluster fills everything (no
   * other copy exists); moving to another cluster's lineage, or being
   * removed, means nothing held here is known complete any more.
   */
  onView(view: View): void {
    const self = this.d.selfId;
    // A member whose process changed lost what it filled: its reports for moves still pending are void.
    for (const m of view.members) {
      const before = this.instances.get(m.id);
      if (before !== undefined && before !== m.inst) this.tracker.forget(m.id);
      this.instances.set(m.id, m.inst);
    }
    const member = view.members.some((m) => m.id === self);
    if (this.cluster !== undefined && view.cluster !== this.cluster) {
      this.d.log.warn(
        { cluster: view.cluster },
        'joined another cluster lineage: every slot is filled again',
      );
      this.fill.unfillAll();
    }
    this.cluster = view.cluster;
    if (view.epoch === 1 && view.members.length === 1 && member) {
      for (const rf of this.factors) this.fill.fillAll(rf);
    }
    const removed = this.wasMember && !member;
    this.wasMember = member;
    if (removed) {
      // Removed: whatever is here may miss writes from now on; drop it all.
      this.fill.unfillAll();
      const at = this.d.now();
      for (const rf of this.factors) {
        const m = this.dropsOf(rf);
        for (let s = 0; s < SLOT_COUNT; s++) m.set(s, at);
      }
    }
  }

  private onEpoch(): void {
    const started = this.d.now();
    this.copyHints();
    this.replan();
    this.retainReports();
    if (this.d.membership()?.isDecider) this.retainTracker();
    const took = this.d.now() - started;
    if (took > 50) this.d.log.debug({ ms: Math.round(took) }, 'rebalance planning took long');
  }

  /**
   * Slots that became pending at this epoch: a hint queued for one of their
   * old replicas is a write that replica missed, so a new replica filling
   * from a quorum that includes it could miss it too; it gets a copy.
   */
  private copyHints(): void {
    const hints = this.d.hints;
    if (hints === undefined || hints.pending === 0) return;
    const epoch = this.d.sets.epoch;
    const copies: { target: string; hint: Parameters<HintQueues['add']>[1] }[] = [];
    hints.forEachQueued((target, hint) => {
      const rf = this.rfOf.get(hint.cache);
      if (rf === undefined) return;
      const pending = this.d.sets.pending(rf);
      const table = this.d.sets.table(rf);
      if (pending === undefined || table === undefined) return;
      const slot = keySlot(hint.key);
      if (pending.since[slot] !== epoch || table.positionOf(slot, target) < 0) return;
      for (const id of pending.targetOf(slot)) {
        if (id === this.d.selfId || table.positionOf(slot, id) >= 0) continue;
        copies.push({ target: id, hint: { ...hint, done: () => undefined } });
      }
    });
    for (const c of copies) hints.add(c.target, c.hint);
    if (copies.length > 0)
      this.d.log.info({ hints: copies.length, epoch }, 'hints copied to the new replicas of moving slots');
  }

  // ------------------------------------------------------------ planning

  /** Starts, keeps or cancels fill tasks so every held, unfilled slot has one. */
  replan(): void {
    if (this.stopped) return;
    this.lastReplan = this.d.now();
    const self = this.d.selfId;
    const wanted = new Map<
      string,
      {
        rf: number;
        purpose: ScanPurpose;
        since: number;
        candidates: string[];
        need: number;
        slots: Uint8Array;
      }
    >();
    const reportable = new SlotGroups();
    const now = this.d.now();
    const view = this.d.membership()?.view;
    const members = new Set(view?.members.map((m) => m.id) ?? []);
    if (!members.has(self)) {
      for (const t of this.tasks.values()) t.cancel();
      this.tasks.clear();
      return;
    }
    for (const rf of this.factors) {
      const table = this.d.sets.table(rf);
      if (table === undefined) continue;
      const pending = this.d.sets.pending(rf);
      for (let s = 0; s < SLOT_COUNT; s++) {
        const inCommitted = table.positionOf(s, self) >= 0;
        const isPending = pending !== undefined && pending.isPending(s);
        const inTarget = isPending && pending.target.positionOf(s, self) >= 0;
        const held = this.heldOf(rf);
        if (!inCommitted && !inTarget) {
          // Whatever reached this node for the slot (a fill cut short, live writes to a new
          // replica) goes after the grace, filled or not.
          if (held[s] !== 0 || this.fill.isFilled(rf, s)) {
            held[s] = 0;
            this.fill.unfill(rf, s);
            this.dropsOf(rf).set(s, now + this.d.options.dropGraceMs);
          }
          continue;
        }
        held[s] = 1;
        this.drops.get(rf)?.delete(s);
        if (this.fill.isFilled(rf, s)) {
          // Filled while a target and still one (maybe retargeted since): the decider hears it for this epoch too.
          if (!inCommitted && this.d.sets.allInstalled(pending!.since[s]!)) {
            reportable.set(`${rf}:${pending!.since[s]}`, rf, pending!.since[s]!, s);
          }
          continue;
        }
        let purpose: ScanPurpose;
        let since = 0;
        let candidates: string[];
        let need: number;
        if (inCommitted) {
          purpose = ScanPurpose.BOOTSTRAP;
          const all = table.replicas(s);
          candidates = all.filter((id) => id !== self);
          need = Math.min(requiredReplicas(Consistency.QUORUM, all.length), candidates.length);
        } else {
          purpose = ScanPurpose.TRANSFER;
          since = pending!.since[s]!;
          // Only once every live member holds the move's epoch: until then a
          // coordinator of an older epoch may still write to the old set alone.
          if (!this.d.sets.allInstalled(since)) continue;
          candidates = table.replicas(s);
          need = requiredReplicas(Consistency.QUORUM, candidates.length);
        }
        if (candidates.length === 0) {
          // The only replica, restarted: nothing to fetch from; its data is gone.
          this.fill.fill(rf, s);
          this.fill.noteLost(rf, 1);
          this.counters.slotsLost++;
          continue;
        }
        // Members removed from the view are gone for good: never wait on them.
        candidates = candidates.filter((id) => members.has(id));
        const key = `${purpose}:${rf}:${since}:${need}:${candidates.join(',')}`;
        let w = wanted.get(key);
        if (w === undefined) {
          w = { rf, purpose, since, candidates, need, slots: new Uint8Array(SLOT_COUNT) };
          wanted.set(key, w);
        }
        w.slots[s] = 1;
      }
    }
    for (const r of reportable.values()) this.addReport(r.rf, r.since, r.slots);
    if (reportable.size > 0 && this.d.now() - this.lastReport >= REPORT_INTERVAL_MS) this.sendReports();
    for (const [key, task] of this.tasks) {
      const w = wanted.get(key);
      // Exactly the wanted slots: a task that still asked for a slot cut over away would be refused by its sources.
      if (w === undefined || !sameSlots(task.slots, w.slots)) {
        task.cancel();
        this.tasks.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (this.tasks.has(key)) continue;
      if (w.candidates.length === 0 || w.need === 0) {
        // Every other replica left the view: the copies are gone.
        const n = slotsOf(w.slots).length;
        for (const s of slotsOf(w.slots)) this.fill.fill(w.rf, s);
        this.fill.noteLost(w.rf, n);
        this.counters.slotsLost += n;
        this.d.log.error({ rf: w.rf, slots: describeSlots(w.slots) }, 'no replica left to fill slots from');
        continue;
      }
      const caches = this.cachesOf.get(w.rf) ?? [];
      this.tasks.set(
        key,
        new FillTask(key, w.rf, w.purpose, w.since, w.slots, caches, w.candidates, w.need, this.host),
      );
    }
    this.startTasks();
  }

  private startTasks(): void {
    let running = 0;
    for (const t of this.tasks.values()) if (t.state === 'running') running++;
    for (const t of this.tasks.values()) {
      if (running >= this.d.options.maxConcurrentTransfers) return;
      if (t.state !== 'waiting' || t.blockedUntil > this.d.now()) continue;
      running++;
      void this.runTask(t);
    }
  }

  private async runTask(task: FillTask): Promise<void> {
    const before = { keys: task.progress.keys, bytes: task.progress.bytes };
    let outcome;
    try {
      outcome = await task.run(this.d.now);
    } catch (err) {
      this.d.log.error({ err, task: task.key }, 'fill task failed');
      outcome = undefined;
    }
    this.counters.keysMoved += task.progress.keys - before.keys;
    this.counters.bytesMoved += task.progress.bytes - before.bytes;
    if (this.tasks.get(task.key) !== task) return; // replaced or cancelled meanwhile
    if (outcome === undefined) {
      // A candidate was unreachable: try again after a pause (or at the next view), keeping what merged.
      if (!task.cancelled) {
        this.d.log.info(
          { task: task.key, unreachable: task.unreachable, keys: task.progress.keys },
          'fill waits for a source that is not reachable; it resumes where it stopped',
        );
      }
      task.blockedUntil = this.d.now() + REPLAN_INTERVAL_MS;
      if (task.state !== 'cancelled') task.state = 'waiting';
      return;
    }
    this.tasks.delete(task.key);
    const slots = slotsOf(task.slots);
    for (const s of slots) this.fill.fill(task.rf, s);
    this.counters.slotsFilled += slots.length;
    if (outcome.lost) {
      this.fill.noteLost(task.rf, slots.length);
      this.counters.slotsLost += slots.length;
      this.d.log.error(
        { rf: task.rf, slots: describeSlots(task.slots) },
        'every other replica of these slots was empty or restarting: they complete empty (data lost)',
      );
    }
    const ms = Math.round(task.progress.finishedAt - task.progress.startedAt);
    this.counters.fillSeconds += ms / 1000;
    if (task.purpose === ScanPurpose.TRANSFER) {
      this.counters.transfersCompleted++;
      this.addReport(task.rf, task.since, task.slots);
      this.sendReports();
    } else {
      this.counters.bootstrapsCompleted++;
    }
    this.d.log.info(
      {
        purpose: ScanPurpose[task.purpose],
        rf: task.rf,
        slots: slots.length,
        keys: task.progress.keys,
        bytes: task.progress.bytes,
        sources: task.progress.sourcesMerged,
        ms,
      },
      'slots filled',
    );
    this.startTasks();
  }

  /**
   * Sizes a cache's index for every fill under way at once: fills run side by
   * side, each streaming its slots in key-hash order, so an index sized for
   * one of them alone would be packed by the others (quadratic inserts).
   * Sized for the sum of the estimates on top of what is held (an
   * overestimate once items arrive, by at most the estimates).
   */
  private reserve(task: string, cache: string, keys: number): void {
    let byTask = this.estimates.get(cache);
    if (byTask === undefined) this.estimates.set(cache, (byTask = new Map()));
    for (const key of byTask.keys()) if (!this.tasks.has(key)) byTask.delete(key);
    byTask.set(task, Math.max(byTask.get(task) ?? 0, keys));
    let total = 0;
    for (const v of byTask.values()) total += v;
    this.d.caches.get(cache)?.reserveKeys(total);
  }

  private applyEntry(cache: string, e: ReplicaEntry): boolean {
    const store = this.d.caches.get(cache);
    if (store === undefined) return false;
    try {
      store.applyAt(
        e.key,
        0,
        e.key.length,
        e.value,
        0,
        e.tombstone ? 0 : e.value.length,
        e.expiresAtMs,
        e.hlc,
        e.node,
        e.tombstone,
      );
      return true;
    } catch (err) {
      this.d.log.warn({ cache, err: (err as Error).message }, 'a transferred entry was refused by the store');
      return false;
    }
  }

  // ------------------------------------------------------------ reports

  private addReport(rf: number, since: number, slots: Uint8Array): void {
    const key = `${rf}:${since}`;
    const r = this.reports.get(key) ?? { rf, since, slots: new Uint8Array(SLOT_COUNT) };
    for (let s = 0; s < SLOT_COUNT; s++) if (slots[s] !== 0) r.slots[s] = 1;
    this.reports.set(key, r);
  }

  /** Drops reports of moves that are no longer pending with that epoch. */
  private retainReports(): void {
    for (const [key, r] of this.reports) {
      const p = this.d.sets.pending(r.rf);
      let any = false;
      if (p !== undefined) {
        for (let s = 0; s < SLOT_COUNT && !any; s++) any = r.slots[s] !== 0 && p.since[s] === r.since;
      }
      if (!any) this.reports.delete(key);
    }
  }

  private retainTracker(): void {
    const live = new Set<string>();
    for (const rf of this.factors) {
      const p = this.d.sets.pending(rf);
      if (p === undefined) continue;
      for (let s = 0; s < SLOT_COUNT; s++) if (p.since[s] !== 0) live.add(`${rf}:${p.since[s]}`);
    }
    this.tracker.retain(live);
  }

  private sendReports(): void {
    if (this.reports.size === 0) return;
    this.lastReport = this.d.now();
    const m = this.d.membership();
    const decider = m?.decider;
    if (decider === undefined) return;
    for (const r of this.reports.values()) {
      if (decider === this.d.selfId) {
        this.tracker.report(this.d.selfId, r.rf, r.since, r.slots);
        m?.kickDecider();
        continue;
      }
      const request = emptyRequest();
      request.type = ReplicaOpType.FILLED;
      request.replicationFactor = r.rf;
      request.since = r.since;
      request.slots = toBitmap(r.slots);
      request.timeoutMs = this.d.options.requestTimeoutMs;
      this.d.peers.send(decider, request, () => {});
    }
  }

  // ------------------------------------------------------------ decider

  /** The payload of the next view (the decider's placement step). */
  payload(prev: View | undefined, next: { epoch: number; members: readonly PlacementMember[] }): ViewPayload {
    const draining = this.drainingFor(prev, next.members);
    const step = {
      epoch: next.epoch,
      draining,
      finished:
        prev === undefined
          ? undefined
          : (rf: number, slot: number, since: number) => this.finished(prev, rf, slot, since),
    };
    const payload = placementPayload(prev?.payload, next.members, this.factors, step);
    if (prev === undefined) return payload;
    const over = this.overBudget(payload);
    if (over.length === 0) return payload;
    this.counters.movesRefused++;
    this.d.log.error(
      { over },
      'move refused: its targets would lack the memory budget for the copies; targets kept as they were',
    );
    return placementPayload(prev.payload, next.members, this.factors, {
      ...step,
      freeze: [...new Set(over.map((o) => o.replicationFactor))],
    });
  }

  /**
   * Members a payload's targets would give more data than a cache's budget,
   * estimated from this node's own use: bytes per slot-replica here times the
   * slots the target gives each member.
   */
  private overBudget(
    payload: ViewPayload,
  ): { member: string; cache: string; replicationFactor: number; bytes: number; budget: number }[] {
    const placement = Placement.tryFromJSON(payload);
    const out: { member: string; cache: string; replicationFactor: number; bytes: number; budget: number }[] =
      [];
    for (let i = 0; i < this.d.caches.options.length; i++) {
      const c = this.d.caches.options[i]!;
      const rf = c.replicationFactor;
      const mine = this.d.sets.table(rf)?.counts().replicas.get(this.d.selfId) ?? 0;
      const target = placement.target(rf);
      if (mine === 0 || target === undefined || placement.pending(rf) === undefined) continue;
      const perSlot = this.d.caches.stores[i]!.usedBytes / mine;
      for (const [member, slots] of target.counts().replicas) {
        const bytes = perSlot * slots;
        if (bytes > c.maxMemoryBytes)
          out.push({
            member,
            cache: c.name,
            replicationFactor: rf,
            bytes: Math.round(bytes),
            budget: c.maxMemoryBytes,
          });
      }
    }
    return out;
  }

  /** Members to keep draining: the previous view's, plus new requests, still members. */
  private drainingFor(prev: View | undefined, members: readonly PlacementMember[]): string[] {
    const ids = new Set(members.map((m) => m.id));
    const out = new Set(drainingOf(prev?.payload));
    for (const id of this.drainRequests.keys()) out.add(id);
    return [...out].filter((id) => ids.has(id));
  }

  private placementOf(view: View): Placement {
    let parsed = this.parsed;
    if (parsed === undefined || parsed.payload !== view.payload) {
      parsed = { payload: view.payload, placement: Placement.tryFromJSON(view.payload) };
      this.parsed = parsed;
    }
    return parsed.placement;
  }

  /** A pending slot may be cut over: every newcomer filled it, every live member holds its epoch. */
  private finished(prev: View, rf: number, slot: number, since: number): boolean {
    const placement = this.placementOf(prev);
    const table = placement.table(rf);
    const pending = placement.pending(rf);
    if (table === undefined || pending === undefined || pending.since[slot] !== since) return false;
    if (!this.d.sets.allInstalled(since)) return false;
    return this.tracker.newcomersFilled(table, pending, slot);
  }

  /** Whether the decider should propose a view for the payload alone (a cutover, a drain). */
  payloadDue(prev: View): boolean {
    const draining = drainingOf(prev.payload);
    const members = new Set(prev.members.map((m) => m.id));
    for (const id of this.drainRequests.keys()) {
      if (members.has(id) && !draining.includes(id)) return true;
    }
    for (const id of draining) {
      if (members.has(id) && !holdsSlots(prev.payload, id)) {
        // Drained: its slots are all cut over elsewhere. Removed as an admin removal: it does not rejoin.
        this.d.membership()?.requestRemove(id);
        this.drainRequests.delete(id);
      }
    }
    const placement = this.placementOf(prev);
    for (const rf of this.factors) {
      const pending = placement.pending(rf);
      if (pending === undefined) continue;
      for (let s = 0; s < SLOT_COUNT; s++) {
        const since = pending.since[s]!;
        if (since !== 0 && this.finished(prev, rf, s, since)) return true;
      }
    }
    return false;
  }

  /**
   * Asks for member `id` to be drained. Runs on the decider (other nodes pass
   * the request on); refuses a drain that would leave a cache below its
   * replication factor, or (estimated from this node's own use) without the
   * memory for the copies, unless forced.
   */
  drain(id: string, force: boolean): Promise<{ code: ErrorCode; message: string }> {
    const m = this.d.membership();
    if (m === undefined || m.view === undefined) {
      return Promise.resolve({ code: ErrorCode.NOT_READY, message: 'this node holds no committed view yet' });
    }
    if (!m.isDecider) {
      const decider = m.decider;
      if (decider === undefined) {
        return Promise.resolve({ code: ErrorCode.UNAVAILABLE, message: 'no decider is live' });
      }
      const request = emptyRequest();
      request.type = ReplicaOpType.DRAIN;
      request.nodeId = id;
      request.force = force;
      request.timeoutMs = this.d.options.requestTimeoutMs;
      return new Promise((resolve) =>
        this.d.peers.send(decider, request, (reply) =>
          resolve(
            reply === undefined
              ? { code: ErrorCode.UNAVAILABLE, message: `lost the connection to the decider ${decider}` }
              : { code: reply.code, message: reply.message },
          ),
        ),
      );
    }
    return Promise.resolve(this.decideDrain(m.view, id, force));
  }

  private decideDrain(view: View, id: string, force: boolean): { code: ErrorCode; message: string } {
    const members = view.members.map((m) => m.id);
    if (!members.includes(id)) {
      return {
        code: ErrorCode.INVALID_ARGUMENT,
        message: `${id} is not a member of the view (epoch ${view.epoch})`,
      };
    }
    const draining = new Set([...drainingOf(view.payload), ...this.drainRequests.keys(), id]);
    const remaining = members.filter((m) => !draining.has(m));
    if (remaining.length === 0) {
      return {
        code: ErrorCode.INVALID_ARGUMENT,
        message: `draining ${id} would leave no member to hold the data`,
      };
    }
    if (!force) {
      for (const c of this.d.caches.options) {
        if (remaining.length < c.replicationFactor) {
          return {
            code: ErrorCode.INVALID_ARGUMENT,
            message: `cache '${c.name}' has replication factor ${c.replicationFactor}; draining ${id} leaves ${remaining.length} member(s). Pass force to drain anyway`,
          };
        }
      }
      for (let i = 0; i < this.d.caches.options.length; i++) {
        const c = this.d.caches.options[i]!;
        const store = this.d.caches.stores[i]!;
        // Each member holds about the same share: after the drain each remaining one holds members/remaining of it.
        const after = (store.usedBytes * members.length) / remaining.length;
        if (after > c.maxMemoryBytes) {
          return {
            code: ErrorCode.OUT_OF_MEMORY,
            message: `cache '${c.name}' would need about ${Math.round(after)} bytes per member after draining ${id}; its budget is ${c.maxMemoryBytes} (maxMemoryBytes). Pass force to drain anyway`,
          };
        }
      }
    }
    this.drainRequests.set(id, force);
    this.d.log.info({ member: id, force }, 'drain accepted');
    this.d.membership()?.kickDecider();
    return { code: ErrorCode.OK, message: `draining ${id}` };
  }

  // ------------------------------------------------------------ requests

  handle(
    peer: string,
    request: ReplicaRequest,
    epoch: number,
    reply: ReplicaReply,
    later: (reply: ReplicaReply) => void,
  ): boolean {
    switch (request.type) {
      case ReplicaOpType.SYNC:
        reply.epoch = this.d.sets.epoch;
        return true;
      case ReplicaOpType.FILLED: {
        const mask = fromBitmap(request.slots);
        if (mask === undefined || request.since <= 0) {
          reply.code = ErrorCode.INVALID_ARGUMENT;
          reply.message = 'FILLED needs a 2048-byte slot bitmap and the since epoch';
          return true;
        }
        this.tracker.report(peer, request.replicationFactor, request.since, mask);
        this.counters.filledReports++;
        this.d.membership()?.kickDecider();
        return true;
      }
      case ReplicaOpType.DRAIN:
        void this.drain(request.nodeId, request.force).then((r) => {
          reply.code = r.code;
          reply.message = r.message;
          later(reply);
        });
        return false;
      case ReplicaOpType.SCAN:
        this.scan(peer, request, epoch, reply);
        return true;
      default:
        reply.code = ErrorCode.INVALID_ARGUMENT;
        reply.message = `this node does not serve replica request type ${request.type as number}`;
        return true;
    }
  }

  /** Answers a SCAN: checks the asker and the slots, then one budgeted batch of items. */
  private scan(peer: string, request: ReplicaRequest, epoch: number, reply: ReplicaReply): void {
    const refuse = (code: ErrorCode, message: string, counted: boolean) => {
      if (counted) this.counters.scansRefused++;
      reply.code = code;
      reply.message = message;
    };
    const store = this.d.caches.get(request.cache);
    const rf = this.rfOf.get(request.cache);
    if (store === undefined || rf === undefined) {
      refuse(ErrorCode.UNKNOWN_CACHE, `unknown cache '${request.cache}' on this replica`, true);
      return;
    }
    if (request.replicationFactor !== rf) {
      refuse(
        ErrorCode.INVALID_ARGUMENT,
        `cache '${request.cache}' has replication factor ${rf}, not ${request.replicationFactor}`,
        true,
      );
      return;
    }
    const mask = fromBitmap(request.slots);
    if (mask === undefined) {
      refuse(ErrorCode.INVALID_ARGUMENT, 'SCAN needs a 2048-byte slot bitmap', true);
      return;
    }
    if (!Number.isInteger(request.cursor) || request.cursor < 0 || request.cursor >= SCAN_DONE) {
      refuse(ErrorCode.INVALID_ARGUMENT, `SCAN cursor ${request.cursor} is out of range`, true);
      return;
    }
    const table = this.d.sets.table(rf);
    const pending = this.d.sets.pending(rf);
    if (table === undefined) {
      refuse(ErrorCode.NOT_READY, 'this node holds no placement yet', false);
      return;
    }
    if (request.purpose === ScanPurpose.TRANSFER && request.since > this.d.sets.epoch) {
      refuse(ErrorCode.NOT_READY, `this node has not installed epoch ${request.since} yet`, false);
      return;
    }
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (mask[s] === 0) continue;
      let allowed: boolean;
      if (request.purpose === ScanPurpose.TRANSFER) {
        allowed =
          pending !== undefined &&
          pending.since[s] === request.since &&
          pending.target.positionOf(s, peer) >= 0 &&
          table.positionOf(s, this.d.selfId) >= 0;
      } else if (request.purpose === ScanPurpose.BOOTSTRAP || request.purpose === ScanPurpose.REPAIR) {
        allowed = table.positionOf(s, peer) >= 0 && table.positionOf(s, this.d.selfId) >= 0;
      } else {
        allowed = false;
      }
      if (!allowed) {
        refuse(
          ErrorCode.INVALID_ARGUMENT,
          `${peer} may not ${ScanPurpose[request.purpose] ?? 'scan'} slot ${s} from ${this.d.selfId} (epoch ${this.d.sets.epoch}, asked at ${epoch}, since ${request.since})`,
          true,
        );
        return;
      }
      if (!this.fill.isFilled(rf, s)) {
        refuse(ErrorCode.NOT_READY, `${this.d.selfId} has not filled slot ${s} itself`, false);
        return;
      }
    }
    if (request.cursor === 0) {
      // Items held here in the asked slots, assuming they spread like the slots this node holds.
      let asked = 0;
      let held = 0;
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (table.positionOf(s, this.d.selfId) < 0) continue;
        held++;
        if (mask[s] !== 0) asked++;
      }
      reply.estimatedItems = held === 0 ? 0 : Math.ceil((store.size * asked) / held);
    }
    const budget = Math.min(
      request.maxBytes > 0 ? request.maxBytes : this.d.options.transferBatchBytes,
      Math.floor(this.d.options.maxFrameBytes / 2),
    );
    const now = this.d.wallClock();
    let bytes = 0;
    let cursor = request.cursor;
    const entries: ReplicaEntry[] = [];
    while (cursor < SCAN_DONE && bytes < budget) {
      cursor = store.scan(cursor, SCAN_WORK, mask, (h) => {
        const tombstone = store.isTombstone(h);
        const expiresAtMs = tombstone ? 0 : store.expiresAtOf(h);
        if (!tombstone && expiresAtMs !== 0 && expiresAtMs <= now) return;
        const key = store.keyBuffer(h);
        const value = tombstone ? EMPTY : store.valueBuffer(h);
        entries.push({ key, value, hlc: store.hlcOf(h), node: store.nodeOf(h), expiresAtMs, tombstone });
        bytes += key.length + value.length + 32;
      });
    }
    this.counters.scansServed++;
    reply.entries = entries;
    reply.done = cursor >= SCAN_DONE;
    reply.cursor = reply.done ? 0 : cursor;
  }

  // ------------------------------------------------------------ timers

  /**
   * A node that heard from no peer for longer than the tombstone grace may
   * hold values whose deletes were purged everywhere else meanwhile: when it
   * hears from one again it wipes its data and bootstraps (merging copies
   * that never lost those deletes).
   */
  private checkContact(now: number): void {
    const peers = this.d.sets.peers();
    const m = this.d.membership();
    if (peers.length === 0 || !m?.isMember) {
      this.lastContact = now;
      this.lastContactWall = this.d.wallClock();
      return;
    }
    const alive = peers.filter((id) => this.d.sets.isAlive(id));
    if (alive.length === 0) return;
    const away = now - this.lastContact;
    const lostAtWall = this.lastContactWall;
    this.lastContact = now;
    this.lastContactWall = this.d.wallClock();
    if (away <= this.d.options.tombstoneGraceMs) return;
    // Only if a peer ran through the whole absence (its process started before
    // contact was lost): peers that restarted meanwhile came back empty, and
    // this node's copy may be the only one left.
    const ranThrough = alive.some((id) => (m.detector.get(id)?.inst ?? Infinity) < lostAtWall);
    if (!ranThrough) {
      this.d.log.warn(
        { awayMs: Math.round(away) },
        'out of touch longer than the tombstone grace, but every peer restarted meanwhile: keeping data',
      );
      return;
    }
    this.d.log.warn(
      { awayMs: Math.round(away), tombstoneGraceMs: this.d.options.tombstoneGraceMs },
      'out of touch with every peer for longer than the tombstone grace: dropping all data and bootstrapping',
    );
    this.fill.unfillAll();
    for (const store of this.d.caches.stores) store.clear();
    this.counters.wipes++;
    this.replan();
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.d.now();
    this.checkContact(now);
    if (this.d.sets.transitioning) {
      for (const id of this.d.sets.laggingPeers()) {
        if (now - (this.lastSync.get(id) ?? 0) < SYNC_INTERVAL_MS) continue;
        this.lastSync.set(id, now);
        const request = emptyRequest();
        request.type = ReplicaOpType.SYNC;
        request.timeoutMs = this.d.options.requestTimeoutMs;
        this.d.peers.send(id, request, () => {});
      }
    }
    if (now - this.lastReport >= REPORT_INTERVAL_MS) this.sendReports();
    if (now - this.lastReplan >= REPLAN_INTERVAL_MS) this.replan();
    this.runDrops(now);
  }

  /** Per factor: the slots this node held (committed or as a target) at the last plan. */
  private heldOf(rf: number): Uint8Array {
    let m = this.held.get(rf);
    if (m === undefined) {
      m = new Uint8Array(SLOT_COUNT);
      this.held.set(rf, m);
    }
    return m;
  }

  private dropsOf(rf: number): Map<number, number> {
    let m = this.drops.get(rf);
    if (m === undefined) {
      m = new Map();
      this.drops.set(rf, m);
    }
    return m;
  }

  /** Drops due slots, re-checking that this node still does not hold them and no fill runs into them. */
  private runDrops(now: number): void {
    if (this.dropping) return;
    const self = this.d.selfId;
    for (const [rf, drops] of this.drops) {
      const mask = new Uint8Array(SLOT_COUNT);
      let any = false;
      const table = this.d.sets.table(rf);
      const pending = this.d.sets.pending(rf);
      for (const [s, dueAt] of drops) {
        if (dueAt > now) continue;
        const held =
          (table?.positionOf(s, self) ?? -1) >= 0 ||
          (pending !== undefined && pending.isPending(s) && pending.target.positionOf(s, self) >= 0);
        if (held || this.fill.isFilled(rf, s)) {
          drops.delete(s);
          continue;
        }
        if (this.filling(rf, s)) continue;
        drops.delete(s);
        mask[s] = 1;
        any = true;
      }
      if (any) {
        this.dropping = true;
        void this.dropSlots(rf, mask).finally(() => {
          this.dropping = false;
        });
        return;
      }
    }
  }

  private filling(rf: number, slot: number): boolean {
    for (const t of this.tasks.values()) if (t.rf === rf && t.slots[slot] !== 0) return true;
    return false;
  }

  private async dropSlots(rf: number, mask: Uint8Array): Promise<void> {
    const slots = slotsOf(mask).length;
    let keys = 0;
    for (const cache of this.cachesOf.get(rf) ?? []) {
      const store = this.d.caches.get(cache);
      if (store === undefined) continue;
      let cursor = 0;
      while (cursor < SCAN_DONE && !this.stopped) {
        // Ownership may have come back between steps: stop dropping those slots.
        const table = this.d.sets.table(rf);
        for (let s = 0; s < SLOT_COUNT; s++) {
          if (
            mask[s] !== 0 &&
            ((table?.positionOf(s, this.d.selfId) ?? -1) >= 0 || this.fill.isFilled(rf, s))
          )
            mask[s] = 0;
        }
        const before = store.size;
        cursor = store.dropSlots(cursor, DROP_WORK, mask);
        keys += Math.max(0, before - store.size);
        await new Promise((r) => setImmediate(r));
      }
    }
    this.counters.slotsDropped += slots;
    this.counters.keysDropped += keys;
    this.d.log.info({ rf, slots, keys }, 'dropped slots this node no longer holds');
  }

  // ------------------------------------------------------------ status

  /** Progress for `/v1/cluster/rebalance`. */
  status(): RebalanceStatus {
    const factors = this.factors.map((rf) => {
      const table = this.d.sets.table(rf);
      const pending = this.d.sets.pending(rf);
      let held = 0;
      let filled = 0;
      if (table !== undefined) {
        for (let s = 0; s < SLOT_COUNT; s++) {
          if (table.positionOf(s, this.d.selfId) < 0) continue;
          held++;
          if (this.fill.isFilled(rf, s)) filled++;
        }
      }
      return {
        replicationFactor: rf,
        slotsPending: pending?.count ?? 0,
        slotsHeld: held,
        slotsFilled: filled,
        slotsLost: this.fill.lost.get(rf) ?? 0,
      };
    });
    return {
      epoch: this.d.sets.epoch,
      filled: this.filledAll(),
      factors,
      tasks: [...this.tasks.values()].map((t) => ({
        purpose: ScanPurpose[t.purpose] ?? String(t.purpose),
        replicationFactor: t.rf,
        since: t.since,
        slots: describeSlots(t.slots),
        state: t.state,
        sources: t.candidates,
        need: t.need,
        keys: t.progress.keys,
        bytes: t.progress.bytes,
      })),
      throttle: this.throttle,
      counters: { ...this.counters },
      draining: this.d.membership()?.view ? drainingOf(this.d.membership()!.view!.payload) : [],
    };
  }
}

const EMPTY = Buffer.alloc(0);

/** Slot masks grouped by (factor, since). */
class SlotGroups {
  private readonly groups = new Map<string, { rf: number; since: number; slots: Uint8Array }>();

  set(key: string, rf: number, since: number, slot: number): void {
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { rf, since, slots: new Uint8Array(SLOT_COUNT) };
      this.groups.set(key, g);
    }
    g.slots[slot] = 1;
  }

  get size(): number {
    return this.groups.size;
  }

  values(): IterableIterator<{ rf: number; since: number; slots: Uint8Array }> {
    return this.groups.values();
  }
}

/** Whether two slot masks flag the same slots. */
function sameSlots(a: Uint8Array, b: Uint8Array): boolean {
  for (let s = 0; s < SLOT_COUNT; s++) if ((a[s] !== 0) !== (b[s] !== 0)) return false;
  return true;
}
