import { type BackoffOptions, backoffDelayMs } from '@meshcache/proto';
import { FailureDetector, type MemberRecord } from './FailureDetector.js';
import { countMessage, type MembershipCounters, newCounters } from './MembershipCounters.js';
import { DEFAULT_MEMBERSHIP_TIMINGS, type MembershipTimings, pushPullInterval } from './MembershipOptions.js';
import type { GossipMessage, Liveness, NodeInfo, PushPullMessage, StreamMessage, View } from './messages.js';
import {
  jitter,
  type Random,
  type Scheduler,
  type SeedResolver,
  type Timer,
  type Transport,
} from './runtime.js';
import { membersById } from './View.js';
import { type PayloadHook, type ViewObserver, ViewProtocol } from './ViewProtocol.js';

export interface MembershipConfig {
  /** This node: id, process instance, gossip address, zone and advertised addresses. */
  self: NodeInfo;
  /** Starting incarnation; defaults to `self.inst` (wall-clock ms at start in a node). */
  incarnation?: number;
  timings?: Partial<MembershipTimings>;
  /** Join the cluster found through the seeds (and rejoin after a removal that was not an admin's). */
  autoJoin?: boolean;
}

/**
 * The join retries' backoff, on the project's one backoff function: attempt n
 * waits uniformly within [nominal/2, nominal] with nominal =
 * min(joinBackoffMaxMs, joinBackoffMinMs * 2^(n-1)) (the range the
 * membership always used: doubling, jittered downwards by up to half). At the
 * cap the shared function's clamp makes that [max/2, 3max/4] (half of the
 * capped retries wait 3max/4).
 */
function joinBackoff(t: MembershipTimings): BackoffOptions {
  return {
    initialDelayMs: 0.75 * t.joinBackoffMinMs,
    multiplier: 2,
    maxDelayMs: 0.75 * t.joinBackoffMaxMs,
    jitterFraction: 1 / 3,
  };
}

export interface MembershipEnv {
  scheduler: Scheduler;
  random: Random;
  transport: Transport<GossipMessage, StreamMessage>;
  seeds: SeedResolver;
  /** Payload committed with each view (see {@link PayloadHook}); none by default. */
  payload?: PayloadHook;
  /** Whether the payload alone should change (a cutover is due); a decider then proposes a view with the same members. */
  payloadDue?: (prev: View) => boolean;
  observer?: ViewObserver;
}

/** One node's liveness and membership, as `/v1/cluster/members` shows it. */
export interface MemberStatus {
  id: string;
  state: Liveness;
  incarnation: number;
  instance: number;
  address: string;
  zone: string;
  meta: Readonly<Record<string, string>>;
  /** In the committed view (as this very process instance). */
  member: boolean;
  /** Milliseconds since the last state change. */
  stateAgeMs: number;
}

type Listener<A extends unknown[]> = (...args: A) => void;

const EPOCH_KEY = '\u0000epoch';

/**
 * The membership of one node: SWIM/Lifeguard failure detection (liveness) plus
 * committed views (membership), joining through seeds, push-pull anti-entropy
 * and reconnection after partitions. Pure and deterministic given its
 * scheduler, random source and transport.
 *
 * Forming a fresh cluster from a seed list, exactly once: with no seeds (or
 * only itself) a node bootstraps epoch 1 alone at once. Otherwise only the
 * node whose own gossip address is first in the sorted, resolved seed list may
 * bootstrap, and only when a majority of that seed list (itself included)
 * has answered a join attempt saying it holds no view and none answered with
 * one, after all seeds answered or `bootstrapSearchMs` passed. Every other
 * node only joins. With one seed list shared by all nodes, one node at most
 * can bootstrap; a restarted first seed bootstraps again only if a majority
 * of the seeds belong to no cluster, which cannot happen while a cluster
 * holding a majority of the seeds exists, even partitioned away (those seeds
 * then do not answer).
 */
export class Membership {
  readonly counters: MembershipCounters = newCounters();
  readonly timings: MembershipTimings;
  readonly detector: FailureDetector;
  readonly protocol: ViewProtocol;
  readonly self: NodeInfo;
  private readonly viewListeners: Listener<[View, View | undefined]>[] = [];
  private readonly livenessListeners: Listener<[MemberRecord, Liveness | undefined]>[] = [];
  private seedAddrs: string[] = [];
  private seedsResolved = false;
  private searchStartedAt = 0;
  private readonly seedAnswers = new Map<string, boolean>();
  /** Which node answered at each seed address (learned from push-pulls). */
  private readonly seedIds = new Map<string, string>();
  private reconnects = 0;
  /** Seeds given to requestJoin (kept across re-resolution of the configured ones). */
  private readonly extraSeeds = new Set<string>();
  private joinAttempt = 0;
  private wantJoin: boolean;
  private joinTimer: Timer | undefined;
  private readonly timers: Timer[] = [];
  private readonly viewRequested = new Map<number, number>();
  private stopped = true;

  constructor(
    config: MembershipConfig,
    private readonly env: MembershipEnv,
  ) {
    this.timings = { ...DEFAULT_MEMBERSHIP_TIMINGS, ...config.timings };
    this.self = config.self;
    this.wantJoin = config.autoJoin ?? true;
    this.detector = new FailureDetector(
      config.self,
      config.incarnation ?? config.self.inst,
      this.timings,
      env.scheduler,
      env.random,
      this.counters,
      {
        sendPacket: (to, msgs) => env.transport.sendPacket(to, msgs),
        changed: (record, prev) => {
          if (this.seedAddrs.includes(record.addr)) this.seedIds.set(record.addr, record.id);
          for (const l of this.livenessListeners) l(record, prev);
        },
        reaped: () => undefined,
        keep: (id) => this.protocol.view !== undefined && membersById(this.protocol.view).has(id),
      },
    );
    this.protocol = new ViewProtocol({
      self: config.self,
      detector: this.detector,
      timings: this.timings,
      scheduler: env.scheduler,
      random: env.random,
      counters: this.counters,
      payload: env.payload ?? (() => null),
      payloadDue: env.payloadDue,
      observer: env.observer,
      sendStream: (to, msg) => this.sendStream(to, msg),
      adopted: (view, prev) => this.adopted(view, prev),
    });
  }

  // ---------------------------------------------------------------- public

  get view(): View | undefined {
    return this.protocol.view;
  }

  /** A member of a committed view (as this process instance). */
  get isMember(): boolean {
    return this.protocol.isMember;
  }

  get epoch(): number {
    return this.protocol.view?.epoch ?? 0;
  }

  onView(listener: Listener<[View, View | undefined]>): void {
    this.viewListeners.push(listener);
  }

  onLiveness(listener: Listener<[MemberRecord, Liveness | undefined]>): void {
    this.livenessListeners.push(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.detector.start();
    this.protocol.start();
    const s = this.env.scheduler;
    const r = this.env.random;
    const pushPull = (): void => {
      if (this.stopped) return;
      this.timers.push(
        s.schedule(jitter(r, pushPullInterval(this.timings, this.detector.liveCount)), pushPull),
      );
      const peer = this.detector.randomMember(['alive', 'suspect']);
      if (peer) this.pushPull(peer.addr, false);
    };
    this.timers.push(s.schedule(r.next() * this.timings.pushPullIntervalMs, pushPull));
    const reconnect = (): void => {
      if (this.stopped) return;
      this.timers.push(s.schedule(jitter(r, this.timings.reconnectIntervalMs), reconnect));
      this.reconnect();
    };
    this.timers.push(s.schedule(r.next() * this.timings.reconnectIntervalMs, reconnect));
    const refresh = (): void => {
      if (this.stopped) return;
      this.timers.push(s.schedule(this.timings.seedRefreshIntervalMs, refresh));
      this.env.seeds.resolve((addrs) => this.setSeeds(addrs));
    };
    this.searchStartedAt = s.now();
    this.env.seeds.resolve((addrs) => {
      this.setSeeds(addrs);
      this.joinStep();
    });
    this.timers.push(s.schedule(this.timings.seedRefreshIntervalMs, refresh));
  }

  stop(): void {
    this.stopped = true;
    this.detector.stop();
    this.protocol.stop();
    this.joinTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }

  /**
   * Graceful leave: tells everyone this node is LEFT and asks the decider to
   * remove it. The caller waits for `!isMember` (or its own deadline), then stops.
   */
  leave(): void {
    if (this.stopped) return;
    this.wantJoin = false;
    this.detector.leave();
    const view = this.view;
    if (!view || !this.isMember || view.members.length <= 1) return;
    this.protocol.setLeaving();
    if (!this.protocol.isDecider) {
      const to = this.protocol.deciderAddress();
      if (to) this.sendStream(to, { t: 'remove', id: this.self.id, reason: 'left', hops: 0 });
    }
  }

  /** Joins (again) the cluster reachable at `addresses`, or through the seeds. */
  requestJoin(addresses?: string[]): void {
    this.wantJoin = true;
    if (addresses && addresses.length > 0) {
      for (const a of addresses) this.extraSeeds.add(a);
      this.setSeeds(this.seedAddrs);
    }
    this.joinAttempt = 0;
    this.joinTimer?.cancel();
    this.joinStep();
  }

  /** Asks the decider (if this node is it) to look for a due change soon (see MembershipEnv.payloadDue). */
  kickDecider(): void {
    this.protocol.kick();
  }

  /** Whether this node decides the next view. */
  get isDecider(): boolean {
    return this.protocol.isDecider;
  }

  /** Asks the decider to remove member `id`. False if it is not a member of the view this node holds. */
  requestRemove(id: string): boolean {
    if (!this.view || !membersById(this.view).has(id)) return false;
    this.protocol.onRemoveRequest(id, 'admin', 0);
    return true;
  }

  /** Liveness and membership of every node this one knows of. */
  members(): MemberStatus[] {
    const now = this.env.scheduler.now();
    const byId = this.view ? membersById(this.view) : new Map<string, NodeInfo>();
    const out: MemberStatus[] = [];
    for (const r of this.detector.all()) {
      out.push({
        id: r.id,
        state: r.state,
        incarnation: r.inc,
        instance: r.inst,
        address: r.addr,
        zone: r.zone,
        meta: r.meta,
        member: byId.get(r.id)?.inst === r.inst,
        stateAgeMs: Math.max(0, now - r.since),
      });
    }
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }

  /** Who this node takes for the decider now. */
  get decider(): string | undefined {
    return this.protocol.decider()?.id;
  }

  // ---------------------------------------------------------------- receiving

  /** One decoded UDP packet (a compound of gossip messages). */
  handlePacket(msgs: readonly GossipMessage[]): void {
    if (this.stopped) return;
    this.counters.packetsIn++;
    for (const m of msgs) {
      countMessage(this.counters.messagesIn, m.t);
      if (m.t === 'epoch') this.onEpoch(m.epoch, m.addr);
      else this.detector.handle(m);
    }
  }

  /** One decoded stream message. */
  handleStream(msg: StreamMessage): void {
    if (this.stopped) return;
    countMessage(this.counters.messagesIn, msg.t);
    const p = this.protocol;
    switch (msg.t) {
      case 'pp':
        return this.onPushPull(msg);
      case 'prepare':
        return p.onPrepare(msg);
      case 'promise':
        return p.onPromise(msg);
      case 'accept':
        return p.onAccept(msg);
      case 'accepted':
        return p.onAccepted(msg);
      case 'reject':
        return p.onReject(msg);
      case 'commit':
        p.adopt(msg.view);
        return;
      case 'viewreq':
        if (this.view) this.sendStream(msg.src, { t: 'commit', view: this.view });
        return;
      case 'join':
        return p.onJoinRequest(msg.node, msg.hops);
      case 'remove':
        return p.onRemoveRequest(msg.id, msg.reason, msg.hops);
    }
  }

  /** A message that failed validation (counted; never acted on). */
  malformed(): void {
    this.counters.malformed++;
  }

  // ---------------------------------------------------------------- internals

  private sendStream(to: string, msg: StreamMessage): void {
    countMessage(this.counters.messagesOut, msg.t);
    this.env.transport.sendStream(to, msg);
  }

  private pushPull(to: string, join: boolean): void {
    const msg: PushPullMessage = {
      t: 'pp',
      from: this.self.id,
      src: this.self.addr,
      reply: true,
      join,
      members: this.detector.snapshot(),
      view: this.view ?? null,
    };
    this.sendStream(to, msg);
  }

  private onPushPull(msg: PushPullMessage): void {
    this.detector.merge(msg.members);
    if (this.seedAddrs.includes(msg.src)) {
      this.seedIds.set(msg.src, msg.from);
      if (!this.view) this.seedAnswers.set(msg.src, msg.view !== null);
    }
    if (msg.view) this.protocol.adopt(msg.view);
    if (msg.reply) {
      this.sendStream(msg.src, {
        t: 'pp',
        from: this.self.id,
        src: this.self.addr,
        reply: false,
        join: false,
        members: this.detector.snapshot(),
        view: this.view ?? null,
      });
    }
    if (!this.view) this.maybeBootstrap();
  }

  private onEpoch(epoch: number, addr: string): void {
    if (epoch <= this.epoch || addr === this.self.addr) return;
    const now = this.env.scheduler.now();
    const last = this.viewRequested.get(epoch);
    if (last !== undefined && now - last < this.timings.probeIntervalMs * 3) return;
    this.viewRequested.set(epoch, now);
    if (this.viewRequested.size > 64) this.viewRequested.clear();
    this.sendStream(addr, { t: 'viewreq', src: this.self.addr });
  }

  private adopted(view: View, prev: View | undefined): void {
    for (const m of view.members) if (m.id !== this.self.id) this.detector.learnFromView(m);
    this.detector.broadcast(EPOCH_KEY, { t: 'epoch', epoch: view.epoch, addr: this.self.addr });
    if (!this.isMember && view.removed.some((r) => r.id === this.self.id && r.reason === 'admin')) {
      this.wantJoin = false;
    }
    for (const l of this.viewListeners) l(view, prev);
    if (!this.isMember && this.wantJoin && !this.detector.isLeaving) {
      this.joinAttempt = 0;
      this.joinTimer?.cancel();
      this.joinTimer = this.env.scheduler.schedule(0, () => this.joinStep());
    }
  }

  private setSeeds(addrs: string[]): void {
    this.seedAddrs = [...new Set([...addrs, ...this.extraSeeds])].sort();
    this.seedsResolved = true;
  }

  private otherSeeds(): string[] {
    return this.seedAddrs.filter((a) => a !== this.self.addr);
  }

  private readonly joinStep = (): void => {
    if (this.stopped || !this.seedsResolved) return;
    this.joinTimer?.cancel();
    if (this.isMember || this.detector.isLeaving) return;
    const view = this.view;
    if (view) {
      if (!this.wantJoin) return;
      const join = { t: 'join' as const, node: this.detector.aliveMessage(), hops: 0 };
      const to = this.protocol.deciderAddress();
      if (to) this.sendStream(to, join);
      else {
        // No live decider known yet: ask any member; it forwards.
        const peer = this.detector.randomMember(['alive', 'suspect']);
        if (peer) this.sendStream(peer.addr, join);
      }
    } else {
      if (!this.wantJoin) return;
      if (this.env.seeds.configured === 0) {
        this.protocol.bootstrap();
        return;
      }
      for (const a of this.otherSeeds()) this.pushPull(a, true);
      this.maybeBootstrap();
      if (this.view) return;
      // Not joined yet: resolve the seeds again for the next attempt (DNS names fill in as pods start).
      this.env.seeds.resolve((addrs) => this.setSeeds(addrs));
    }
    this.joinAttempt++;
    // 1 - draw: a large draw shortens the wait, as it always did here, so a
    // seeded simulation gets the same delays below the cap (to the rounded
    // millisecond) as before the shared function.
    const random = () => 1 - this.env.random.next();
    const delay = backoffDelayMs(Math.min(this.joinAttempt, 17), joinBackoff(this.timings), random);
    this.joinTimer = this.env.scheduler.schedule(delay, this.joinStep);
  };

  /** The bootstrap rule (see the class comment). */
  private maybeBootstrap(): void {
    if (this.view || !this.wantJoin || this.seedAddrs[0] !== this.self.addr) return;
    const others = this.otherSeeds();
    let empty = 1;
    for (const a of others) if (this.seedAnswers.get(a) === false) empty++;
    if (empty * 2 <= this.seedAddrs.length) return;
    const allAnswered = others.every((a) => this.seedAnswers.has(a));
    const searched = this.env.scheduler.now() - this.searchStartedAt >= this.timings.bootstrapSearchMs;
    if (allAnswered || searched) this.protocol.bootstrap();
  }

  /**
   * Contacts a DEAD member (so healed partitions find each other) and a seed
   * that is not a live member (a restarted seed that formed a cluster of its
   * own learns of this one, and the smaller lineage merges into the larger).
   */
  private reconnect(): void {
    const dead = this.detector.randomMember(['dead']);
    if (dead) this.pushPull(dead.addr, false);
    // Every tenth round: a seed that is not a live member may have formed a cluster of its own.
    if (!this.view || ++this.reconnects % 10 !== 0) return;
    const seeds = this.otherSeeds();
    if (seeds.length === 0) return;
    const seed = seeds[Math.floor(this.env.random.next() * seeds.length)]!;
    const id = this.seedIds.get(seed);
    const known = id === undefined ? undefined : this.detector.get(id);
    if (!known || known.addr !== seed || (known.state !== 'alive' && known.state !== 'suspect')) {
      // A light push: this node and its view, no reply needed (a seed on its own adopts the larger lineage).
      const self = this.detector.self;
      this.sendStream(seed, {
        t: 'pp',
        from: this.self.id,
        src: this.self.addr,
        reply: false,
        join: false,
        members: [
          {
            id: self.id,
            inst: self.inst,
            addr: self.addr,
            zone: self.zone,
            meta: self.meta,
            inc: self.inc,
            state: self.state,
          },
        ],
        view: this.view,
      });
    }
  }
}
