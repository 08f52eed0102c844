import type { Scheduler, Timer } from '../membership/runtime.js';
import type { AntiEntropyOptions } from './AntiEntropyOptions.js';
import type { AntiEntropyStats } from './AntiEntropyStats.js';
import { AntiEntropyWireError } from './bytes.js';
import { applySlotEntries, writeSlotEntries } from './entries.js';
import { MerkleTree, sameDigest } from './MerkleTree.js';
import type { RoundLedger } from './RoundLedger.js';
import { buildSlotDigests } from './SlotDigests.js';
import type { ReplicaStore } from './scanSource.js';
import { intersectMasks, maskSlots, sameSlots } from './slotSet.js';
import {
  AnswerStatus,
  answerWriter,
  decodeDigestsRequest,
  decodeEntriesRequest,
  decodeSlotsRequest,
  encodeDigestsAnswer,
  encodePushAnswer,
  encodeRefusal,
  encodeSlotsAnswer,
  MessageKind,
} from './wire.js';

export interface AntiEntropyResponderDeps {
  nodeId: string;
  /** The cache's store, if this node holds a replicated cache of that name. */
  store(cache: string): ReplicaStore | undefined;
  /** The slots of the cache that this node and `peer` both replicate (a mask), as this node's placement has it. */
  sharedSlots(cache: string, peer: string): Uint8Array;
  /** Session timeouts. */
  scheduler: Scheduler;
  /** Epoch ms. */
  wallClock(): number;
  yieldTurn(): Promise<void>;
  options: Readonly<AntiEntropyOptions>;
  stats: AntiEntropyStats;
  ledger?: RoundLedger;
  /** Rounds served at once; more are answered BUSY (each holds a 256 KiB digest table while it compares). */
  maxSessions?: number;
  /** A round the initiator has not touched for this long is dropped. */
  sessionIdleMs?: number;
}

interface Session {
  roundId: string;
  from: string;
  cache: string;
  store: ReplicaStore;
  /** The slots accepted for the round. */
  slots: Uint8Array;
  cutoffMs: number;
  startedAtMs: number;
  /** Until the slot digests are asked for. */
  tree: MerkleTree | undefined;
  timer: Timer | undefined;
}

/**
 * Answers anti-entropy rounds that peers run with this node (see
 * AntiEntropyRound and wire.ts). A round is a session between its DIGESTS
 * request and its last PUSH: the slots accepted (those the peer asked for
 * that this node also shares with it), the cutoff, the digest tree until the
 * slot digests have been sent. When the round completes (equal roots, or
 * the last push applied), the ledger records it from this node's side, with
 * this node's own start time: its tombstones were in its digests, and the
 * initiator applied its entries of every differing slot before the last
 * push, so the initiator holds them too.
 *
 * Every answer is bytes; failures become refusals (a status and a reason),
 * never exceptions, so the transport just returns what it gets.
 */
export class AntiEntropyResponder {
  private readonly sessions = new Map<string, Session>();
  private readonly maxSessions: number;
  private readonly sessionIdleMs: number;

  constructor(private readonly deps: AntiEntropyResponderDeps) {
    this.maxSessions = deps.maxSessions ?? 8;
    this.sessionIdleMs = deps.sessionIdleMs ?? 60_000;
  }

  /** Rounds in progress. */
  get activeRounds(): number {
    return this.sessions.size;
  }

  /**
   * The four requests of a round. `sender` is the node the transport got the
   * request from (the replica stream's hello): when given, a round must come
   * from the node it names, and only that node may continue it, so a member
   * cannot repair another's round or run one under another's name.
   */
  digests(request: Uint8Array, sender?: string): Promise<Uint8Array> {
    return this.serve(request, MessageKind.DIGESTS_ANSWER, async () => {
      const d = this.deps;
      const m = decodeDigestsRequest(request);
      if (sender !== undefined && m.from !== sender)
        throw new AntiEntropyWireError(`round from ${m.from} arrived from ${sender}`);
      const store = d.store(m.cache);
      if (store === undefined)
        return encodeRefusal(
          MessageKind.DIGESTS_ANSWER,
          AnswerStatus.UNKNOWN_CACHE,
          `no replicated cache ${m.cache}`,
        );
      if (this.sessions.has(m.roundId))
        throw new AntiEntropyWireError(`round ${m.roundId} has already begun`);
      if (this.sessions.size >= this.maxSessions) {
        return encodeRefusal(
          MessageKind.DIGESTS_ANSWER,
          AnswerStatus.BUSY,
          `${this.sessions.size} rounds in progress`,
        );
      }
      const slots = intersectMasks(m.slots, d.sharedSlots(m.cache, m.from));
      const narrowed = !sameSlots(slots, m.slots);
      const session: Session = {
        roundId: m.roundId,
        from: m.from,
        cache: m.cache,
        store,
        slots,
        cutoffMs: m.cutoffMs,
        startedAtMs: d.wallClock(),
        tree: undefined,
        timer: undefined,
      };
      // Held from here, so concurrent requests count against maxSessions while this one scans.
      this.sessions.set(m.roundId, session);
      try {
        const digests = await buildSlotDigests(
          store,
          slots,
          m.cutoffMs,
          m.seed,
          d.options.antiEntropyScanWork,
          d.yieldTurn,
          m.tombstoneHorizonMs,
        );
        d.stats.itemsDigested += digests.items;
        session.tree = new MerkleTree(digests, maskSlots(slots), m.leafSlots);
      } catch (err) {
        this.end(session);
        throw err;
      }
      const tree = session.tree;
      if (!narrowed && sameDigest(tree.root, m.root)) {
        this.complete(session);
        return encodeDigestsAnswer({ root: tree.root });
      }
      this.touch(session);
      return encodeDigestsAnswer({
        ...(narrowed ? { slots } : {}),
        root: tree.root,
        ranges: tree.rangeDigests(),
      });
    });
  }

  slotDigests(request: Uint8Array, sender?: string): Promise<Uint8Array> {
    return this.serve(request, MessageKind.SLOTS_ANSWER, () => {
      const m = decodeSlotsRequest(request);
      const session = this.session(m.roundId, sender);
      if (session?.tree === undefined) return unknownRound(MessageKind.SLOTS_ANSWER, m.roundId);
      const digests = session.tree.slotDigestsOf(m.ranges);
      session.tree = undefined;
      this.touch(session);
      return encodeSlotsAnswer(digests);
    });
  }

  fetch(request: Uint8Array, sender?: string): Promise<Uint8Array> {
    return this.serve(request, MessageKind.FETCH_ANSWER, async () => {
      const m = decodeEntriesRequest(request, MessageKind.FETCH);
      const session = this.session(m.roundId, sender);
      if (session === undefined) return unknownRound(MessageKind.FETCH_ANSWER, m.roundId);
      requireWithin(m.slots, session.slots);
      const w = answerWriter(MessageKind.FETCH_ANSWER);
      await writeSlotEntries(
        w,
        session.store,
        m.slots,
        session.cutoffMs,
        this.deps.options.antiEntropyScanWork,
        this.deps.yieldTurn,
      );
      this.touch(session);
      return w.bytes();
    });
  }

  push(request: Uint8Array, sender?: string): Promise<Uint8Array> {
    return this.serve(request, MessageKind.PUSH_ANSWER, () => {
      const m = decodeEntriesRequest(request, MessageKind.PUSH);
      const session = this.session(m.roundId, sender);
      if (session === undefined) return unknownRound(MessageKind.PUSH_ANSWER, m.roundId);
      requireWithin(m.slots, session.slots);
      let applied: number;
      try {
        applied = applySlotEntries(session.store, m.bytes, m.entriesAt, m.slots);
      } catch (err) {
        // The store may hold part of the push: the round cannot vouch for anything now.
        this.end(session);
        throw err;
      }
      this.deps.stats.keysRepaired += applied;
      if (m.last) this.complete(session);
      else this.touch(session);
      return encodePushAnswer(applied);
    });
  }

  /** The round's session, unless `sender` is not the node that began it (then it is unknown to that node). */
  private session(roundId: string, sender: string | undefined): Session | undefined {
    const session = this.sessions.get(roundId);
    return session !== undefined && (sender === undefined || session.from === sender) ? session : undefined;
  }

  /** Drops every session (the node is stopping). */
  close(): void {
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  private async serve(
    request: Uint8Array,
    kind: MessageKind,
    answer: () => Uint8Array | Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const stats = this.deps.stats;
    stats.bytesReceived += request.length;
    let out: Uint8Array;
    try {
      out = await answer();
    } catch (err) {
      out = encodeRefusal(kind, AnswerStatus.FAILED, err instanceof Error ? err.message : String(err));
    }
    stats.bytesSent += out.length;
    return out;
  }

  private complete(session: Session): void {
    this.end(session);
    this.deps.stats.roundsServed++;
    this.deps.ledger?.record(session.cache, session.from, session.slots, session.startedAtMs);
  }

  private touch(session: Session): void {
    session.timer?.cancel();
    session.timer = this.deps.scheduler.schedule(this.sessionIdleMs, () => {
      if (this.sessions.get(session.roundId) === session) this.end(session);
    });
  }

  private end(session: Session): void {
    session.timer?.cancel();
    if (this.sessions.get(session.roundId) === session) this.sessions.delete(session.roundId);
  }
}

function unknownRound(kind: MessageKind, roundId: string): Uint8Array {
  return encodeRefusal(kind, AnswerStatus.UNKNOWN_ROUND, `no round ${roundId} in progress`);
}

function requireWithin(slots: Uint8Array, accepted: Uint8Array): void {
  for (let s = 0; s < slots.length; s++) {
    if (slots[s] !== 0 && accepted[s] === 0)
      throw new AntiEntropyWireError(`slot ${s} is not part of the round`);
  }
}
