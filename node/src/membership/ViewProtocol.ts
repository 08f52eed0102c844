import type { FailureDetector } from './FailureDetector.js';
import type { MembershipCounters } from './MembershipCounters.js';
import type { MembershipTimings } from './MembershipOptions.js';
import {
  type AcceptedMessage,
  type AcceptMessage,
  type AliveMessage,
  type Ballot,
  compareBallots,
  type NodeInfo,
  type PrepareMessage,
  type PromiseMessage,
  type RejectMessage,
  type RemovalReason,
  type StreamMessage,
  type View,
} from './messages.js';
import type { Random, Scheduler, Timer } from './runtime.js';
import { isVoter, majority, membersById, nodeInfoOf, preferredLineage, sameNode, sameView } from './View.js';

/** A proposed view before the decider adds its payload. */
export type ViewDraft = Omit<View, 'payload'>;

/**
 * Computes the opaque payload committed with a view (the placement table, in
 * time), from the previous committed view and the proposed one. Runs on the
 * decider only; must be deterministic in its inputs and JSON-serializable.
 */
export type PayloadHook = (prev: View | undefined, next: ViewDraft) => unknown;

/** Hooks for the simulator and tests to watch the protocol from outside. */
export interface ViewObserver {
  /** An acceptor accepted `view` for its epoch under `ballot`. */
  accepted?(node: string, inst: number, ballot: Ballot, view: View): void;
  /** A decider saw a majority of `prev` accept `view` (or created the first view). */
  committed?(view: View, prev: View | undefined, by: string, voters: readonly string[]): void;
  /** A node adopted a committed view. */
  adopted?(node: string, view: View): void;
  /** A node saw a different committed view with the epoch it holds: must never happen. */
  conflict?(node: string, mine: View, theirs: View): void;
}

interface Round {
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly prev: View;
  phase: 'prepare' | 'accept';
  readonly promises: Map<string, { ballot: Ballot; view: View } | null>;
  readonly accepts: Set<string>;
  value: View | undefined;
  timer: Timer;
}

export interface ViewHost {
  readonly self: NodeInfo;
  readonly detector: FailureDetector;
  readonly timings: MembershipTimings;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly counters: MembershipCounters;
  readonly payload: PayloadHook;
  /** Whether the payload alone should change now (see MembershipEnv.payloadDue). */
  readonly payloadDue?: ((prev: View) => boolean) | undefined;
  readonly observer: ViewObserver | undefined;
  sendStream(to: string, msg: StreamMessage): void;
  /** A newer committed view was adopted. */
  adopted(view: View, prev: View | undefined): void;
}

/**
 * Committed views, agreed Paxos-style per epoch. The acceptors of epoch e+1
 * are the members of view e (each exact process instance); the decider (the
 * oldest member of view e that is not DEAD or LEFT) first collects promises
 * from a majority with a fresh ballot, re-proposes the highest-ballot view any
 * of them accepted, else proposes its own change, and commits once a majority
 * accepts. Commits are facts: any node adopts a committed view with a higher
 * epoch from any message (commit, push-pull, prepare, reject).
 */
export class ViewProtocol {
  view: View | undefined;
  private promised: Ballot | null = null;
  private acceptedValue: { ballot: Ballot; view: View } | null = null;
  private round: Round | undefined;
  private maxRound = 0;
  private retryAt = 0;
  private failures = 0;
  private leaving = false;
  private tickTimer: Timer | undefined;
  private stopped = true;
  /** Pending join requests the decider has not committed yet, by node id. */
  readonly joins = new Map<string, AliveMessage>();
  /** Pending removal requests (admin, leave), by node id. */
  readonly removals = new Map<string, RemovalReason>();

  constructor(private readonly host: ViewHost) {}

  start(): void {
    this.stopped = false;
    this.tickTimer = this.host.scheduler.schedule(
      this.host.random.next() * this.host.timings.deciderIntervalMs,
      this.tick,
    );
  }

  stop(): void {
    this.stopped = true;
    this.tickTimer?.cancel();
    if (this.round) this.round.timer.cancel();
    this.round = undefined;
  }

  setLeaving(): void {
    this.leaving = true;
    this.removals.set(this.host.self.id, 'left');
    this.kick();
  }

  get isMember(): boolean {
    return this.view !== undefined && isVoter(this.view, this.host.self.id, this.host.self.inst);
  }

  /** The member of the current view this node takes for the decider: the oldest not DEAD or LEFT. */
  decider(view: View | undefined = this.view): NodeInfo | undefined {
    if (!view) return undefined;
    const self = this.host.self;
    for (const m of view.members) {
      if (m.id === self.id) {
        if (m.inst === self.inst) return m;
        continue;
      }
      const r = this.host.detector.get(m.id);
      if (r && r.inst === m.inst && (r.state === 'alive' || r.state === 'suspect')) return m;
    }
    return undefined;
  }

  get isDecider(): boolean {
    return this.decider()?.id === this.host.self.id && this.isMember;
  }

  /** Where to send requests for the decider: its latest gossiped address. */
  deciderAddress(): string | undefined {
    const d = this.decider();
    if (!d) return undefined;
    return this.host.detector.get(d.id)?.addr ?? d.addr;
  }

  /** Creates epoch 1 with this node as its only member (a fresh cluster). */
  bootstrap(): void {
    if (this.view) return;
    const self = nodeInfoOf(this.host.self);
    const draft: ViewDraft = {
      cluster: `${self.id}@${self.inst}`,
      epoch: 1,
      members: [self],
      decider: self.id,
      removed: [],
    };
    const view: View = { ...draft, payload: this.host.payload(undefined, draft) ?? null };
    this.host.observer?.committed?.(view, undefined, self.id, [self.id]);
    this.adopt(view);
  }

  /**
   * Adopts a committed view if it is newer; reports a conflict if it differs
   * from ours at the same epoch. A view of another lineage replaces ours only
   * if that lineage is preferred (this node then joins it).
   */
  adopt(view: View): boolean {
    const cur = this.view;
    if (cur && view.cluster !== cur.cluster) {
      if (!preferredLineage(view, cur)) return false;
    } else if (cur && view.epoch <= cur.epoch) {
      if (view.epoch === cur.epoch && !sameView(view, cur)) {
        this.host.observer?.conflict?.(this.host.self.id, cur, view);
      }
      return false;
    }
    this.view = view;
    this.promised = null;
    this.acceptedValue = null;
    if (this.round && (this.round.epoch <= view.epoch || this.round.prev.cluster !== view.cluster)) {
      // Someone else's view settled this epoch: no penalty, look again at once.
      this.round.timer.cancel();
      this.round = undefined;
    }
    const byId = membersById(view);
    for (const [id, j] of this.joins) {
      const m = byId.get(id);
      if (m && sameNode(m, j)) this.joins.delete(id);
    }
    for (const id of this.removals.keys()) {
      if (!byId.has(id)) this.removals.delete(id);
    }
    this.host.observer?.adopted?.(this.host.self.id, view);
    this.host.adopted(view, cur);
    if (this.isDecider) this.kick();
    return true;
  }

  // ------------------------------------------------------------ requests

  /** A join request reached this node: keep it if we decide, else pass it to the decider. */
  onJoinRequest(node: AliveMessage, hops: number): void {
    this.host.detector.onAlive(node);
    if (!this.view) return;
    if (this.isDecider) {
      const cur = this.joins.get(node.id);
      if (!cur || cur.inst < node.inst || (cur.inst === node.inst && cur.inc <= node.inc)) {
        this.joins.set(node.id, node);
      }
      this.kick();
      return;
    }
    const to = this.deciderAddress();
    if (to && hops < 3) this.host.sendStream(to, { t: 'join', node, hops: hops + 1 });
  }

  onRemoveRequest(id: string, reason: RemovalReason, hops: number): void {
    if (!this.view || !membersById(this.view).has(id)) return;
    if (this.isDecider) {
      this.removals.set(id, reason);
      this.kick();
      return;
    }
    const to = this.deciderAddress();
    if (to && hops < 3) this.host.sendStream(to, { t: 'remove', id, reason, hops: hops + 1 });
  }

  // ------------------------------------------------------------ decider

  /** Looks for work soon (a request arrived, a view was adopted). */
  kick(): void {
    if (this.stopped) return;
    this.host.scheduler.schedule(0, this.check);
  }

  private readonly tick = (): void => {
    if (this.stopped) return;
    this.tickTimer = this.host.scheduler.schedule(this.host.timings.deciderIntervalMs, this.tick);
    this.check();
  };

  private readonly check = (): void => {
    if (this.stopped || this.round || !this.view || !this.isDecider) return;
    if (this.host.scheduler.now() < this.retryAt) return;
    if (!this.draft(this.view)) return;
    this.startRound(this.view);
  };

  /** The next view this decider wants, or undefined when nothing should change. */
  draft(prev: View): ViewDraft | undefined {
    const { detector, timings, self } = this.host;
    const now = this.host.scheduler.now();
    const members: NodeInfo[] = [];
    const removed: { id: string; reason: RemovalReason }[] = [];
    let changed = false;
    for (const m of prev.members) {
      const request = this.removals.get(m.id);
      if (m.id === self.id) {
        if (request && prev.members.length > 1) removed.push({ id: m.id, reason: request });
        else members.push(m);
        continue;
      }
      if (request) {
        removed.push({ id: m.id, reason: request });
        continue;
      }
      const r = detector.get(m.id);
      // r.inst > m.inst: the member's process is gone, replaced by a newer one (rejoining below, or dead too).
      if (r && r.inst >= m.inst) {
        if (r.state === 'left' && r.inst === m.inst) {
          removed.push({ id: m.id, reason: 'left' });
          continue;
        }
        if ((r.state === 'dead' || r.state === 'left') && now - r.since >= timings.removeAfterMs) {
          removed.push({ id: m.id, reason: 'dead' });
          continue;
        }
      }
      const j = this.joins.get(m.id);
      if (j && !sameNode(j, m) && r && r.inst === j.inst && r.state === 'alive') {
        members.push(nodeInfoOf(j));
        changed = true;
        continue;
      }
      members.push(m);
    }
    const byId = membersById(prev);
    for (const j of this.joins.values()) {
      if (byId.has(j.id)) continue;
      const r = detector.get(j.id);
      if (r && r.inst === j.inst && r.state === 'alive') {
        members.push(nodeInfoOf(j));
        changed = true;
      }
    }
    if (members.length === 0) {
      // Requests to remove everyone: the decider stays.
      const i = removed.findIndex((r) => r.id === self.id);
      if (i < 0) return undefined;
      removed.splice(i, 1);
      members.push(membersById(prev).get(self.id)!);
    }
    if (!changed && removed.length === 0 && !(this.host.payloadDue?.(prev) ?? false)) return undefined;
    return { cluster: prev.cluster, epoch: prev.epoch + 1, members, decider: self.id, removed };
  }

  private startRound(prev: View): void {
    const { self, scheduler, timings } = this.host;
    this.maxRound++;
    const ballot: Ballot = { n: this.maxRound, id: self.id };
    const round: Round = {
      epoch: prev.epoch + 1,
      ballot,
      prev,
      phase: 'prepare',
      promises: new Map(),
      accepts: new Set(),
      value: undefined,
      timer: scheduler.schedule(timings.proposalTimeoutMs, () => this.endRound(round, false)),
    };
    this.round = round;
    this.host.counters.proposals++;
    const msg: PrepareMessage = { t: 'prepare', epoch: round.epoch, ballot, prev, src: self.addr };
    for (const m of prev.members) this.host.sendStream(this.addressOf(m), msg);
  }

  private addressOf(m: NodeInfo): string {
    if (m.id === this.host.self.id) return this.host.self.addr;
    const r = this.host.detector.get(m.id);
    return r && r.inst === m.inst ? r.addr : m.addr;
  }

  private endRound(round: Round, committed: boolean): void {
    if (this.round !== round) return;
    round.timer.cancel();
    this.round = undefined;
    if (committed) {
      this.failures = 0;
      this.host.counters.proposalsCommitted++;
      this.kick();
      return;
    }
    this.host.counters.proposalsFailed++;
    this.failures = Math.min(this.failures + 1, 6);
    const base = Math.max(this.host.timings.deciderIntervalMs, 100) * 2 ** (this.failures - 1);
    this.retryAt = this.host.scheduler.now() + base * (0.5 + this.host.random.next());
  }

  onPromise(msg: PromiseMessage): void {
    const r = this.round;
    if (!r || r.phase !== 'prepare' || msg.epoch !== r.epoch || compareBallots(msg.ballot, r.ballot) !== 0)
      return;
    if (!isVoter(r.prev, msg.from, msg.inst)) return;
    r.promises.set(msg.from, msg.accepted);
    if (r.promises.size < majority(r.prev)) return;
    let best: { ballot: Ballot; view: View } | null = null;
    for (const a of r.promises.values()) {
      if (a && a.view.epoch === r.epoch && (best === null || compareBallots(a.ballot, best.ballot) > 0))
        best = a;
    }
    let value = best?.view;
    if (!value) {
      const draft = this.draft(r.prev);
      if (!draft) {
        // Nothing to change any more; the promises cost nothing.
        r.timer.cancel();
        this.round = undefined;
        return;
      }
      value = { ...draft, payload: this.host.payload(r.prev, draft) ?? null };
    }
    r.value = value;
    r.phase = 'accept';
    const msgOut: AcceptMessage = {
      t: 'accept',
      epoch: r.epoch,
      ballot: r.ballot,
      view: value,
      src: this.host.self.addr,
    };
    for (const m of r.prev.members) this.host.sendStream(this.addressOf(m), msgOut);
  }

  onAccepted(msg: AcceptedMessage): void {
    const r = this.round;
    if (!r || r.phase !== 'accept' || msg.epoch !== r.epoch || compareBallots(msg.ballot, r.ballot) !== 0)
      return;
    if (!isVoter(r.prev, msg.from, msg.inst)) return;
    r.accepts.add(msg.from);
    if (r.accepts.size < majority(r.prev)) return;
    const value = r.value!;
    this.host.observer?.committed?.(value, r.prev, this.host.self.id, [...r.accepts]);
    this.endRound(r, true);
    this.adopt(value);
    const commit: StreamMessage = { t: 'commit', view: value };
    const sent = new Set<string>([this.host.self.id]);
    for (const m of [...r.prev.members, ...value.members]) {
      if (sent.has(m.id)) continue;
      sent.add(m.id);
      this.host.sendStream(this.addressOf(m), commit);
    }
  }

  onReject(msg: RejectMessage): void {
    if (msg.promised) this.maxRound = Math.max(this.maxRound, msg.promised.n);
    if (msg.view) this.adopt(msg.view);
    const r = this.round;
    if (!r || msg.epoch !== r.epoch || compareBallots(msg.ballot, r.ballot) !== 0) return;
    this.endRound(r, false);
  }

  // ------------------------------------------------------------ acceptor

  onPrepare(msg: PrepareMessage): void {
    this.maxRound = Math.max(this.maxRound, msg.ballot.n);
    if (msg.prev.epoch === msg.epoch - 1) this.adopt(msg.prev);
    const v = this.view;
    if (!v || v.cluster !== msg.prev.cluster) return;
    if (msg.epoch <= v.epoch) {
      this.host.sendStream(msg.src, {
        t: 'reject',
        epoch: msg.epoch,
        ballot: msg.ballot,
        promised: null,
        view: v,
      });
      return;
    }
    if (msg.epoch !== v.epoch + 1 || !this.isMember) return;
    const self = this.host.self;
    if (compareBallots(msg.ballot, this.promised) > 0) {
      this.promised = msg.ballot;
      this.host.sendStream(msg.src, {
        t: 'promise',
        epoch: msg.epoch,
        ballot: msg.ballot,
        from: self.id,
        inst: self.inst,
        accepted: this.acceptedValue,
      });
    } else {
      this.host.sendStream(msg.src, {
        t: 'reject',
        epoch: msg.epoch,
        ballot: msg.ballot,
        promised: this.promised,
        view: null,
      });
    }
  }

  onAccept(msg: AcceptMessage): void {
    this.maxRound = Math.max(this.maxRound, msg.ballot.n);
    const v = this.view;
    if (!v || msg.view.epoch !== msg.epoch || msg.view.cluster !== v.cluster) return;
    if (msg.epoch <= v.epoch) {
      this.host.sendStream(msg.src, {
        t: 'reject',
        epoch: msg.epoch,
        ballot: msg.ballot,
        promised: null,
        view: v,
      });
      return;
    }
    if (msg.epoch !== v.epoch + 1 || !this.isMember) return;
    const self = this.host.self;
    if (compareBallots(msg.ballot, this.promised) >= 0) {
      this.promised = msg.ballot;
      this.acceptedValue = { ballot: msg.ballot, view: msg.view };
      this.host.observer?.accepted?.(self.id, self.inst, msg.ballot, msg.view);
      this.host.sendStream(msg.src, {
        t: 'accepted',
        epoch: msg.epoch,
        ballot: msg.ballot,
        from: self.id,
        inst: self.inst,
      });
    } else {
      this.host.sendStream(msg.src, {
        t: 'reject',
        epoch: msg.epoch,
        ballot: msg.ballot,
        promised: this.promised,
        view: null,
      });
    }
  }

  get isLeaving(): boolean {
    return this.leaving;
  }
}
