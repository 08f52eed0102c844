import type { Random } from '../membership/runtime.js';
import type { AntiEntropyOptions } from './AntiEntropyOptions.js';
import type { AntiEntropyStats } from './AntiEntropyStats.js';
import { AntiEntropyWireError } from './bytes.js';
import { applySlotEntries, writeSlotEntries } from './entries.js';
import { differingRanges, differingSlots, MerkleTree, sameDigest } from './MerkleTree.js';
import type { RoundLedger } from './RoundLedger.js';
import { buildSlotDigests, type DigestSeed } from './SlotDigests.js';
import type { ReplicaStore } from './scanSource.js';
import { maskSlots, slotMask } from './slotSet.js';
import {
  decodeDigestsAnswer,
  decodePushAnswer,
  decodeSlotsAnswer,
  encodeDigestsRequest,
  encodeSlotsRequest,
  entriesRequestWriter,
  MessageKind,
  openAnswer,
} from './wire.js';

/**
 * A replica peer as a round sees it: four request/answer exchanges whose
 * payloads are wire.ts messages. The transport carries the bytes; an
 * AntiEntropyResponder on the peer answers them.
 */
export interface AntiEntropyPeer {
  /** The peer's node id (what the ledger and the schedule key rounds by). */
  readonly id: string;
  digests(request: Uint8Array): Promise<Uint8Array>;
  slotDigests(request: Uint8Array): Promise<Uint8Array>;
  fetch(request: Uint8Array): Promise<Uint8Array>;
  push(request: Uint8Array): Promise<Uint8Array>;
}

/** What rounds need from the node; all I/O and time is injected. */
export interface AntiEntropyRuntime {
  nodeId: string;
  /** Epoch ms (what expiry times and tombstone write times are in). */
  wallClock(): number;
  random: Random;
  /** Resolves on a later turn of the event loop (setImmediate in a node). */
  yieldTurn(): Promise<void>;
  options: Readonly<AntiEntropyOptions>;
  /**
   * The stores' tombstone grace: tombstones whose version is older than a
   * round's start less this are left out of its digests (see SlotDigests).
   * Undefined: every tombstone counts.
   */
  tombstoneGraceMs?: number;
  stats: AntiEntropyStats;
  /** Told of every completed round, for the tombstone purge rule. */
  ledger?: RoundLedger;
}

/** What one round did. */
export interface RoundReport {
  cache: string;
  peer: string;
  /** This node's wall clock just before its scan began (what the ledger records). */
  startedAtMs: number;
  cutoffMs: number;
  /** The slots the round covered (a mask): those asked for that the peer also holds. */
  covered: Uint8Array;
  slots: number;
  /** Ranges the comparison covered. */
  rangesCompared: number;
  differingRanges: number;
  /** Slots found differing (each repaired both ways). */
  differences: number;
  /** Entries from the peer that changed this node's store. */
  keysPulled: number;
  /** Entries from this node that changed the peer's store. */
  keysPushed: number;
  keysRepaired: number;
  bytesSent: number;
  bytesReceived: number;
  /** Whether the replicas were found equal. */
  clean: boolean;
}

/**
 * Runs anti-entropy rounds from this node. A round with one peer over the
 * slots they share, for one cache:
 * 1. digest the local slots at a cutoff (a budgeted scan: many event-loop turns);
 * 2. send the root; the peer digests its side at the same cutoff and seed,
 *    and answers with its root, plus its range digests unless they match;
 * 3. for the ranges that differ, fetch the peer's slot digests;
 * 4. for the slots that differ, in batches: collect this node's entries,
 *    fetch the peer's and apply them here, push this node's to the peer.
 *    Both sides apply by last writer wins, so both end with the newer of
 *    every version either held. The last push (empty if nothing differed)
 *    tells the peer the round completed.
 * A round that throws has failed (counted); the schedule backs off.
 */
export class AntiEntropyRound {
  private rounds = 0;

  constructor(private readonly rt: AntiEntropyRuntime) {}

  async run(
    cache: string,
    store: ReplicaStore,
    peer: AntiEntropyPeer,
    slots: Uint8Array,
  ): Promise<RoundReport> {
    const rt = this.rt;
    try {
      const report = await this.round(cache, store, peer, slots);
      rt.stats.rounds++;
      if (report.clean) rt.stats.roundsClean++;
      rt.stats.rangesCompared += report.rangesCompared;
      rt.stats.differences += report.differences;
      rt.stats.keysRepaired += report.keysPulled;
      rt.ledger?.record(cache, peer.id, report.covered, report.startedAtMs);
      return report;
    } catch (err) {
      rt.stats.roundsFailed++;
      throw err;
    }
  }

  private async round(
    cache: string,
    store: ReplicaStore,
    peer: AntiEntropyPeer,
    slots: Uint8Array,
  ): Promise<RoundReport> {
    const rt = this.rt;
    const o = rt.options;
    const startedAtMs = rt.wallClock();
    const cutoffMs = startedAtMs + o.antiEntropyCutoffMarginMs;
    const tombstoneHorizonMs = rt.tombstoneGraceMs === undefined ? 0 : startedAtMs - rt.tombstoneGraceMs;
    const seed = randomSeed(rt.random);
    const roundId = `${rt.nodeId}/${++this.rounds}/${(seed[0]! >>> 0).toString(36)}`;
    const report: RoundReport = {
      cache,
      peer: peer.id,
      startedAtMs,
      cutoffMs,
      covered: slots,
      slots: 0,
      rangesCompared: 0,
      differingRanges: 0,
      differences: 0,
      keysPulled: 0,
      keysPushed: 0,
      keysRepaired: 0,
      bytesSent: 0,
      bytesReceived: 0,
      clean: true,
    };
    const call = async (send: (m: Uint8Array) => Promise<Uint8Array>, m: Uint8Array): Promise<Uint8Array> => {
      report.bytesSent += m.length;
      rt.stats.bytesSent += m.length;
      const answer = await send.call(peer, m);
      report.bytesReceived += answer.length;
      rt.stats.bytesReceived += answer.length;
      return answer;
    };

    const local = await buildSlotDigests(
      store,
      slots,
      cutoffMs,
      seed,
      o.antiEntropyScanWork,
      rt.yieldTurn,
      tombstoneHorizonMs,
    );
    rt.stats.itemsDigested += local.items;
    let tree = new MerkleTree(local, maskSlots(slots), o.antiEntropyLeafSlots);
    report.slots = tree.slots.length;
    const answer = decodeDigestsAnswer(
      await call(
        peer.digests,
        encodeDigestsRequest({
          roundId,
          from: rt.nodeId,
          cache,
          seed,
          cutoffMs,
          tombstoneHorizonMs,
          leafSlots: o.antiEntropyLeafSlots,
          slots,
          root: tree.root,
        }),
      ),
    );
    if (answer.slots !== undefined) {
      for (let s = 0; s < slots.length; s++) {
        if (answer.slots[s] !== 0 && slots[s] === 0)
          throw new AntiEntropyWireError(`peer accepted slot ${s}, not asked for`);
      }
      report.covered = answer.slots;
      tree = new MerkleTree(local, maskSlots(answer.slots), o.antiEntropyLeafSlots);
      report.slots = tree.slots.length;
    }
    report.rangesCompared = tree.rangeCount;
    if (answer.ranges === undefined) {
      if (answer.slots !== undefined || !sameDigest(answer.root, tree.root)) {
        throw new AntiEntropyWireError('peer sent no range digests although the roots differ');
      }
      return report;
    }

    const ranges = sameDigest(answer.root, tree.root)
      ? []
      : differingRanges(tree.rangeDigests(), answer.ranges);
    report.differingRanges = ranges.length;
    let differing: number[] = [];
    if (ranges.length > 0) {
      const theirs = decodeSlotsAnswer(await call(peer.slotDigests, encodeSlotsRequest({ roundId, ranges })));
      differing = differingSlots(tree.slotsOf(ranges), tree.slotDigestsOf(ranges), theirs);
    }
    report.differences = differing.length;
    report.clean = differing.length === 0;

    const batch = o.antiEntropyRepairSlots;
    for (let i = 0; i === 0 || i < differing.length; i += batch) {
      const mask = slotMask(differing.slice(i, i + batch));
      const last = i + batch >= differing.length;
      // This node's entries are collected before the peer's are applied, so
      // what is pushed is what the peer may lack, not an echo of its own.
      const push = entriesRequestWriter(MessageKind.PUSH, roundId, mask, last);
      if (differing.length > 0) {
        await writeSlotEntries(push, store, mask, cutoffMs, o.antiEntropyScanWork, rt.yieldTurn);
        const fetched = await call(
          peer.fetch,
          entriesRequestWriter(MessageKind.FETCH, roundId, mask, false).bytes(),
        );
        const at = openAnswer(fetched, MessageKind.FETCH_ANSWER).pos;
        report.keysPulled += applySlotEntries(store, fetched, at, mask);
      }
      report.keysPushed += decodePushAnswer(await call(peer.push, push.bytes()));
    }
    report.keysRepaired = report.keysPulled + report.keysPushed;
    return report;
  }
}

/** Four random words: the round's digest seed. */
function randomSeed(random: Random): DigestSeed {
  const seed = new Int32Array(4);
  for (let i = 0; i < 4; i++) seed[i] = Math.floor(random.next() * 2 ** 32) | 0;
  return seed;
}
