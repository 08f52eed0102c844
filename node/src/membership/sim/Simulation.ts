import { decodePacket, decodeStream, encodePacket, encodeStream, MalformedMessageError } from '../codec.js';
import type { MemberRecord } from '../FailureDetector.js';
import { Membership } from '../Membership.js';
import { DEFAULT_MEMBERSHIP_TIMINGS, type MembershipTimings } from '../MembershipOptions.js';
import type { Ballot, GossipMessage, Liveness, StreamMessage, View } from '../messages.js';
import type { Scheduler, SeedResolver, Timer } from '../runtime.js';
import { SeededRandom } from '../SeededRandom.js';
import { StaticSeeds } from '../StaticSeeds.js';
import { majority, membersById, viewFingerprint } from '../View.js';
import type { PayloadHook, ViewObserver } from '../ViewProtocol.js';
import { EventQueue, type SimEvent } from './EventQueue.js';

export interface SimulationOptions {
  nodes: number;
  seed: number;
  timings?: Partial<MembershipTimings>;
  /** One-way latency range in ms; each message draws its own (so messages reorder). */
  latencyMs?: [number, number];
  /** Probability that a UDP packet is lost (TCP streams are not lost, only cut by partitions and crashes). */
  loss?: number;
  /** How many nodes (the first ones) are in the seed list. */
  seeds?: number;
  /** Pass every message through the wire codec (validates what the core sends; slower). */
  encode?: boolean;
  /** Start as one formed cluster (everyone knows everyone, one committed view) instead of joining. */
  preformed?: boolean;
  payload?: PayloadHook;
  /** Each node's seed resolver (default: the first `seeds` addresses, static). */
  resolver?: (node: SimNode, sim: Simulation) => SeedResolver;
}

function viewKey(view: View): string {
  return `${view.cluster}|${view.epoch}`;
}

export interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly addr: string;
  membership: Membership | undefined;
  /** Bumped on each crash: timers and deliveries of an older process are dropped. */
  gen: number;
  pausedUntil: number;
  inst: number;
  sentPackets: number;
  sentStreams: number;
  sentMessages: number;
}

interface AcceptRecord {
  fingerprint: string;
  acceptors: Set<string>;
  firstAt: number;
}

/**
 * An in-process cluster on a virtual clock: the real membership code over a
 * simulated network that loses, delays, reorders and partitions, with crashes,
 * restarts and freezes. Checks the view invariants as it runs: every
 * committed view was accepted by a majority of its predecessor under one
 * ballot, no two different views share an epoch, nodes only adopt committed
 * views, and (while a partition holds) only a side holding a majority of the
 * previous view commits.
 */
export class Simulation {
  readonly queue = new EventQueue();
  readonly nodes: SimNode[] = [];
  readonly violations: string[] = [];
  readonly timings: MembershipTimings;
  /** Committed views by `cluster|epoch`. */
  readonly commits = new Map<string, { fingerprint: string; view: View; at: number }>();
  /** The most recently committed view. */
  lastCommitted: View | undefined;
  /** Clusters bootstrapped (epoch 1 created alone). */
  genesisCount = 0;
  private readonly accepts = new Map<string, AcceptRecord>();
  private readonly byAddr = new Map<string, SimNode>();
  private readonly net: SeededRandom;
  private readonly nodeRandom: SeededRandom;
  private group: number[];
  private partitionChangedAt = 0;
  loss: number;
  private readonly latency: [number, number];
  readonly seedAddrs: string[];
  private readonly deadListeners: ((observer: SimNode, record: MemberRecord) => void)[] = [];
  private readonly livenessListeners: ((
    observer: SimNode,
    record: MemberRecord,
    prev: Liveness | undefined,
  ) => void)[] = [];
  private readonly viewListeners: ((node: SimNode, view: View) => void)[] = [];
  commitCount = 0;
  /** Called (once each, then dropped) when an acceptor accepts a proposal: lets schedules strike mid-proposal. */
  readonly onNextAccept: ((acceptor: string, ballot: Ballot, view: View) => void)[] = [];

  constructor(readonly options: SimulationOptions) {
    this.timings = { ...DEFAULT_MEMBERSHIP_TIMINGS, ...options.timings };
    const root = new SeededRandom(options.seed);
    this.net = root.fork();
    this.nodeRandom = root.fork();
    this.loss = options.loss ?? 0;
    this.latency = options.latencyMs ?? [0.2, 2];
    for (let i = 0; i < options.nodes; i++) {
      const node: SimNode = {
        index: i,
        id: `n${i}`,
        addr: `n${i}:7946`,
        membership: undefined,
        gen: 0,
        pausedUntil: 0,
        inst: 0,
        sentPackets: 0,
        sentStreams: 0,
        sentMessages: 0,
      };
      this.nodes.push(node);
      this.byAddr.set(node.addr, node);
    }
    this.group = this.nodes.map(() => 0);
    this.seedAddrs = this.nodes.slice(0, Math.max(1, options.seeds ?? 3)).map((n) => n.addr);
  }

  get now(): number {
    return this.queue.now;
  }

  // ------------------------------------------------------------ observers

  onDeadMark(fn: (observer: SimNode, record: MemberRecord) => void): void {
    this.deadListeners.push(fn);
  }

  onLiveness(fn: (observer: SimNode, record: MemberRecord, prev: Liveness | undefined) => void): void {
    this.livenessListeners.push(fn);
  }

  onViewAdopted(fn: (node: SimNode, view: View) => void): void {
    this.viewListeners.push(fn);
  }

  private violation(what: string): void {
    if (this.violations.length < 50) this.violations.push(`t=${Math.round(this.now)}ms: ${what}`);
  }

  private readonly observer: ViewObserver = {
    accepted: (node: string, inst: number, ballot: Ballot, view: View) => {
      const key = `${view.cluster}|${view.epoch}|${ballot.n}|${ballot.id}`;
      const fp = viewFingerprint(view);
      let rec = this.accepts.get(key);
      if (!rec) {
        rec = { fingerprint: fp, acceptors: new Set(), firstAt: this.now };
        this.accepts.set(key, rec);
      } else if (rec.fingerprint !== fp) {
        this.violation(`two values accepted under one ballot ${key}`);
      }
      rec.acceptors.add(`${node}@${inst}`);
      const hooks = this.onNextAccept.splice(0);
      for (const h of hooks) h(node, ballot, view);
    },
    committed: (view: View, prev: View | undefined, by: string) => {
      this.commitCount++;
      const fp = viewFingerprint(view);
      const seen = this.commits.get(viewKey(view));
      if (seen && seen.fingerprint !== fp) {
        this.violation(`two different views committed at epoch ${view.epoch}`);
      }
      if (!seen) this.commits.set(viewKey(view), { fingerprint: fp, view, at: this.now });
      this.lastCommitted = view;
      if (!prev) {
        this.genesisCount++;
        if (view.epoch !== 1 || view.members.length !== 1)
          this.violation(`a genesis view that is not epoch 1 alone`);
        return;
      }
      if (prev.epoch !== view.epoch - 1 || prev.cluster !== view.cluster) {
        this.violation(`view ${view.epoch} built on epoch ${prev.epoch}`);
      }
      const prevCommit = this.commits.get(viewKey(prev));
      if (!prevCommit) this.violation(`view ${view.epoch} built on an uncommitted view`);
      else if (prevCommit.fingerprint !== viewFingerprint(prev)) {
        this.violation(`view ${view.epoch} built on a different view ${prev.epoch}`);
      }
      // Independently of the decider's count: some ballot's acceptors from prev form a majority.
      const voters = new Set(prev.members.map((m) => `${m.id}@${m.inst}`));
      let best: AcceptRecord | undefined;
      let bestCount = 0;
      for (const [key, rec] of this.accepts) {
        if (!key.startsWith(`${viewKey(view)}|`) || rec.fingerprint !== fp) continue;
        let count = 0;
        for (const a of rec.acceptors) if (voters.has(a)) count++;
        if (count > bestCount) {
          bestCount = count;
          best = rec;
        }
      }
      if (bestCount < majority(prev)) {
        this.violation(
          `view ${view.epoch} committed with ${bestCount} of ${prev.members.length} acceptances`,
        );
      }
      // A side without a majority of prev never commits a proposal it put to vote while partitioned.
      if (best && best.firstAt > this.partitionChangedAt) {
        const deciderGroup = this.group[this.nodeById(by).index];
        const onSide = prev.members.filter(
          (m) => this.group[this.nodeById(m.id).index] === deciderGroup,
        ).length;
        if (onSide < majority(prev)) this.violation(`minority side committed view ${view.epoch}`);
      }
    },
    adopted: (node: string, view: View) => {
      const c = this.commits.get(viewKey(view));
      if (!c) this.violation(`${node} adopted uncommitted view ${view.epoch}`);
      else if (c.fingerprint !== viewFingerprint(view))
        this.violation(`${node} adopted a forged view ${view.epoch}`);
      const n = this.nodeById(node);
      for (const l of this.viewListeners) l(n, view);
    },
    conflict: (node: string, mine: View) => {
      this.violation(`${node} saw two views at epoch ${mine.epoch}`);
    },
  };

  nodeById(id: string): SimNode {
    return this.nodes[Number(id.slice(1))]!;
  }

  // ------------------------------------------------------------ network

  private readonly blocked = new Set<string>();
  /** Extra loss of packets arriving at each node. */
  private readonly inboundLoss = new Map<number, number>();

  private reachable(a: SimNode, b: SimNode): boolean {
    if (this.blocked.size > 0 && this.blocked.has(`${a.index}>${b.index}`)) return false;
    return this.group[a.index] === this.group[b.index];
  }

  /** Cuts (or restores) the direct link between two nodes, both ways; others still reach both. */
  blockLink(a: number, b: number, blocked = true): void {
    for (const k of [`${a}>${b}`, `${b}>${a}`]) {
      if (blocked) this.blocked.add(k);
      else this.blocked.delete(k);
    }
  }

  /** Drops this fraction of the UDP packets sent to node `i` (on top of the global loss). */
  setInboundLoss(i: number, p: number): void {
    if (p > 0) this.inboundLoss.set(i, p);
    else this.inboundLoss.delete(i);
  }

  private delay(): number {
    const [lo, hi] = this.latency;
    return lo + this.net.next() * (hi - lo);
  }

  private deliver(from: SimNode, to: SimNode | undefined, at: number, fn: (m: Membership) => void): void {
    if (!to) return;
    const gen = to.gen;
    const run = (): void => {
      if (to.gen !== gen || !to.membership) return;
      if (!this.reachable(from, to)) return;
      if (to.pausedUntil > this.now) {
        this.queue.push(to.pausedUntil, run);
        return;
      }
      fn(to.membership);
    };
    this.queue.push(at, run);
  }

  private transportFor(node: SimNode) {
    return {
      sendPacket: (to: string, msgs: readonly GossipMessage[]) => {
        node.sentPackets++;
        node.sentMessages += msgs.length;
        const dest = this.byAddr.get(to);
        if (!dest || !this.reachable(node, dest)) return;
        if (this.loss > 0 && this.net.next() < this.loss) return;
        const extra = this.inboundLoss.get(dest.index);
        if (extra !== undefined && this.net.next() < extra) return;
        let payload = msgs;
        if (this.options.encode) {
          const buf = encodePacket(msgs);
          if (buf.length > this.timings.maxPacketBytes)
            this.violation(`${node.id} sent a ${buf.length}-byte packet`);
          try {
            payload = decodePacket(buf, this.timings.maxPacketBytes);
          } catch (err) {
            this.violation(`${node.id} sent an invalid packet: ${(err as Error).message}`);
            return;
          }
        }
        this.deliver(node, dest, this.now + this.delay(), (m) => m.handlePacket(payload));
      },
      sendStream: (to: string, msg: StreamMessage) => {
        node.sentStreams++;
        node.sentMessages++;
        const dest = this.byAddr.get(to);
        if (!dest || !this.reachable(node, dest)) return;
        let payload = msg;
        if (this.options.encode) {
          try {
            payload = decodeStream(encodeStream(msg), this.timings.maxStreamBytes);
          } catch (err) {
            if (err instanceof MalformedMessageError) {
              this.violation(`${node.id} sent an invalid ${msg.t}: ${err.message}`);
              return;
            }
            throw err;
          }
        }
        // A connection handshake and the message: about two one-way trips.
        this.deliver(node, dest, this.now + this.delay() * 2, (m) => m.handleStream(payload));
      },
    };
  }

  private schedulerFor(node: SimNode): Scheduler {
    const q = this.queue;
    return {
      now: () => q.now,
      schedule: (delayMs: number, fn: () => void): Timer => {
        const gen = node.gen;
        const handle: { ev: SimEvent } = { ev: undefined as unknown as SimEvent };
        const run = (): void => {
          if (node.gen !== gen) return;
          if (node.pausedUntil > q.now) {
            handle.ev = q.push(node.pausedUntil, run);
            return;
          }
          fn();
        };
        handle.ev = q.push(q.now + Math.max(0, delayMs), run);
        return {
          cancel: () => {
            handle.ev.cancelled = true;
          },
        };
      },
    };
  }

  // ------------------------------------------------------------ faults

  /** Starts (or restarts, as a new process instance) node `i`. */
  start(i: number, prepare?: (m: Membership) => void): Membership {
    const node = this.nodes[i]!;
    if (node.membership) return node.membership;
    node.gen++;
    node.pausedUntil = 0;
    node.inst = Math.floor(this.now) + 1;
    const m = new Membership(
      {
        self: { id: node.id, inst: node.inst, addr: node.addr, zone: `z${i % 3}`, meta: {} },
        timings: this.options.timings,
      },
      {
        scheduler: this.schedulerFor(node),
        random: this.nodeRandom.fork(),
        transport: this.transportFor(node),
        seeds: this.options.resolver?.(node, this) ?? new StaticSeeds(this.seedAddrs),
        payload: this.options.payload,
        observer: this.observer,
      },
    );
    m.onLiveness((record, prev) => {
      for (const l of this.livenessListeners) l(node, record, prev);
      if (record.state === 'dead') for (const l of this.deadListeners) l(node, record);
    });
    node.membership = m;
    prepare?.(m);
    m.start();
    return m;
  }

  /**
   * Starts every node as one formed cluster without running the join
   * protocol (for large clusters): each knows all others ALIVE and holds
   * the same committed view of all.
   */
  startFormed(): void {
    const inst = Math.floor(this.now) + 1;
    const members = this.nodes.map((n) => ({
      id: n.id,
      inst,
      addr: n.addr,
      zone: `z${n.index % 3}`,
      meta: {},
    }));
    const view: View = {
      cluster: `${members[0]!.id}@${inst}`,
      epoch: 1,
      members,
      decider: members[0]!.id,
      removed: [],
      payload: null,
    };
    this.commits.set(viewKey(view), { fingerprint: viewFingerprint(view), view, at: this.now });
    this.lastCommitted = view;
    this.genesisCount++;
    const entries = members.map((m) => ({ ...m, inc: 1, state: 'alive' as const }));
    for (const node of this.nodes) {
      this.start(node.index, (m) => {
        m.detector.preload(entries);
        m.protocol.adopt(view);
        // Starting knowledge is not news: nothing to gossip.
        m.detector.broadcasts.drop('\u0000epoch');
      });
    }
  }

  startAll(staggerMs = 0): void {
    for (const n of this.nodes) {
      if (staggerMs === 0) this.start(n.index);
      else this.queue.push(this.now + this.net.next() * staggerMs, () => this.start(n.index));
    }
  }

  crash(i: number): void {
    const node = this.nodes[i]!;
    node.membership?.stop();
    node.membership = undefined;
    node.gen++;
  }

  /** Graceful leave, then the process stops after `afterMs`. */
  leave(i: number, afterMs: number): void {
    const node = this.nodes[i]!;
    const m = node.membership;
    if (!m) return;
    m.leave();
    const gen = node.gen;
    this.queue.push(this.now + afterMs, () => {
      if (node.gen === gen) this.crash(i);
    });
  }

  /** Freezes node `i` for `ms` (like SIGSTOP): its timers and deliveries wait. */
  pause(i: number, ms: number): void {
    const node = this.nodes[i]!;
    node.pausedUntil = Math.max(node.pausedUntil, this.now + ms);
  }

  /** Splits the network: nodes in different groups cannot reach each other. Unlisted nodes join group 0. */
  partition(groups: number[][]): void {
    this.group = this.nodes.map(() => 0);
    groups.forEach((g, gi) => g.forEach((i) => (this.group[i] = gi)));
    this.partitionChangedAt = this.now;
  }

  heal(): void {
    this.group = this.nodes.map(() => 0);
    this.partitionChangedAt = this.now;
  }

  get partitioned(): boolean {
    return this.group.some((g) => g !== 0);
  }

  groupOf(i: number): number {
    return this.group[i]!;
  }

  run(ms: number, stop?: () => boolean): void {
    this.queue.runUntil(this.now + ms, stop);
  }

  /** Runs until `cond` holds (checked every `everyMs`) or `maxMs` passes; true if it held. */
  runUntil(cond: () => boolean, maxMs: number, everyMs = 100): boolean {
    const end = this.now + maxMs;
    while (this.now < end) {
      if (cond()) return true;
      this.run(Math.min(everyMs, end - this.now));
    }
    return cond();
  }

  // ------------------------------------------------------------ state

  running(): SimNode[] {
    return this.nodes.filter((n) => n.membership !== undefined);
  }

  /**
   * Every running node holds the same committed view, and that view's members
   * are exactly the running nodes (as their current process instances).
   */
  converged(ignore?: (n: SimNode) => boolean): boolean {
    const live = this.running().filter((n) => !ignore?.(n));
    if (live.length === 0) return true;
    const v = live[0]!.membership!.view;
    if (!v) return false;
    const fp = viewFingerprint(v);
    for (const n of live) {
      const w = n.membership!.view;
      if (!w || (w !== v && viewFingerprint(w) !== fp)) return false;
    }
    if (v.members.length !== live.length) return false;
    const byId = membersById(v);
    return live.every((n) => byId.get(n.id)?.inst === n.inst);
  }

  /** Every running node holds the same committed view (whatever its members). */
  agreed(ignore?: (n: SimNode) => boolean): boolean {
    const live = this.running().filter((n) => !ignore?.(n));
    const first = live[0]?.membership?.view;
    if (!first) return live.length === 0;
    const fp = viewFingerprint(first);
    return live.every((n) => {
      const w = n.membership!.view;
      return w !== undefined && (w === first || viewFingerprint(w) === fp);
    });
  }

  /** The epoch of the most recently committed view. */
  get maxEpoch(): number {
    return this.lastCommitted?.epoch ?? 0;
  }
}
