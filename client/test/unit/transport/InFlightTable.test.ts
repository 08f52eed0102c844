import { describe, expect, it } from '@jest/globals';
import { OpType } from '@meshcache/proto';
import { InFlightTable } from '../../../src/transport/InFlightTable.js';
import { OpIdSequence } from '../../../src/transport/OpIdSequence.js';
import { PendingOp } from '../../../src/transport/PendingOp.js';

function op(id: number): PendingOp {
  const o = new PendingOp(OpType.GET, '', 0, 1000, 0, { decode: () => undefined });
  o.id = id;
  return o;
}

describe('InFlightTable', () => {
  it('adds, finds and takes ops by id', () => {
    const table = new InFlightTable();
    const a = op(1);
    const b = op(2);
    table.add(a);
    table.add(b);
    expect(table.size).toBe(2);
    expect(table.get(1)).toBe(a);
    expect(table.take(2)).toBe(b);
    expect(table.take(2)).toBeUndefined();
    expect(table.get(2)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('does not confuse ids that share a slot', () => {
    const table = new InFlightTable();
    table.add(op(5));
    expect(table.isTaken(5 + 256)).toBe(true);
    expect(table.get(5 + 256)).toBeUndefined();
    expect(table.take(5 + 256)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('grows and keeps every op reachable', () => {
    const table = new InFlightTable();
    const ids = new OpIdSequence();
    const ops: PendingOp[] = [];
    for (let i = 0; i < 5_000; i++) {
      const o = op(ids.next(table));
      table.add(o);
      ops.push(o);
    }
    expect(table.size).toBe(5_000);
    for (const o of ops) expect(table.get(o.id)).toBe(o);
    const drained = table.drain();
    expect(drained.map((o) => o.id)).toEqual(ops.map((o) => o.id));
    expect(table.size).toBe(0);
  });

  it('makes the id sequence skip ids whose slot an old op still holds', () => {
    const table = new InFlightTable();
    const ids = new OpIdSequence();
    const old = op(ids.next(table)); // id 1, never answered
    table.add(old);
    const seen: number[] = [];
    for (let i = 0; i < 300; i++) {
      const o = op(ids.next(table));
      seen.push(o.id);
      table.add(o);
      table.take(o.id);
    }
    expect(seen).not.toContain(1 + 256); // 257 shares slot 1 with the old op
    expect(table.get(1)).toBe(old);
  });

  it('lets forEach callers take the op they are given', () => {
    const table = new InFlightTable();
    for (let id = 1; id <= 10; id++) table.add(op(id));
    table.forEach((o) => {
      if (o.id % 2 === 0) table.take(o.id);
    });
    expect(table.size).toBe(5);
    expect(table.drain().map((o) => o.id)).toEqual([1, 3, 5, 7, 9]);
  });
});
