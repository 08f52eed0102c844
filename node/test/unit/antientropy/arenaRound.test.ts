// A round between two real ArenaStores (replicated caches), through their
// own scan and applyAt: the interfaces anti-entropy codes against are the
// store's as it is.
import { describe, expect, it } from '@jest/globals';
import { keySlot, SLOT_COUNT } from '@meshcache/proto';
import { DEFAULT_ANTI_ENTROPY_OPTIONS } from '../../../src/antientropy/AntiEntropyOptions.js';
import { AntiEntropyResponder } from '../../../src/antientropy/AntiEntropyResponder.js';
import { AntiEntropyRound } from '../../../src/antientropy/AntiEntropyRound.js';
import { newAntiEntropyStats } from '../../../src/antientropy/AntiEntropyStats.js';
import { buildSlotDigests, ZERO_SEED } from '../../../src/antientropy/SlotDigests.js';
import type { ReplicaStore } from '../../../src/antientropy/scanSource.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { ArenaStore } from '../../../src/store/arena/ArenaStore.js';
import { HybridLogicalClock } from '../../../src/store/HybridLogicalClock.js';
import { ManualScheduler } from './support/fakeReplica.js';

const NOW = 1_700_000_000_000;
const ALL = new Uint8Array(SLOT_COUNT).fill(1);
const yieldNow = (): Promise<void> => Promise.resolve();
const options = { ...DEFAULT_ANTI_ENTROPY_OPTIONS, antiEntropyScanWork: 256 };

function arena(tag: number): ArenaStore {
  return new ArenaStore(
    {
      name: 'c',
      maxMemoryBytes: 32 << 20,
      defaultTtlMs: 0,
      maxValueBytes: 1 << 20,
      maxKeyBytes: 250,
      evictionPolicy: 's3fifo',
      replication: { tombstoneGraceMs: 600_000, settled: () => false },
    },
    new HybridLogicalClock(tag, () => NOW),
    () => NOW,
  );
}

function copy(
  s: ArenaStore,
  key: string,
  value: string | undefined,
  hlc: number,
  node = 1,
  expiresAt = 0,
): void {
  const k = Buffer.from(key);
  const v = Buffer.from(value ?? '');
  s.applyAt(k, 0, k.length, v, 0, v.length, expiresAt, hlc, node, value === undefined);
}

async function differing(a: ReplicaStore, b: ReplicaStore): Promise<number[]> {
  const cutoff = NOW + options.antiEntropyCutoffMarginMs;
  const da = await buildSlotDigests(a, undefined, cutoff, ZERO_SEED, 1000, yieldNow);
  const db = await buildSlotDigests(b, undefined, cutoff, ZERO_SEED, 1000, yieldNow);
  const out: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) if (!da.slotIs(s, db.bytes, s * 16)) out.push(s);
  return out;
}

describe('anti-entropy over ArenaStore', () => {
  it('repairs two arena replicas both ways, large values and tombstones included', async () => {
    const a = arena(1);
    const b = arena(2);
    for (let i = 0; i < 5000; i++) {
      const ttl = i % 3 === 0 ? NOW + 3_600_000 : 0;
      copy(a, `key:${i}`, `value ${i}`, 1000 + i, 1, ttl);
      copy(b, `key:${i}`, `value ${i}`, 1000 + i, 1, ttl);
    }
    copy(a, 'onlyA', 'x'.repeat(200_000), 50); // a large item
    copy(b, 'onlyB', 'y', 51);
    copy(a, 'key:7', 'newer', 9000);
    copy(b, 'key:8', undefined, 9001); // deleted on b
    copy(a, 'key:9', undefined, 9002); // deleted on a
    copy(a, 'expiring', 'soon', 52, 1, NOW + 1000); // within the cutoff margin: not compared
    const divergent = new Set(['onlyA', 'onlyB', 'key:7', 'key:8', 'key:9'].map((k) => keySlot(k)));
    expect(await differing(a, b)).toEqual([...divergent].sort((x, y) => x - y));

    const responder = new AntiEntropyResponder({
      nodeId: 'b',
      store: () => b,
      sharedSlots: () => ALL,
      scheduler: new ManualScheduler(),
      wallClock: () => NOW,
      yieldTurn: yieldNow,
      options,
      stats: newAntiEntropyStats(),
    });
    const round = new AntiEntropyRound({
      nodeId: 'a',
      wallClock: () => NOW,
      random: new SeededRandom(9),
      yieldTurn: yieldNow,
      options,
      stats: newAntiEntropyStats(),
    });
    const peer = {
      id: 'b',
      digests: (m: Uint8Array) => responder.digests(m),
      slotDigests: (m: Uint8Array) => responder.slotDigests(m),
      fetch: (m: Uint8Array) => responder.fetch(m),
      push: (m: Uint8Array) => responder.push(m),
    };
    const report = await round.run('c', a, peer, ALL);
    expect(report).toMatchObject({ differences: divergent.size, keysPulled: 2, keysPushed: 3, clean: false });
    expect(await differing(a, b)).toEqual([]);
    const held = (s: ArenaStore, key: string) => {
      const k = Buffer.from(key);
      const h = s.versionAt(k, 0, k.length);
      return h < 0 ? undefined : { hlc: s.hlcOf(h), tombstone: s.isTombstone(h) };
    };
    expect(held(b, 'onlyA')).toEqual({ hlc: 50, tombstone: false });
    expect(held(a, 'key:8')).toEqual({ hlc: 9001, tombstone: true });
    expect(held(b, 'key:9')).toEqual({ hlc: 9002, tombstone: true });
    expect(held(b, 'expiring')).toBeUndefined();

    const again = await round.run('c', a, peer, ALL);
    expect(again.clean).toBe(true);
    expect(again.bytesSent + again.bytesReceived).toBeLessThan(100);
  });
});
