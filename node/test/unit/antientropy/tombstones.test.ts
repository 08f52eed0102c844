// Tombstones and anti-entropy: the store's purge rule (settled, or covered
// by rounds), and the tombstone horizon that keeps rounds from passing a
// tombstone back and forth between replicas that purge it at different times.
import { describe, expect, it } from '@jest/globals';
import { keySlot, SLOT_COUNT } from '@meshcache/proto';
import { DEFAULT_ANTI_ENTROPY_OPTIONS } from '../../../src/antientropy/AntiEntropyOptions.js';
import { AntiEntropyResponder } from '../../../src/antientropy/AntiEntropyResponder.js';
import { AntiEntropyRound } from '../../../src/antientropy/AntiEntropyRound.js';
import { newAntiEntropyStats } from '../../../src/antientropy/AntiEntropyStats.js';
import { SlotDigests } from '../../../src/antientropy/SlotDigests.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { ArenaStore } from '../../../src/store/arena/ArenaStore.js';
import { HybridLogicalClock, makeHlc } from '../../../src/store/HybridLogicalClock.js';
import { FakeReplica, ManualScheduler } from './support/fakeReplica.js';

const T0 = 1_700_000_000_000;
const GRACE = 60_000;
const ALL = new Uint8Array(SLOT_COUNT).fill(1);
const yieldNow = (): Promise<void> => Promise.resolve();

describe('the store purges a tombstone past its grace when settled or covered', () => {
  function setup(settled: boolean) {
    let now = T0;
    const asked: [number, number][] = [];
    let covered = false;
    const store = new ArenaStore(
      {
        name: 'c',
        maxMemoryBytes: 4 << 20,
        defaultTtlMs: 0,
        maxValueBytes: 1024,
        maxKeyBytes: 250,
        evictionPolicy: 's3fifo',
        replication: {
          tombstoneGraceMs: GRACE,
          settled: () => settled,
          covered: (slot, writtenAt) => {
            asked.push([slot, writtenAt]);
            return covered;
          },
        },
      },
      new HybridLogicalClock(1, () => now),
      () => now,
    );
    const key = Buffer.from('doomed');
    store.set(key, Buffer.from('v'), 0);
    now += 5;
    store.delete(key);
    const deletedAt = now;
    return {
      store,
      key,
      asked,
      deletedAt,
      cover: () => (covered = true),
      at: (t: number) => (now = t),
      held: () => store.versionAt(key, 0, key.length) >= 0,
      expire: () => {
        for (let i = 0; i < 10; i++) store.activeExpireCycle(100);
      },
    };
  }

  it('keeps an unsettled tombstone until covered, asking with its slot and local write time', () => {
    const s = setup(false);
    s.at(s.deletedAt + GRACE - 1);
    s.expire();
    expect(s.held()).toBe(true);
    expect(s.asked).toEqual([]); // within the grace: not even asked
    s.at(s.deletedAt + GRACE + 1);
    s.expire();
    expect(s.held()).toBe(true);
    expect(s.asked.length).toBeGreaterThan(0);
    expect(s.asked[0]).toEqual([keySlot('doomed'), s.deletedAt]);
    s.cover();
    s.expire();
    expect(s.held()).toBe(false);
    expect(s.store.stats.tombstonesPurged).toBe(1);
  });

  it('never purges a pinned tombstone, covered or not', () => {
    const s = setup(false);
    const h = s.store.versionAt(s.key, 0, s.key.length);
    expect(s.store.pin(s.key, 0, s.key.length, s.store.hlcOf(h), s.store.nodeOf(h))).toBe(true);
    s.cover();
    s.at(s.deletedAt + 10 * GRACE);
    s.expire();
    expect(s.held()).toBe(true);
    expect(s.asked).toEqual([]);
  });

  it('purges a settled tombstone past its grace without asking the rounds', () => {
    const s = setup(true);
    s.at(s.deletedAt + GRACE + 1);
    s.expire();
    expect(s.held()).toBe(false);
    expect(s.asked).toEqual([]);
  });
});

describe('the tombstone horizon', () => {
  it('leaves tombstones older than the horizon out of slot digests, and newer ones in', () => {
    const horizon = T0 - GRACE;
    const plain = new SlotDigests(T0, undefined, horizon);
    const withOld = new SlotDigests(T0, undefined, horizon);
    const withNew = new SlotDigests(T0, undefined, horizon);
    const key = Buffer.from('k');
    const slot = keySlot(key);
    withOld.addFields(slot, key, Buffer.alloc(0), makeHlc(horizon - 1, 0), 1, true, 0);
    withNew.addFields(slot, key, Buffer.alloc(0), makeHlc(horizon, 0), 1, true, 0);
    expect(withOld.slotIs(slot, plain.bytes, slot * 16)).toBe(true);
    expect(withNew.slotIs(slot, plain.bytes, slot * 16)).toBe(false);
    expect([withOld.leftOut, withNew.leftOut]).toEqual([1, 0]);
  });

  function pair(graceMs: number | undefined) {
    const now = T0;
    const a = new FakeReplica(() => now, 1);
    const b = new FakeReplica(() => now, 2);
    const options = { ...DEFAULT_ANTI_ENTROPY_OPTIONS };
    const stats = newAntiEntropyStats();
    const responder = new AntiEntropyResponder({
      nodeId: 'b',
      store: () => b,
      sharedSlots: () => ALL,
      scheduler: new ManualScheduler(),
      wallClock: () => now,
      yieldTurn: yieldNow,
      options,
      stats,
    });
    const round = new AntiEntropyRound({
      nodeId: 'a',
      wallClock: () => now,
      random: new SeededRandom(3),
      yieldTurn: yieldNow,
      options,
      ...(graceMs !== undefined ? { tombstoneGraceMs: graceMs } : {}),
      stats: newAntiEntropyStats(),
    });
    const peer = {
      id: 'b',
      digests: (m: Uint8Array) => responder.digests(m),
      slotDigests: (m: Uint8Array) => responder.slotDigests(m),
      fetch: (m: Uint8Array) => responder.fetch(m),
      push: (m: Uint8Array) => responder.push(m),
    };
    return { a, b, run: () => round.run('c', a, peer, ALL) };
  }

  const old = makeHlc(T0 - 2 * GRACE, 0);
  const recent = makeHlc(T0 - GRACE / 2, 0);

  it('does not copy an old tombstone to a replica that purged it (no ping-pong)', async () => {
    const p = pair(GRACE);
    p.a.put('k', '', { hlc: old, tombstone: true });
    const r = await p.run();
    expect(r).toMatchObject({ clean: true, keysRepaired: 0 });
    expect(p.b.get('k')).toBeUndefined();
  });

  it('still copies it where an older value of the key would otherwise stay', async () => {
    const p = pair(GRACE);
    p.a.put('k', '', { hlc: old, tombstone: true });
    p.b.put('k', 'stale', { hlc: old - 1024 });
    const r = await p.run();
    expect(r).toMatchObject({ clean: false, keysPushed: 1, keysPulled: 0 });
    expect(p.b.get('k')).toMatchObject({ hlc: old, tombstone: true });
    expect((await p.run()).clean).toBe(true);
  });

  it('copies a tombstone within the grace of its version, and every tombstone without a grace given', async () => {
    for (const [grace, hlc] of [
      [GRACE, recent],
      [undefined, old],
    ] as const) {
      const p = pair(grace);
      p.a.put('k', '', { hlc, tombstone: true });
      expect(await p.run()).toMatchObject({ clean: false, keysPushed: 1 });
      expect(p.b.get('k')).toMatchObject({ hlc, tombstone: true });
    }
  });
});
