import { SLOT_COUNT } from '@meshcache/proto';
import type { Random, Scheduler, Timer } from '../membership/runtime.js';
import { type AntiEntropyOptions, validateAntiEntropyOptions } from './AntiEntropyOptions.js';
import { AntiEntropyResponder } from './AntiEntropyResponder.js';
import { AntiEntropyRound, type AntiEntropyPeer, type RoundReport } from './AntiEntropyRound.js';
import { AntiEntropySchedule, type RoundOutcome, scheduleKey } from './AntiEntropySchedule.js';
import { type AntiEntropyStats, newAntiEntropyStats } from './AntiEntropyStats.js';
import { RoundLedger } from './RoundLedger.js';
import type { ReplicaStore } from './scanSource.js';

/** Which of a round's four requests a transport message carries (the replica protocol's `level`). */
export const AntiEntropyCall = {
  DIGESTS: 0,
  SLOTS: 1,
  FETCH: 2,
  PUSH: 3,
} as const;
export type AntiEntropyCall = (typeof AntiEntropyCall)[keyof typeof AntiEntropyCall];

/** What the service reads of the committed placement and of this node's fill state. */
export interface AntiEntropyPlacement {
  /** Whether the node has a committed table of the factor (before it, nothing is known about replicas). */
  hasTable(replicationFactor: number): boolean;
  /** The slot's committed replicas, primary first (empty without a table). */
  replicas(replicationFactor: number, slot: number): readonly string[];
  /** Whether `id` is one of the slot's committed replicas. */
  holds(replicationFactor: number, slot: number, id: string): boolean;
  /** Whether the slot is moving (its transfer, not anti-entropy, brings the new replicas up to date). */
  isPending(replicationFactor: number, slot: number): boolean;
  /** Whether this node holds a complete copy of the slot (filled; not bootstrapping or joining). */
  isFilled(replicationFactor: number, slot: number): boolean;
  /** Whether the member may answer (ALIVE or SUSPECT). */
  isLive(id: string): boolean;
  /** Members of the committed view other than this node. */
  peers(): readonly string[];
}

/** Carries a round's requests to a peer and brings back its answers (bytes both ways). */
export interface AntiEntropyTransport {
  request(peer: string, call: AntiEntropyCall, cache: string, payload: Uint8Array): Promise<Uint8Array>;
}

/** A replicated cache as anti-entropy sees it. */
export interface AntiEntropyCache {
  name: string;
  replicationFactor: number;
  store: ReplicaStore;
}

export interface AntiEntropyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface AntiEntropyServiceDeps {
  nodeId: string;
  options: Readonly<AntiEntropyOptions>;
  tombstoneGraceMs: number;
  /** The replicated caches (factor above 1); single-copy caches have nothing to compare. */
  caches: readonly AntiEntropyCache[];
  placement: AntiEntropyPlacement;
  transport: AntiEntropyTransport;
  /** Epoch ms: tombstone write times and expiries are in it. */
  wallClock(): number;
  random: Random;
  /** Round timers and the responder's session timeouts. */
  scheduler: Scheduler;
  yieldTurn(): Promise<void>;
  log: AntiEntropyLog;
  /**
   * Rounds this node runs at once. Each scans the whole cache on both sides,
   * so by default one at a time: rounds with several peers queue instead of
   * competing with client traffic together.
   */
  maxConcurrentRounds?: number;
}

/** The last round this node ran with a peer for a cache, as /v1/info shows it. */
export interface LastRound {
  startedAt: string;
  durationMs: number;
  outcome: RoundOutcome | 'idle';
  slots: number;
  rangesCompared: number;
  differences: number;
  keysPulled: number;
  keysPushed: number;
  bytesSent: number;
  bytesReceived: number;
  error?: string;
}

interface Loop {
  readonly key: string;
  readonly peer: string;
  readonly cache: AntiEntropyCache;
  timer: Timer | undefined;
  nextAtMs: number;
  running: boolean;
  stopped: boolean;
  last: LastRound | undefined;
  /** Failures in a row (only the first of a run is logged as a warning). */
  failures: number;
}

/**
 * Anti-entropy on one node: rounds it runs with its peers, and the answers
 * to rounds they run with it.
 *
 * One loop per (peer, cache) for the peers with a larger id than this node:
 * each pair of replicas is compared by one side only (half the traffic of
 * both running rounds). That suffices for the tombstone purge rule because a
 * round counts in both nodes' ledgers: the responder records it too when it
 * completes. A loop's rounds follow AntiEntropySchedule (the minimum interval
 * after a repair, doubling to the maximum while clean or failing).
 *
 * A round compares only the slots both nodes replicate in the committed
 * placement, that are not moving (a transfer fills the new replicas; the
 * slot's copies are compared once it is cut over), and that this node has
 * filled: a replica that is still bootstrapping or joining is not complete,
 * and repairing into or from it as if it were would report differences that
 * its fill is about to remove anyway. The peer narrows the slots by the same
 * rules from its side (its own fill state and view).
 */
export class AntiEntropyService {
  readonly stats: AntiEntropyStats = newAntiEntropyStats();
  readonly ledger: RoundLedger;
  readonly responder: AntiEntropyResponder;
  private readonly round: AntiEntropyRound;
  private readonly schedule: AntiEntropySchedule;
  private readonly loops = new Map<string, Loop>();
  private readonly byName = new Map<string, AntiEntropyCache>();
  private readonly knownPeers = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private readonly maxConcurrent: number;
  private active = 0;
  private started = false;

  constructor(private readonly d: AntiEntropyServiceDeps) {
    validateAntiEntropyOptions(d.options, d.tombstoneGraceMs);
    for (const c of d.caches) this.byName.set(c.name, c);
    this.maxConcurrent = d.maxConcurrentRounds ?? 1;
    this.ledger = new RoundLedger(d.nodeId, (cache, slot) => this.replicasOf(cache, slot), this.stats);
    this.round = new AntiEntropyRound({
      nodeId: d.nodeId,
      wallClock: d.wallClock,
      random: d.random,
      yieldTurn: d.yieldTurn,
      options: d.options,
      tombstoneGraceMs: d.tombstoneGraceMs,
      stats: this.stats,
      ledger: this.ledger,
    });
    this.responder = new AntiEntropyResponder({
      nodeId: d.nodeId,
      store: (cache) => this.byName.get(cache)?.store,
      sharedSlots: (cache, peer) => this.sharedSlots(cache, peer),
      scheduler: d.scheduler,
      wallClock: d.wallClock,
      yieldTurn: d.yieldTurn,
      options: d.options,
      stats: this.stats,
      ledger: this.ledger,
    });
    this.schedule = new AntiEntropySchedule(d.options, d.random);
  }

  /** Starts the loops of the current view (call refresh after every view change). */
  start(): void {
    this.started = true;
    this.refresh();
  }

  stop(): void {
    this.started = false;
    for (const loop of this.loops.values()) this.stopLoop(loop);
    this.loops.clear();
    this.responder.close();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Brings the loops in line with the committed view: one per peer this node
   * starts rounds with and replicated cache. A peer that left the view is
   * forgotten by the ledger (should it come back, it must be covered anew).
   */
  refresh(): void {
    const peers = new Set(this.d.placement.peers());
    for (const p of this.knownPeers) {
      if (!peers.has(p)) {
        this.knownPeers.delete(p);
        this.ledger.forgetPeer(p);
      }
    }
    for (const p of peers) this.knownPeers.add(p);
    if (!this.started) return;
    const want = new Set<string>();
    for (const peer of peers) {
      if (!this.startsRoundsWith(peer)) continue;
      for (const cache of this.d.caches) {
        const key = scheduleKey(peer, cache.name);
        want.add(key);
        if (!this.loops.has(key)) this.startLoop(key, peer, cache);
      }
    }
    for (const [key, loop] of this.loops) {
      if (want.has(key)) continue;
      this.stopLoop(loop);
      this.loops.delete(key);
    }
  }

  /** Of each pair of replicas, the one with the smaller id runs the rounds. */
  startsRoundsWith(peer: string): boolean {
    return this.d.nodeId < peer;
  }

  /**
   * The slots of `cache` this node and `peer` both replicate in the committed
   * placement, not moving, and filled here (a mask). Empty for a cache that
   * is not replicated here or before a committed table.
   */
  sharedSlots(cache: string, peer: string): Uint8Array {
    const mask = new Uint8Array(SLOT_COUNT);
    const c = this.byName.get(cache);
    const pl = this.d.placement;
    if (c === undefined || peer === this.d.nodeId || !pl.hasTable(c.replicationFactor)) return mask;
    const rf = c.replicationFactor;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (
        pl.holds(rf, s, this.d.nodeId) &&
        pl.holds(rf, s, peer) &&
        !pl.isPending(rf, s) &&
        pl.isFilled(rf, s)
      )
        mask[s] = 1;
    }
    return mask;
  }

  /**
   * The store's purge hook: whether rounds allow purging a tombstone of
   * `cache`'s `slot` written (locally) at `writtenAtMs`. Never before this
   * node holds a committed table: without one it cannot know the replicas.
   */
  mayPurge(cache: string, slot: number, writtenAtMs: number): boolean {
    const c = this.byName.get(cache);
    if (c === undefined || !this.d.placement.hasTable(c.replicationFactor)) return false;
    return this.ledger.mayPurge(cache, slot, writtenAtMs);
  }

  /** Rounds running now: those this node runs and those it answers. */
  get activeRounds(): number {
    return this.active + this.responder.activeRounds;
  }

  /** What /v1/info shows. */
  info(): unknown {
    const now = this.d.wallClock();
    const o = this.d.options;
    return {
      enabled: true,
      minIntervalMs: o.antiEntropyMinIntervalMs,
      maxIntervalMs: o.antiEntropyMaxIntervalMs,
      stats: { ...this.stats },
      activeRounds: this.activeRounds,
      // Rounds this node runs (it has the smaller id of each pair).
      loops: [...this.loops.values()].map((l) => ({
        peer: l.peer,
        cache: l.cache.name,
        intervalMs: this.schedule.interval(l.key),
        nextInMs: l.running ? 0 : Math.max(0, Math.round(l.nextAtMs - now)),
        running: l.running,
        last: l.last ?? null,
      })),
      // Every pair with a completed round, whichever side ran it (what the tombstone purge rule reads).
      covered: this.coveredRounds().map((r) => ({
        ...r,
        startedAt: new Date(r.startedAtMs).toISOString(),
        ageMs: Math.round(r.ageMs),
      })),
    };
  }

  /** The latest completed round with each peer, per cache, and how long ago it started. */
  coveredRounds(): { peer: string; cache: string; startedAtMs: number; ageMs: number; slots: number }[] {
    const now = this.d.wallClock();
    return [...this.ledger.rounds()].map((r) => ({ ...r, ageMs: Math.max(0, now - r.startedAtMs) }));
  }

  private replicasOf(cache: string, slot: number): readonly string[] {
    const c = this.byName.get(cache);
    return c === undefined ? [] : this.d.placement.replicas(c.replicationFactor, slot);
  }

  private startLoop(key: string, peer: string, cache: AntiEntropyCache): void {
    const loop: Loop = {
      key,
      peer,
      cache,
      timer: undefined,
      nextAtMs: 0,
      running: false,
      stopped: false,
      last: undefined,
      failures: 0,
    };
    this.loops.set(key, loop);
    this.arm(loop, this.schedule.first(key));
  }

  private stopLoop(loop: Loop): void {
    loop.stopped = true;
    loop.timer?.cancel();
    loop.timer = undefined;
    this.schedule.forget(loop.key);
  }

  private arm(loop: Loop, delayMs: number): void {
    loop.nextAtMs = this.d.wallClock() + delayMs;
    loop.timer = this.d.scheduler.schedule(delayMs, () => {
      loop.timer = undefined;
      void this.tick(loop);
    });
  }

  private async tick(loop: Loop): Promise<void> {
    if (loop.stopped) return;
    loop.running = true;
    let outcome: RoundOutcome;
    try {
      outcome = await this.runOnce(loop);
    } finally {
      loop.running = false;
    }
    if (!loop.stopped) this.arm(loop, this.schedule.next(loop.key, outcome));
  }

  private async runOnce(loop: Loop): Promise<RoundOutcome> {
    const d = this.d;
    if (!d.placement.isLive(loop.peer)) {
      // A peer that cannot answer is not asked: the schedule backs off as for a failed round.
      loop.last = this.lastOf(d.wallClock(), 0, 'failed', undefined, 'peer is not live');
      return 'failed';
    }
    await this.acquire();
    const startedAt = d.wallClock();
    try {
      if (loop.stopped || !this.started) return 'failed';
      const slots = this.sharedSlots(loop.cache.name, loop.peer);
      if (!slots.includes(1)) {
        loop.last = this.lastOf(startedAt, 0, 'idle', undefined);
        return 'clean';
      }
      const report = await this.round.run(loop.cache.name, loop.cache.store, this.peerOf(loop), slots);
      const outcome: RoundOutcome = report.clean ? 'clean' : 'repaired';
      loop.last = this.lastOf(startedAt, d.wallClock() - startedAt, outcome, report);
      if (loop.failures > 0)
        d.log.info({ peer: loop.peer, cache: loop.cache.name }, 'anti-entropy rounds work again');
      loop.failures = 0;
      if (!report.clean) {
        d.log.info(
          {
            peer: loop.peer,
            cache: loop.cache.name,
            differences: report.differences,
            keysPulled: report.keysPulled,
            keysPushed: report.keysPushed,
          },
          'anti-entropy repaired differing slots',
        );
      }
      return outcome;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      loop.last = this.lastOf(startedAt, d.wallClock() - startedAt, 'failed', undefined, error);
      const fields = { peer: loop.peer, cache: loop.cache.name, error };
      if (loop.failures++ === 0) d.log.warn(fields, 'anti-entropy round failed');
      else d.log.debug(fields, 'anti-entropy round failed');
      return 'failed';
    } finally {
      this.release();
    }
  }

  private peerOf(loop: Loop): AntiEntropyPeer {
    const t = this.d.transport;
    const cache = loop.cache.name;
    const peer = loop.peer;
    return {
      id: peer,
      digests: (m) => t.request(peer, AntiEntropyCall.DIGESTS, cache, m),
      slotDigests: (m) => t.request(peer, AntiEntropyCall.SLOTS, cache, m),
      fetch: (m) => t.request(peer, AntiEntropyCall.FETCH, cache, m),
      push: (m) => t.request(peer, AntiEntropyCall.PUSH, cache, m),
    };
  }

  private lastOf(
    startedAtMs: number,
    durationMs: number,
    outcome: LastRound['outcome'],
    r: RoundReport | undefined,
    error?: string,
  ): LastRound {
    return {
      startedAt: new Date(startedAtMs).toISOString(),
      durationMs: Math.round(durationMs),
      outcome,
      slots: r?.slots ?? 0,
      rangesCompared: r?.rangesCompared ?? 0,
      differences: r?.differences ?? 0,
      keysPulled: r?.keysPulled ?? 0,
      keysPushed: r?.keysPushed ?? 0,
      bytesSent: r?.bytesSent ?? 0,
      bytesReceived: r?.bytesReceived ?? 0,
      ...(error !== undefined ? { error } : {}),
    };
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}
