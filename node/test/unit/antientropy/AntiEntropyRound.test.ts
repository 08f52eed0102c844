import { describe, expect, it } from '@jest/globals';
import { keySlot, SLOT_COUNT } from '@meshcache/proto';
import {
  DEFAULT_ANTI_ENTROPY_OPTIONS,
  type AntiEntropyOptions,
} from '../../../src/antientropy/AntiEntropyOptions.js';
import { AntiEntropyResponder } from '../../../src/antientropy/AntiEntropyResponder.js';
import { AntiEntropyRound, type AntiEntropyPeer } from '../../../src/antientropy/AntiEntropyRound.js';
import { newAntiEntropyStats, type AntiEntropyStats } from '../../../src/antientropy/AntiEntropyStats.js';
import { RoundLedger } from '../../../src/antientropy/RoundLedger.js';
import { buildSlotDigests, ZERO_SEED } from '../../../src/antientropy/SlotDigests.js';
import type { ReplicaStore } from '../../../src/antientropy/scanSource.js';
import { maskSlots, slotMask } from '../../../src/antientropy/slotSet.js';
import {
  AnswerStatus,
  AntiEntropyPeerError,
  MessageKind,
  decodeDigestsAnswer,
  decodePushAnswer,
  encodeDigestsRequest,
  entriesRequestWriter,
  writeEntry,
} from '../../../src/antientropy/wire.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { FakeReplica, ManualScheduler } from './support/fakeReplica.js';

const NOW = 1_000_000;
const CACHE = 'c';
const yieldNow = (): Promise<void> => Promise.resolve();
const ALL = new Uint8Array(SLOT_COUNT).fill(1);

interface Node {
  id: string;
  store: FakeReplica;
  stats: AntiEntropyStats;
  ledger: RoundLedger;
  responder: AntiEntropyResponder;
  round: AntiEntropyRound;
}

interface Setup {
  options?: Partial<AntiEntropyOptions>;
  /** What each node shares with any peer (its placement's view); all slots by default. */
  shared?: Record<string, Uint8Array>;
  maxSessions?: number;
}

function cluster(ids: string[], s: Setup = {}) {
  const options = { ...DEFAULT_ANTI_ENTROPY_OPTIONS, ...s.options };
  const scheduler = new ManualScheduler();
  const nodes = new Map<string, Node>();
  ids.forEach((id, i) => {
    const store = new FakeReplica(() => NOW, i * 0x9e3779b9);
    const stats = newAntiEntropyStats();
    const ledger = new RoundLedger(id, () => ids, stats);
    const deps = { nodeId: id, wallClock: () => NOW, yieldTurn: yieldNow, options, stats, ledger };
    const responder = new AntiEntropyResponder({
      ...deps,
      store: (cache) => (cache === CACHE ? store : undefined),
      sharedSlots: () => s.shared?.[id] ?? ALL,
      scheduler,
      ...(s.maxSessions !== undefined ? { maxSessions: s.maxSessions } : {}),
    });
    const round = new AntiEntropyRound({ ...deps, random: new SeededRandom(i + 1) });
    nodes.set(id, { id, store, stats, ledger, responder, round });
  });
  const calls: string[] = [];
  /** The peer `to` as `from` reaches it: bytes copied across, as a transport would. */
  const peer = (to: string, between?: (call: string) => void): AntiEntropyPeer => {
    const r = nodes.get(to)!.responder;
    const via =
      (name: string, f: (m: Uint8Array) => Promise<Uint8Array>) =>
      async (m: Uint8Array): Promise<Uint8Array> => {
        calls.push(name);
        between?.(name);
        return Uint8Array.from(await f.call(r, Uint8Array.from(m)));
      };
    return {
      id: to,
      digests: via('digests', r.digests),
      slotDigests: via('slotDigests', r.slotDigests),
      fetch: via('fetch', r.fetch),
      push: via('push', r.push),
    };
  };
  const run = (from: string, to: string, slots: Uint8Array = ALL, between?: (call: string) => void) =>
    nodes.get(from)!.round.run(CACHE, nodes.get(from)!.store, peer(to, between), slots);
  return { nodes, node: (id: string) => nodes.get(id)!, scheduler, run, calls };
}

function fill(store: FakeReplica, n: number): void {
  for (let i = 0; i < n; i++) {
    store.put(`key:${i}`, `value ${i}`, {
      hlc: 100 + i,
      node: 1 + (i % 3),
      expiresAt: i % 4 === 0 ? NOW + 3_600_000 : 0,
    });
  }
}

/** Slots where the two stores' digests differ (over all slots, or the mask). */
async function differingSlots(a: ReplicaStore, b: ReplicaStore, mask?: Uint8Array): Promise<number[]> {
  const cutoff = NOW + DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyCutoffMarginMs;
  const da = await buildSlotDigests(a, mask, cutoff, ZERO_SEED, 1000, yieldNow);
  const db = await buildSlotDigests(b, mask, cutoff, ZERO_SEED, 1000, yieldNow);
  const out: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) if (!da.slotIs(s, db.bytes, s * 16)) out.push(s);
  return out;
}

describe('an anti-entropy round between two replicas', () => {
  it('repairs both sides: missing keys, older versions, tombstone against value', async () => {
    const c = cluster(['a', 'b']);
    const a = c.node('a');
    const b = c.node('b');
    fill(a.store, 3000);
    fill(b.store, 3000);
    // Pulled into a:
    b.store.put('onlyB', 'b1', { hlc: 50 });
    a.store.put('key:1', 'older', { hlc: 90, node: 2 });
    a.store.put('deletedOnB', 'live', { hlc: 200 });
    b.store.put('deletedOnB', '', { hlc: 210, tombstone: true });
    a.store.put('revivedOnB', '', { hlc: 300, tombstone: true });
    b.store.put('revivedOnB', 'back', { hlc: 310 });
    // Pushed to b:
    a.store.put('onlyA', 'a1', { hlc: 60 });
    b.store.put('key:2', 'older', { hlc: 1, node: 9 });
    const divergent = ['onlyB', 'key:1', 'deletedOnB', 'revivedOnB', 'onlyA', 'key:2'];
    const slots = new Set(divergent.map((k) => keySlot(k)));
    expect(await differingSlots(a.store, b.store)).toEqual([...slots].sort((x, y) => x - y));

    const report = await c.run('a', 'b');

    expect(await differingSlots(a.store, b.store)).toEqual([]);
    expect(report).toMatchObject({
      clean: false,
      differences: slots.size,
      keysPulled: 4,
      keysPushed: 2,
      keysRepaired: 6,
      slots: SLOT_COUNT,
      rangesCompared: SLOT_COUNT / 64,
    });
    expect(a.store.get('deletedOnB')).toMatchObject({ tombstone: true, hlc: 210 });
    expect(a.store.get('revivedOnB')).toMatchObject({ tombstone: false, hlc: 310 });
    expect(b.store.get('key:2')).toMatchObject({ hlc: 102 });
    expect(b.store.get('onlyA')).toMatchObject({ hlc: 60 });
    expect(c.calls).toEqual(['digests', 'slotDigests', 'fetch', 'push']);
    expect(a.stats).toMatchObject({ rounds: 1, roundsClean: 0, differences: slots.size, keysRepaired: 4 });
    expect(b.stats).toMatchObject({ roundsServed: 1, keysRepaired: 2 });
    // Bytes: what one side sent the other received.
    expect(report.bytesSent).toBe(a.stats.bytesSent);
    expect(b.stats.bytesReceived).toBe(report.bytesSent);
    expect(b.stats.bytesSent).toBe(report.bytesReceived);
    // Both ledgers record the round, each with its own start.
    expect(a.ledger.coveredSince(CACHE, keySlot('onlyA'))).toBe(NOW);
    expect(b.ledger.coveredSince(CACHE, keySlot('onlyA'))).toBe(NOW);
    expect(b.responder.activeRounds).toBe(0);
  });

  it('between matching replicas is clean: one request and its answer, about a hundred bytes for 5461 slots', async () => {
    const c = cluster(['a', 'b']);
    fill(c.node('a').store, 3000);
    fill(c.node('b').store, 3000);
    const third = slotMask(Array.from({ length: 5461 }, (_, i) => 5461 + i));
    const report = await c.run('a', 'b', third);
    expect(report).toMatchObject({
      clean: true,
      differences: 0,
      keysRepaired: 0,
      slots: 5461,
      rangesCompared: 86,
    });
    expect(c.calls).toEqual(['digests']);
    expect(report.bytesSent + report.bytesReceived).toBeLessThan(100);
    expect(report.bytesReceived).toBe(3 + 1 + 16);
    expect(c.node('a').stats).toMatchObject({ rounds: 1, roundsClean: 1, rangesCompared: 86 });
    expect(c.node('b').stats.roundsServed).toBe(1);
    expect(c.node('b').ledger.coveredSince(CACHE, 5461)).toBe(NOW);
    expect(c.node('b').ledger.coveredSince(CACHE, 0)).toBeUndefined();
  });

  it('does not count values expiring by the cutoff, present on one side only', async () => {
    const c = cluster(['a', 'b']);
    fill(c.node('a').store, 500);
    fill(c.node('b').store, 500);
    c.node('a').store.put('expiring', 'v', { hlc: 7, expiresAt: NOW + 5_000 });
    c.node('b').store.put('expired', 'v', { hlc: 7, expiresAt: NOW - 1 });
    const report = await c.run('a', 'b');
    expect(report.clean).toBe(true);
    expect(c.node('b').store.get('expiring')).toBeUndefined();
  });

  it('covers only the slots the peer also shares, and repairs nothing outside them', async () => {
    const kept = keySlot('inside');
    const dropped = keySlot('outside');
    const c = cluster(['a', 'b'], { shared: { b: slotMask([kept, 5, 6]) } });
    c.node('a').store.put('inside', 'v', { hlc: 1 });
    c.node('a').store.put('outside', 'v', { hlc: 1 });
    const report = await c.run('a', 'b', slotMask([kept, dropped, 5]));
    expect(maskSlots(report.covered)).toEqual(Uint16Array.from([5, kept].sort((x, y) => x - y)));
    expect(report.keysPushed).toBe(1);
    expect(c.node('b').store.get('inside')).toBeDefined();
    expect(c.node('b').store.get('outside')).toBeUndefined();
    expect(c.node('a').ledger.coveredSince(CACHE, kept)).toBe(NOW);
    expect(c.node('a').ledger.coveredSince(CACHE, dropped)).toBeUndefined();
  });

  it('ends with an empty push when the narrowed slots turn out equal, so the peer records the round', async () => {
    const c = cluster(['a', 'b'], { shared: { b: slotMask([1, 2]) } });
    const report = await c.run('a', 'b', slotMask([1, 2, 3]));
    expect(report.clean).toBe(true);
    expect(c.calls).toEqual(['digests', 'push']);
    expect(c.node('b').stats.roundsServed).toBe(1);
    expect(c.node('b').ledger.coveredSince(CACHE, 2)).toBe(NOW);
  });

  it('repairs many slots in batches of antiEntropyRepairSlots', async () => {
    const c = cluster(['a', 'b'], { options: { antiEntropyRepairSlots: 3, antiEntropyScanWork: 17 } });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const k of keys) c.node('a').store.put(k, 'v', { hlc: 5 });
    const slots = new Set(keys.map((k) => keySlot(k))).size;
    const report = await c.run('a', 'b');
    expect(report.differences).toBe(slots);
    expect(report.keysPushed).toBe(40);
    expect(c.calls.filter((x) => x === 'push').length).toBe(Math.ceil(slots / 3));
    expect(await differingSlots(c.node('a').store, c.node('b').store)).toEqual([]);
  });

  it('lets a tombstone written before the round be purged once every other replica has had a round', async () => {
    const c = cluster(['a', 'b', 'c']);
    c.node('a').store.put('gone', '', { hlc: 5, tombstone: true });
    const slot = keySlot('gone');
    const writtenAt = NOW - 1;
    await c.run('a', 'b');
    expect(c.node('a').ledger.mayPurge(CACHE, slot, writtenAt)).toBe(false);
    expect(c.node('a').stats.tombstonePurgesBlocked).toBe(1);
    await c.run('a', 'c');
    expect(c.node('a').ledger.mayPurge(CACHE, slot, writtenAt)).toBe(true);
    expect(c.node('a').ledger.mayPurge(CACHE, slot, NOW)).toBe(false);
    expect(c.node('b').store.get('gone')).toMatchObject({ tombstone: true });
    expect(c.node('c').store.get('gone')).toMatchObject({ tombstone: true });
  });
});

describe('rounds that fail', () => {
  it('a busy peer fails the round and counts it', async () => {
    const c = cluster(['a', 'b'], { maxSessions: 0 });
    await expect(c.run('a', 'b')).rejects.toMatchObject({
      name: 'AntiEntropyPeerError',
      status: AnswerStatus.BUSY,
    });
    expect(c.node('a').stats).toMatchObject({ rounds: 0, roundsFailed: 1 });
    expect(c.node('a').ledger.coveredSince(CACHE, 0)).toBeUndefined();
  });

  it('an unknown cache is refused', async () => {
    const c = cluster(['a', 'b']);
    const a = c.node('a');
    const peer = { id: 'b', ...bound(c.node('b').responder) };
    await expect(a.round.run('nope', a.store, peer, ALL)).rejects.toMatchObject({
      status: AnswerStatus.UNKNOWN_CACHE,
    });
  });

  it('a peer serves one round per session slot: a second initiator meanwhile is told BUSY', async () => {
    const c = cluster(['a', 'b', 'c'], { maxSessions: 1 });
    c.node('a').store.put('x', 'v', { hlc: 1 });
    c.node('c').store.put('y', 'v', { hlc: 1 });
    const results = await Promise.allSettled([c.run('a', 'b'), c.run('c', 'b')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = results.find((r) => r.status === 'rejected')!;
    expect(failed.reason).toBeInstanceOf(AntiEntropyPeerError);
    expect((failed.reason as AntiEntropyPeerError).status).toBe(AnswerStatus.BUSY);
    expect(c.node('b').responder.activeRounds).toBe(0);
  });

  it('a round the initiator abandons is dropped after the idle timeout, unrecorded', async () => {
    const c = cluster(['a', 'b']);
    c.node('a').store.put('x', 'v', { hlc: 1 });
    const idle = (call: string): void => {
      if (call === 'slotDigests') c.scheduler.advance(60_000);
    };
    await expect(c.run('a', 'b', ALL, idle)).rejects.toMatchObject({ status: AnswerStatus.UNKNOWN_ROUND });
    expect(c.node('b').responder.activeRounds).toBe(0);
    expect(c.node('b').ledger.coveredSince(CACHE, keySlot('x'))).toBeUndefined();
    expect(c.scheduler.timers).toBe(0);
  });

  it('a peer refuses pushes outside the round, and entries outside their batch, applying none', async () => {
    const c = cluster(['a', 'b'], { shared: { b: slotMask([keySlot('x'), keySlot('y')]) } });
    const b = c.node('b');
    const src = new FakeReplica();
    src.put('x', 'v', { hlc: 1 });
    src.put('y', 'v', { hlc: 1 });
    const begin = decodeDigestsAnswer(
      await b.responder.digests(
        encodeDigestsRequest({
          roundId: 'r1',
          from: 'a',
          cache: CACHE,
          seed: ZERO_SEED,
          cutoffMs: NOW,
          tombstoneHorizonMs: 0,
          leafSlots: 64,
          slots: ALL,
          root: new Uint8Array(16),
        }),
      ),
    );
    expect(begin.slots).toBeDefined();
    const push = (mask: Uint8Array) => {
      const w = entriesRequestWriter(MessageKind.PUSH, 'r1', mask, false);
      src.scan(0, 100, undefined, (h) => writeEntry(w, src, h));
      return b.responder.push(w.bytes());
    };
    await expect(push(slotMask([keySlot('nope-not-shared')])).then(decodePushAnswer)).rejects.toThrow(
      /not part of the round/,
    );
    await expect(push(slotMask([keySlot('x')])).then(decodePushAnswer)).rejects.toThrow(
      /outside the slots being repaired/,
    );
    expect(b.store.size).toBe(0);
    expect(b.responder.activeRounds).toBe(0);
  });

  it('a store that fails to apply fails the round', async () => {
    const c = cluster(['a', 'b']);
    const a = c.node('a');
    c.node('b').store.put('x', 'v', { hlc: 1 });
    a.store.applyAt = () => {
      throw new Error('OUT_OF_MEMORY');
    };
    await expect(c.run('a', 'b')).rejects.toThrow('OUT_OF_MEMORY');
    expect(a.stats.roundsFailed).toBe(1);
  });
});

function bound(r: AntiEntropyResponder): Omit<AntiEntropyPeer, 'id'> {
  return {
    digests: (m) => r.digests(m),
    slotDigests: (m) => r.slotDigests(m),
    fetch: (m) => r.fetch(m),
    push: (m) => r.push(m),
  };
}
