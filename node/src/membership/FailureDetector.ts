import { BroadcastQueue } from './BroadcastQueue.js';
import { gossipSize, packetSize } from './codec.js';
import { LocalHealth } from './LocalHealth.js';
import { countMessage, type MembershipCounters } from './MembershipCounters.js';
import { type MembershipTimings, retransmitLimit, suspicionBounds } from './MembershipOptions.js';
import type {
  AckMessage,
  AliveMessage,
  DeadMessage,
  GossipMessage,
  LeftMessage,
  Liveness,
  MemberEntry,
  NackMessage,
  NodeInfo,
  NodeMeta,
  PingMessage,
  PingReqMessage,
  SuspectMessage,
} from './messages.js';
import { type Random, randomInt, type Scheduler, shuffle, type Timer } from './runtime.js';
import { Suspicion } from './Suspicion.js';

/** What this node knows about one node's liveness. */
export interface MemberRecord {
  id: string;
  inst: number;
  addr: string;
  zone: string;
  meta: NodeMeta;
  inc: number;
  state: Liveness;
  /** Local time of the last state change. */
  since: number;
}

export interface DetectorHooks {
  sendPacket(to: string, messages: readonly GossipMessage[]): void;
  /** A member appeared, changed state or advertised new details; `previous` is undefined for a new one. */
  changed(record: MemberRecord, previous: Liveness | undefined): void;
  /** A forgotten DEAD/LEFT member (never called for members the view still holds). */
  reaped(id: string): void;
  /** True while the committed view holds `id`: such records are never reaped. */
  keep(id: string): boolean;
}

interface ProbeRound {
  readonly kind: 'probe';
  readonly target: MemberRecord;
  readonly inc: number;
  readonly startedAt: number;
  readonly timeout: number;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
  timers: Timer[];
}

interface Relay {
  readonly kind: 'relay';
  readonly seq: number;
  readonly requester: string;
  timers: Timer[];
}

function sameMeta(a: NodeMeta, b: NodeMeta): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * SWIM failure detection with the Lifeguard refinements, driven entirely by
 * an injected scheduler, random source and packet sender: probes a member
 * each period (shuffled round-robin), asks k others to probe indirectly when
 * a direct ack is late, suspects before declaring DEAD (incarnation numbers
 * let a suspected node refute), scales its own timing by a local health
 * multiplier, shrinks suspicion timeouts as confirmations arrive, and
 * piggybacks updates on probes and gossip with a retransmit limit.
 */
export class FailureDetector {
  readonly self: MemberRecord;
  private readonly members = new Map<string, MemberRecord>();
  /** Ids of members in the (usually few) non-ALIVE states, for quick random picks. */
  private readonly rare: Record<Exclude<Liveness, 'alive'>, Set<string>> = {
    suspect: new Set(),
    dead: new Set(),
    left: new Set(),
  };

  private readonly suspicions = new Map<string, Suspicion>();
  private readonly pending = new Map<number, ProbeRound | Relay>();
  readonly broadcasts = new BroadcastQueue();
  readonly health: LocalHealth;
  private probeList: string[] = [];
  private probeIndex = 0;
  private seq = 0;
  private live = 1;
  private stalledUntil = -Infinity;
  private leaving = false;
  private stopped = true;
  private probeTimer: Timer | undefined;
  private gossipTimer: Timer | undefined;
  /** A scheduler whose timers notice when they fire far too late (this process was frozen). */
  readonly guarded: Scheduler;

  constructor(
    self: NodeInfo,
    incarnation: number,
    private readonly t: MembershipTimings,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    private readonly counters: MembershipCounters,
    private readonly hooks: DetectorHooks,
  ) {
    this.self = { ...self, inc: incarnation, state: 'alive', since: scheduler.now() };
    this.members.set(self.id, this.self);
    this.health = new LocalHealth(t.maxLocalHealthMultiplier);
    this.guarded = {
      now: () => scheduler.now(),
      schedule: (delay, fn) => {
        const due = scheduler.now() + delay;
        return scheduler.schedule(delay, () => {
          this.noteLateness(scheduler.now() - due);
          fn();
        });
      },
    };
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const first = this.random.next() * this.t.probeIntervalMs;
    this.probeTimer = this.guarded.schedule(first, this.probeTick);
    this.gossipTimer = this.guarded.schedule(this.random.next() * this.t.gossipIntervalMs, this.gossipTick);
  }

  stop(): void {
    this.stopped = true;
    this.probeTimer?.cancel();
    this.gossipTimer?.cancel();
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
    for (const p of this.pending.values()) for (const timer of p.timers) timer.cancel();
    this.pending.clear();
  }

  /** Announces that this node leaves: others mark it LEFT and stop probing it. */
  leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    const msg: LeftMessage = { t: 'left', id: this.self.id, inc: this.self.inc };
    this.self.state = 'left';
    this.self.since = this.scheduler.now();
    this.broadcasts.enqueue(this.self.id, msg);
    this.hooks.changed(this.self, 'alive');
  }

  get isLeaving(): boolean {
    return this.leaving;
  }

  // ---------------------------------------------------------------- queries

  get(id: string): MemberRecord | undefined {
    return this.members.get(id);
  }

  all(): IterableIterator<MemberRecord> {
    return this.members.values();
  }

  /** Members believed ALIVE or SUSPECT, this node included. */
  get liveCount(): number {
    return this.live;
  }

  get size(): number {
    return this.members.size;
  }

  get stalled(): boolean {
    return this.scheduler.now() < this.stalledUntil;
  }

  aliveMessage(): AliveMessage {
    const s = this.self;
    return { t: 'alive', id: s.id, inst: s.inst, addr: s.addr, zone: s.zone, meta: s.meta, inc: s.inc };
  }

  /** Every known node, for a push-pull exchange. */
  snapshot(): MemberEntry[] {
    const out: MemberEntry[] = [];
    for (const m of this.members.values()) {
      out.push({
        id: m.id,
        inst: m.inst,
        addr: m.addr,
        zone: m.zone,
        meta: m.meta,
        inc: m.inc,
        state: m.state,
      });
    }
    return out;
  }

  /** A random member in one of `states`, other than this node and `except`, or undefined. */
  randomMember(states: readonly Liveness[], except?: string): MemberRecord | undefined {
    if (!states.includes('alive')) {
      const ids: string[] = [];
      for (const s of states)
        for (const id of this.rare[s as Exclude<Liveness, 'alive'>]) if (id !== except) ids.push(id);
      return ids.length === 0 ? undefined : this.members.get(ids[randomInt(this.random, ids.length)]!);
    }
    const list = this.probeList;
    if (list.length === 0) return undefined;
    for (let tries = 0; tries < 8; tries++) {
      const m = this.members.get(list[randomInt(this.random, list.length)]!);
      if (m && m.id !== except && states.includes(m.state)) return m;
    }
    const fits = list.filter((id) => {
      const m = this.members.get(id);
      return m !== undefined && id !== except && states.includes(m.state);
    });
    return fits.length === 0 ? undefined : this.members.get(fits[randomInt(this.random, fits.length)]!);
  }

  /** Up to `k` distinct random members in one of `states`, excluding `except`. */
  randomMembers(k: number, states: readonly Liveness[], except: ReadonlySet<string>): MemberRecord[] {
    const list = this.probeList;
    const out: MemberRecord[] = [];
    if (k <= 0 || list.length === 0) return out;
    const chosen = new Set<string>(except);
    if (list.length <= k * 4) {
      for (const id of shuffle(this.random, list.slice())) {
        const m = this.members.get(id);
        if (m && !chosen.has(id) && states.includes(m.state)) {
          out.push(m);
          chosen.add(id);
          if (out.length === k) break;
        }
      }
      return out;
    }
    for (let tries = 0; tries < k * 6 && out.length < k; tries++) {
      const id = list[randomInt(this.random, list.length)]!;
      const m = this.members.get(id);
      if (m && !chosen.has(id) && states.includes(m.state)) {
        out.push(m);
        chosen.add(id);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- sending

  /** Queues an update for piggybacking; a newer one with the same key replaces it. */
  broadcast(key: string, msg: GossipMessage): void {
    this.broadcasts.enqueue(key, msg);
  }

  /** Sends `primary` messages with as many queued updates as fit in one packet. */
  sendPacket(to: string, primary: GossipMessage[]): void {
    let used = 0;
    for (const m of primary) used += gossipSize(m);
    const budget = this.t.maxPacketBytes - packetSize(used, primary.length) - 1;
    this.broadcasts.take(budget, retransmitLimit(this.t, this.live), primary);
    this.counters.packetsOut++;
    for (const m of primary) countMessage(this.counters.messagesOut, m.t);
    this.hooks.sendPacket(to, primary);
  }

  // ---------------------------------------------------------------- timers

  private noteLateness(late: number): void {
    if (late <= this.t.stallThresholdMs) return;
    const now = this.scheduler.now();
    if (now >= this.stalledUntil) {
      this.counters.stalls++;
      this.health.apply(1);
    }
    this.stalledUntil = now + this.t.stallThresholdMs;
  }

  private readonly probeTick = (): void => {
    if (this.stopped) return;
    const interval = this.health.scale(this.t.probeIntervalMs);
    this.probeTimer = this.guarded.schedule(interval, this.probeTick);
    if (this.leaving) return;
    const target = this.nextTarget();
    if (target) this.probe(target, interval);
  };

  private readonly gossipTick = (): void => {
    if (this.stopped) return;
    this.gossipTimer = this.guarded.schedule(this.t.gossipIntervalMs, this.gossipTick);
    if (this.broadcasts.size === 0) return;
    const except = new Set([this.self.id]);
    for (const m of this.randomMembers(this.t.gossipFanout, ['alive', 'suspect'], except)) {
      const msgs: GossipMessage[] = [];
      this.broadcasts.take(this.t.maxPacketBytes - 2, retransmitLimit(this.t, this.live), msgs);
      if (msgs.length === 0) break;
      this.counters.packetsOut++;
      for (const msg of msgs) countMessage(this.counters.messagesOut, msg.t);
      this.hooks.sendPacket(m.addr, msgs);
    }
  };

  private nextTarget(): MemberRecord | undefined {
    for (let scanned = 0; scanned <= this.probeList.length; scanned++) {
      if (this.probeIndex >= this.probeList.length) this.resetProbeList();
      const id = this.probeList[this.probeIndex++];
      if (id === undefined) return undefined;
      const m = this.members.get(id);
      if (m && (m.state === 'alive' || m.state === 'suspect')) return m;
    }
    return undefined;
  }

  /** Reaps long-DEAD/LEFT members that left the view, and reshuffles the probe order. */
  private resetProbeList(): void {
    const now = this.scheduler.now();
    for (const id of this.probeList) {
      const m = this.members.get(id);
      if (
        m &&
        (m.state === 'dead' || m.state === 'left') &&
        now - m.since >= this.t.deadReapMs &&
        !this.hooks.keep(id)
      ) {
        this.members.delete(id);
        this.rare[m.state as Exclude<Liveness, 'alive'>].delete(id);
        this.broadcasts.drop(id);
        this.hooks.reaped(id);
      }
    }
    this.probeList = shuffle(
      this.random,
      [...this.members.keys()].filter((id) => id !== this.self.id),
    );
    this.probeIndex = 0;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.seq;
  }

  private probe(target: MemberRecord, interval: number): void {
    const seq = this.nextSeq();
    const timeout = this.health.scale(this.t.probeTimeoutMs);
    const round: ProbeRound = {
      kind: 'probe',
      target,
      inc: target.inc,
      startedAt: this.scheduler.now(),
      timeout,
      acked: false,
      nacks: 0,
      expectedNacks: 0,
      timers: [],
    };
    this.pending.set(seq, round);
    const ping: PingMessage = { t: 'ping', seq, id: target.id, from: this.self.id, src: this.self.addr };
    const msgs: GossipMessage[] = [ping];
    // Tell a suspect directly that it is suspected, so it can refute at once.
    if (target.state === 'suspect') {
      msgs.push({ t: 'suspect', id: target.id, inc: target.inc, from: this.self.id });
    }
    this.counters.probes++;
    this.sendPacket(target.addr, msgs);
    round.timers.push(
      this.guarded.schedule(timeout, () => {
        if (round.acked || this.stopped) return;
        const helpers = this.randomMembers(
          this.t.indirectProbes,
          ['alive'],
          new Set([this.self.id, target.id]),
        );
        if (helpers.length > 0) this.counters.indirectProbes++;
        round.expectedNacks = helpers.length;
        for (const h of helpers) {
          const req: PingReqMessage = {
            t: 'pingreq',
            seq,
            id: target.id,
            addr: target.addr,
            from: this.self.id,
            src: this.self.addr,
          };
          this.sendPacket(h.addr, [req]);
        }
      }),
    );
    round.timers.push(this.guarded.schedule(interval, () => this.finishProbe(seq, round)));
  }

  private finishProbe(seq: number, round: ProbeRound): void {
    this.pending.delete(seq);
    if (round.acked || this.stopped) return;
    // A frozen prober cannot tell a silent target from its own deafness.
    if (this.stalled) return;
    const target = round.target;
    if (this.members.get(target.id) !== target || target.inc !== round.inc) return;
    if (target.state !== 'alive' && target.state !== 'suspect') return;
    this.health.apply(round.expectedNacks - round.nacks);
    this.counters.suspicions++;
    this.onSuspect({ t: 'suspect', id: target.id, inc: target.inc, from: this.self.id });
  }

  // ---------------------------------------------------------------- receiving

  /** Handles one incoming gossip message (of the failure-detection kinds). */
  handle(msg: GossipMessage): void {
    if (this.stopped) return;
    switch (msg.t) {
      case 'ping':
        return this.onPing(msg);
      case 'pingreq':
        return this.onPingReq(msg);
      case 'ack':
        return this.onAck(msg);
      case 'nack':
        return this.onNack(msg);
      case 'alive':
        return this.onAlive(msg);
      case 'suspect':
        return this.onSuspect(msg);
      case 'dead':
        return this.onDead(msg);
      case 'left':
        return this.onLeft(msg);
      default:
        return;
    }
  }

  private onPing(msg: PingMessage): void {
    // A ping meant for another node (an address reused after a restart) gets no ack.
    if (msg.id !== '' && msg.id !== this.self.id) return;
    const ack: AckMessage = { t: 'ack', seq: msg.seq, from: this.self.id };
    this.sendPacket(msg.src, [ack]);
  }

  private onPingReq(msg: PingReqMessage): void {
    const seq = this.nextSeq();
    const relay: Relay = { kind: 'relay', seq: msg.seq, requester: msg.src, timers: [] };
    this.pending.set(seq, relay);
    this.sendPacket(msg.addr, [{ t: 'ping', seq, id: msg.id, from: this.self.id, src: this.self.addr }]);
    relay.timers.push(
      this.guarded.schedule(Math.floor(this.t.probeTimeoutMs * 0.8), () => {
        if (this.pending.get(seq) !== relay) return;
        const nack: NackMessage = { t: 'nack', seq: msg.seq, from: this.self.id };
        this.sendPacket(msg.src, [nack]);
      }),
    );
    relay.timers.push(this.guarded.schedule(this.t.probeIntervalMs, () => this.pending.delete(seq)));
  }

  private onAck(msg: AckMessage): void {
    const p = this.pending.get(msg.seq);
    if (!p) return;
    this.pending.delete(msg.seq);
    for (const timer of p.timers) timer.cancel();
    if (p.kind === 'relay') {
      this.sendPacket(p.requester, [{ t: 'ack', seq: p.seq, from: this.self.id }]);
      return;
    }
    p.acked = true;
    this.counters.acks++;
    if (this.scheduler.now() - p.startedAt <= p.timeout) this.health.apply(-1);
  }

  private onNack(msg: NackMessage): void {
    const p = this.pending.get(msg.seq);
    if (p?.kind !== 'probe') return;
    this.counters.nacks++;
    p.nacks++;
  }

  private add(info: NodeInfo, inc: number, state: Liveness): MemberRecord {
    const m: MemberRecord = {
      id: info.id,
      inst: info.inst,
      addr: info.addr,
      zone: info.zone,
      meta: info.meta,
      inc,
      state,
      since: this.scheduler.now(),
    };
    this.members.set(m.id, m);
    if (state !== 'alive') this.rare[state].add(m.id);
    if (state === 'alive' || state === 'suspect') this.live++;
    // Insert at a random place in the probe order so new members are probed soon but not all at once.
    const at = this.probeIndex + randomInt(this.random, this.probeList.length - this.probeIndex + 1);
    this.probeList.splice(at, 0, m.id);
    return m;
  }

  private setState(m: MemberRecord, state: Liveness): Liveness {
    const prev = m.state;
    if (prev === state) return prev;
    const wasLive = prev === 'alive' || prev === 'suspect';
    const isLive = state === 'alive' || state === 'suspect';
    if (wasLive && !isLive) this.live--;
    if (!wasLive && isLive) this.live++;
    if (m !== this.self) {
      if (prev !== 'alive') this.rare[prev].delete(m.id);
      if (state !== 'alive') this.rare[state].add(m.id);
    }
    m.state = state;
    m.since = this.scheduler.now();
    return prev;
  }

  private cancelSuspicion(id: string): void {
    const s = this.suspicions.get(id);
    if (s) {
      s.cancel();
      this.suspicions.delete(id);
    }
  }

  private refute(inc: number): void {
    this.self.inc = Math.max(this.self.inc, inc) + 1;
    this.counters.refutations++;
    this.health.apply(1);
    this.broadcasts.enqueue(this.self.id, this.aliveMessage());
  }

  onAlive(msg: AliveMessage): void {
    if (msg.id === this.self.id) {
      if (this.leaving || msg.inc < this.self.inc) return;
      const s = this.self;
      if (msg.inc === s.inc && msg.inst === s.inst && msg.addr === s.addr && sameMeta(msg.meta, s.meta))
        return;
      // Someone holds a claim about this id at least as new as ours (an older process of ours): outbid it.
      this.refute(msg.inc);
      return;
    }
    const m = this.members.get(msg.id);
    if (!m) {
      const added = this.add(msg, msg.inc, 'alive');
      this.broadcasts.enqueue(msg.id, msg);
      this.hooks.changed(added, undefined);
      return;
    }
    if (msg.inc <= m.inc) return;
    m.inc = msg.inc;
    m.inst = msg.inst;
    m.addr = msg.addr;
    m.zone = msg.zone;
    m.meta = msg.meta;
    this.cancelSuspicion(m.id);
    const prev = this.setState(m, 'alive');
    this.broadcasts.enqueue(msg.id, msg);
    this.hooks.changed(m, prev);
  }

  /**
   * Someone still accuses an older incarnation of this node: its refutation
   * did not reach everyone. Send the current one around again.
   */
  private reassert(): void {
    if (!this.leaving && !this.broadcasts.has(this.self.id))
      this.broadcasts.enqueue(this.self.id, this.aliveMessage());
  }

  onSuspect(msg: SuspectMessage): void {
    const m = this.members.get(msg.id);
    if (m === this.self && msg.inc < m.inc) return this.reassert();
    if (!m || msg.inc < m.inc) return;
    const s = this.suspicions.get(msg.id);
    if (s) {
      if (s.confirm(msg.from)) this.broadcasts.enqueue(msg.id, msg);
      return;
    }
    if (m.state !== 'alive') return;
    if (m === this.self) {
      if (!this.leaving) this.refute(msg.inc);
      return;
    }
    this.broadcasts.enqueue(msg.id, msg);
    m.inc = msg.inc;
    const prev = this.setState(m, 'suspect');
    const [min, max] = suspicionBounds(this.t, this.live);
    const k = Math.min(this.t.suspicionConfirmations, Math.max(0, this.live - 2));
    const inc = msg.inc;
    this.suspicions.set(
      m.id,
      new Suspicion(this.guarded, msg.from, k, min, max, () => this.suspicionExpired(m, inc)),
    );
    this.hooks.changed(m, prev);
  }

  private suspicionExpired(m: MemberRecord, inc: number): void {
    if (this.stopped || this.members.get(m.id) !== m || m.state !== 'suspect' || m.inc !== inc) return;
    if (this.stalled) {
      // Frozen: read what arrived meanwhile (a refutation, likely) before accusing anyone.
      this.suspicions.get(m.id)?.defer(this.stalledUntil - this.scheduler.now() + 1);
      return;
    }
    this.counters.deathsDeclared++;
    this.onDead({ t: 'dead', id: m.id, inc, from: this.self.id });
  }

  onDead(msg: DeadMessage): void {
    const m = this.members.get(msg.id);
    if (m === this.self && msg.inc < m.inc) return this.reassert();
    if (!m || msg.inc < m.inc || m.state === 'dead' || m.state === 'left') return;
    if (m === this.self) {
      if (!this.leaving) this.refute(msg.inc);
      return;
    }
    this.cancelSuspicion(m.id);
    this.broadcasts.enqueue(msg.id, msg);
    m.inc = msg.inc;
    const prev = this.setState(m, 'dead');
    this.hooks.changed(m, prev);
  }

  onLeft(msg: LeftMessage): void {
    const m = this.members.get(msg.id);
    if (!m || msg.inc < m.inc || m.state === 'left') return;
    if (m === this.self) {
      if (!this.leaving) this.refute(msg.inc);
      return;
    }
    this.cancelSuspicion(m.id);
    this.broadcasts.enqueue(msg.id, msg);
    m.inc = msg.inc;
    const prev = this.setState(m, 'left');
    this.hooks.changed(m, prev);
  }

  /**
   * Merges a peer's full state. A peer's DEAD becomes a suspicion here (this
   * node judges for itself); unknown DEAD or LEFT nodes are recorded as such,
   * so view members nobody has heard from still show up, and are reaped later.
   */
  merge(entries: readonly MemberEntry[]): void {
    for (const e of entries) {
      const known = this.members.get(e.id);
      switch (e.state) {
        case 'alive':
          this.onAlive({
            t: 'alive',
            id: e.id,
            inst: e.inst,
            addr: e.addr,
            zone: e.zone,
            meta: e.meta,
            inc: e.inc,
          });
          break;
        case 'left':
          if (!known && e.id !== this.self.id) this.hooks.changed(this.add(e, e.inc, 'left'), undefined);
          else this.onLeft({ t: 'left', id: e.id, inc: e.inc });
          break;
        case 'suspect':
        case 'dead':
          if (!known && e.id !== this.self.id) {
            if (e.state === 'dead') {
              this.hooks.changed(this.add(e, e.inc, 'dead'), undefined);
              break;
            }
            this.hooks.changed(this.add(e, e.inc, 'alive'), undefined);
          }
          this.onSuspect({ t: 'suspect', id: e.id, inc: e.inc, from: this.self.id });
          break;
      }
    }
  }

  /**
   * Starting knowledge without news: records every entry as given, builds the
   * probe order once and gossips nothing (the simulator starts big clusters so).
   */
  preload(entries: readonly MemberEntry[]): void {
    const now = this.scheduler.now();
    for (const e of entries) {
      if (e.id === this.self.id || this.members.has(e.id)) continue;
      const m: MemberRecord = {
        id: e.id,
        inst: e.inst,
        addr: e.addr,
        zone: e.zone,
        meta: e.meta,
        inc: e.inc,
        state: e.state,
        since: now,
      };
      this.members.set(e.id, m);
      if (e.state !== 'alive') this.rare[e.state].add(e.id);
      if (e.state === 'alive' || e.state === 'suspect') this.live++;
    }
    this.resetProbeList();
  }

  /** Records a node known only from a view (nothing heard yet) as DEAD until it is heard from. */
  learnFromView(info: NodeInfo): void {
    if (this.members.has(info.id)) return;
    this.hooks.changed(this.add(info, 0, 'dead'), undefined);
  }
}
