import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT } from '@meshcache/proto';
import fc from 'fast-check';
import { Placement } from '../../../src/placement/Placement.js';
import { SlotTable, SlotTableError } from '../../../src/placement/SlotTable.js';

const ids = ['a', 'b', 'c', 'd'];

/** A table from explicit per-slot lists (member indexes). */
function tableOf(rf: number, width: number, listOf: (slot: number) => number[]): SlotTable {
  const cells = new Uint16Array(SLOT_COUNT * width);
  for (let s = 0; s < SLOT_COUNT; s++) cells.set(listOf(s), s * width);
  return new SlotTable(rf, ids, width, cells);
}

describe('SlotTable', () => {
  it('answers replicas, primary and positions per slot', () => {
    const t = tableOf(2, 2, (s) => (s < 8192 ? [0, 1] : [2, 3]));
    expect(t.replicas(0)).toEqual(['a', 'b']);
    expect(t.primary(9000)).toBe('c');
    expect(t.positionOf(9000, 'd')).toBe(1);
    expect(t.positionOf(9000, 'a')).toBe(-1);
    expect(t.positionOf(0, 'zz')).toBe(-1);
    const counts = t.counts();
    expect(counts.primaries.get('a')).toBe(8192);
    expect(counts.primaries.get('b')).toBe(0);
    expect(counts.replicas.get('b')).toBe(8192);
  });

  it('encodes as maximal ranges of equal lists, and decodes back', () => {
    const t = tableOf(2, 2, (s) => (s < 100 ? [0, 1] : s < 200 ? [1, 0] : [2, 3]));
    expect(t.toRanges()).toEqual([
      { start: 0, end: 99, replicas: ['a', 'b'] },
      { start: 100, end: 199, replicas: ['b', 'a'] },
      { start: 200, end: SLOT_COUNT - 1, replicas: ['c', 'd'] },
    ]);
    const back = SlotTable.fromRanges(2, t.toRanges());
    expect(back.equals(t)).toBe(true);
    expect(back.members).toEqual(ids);
  });

  it('round-trips any table through ranges and JSON', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.nat()), { minLength: 1, maxLength: 30 }),
        (width, runs) => {
          const lists: number[][] = [];
          const perms = [
            [0, 1, 2],
            [1, 2, 3],
            [3, 0, 1],
            [2, 0, 3],
            [1, 3, 0],
          ];
          for (const [len, pick] of runs) {
            for (let i = 0; i < len && lists.length < SLOT_COUNT; i++) {
              lists.push(perms[pick % perms.length]!.slice(0, width));
            }
          }
          while (lists.length < SLOT_COUNT) lists.push(lists.at(-1)!);
          const t = tableOf(3, width, (s) => lists[s]!);
          const ranges = t.toRanges();
          for (let i = 1; i < ranges.length; i++) {
            expect(ranges[i]!.start).toBe(ranges[i - 1]!.end + 1);
            expect(ranges[i]!.replicas).not.toEqual(ranges[i - 1]!.replicas);
          }
          const json = JSON.parse(JSON.stringify(new Placement([t]))) as unknown;
          const back = Placement.fromJSON(json).table(3)!;
          expect(back.equals(t)).toBe(true);
          for (const s of [0, 1, 4095, 8191, SLOT_COUNT - 1]) expect(back.replicas(s)).toEqual(t.replicas(s));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects ranges that leave gaps, overlap, run past the last slot or repeat a replica', () => {
    const full = (replicas: string[]) => [{ start: 0, end: SLOT_COUNT - 1, replicas }];
    expect(() => SlotTable.fromRanges(2, full(['a', 'b']))).not.toThrow();
    expect(() =>
      SlotTable.fromRanges(2, [
        { start: 0, end: 10, replicas: ['a'] },
        { start: 12, end: SLOT_COUNT - 1, replicas: ['a'] },
      ]),
    ).toThrow(SlotTableError);
    expect(() =>
      SlotTable.fromRanges(2, [
        { start: 0, end: 10, replicas: ['a'] },
        { start: 10, end: SLOT_COUNT - 1, replicas: ['a'] },
      ]),
    ).toThrow(/does not start/);
    expect(() => SlotTable.fromRanges(2, [{ start: 0, end: SLOT_COUNT, replicas: ['a'] }])).toThrow(/past/);
    expect(() => SlotTable.fromRanges(2, [{ start: 0, end: 100, replicas: ['a'] }])).toThrow(/stop/);
    expect(() => SlotTable.fromRanges(2, full(['a', 'a']))).toThrow(/twice/);
    expect(() => SlotTable.fromRanges(1, full(['a', 'b']))).toThrow(/replication factor/);
    expect(() => SlotTable.fromRanges(2, [{ start: 0, end: SLOT_COUNT - 1, replicas: [] }])).toThrow(
      /list 0 replicas/,
    );
  });

  it('a committed table in the middle of a width change lists fewer replicas on some slots', () => {
    const t = SlotTable.fromRanges(2, [
      { start: 0, end: 10, replicas: ['a', 'b'] },
      { start: 11, end: SLOT_COUNT - 1, replicas: ['a'] },
    ]);
    expect(t.width).toBe(2);
    expect(t.uniform).toBe(false);
    expect(t.replicas(5)).toEqual(['a', 'b']);
    expect(t.replicas(11)).toEqual(['a']);
    expect(t.countOf(11)).toBe(1);
    expect(t.positionOf(11, 'b')).toBe(-1);
    expect(t.counts().replicas.get('b')).toBe(11);
    expect(SlotTable.fromRanges(2, t.toRanges()).equals(t)).toBe(true);
  });

  it('an empty table has no replicas', () => {
    const t = SlotTable.empty(3);
    expect(t.width).toBe(0);
    expect(t.replicas(5)).toEqual([]);
    expect(t.primary(5)).toBeUndefined();
    expect(t.toRanges()).toEqual([]);
    expect(SlotTable.fromRanges(3, []).equals(t)).toBe(true);
  });
});

describe('Placement', () => {
  it('holds one table per replication factor and routes keys through the slot', () => {
    const one = tableOf(1, 1, (s) => [s % 4]);
    const two = tableOf(2, 2, (s) => [s % 4, (s + 1) % 4]);
    const p = new Placement([two, one]);
    expect(p.tables.map((t) => t.replicationFactor)).toEqual([1, 2]);
    // CLUSTER KEYSLOT foo = 12182
    expect(p.replicasOfKey('foo', 1)).toEqual([ids[12182 % 4]]);
    expect(p.replicasOfKey('foo', 2)).toEqual([ids[12182 % 4], ids[(12182 + 1) % 4]]);
    expect(p.replicasOfKey('foo', 3)).toEqual([]);
    expect(() => new Placement([one, one])).toThrow(/two tables/);
  });

  it('reads a malformed payload as no placement (tryFromJSON) or an error (fromJSON)', () => {
    for (const bad of [null, 1, {}, { tables: 3 }, { tables: [null] }, { tables: [{ ranges: [{}] }] }]) {
      expect(() => Placement.fromJSON(bad)).toThrow(SlotTableError);
      expect(Placement.tryFromJSON(bad).empty).toBe(true);
    }
    expect(() =>
      Placement.fromJSON({
        tables: [{ replicationFactor: 1, ranges: [{ start: 0, end: 16383, replicas: [7] }] }],
      }),
    ).toThrow(/strings/);
  });
});
