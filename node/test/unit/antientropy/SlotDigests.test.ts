import { describe, expect, it } from '@jest/globals';
import { keySlot, SLOT_COUNT } from '@meshcache/proto';
import {
  SlotDigests,
  ZERO_SEED,
  buildSlotDigests,
  digestFields,
} from '../../../src/antientropy/SlotDigests.js';
import { scanAll } from '../../../src/antientropy/scanSource.js';
import { slotMask } from '../../../src/antientropy/slotSet.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { shuffle } from '../../../src/membership/runtime.js';
import { ArenaStore } from '../../../src/store/arena/ArenaStore.js';
import { HybridLogicalClock } from '../../../src/store/HybridLogicalClock.js';
import { FakeReplica, type Put } from './support/fakeReplica.js';

const NOW = 1_000_000;
const CUTOFF = NOW + 10_000;
const yieldNow = (): Promise<void> => Promise.resolve();

interface Row {
  key: string;
  value: string;
  v: Put;
}

function rows(n: number): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: `key:${i}`,
      value: `value-${i}-${'x'.repeat(i % 37)}`,
      v: {
        hlc: 1000 + i,
        node: 7 + (i % 3),
        tombstone: i % 11 === 0,
        expiresAt: i % 5 === 0 ? CUTOFF + 1000 * i : 0,
      },
    });
  }
  return out;
}

function replica(data: Row[], salt = 0): FakeReplica {
  const r = new FakeReplica(() => NOW, salt);
  for (const row of data) r.put(row.key, row.value, row.v);
  return r;
}

function digestsOf(r: FakeReplica, cutoff = CUTOFF, work = 1000): Promise<SlotDigests> {
  return buildSlotDigests(r, undefined, cutoff, ZERO_SEED, work, yieldNow);
}

/** Slots whose digests differ. */
function diff(a: SlotDigests, b: SlotDigests): number[] {
  const out: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) if (!a.slotIs(s, b.bytes, s * 16)) out.push(s);
  return out;
}

describe('slot digests', () => {
  const data = rows(2000);

  it('are equal for equal data whatever order items are visited in', async () => {
    const a = await digestsOf(replica(data, 0));
    const b = await digestsOf(replica(shuffle(new SeededRandom(3), [...data]), 0x5bd1e995));
    expect(a.items).toBe(2000);
    expect(diff(a, b)).toEqual([]);
    // Folding the same items by their fields, in yet another order, agrees too.
    const c = new SlotDigests(CUTOFF);
    for (const row of shuffle(new SeededRandom(4), [...data])) {
      const key = Buffer.from(row.key);
      const tomb = row.v.tombstone ?? false;
      c.addFields(
        keySlot(key),
        key,
        Buffer.from(tomb ? '' : row.value),
        row.v.hlc,
        row.v.node ?? 1,
        tomb,
        row.v.expiresAt ?? 0,
      );
    }
    expect(diff(a, c)).toEqual([]);
  });

  it('a build spans many scan steps and yields between them', async () => {
    let turns = 0;
    const r = replica(data);
    const stepped = await buildSlotDigests(r, undefined, CUTOFF, ZERO_SEED, 7, () => {
      turns++;
      return Promise.resolve();
    });
    expect(turns).toBeGreaterThan(2000 / 7 - 2);
    expect(diff(stepped, await digestsOf(r, CUTOFF, 1e9))).toEqual([]);
  });

  it.each<[string, (r: Row) => void]>([
    ['value byte', (r) => (r.value = r.value.slice(0, -1) + 'Z')],
    ['hlc', (r) => (r.v.hlc += 1)],
    ['node tag', (r) => (r.v.node = (r.v.node ?? 1) + 1)],
    ['tombstone flag', (r) => (r.v.tombstone = !(r.v.tombstone ?? false))],
    ['expiry', (r) => (r.v.expiresAt = CUTOFF + 123_456)],
    ['key', (r) => (r.key = r.key + '!')],
  ])('a different %s changes exactly its slot', async (_what, change) => {
    const base = await digestsOf(replica(data));
    for (const i of [1, 2, 500, 1999]) {
      const copy = data.map((r) => ({ ...r, v: { ...r.v } }));
      change(copy[i]!);
      if (copy[i]!.v.tombstone) copy[i]!.v.expiresAt = undefined;
      const slots = [keySlot(data[i]!.key), keySlot(copy[i]!.key)];
      expect(diff(base, await digestsOf(replica(copy)))).toEqual([...new Set(slots)].sort((x, y) => x - y));
    }
  });

  it('a missing item changes exactly its slot; an empty slot digests to zero', async () => {
    const a = await digestsOf(replica(data));
    const r = replica(data);
    r.remove('key:42');
    expect(diff(a, await digestsOf(r))).toEqual([keySlot('key:42')]);
    const empty = await digestsOf(new FakeReplica());
    expect(empty.bytes.every((b) => b === 0)).toBe(true);
  });

  it("ignores a tombstone's expiry (its holder's purge time)", async () => {
    const a = replica(data);
    const b = replica(data);
    a.put('gone', '', { hlc: 5, tombstone: true, expiresAt: NOW + 600_000 });
    b.put('gone', '', { hlc: 5, tombstone: true, expiresAt: NOW + 612_345 });
    expect(diff(await digestsOf(a), await digestsOf(b))).toEqual([]);
  });

  it('leaves out values expiring at or before the cutoff, and counts tombstones whatever their expiry', async () => {
    const a = replica(data);
    const b = replica(data);
    // Expired or expiring by the cutoff on one side, collected on the other: no difference.
    a.put('soon', 'v', { hlc: 9, expiresAt: CUTOFF });
    a.put('past', 'v', { hlc: 9, expiresAt: NOW - 1 });
    const da = await digestsOf(a);
    expect(diff(da, await digestsOf(b))).toEqual([]);
    expect(da.leftOut).toBe(2);
    // One millisecond later it counts.
    a.put('soon', 'v', { hlc: 9, expiresAt: CUTOFF + 1 });
    expect(diff(await digestsOf(a), await digestsOf(b))).toEqual([keySlot('soon')]);
    // A tombstone past its purge time still counts.
    b.put('t', '', { hlc: 9, tombstone: true, expiresAt: NOW - 1 });
    expect(diff(await digestsOf(b), await digestsOf(replica(data)))).toEqual([keySlot('t')]);
  });

  it('covers only the slots of its mask', async () => {
    const r = replica(data);
    const slots = [keySlot('key:1'), keySlot('key:2')];
    const d = await buildSlotDigests(r, slotMask(slots), CUTOFF, ZERO_SEED, 100, yieldNow);
    const all = await digestsOf(r);
    const wrong: number[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) {
      const ok = slots.includes(s) ? d.slotIs(s, all.bytes, s * 16) : d.slot(s).every((b) => b === 0);
      if (!ok) wrong.push(s);
    }
    expect(wrong).toEqual([]);
    expect(d.items).toBe(2);
  });

  it('differs between seeds', async () => {
    const r = replica(data);
    const seeded = await buildSlotDigests(r, undefined, CUTOFF, new Int32Array([1, 2, 3, 4]), 1000, yieldNow);
    const slot = keySlot('key:1');
    expect(seeded.slotIs(slot, (await digestsOf(r)).bytes, slot * 16)).toBe(false);
  });

  it('reads keys and values from an ArenaStore in place (its item layout: key right before value)', () => {
    const store = new ArenaStore(
      {
        name: 'c',
        maxMemoryBytes: 8 << 20,
        defaultTtlMs: 0,
        maxValueBytes: 1 << 20,
        maxKeyBytes: 250,
        evictionPolicy: 's3fifo',
        replication: { tombstoneGraceMs: 60_000, settled: () => false },
      },
      new HybridLogicalClock(3, () => NOW),
      () => NOW,
    );
    const big = Buffer.alloc(300_000, 7); // a large item: key and value in a buffer of their own
    store.set(Buffer.from('small'), Buffer.from('value'), 0);
    store.set(Buffer.from('odd-length-key'), Buffer.from('v2'), NOW + 5000);
    store.set(Buffer.from('big'), big, 0);
    store.set(Buffer.from('deleted'), Buffer.from('was here'), 0);
    store.delete(Buffer.from('deleted'));
    let seen = 0;
    for (const h of store.allItems()) {
      const viaStore = new SlotDigests(0).readFrom(store);
      viaStore.add(h, 0);
      const expected = new Int32Array(4);
      const tomb = store.isTombstone(h);
      const value = tomb ? Buffer.alloc(0) : store.valueBuffer(h);
      digestFields(
        ZERO_SEED,
        store.keyBuffer(h),
        0,
        store.keyLength(h),
        value,
        0,
        value.length,
        store.hlcOf(h),
        store.nodeOf(h),
        tomb,
        store.expiresAtOf(h),
        expected,
        0,
        false,
      );
      expect([...viaStore.words.subarray(0, 4)]).toEqual([...expected]);
      seen++;
    }
    expect(seen).toBe(4);
  });

  it('a scan that makes no progress fails instead of looping', async () => {
    const stuck = Object.assign(new FakeReplica(), { scan: () => 5 });
    await expect(scanAll(stuck, undefined, 10, yieldNow, () => undefined)).rejects.toThrow(/no progress/);
  });
});
