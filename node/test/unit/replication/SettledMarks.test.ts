// Settled marks end to end without a network: the coordinator side
// (SettledMarks) produces marks, the replica side (SettledTable) takes them.
import { describe, expect, it } from '@jest/globals';
import type { SettledMark, UnsettledWrite } from '@meshcache/proto';
import { SettledMarks } from '../../../src/replication/SettledMarks.js';
import { SettledTable } from '../../../src/replication/SettledTable.js';

const TAG = 0xfeedbeef; // a writer tag above 2^31: must survive >>> 0
const FROM = 1000;
const RETAIN_MS = 500;

function setup(o: { from?: number; maxRetained?: number } = {}) {
  let current = o.from ?? FROM;
  const marks = new SettledMarks(
    () => TAG,
    o.from ?? FROM,
    () => current,
    RETAIN_MS,
    o.maxRetained ?? 4,
  );
  const pinned: UnsettledWrite[] = [];
  const table = new SettledTable((w) => pinned.push(w));
  return {
    marks,
    table,
    pinned,
    /** The clock moves (this node stamped or observed versions up to `hlc`). */
    clockAt: (hlc: number) => {
      current = hlc;
    },
    /** Sends the next mark, if any, to the replica side; returns it. */
    publish: (): SettledMark | undefined => {
      const m = marks.next();
      if (m !== undefined) table.mark(m);
      return m;
    },
  };
}

const record = (hlc: number): UnsettledWrite => ({ cache: 'c', key: Buffer.from('k'), hlc, node: TAG });

describe('SettledMarks', () => {
  it('has no mark while the clock is at or below `from`', () => {
    const { marks } = setup();
    expect(marks.next()).toBeUndefined();
    expect(marks.latest()).toBeUndefined();
  });

  it('with nothing open, the mark follows the clock, and is sent only when it moves', () => {
    const { marks, clockAt } = setup();
    clockAt(FROM + 10);
    expect(marks.next()).toEqual({ node: TAG, fromHlc: FROM, upToHlc: FROM + 10 });
    expect(marks.next()).toBeUndefined();
    expect(marks.latest()).toEqual({ node: TAG, fromHlc: FROM, upToHlc: FROM + 10 });
    clockAt(FROM + 11);
    expect(marks.next()).toEqual({ node: TAG, fromHlc: FROM, upToHlc: FROM + 11 });
  });

  it('stays just below the oldest open write', () => {
    const { marks, clockAt } = setup();
    const t1 = marks.open(FROM + 20);
    const t2 = marks.open(FROM + 30);
    clockAt(FROM + 35);
    expect(marks.openCount).toBe(2);
    expect(marks.next()!.upToHlc).toBe(FROM + 19);

    marks.settle(t2); // a younger write settling does not move the mark
    expect(marks.next()).toBeUndefined();
    expect(marks.openCount).toBe(1);

    marks.settle(t1);
    expect(marks.next()!.upToHlc).toBe(FROM + 35);
    expect(marks.openCount).toBe(0);
  });

  it('moves up to the next open write as older ones settle', () => {
    const { marks, clockAt } = setup();
    const tokens = [FROM + 10, FROM + 20, FROM + 30].map((h) => marks.open(h));
    clockAt(FROM + 40);
    marks.settle(tokens[0]!);
    expect(marks.next()!.upToHlc).toBe(FROM + 19);
    marks.settle(tokens[1]!);
    expect(marks.next()!.upToHlc).toBe(FROM + 29);
    marks.settle(tokens[2]!);
    expect(marks.next()!.upToHlc).toBe(FROM + 40);
  });

  it('never covers versions at or below `from`', () => {
    const { marks, clockAt } = setup();
    marks.open(FROM + 1); // the mark would be FROM: nothing of this process below it
    clockAt(FROM + 5);
    expect(marks.next()).toBeUndefined();
    expect(marks.latest()).toBeUndefined();
  });

  it('abandon lets the mark pass and returns the unsettled record, retained for late peers', () => {
    const { marks, clockAt } = setup();
    const t1 = marks.open(FROM + 10);
    clockAt(FROM + 20);
    expect(marks.next()!.upToHlc).toBe(FROM + 9);
    const r = record(FROM + 10);
    expect(marks.abandon(t1, r, 100)).toBe(r);
    expect(t1.open).toBe(false);
    expect(marks.next()!.upToHlc).toBe(FROM + 20);
    expect(marks.retainedWrites(100 + RETAIN_MS)).toEqual([r]);
    expect(marks.retainedWrites(100 + RETAIN_MS + 1)).toEqual([]);
  });

  it('retains at most maxRetained unsettled records, the newest', () => {
    const { marks } = setup({ maxRetained: 2 });
    const records = [1, 2, 3].map((i) => record(FROM + i));
    for (const r of records) marks.abandon(marks.open(r.hlc), r, 0);
    expect(marks.retainedWrites(0)).toEqual(records.slice(1));
  });

  it('keeps its queue bounded as writes settle in order', () => {
    const { marks, clockAt } = setup();
    for (let i = 1; i <= 5000; i++) {
      const t = marks.open(FROM + i);
      clockAt(FROM + i);
      marks.settle(t);
      if (i % 100 === 0) expect(marks.next()!.upToHlc).toBe(FROM + i);
    }
    expect(marks.openCount).toBe(0);
    const t = marks.open(FROM + 6000);
    clockAt(FROM + 6000);
    expect(marks.next()!.upToHlc).toBe(FROM + 5999);
    marks.settle(t);
    expect(marks.next()!.upToHlc).toBe(FROM + 6000);
  });
});

describe('SettledMarks.covers', () => {
  it('covers versions in (from, just below the oldest open write], or up to the clock', () => {
    const { marks, clockAt } = setup();
    clockAt(FROM + 50);
    expect(marks.covers(FROM)).toBe(false);
    expect(marks.covers(FROM + 1)).toBe(true);
    expect(marks.covers(FROM + 50)).toBe(true);
    expect(marks.covers(FROM + 51)).toBe(false);
    const t = marks.open(FROM + 60);
    clockAt(FROM + 70);
    expect(marks.covers(FROM + 59)).toBe(true);
    expect(marks.covers(FROM + 60)).toBe(false);
    expect(marks.covers(FROM + 65)).toBe(false);
    marks.settle(t);
    expect(marks.covers(FROM + 65)).toBe(true);
    expect(marks.covers(FROM + 70)).toBe(true);
  });

  it('does not wait for a mark to be published', () => {
    const { marks, clockAt } = setup();
    const t = marks.open(FROM + 10);
    clockAt(FROM + 10);
    marks.settle(t);
    expect(marks.covers(FROM + 10)).toBe(true);
    expect(marks.next()!.upToHlc).toBe(FROM + 10); // and next() still reports the move
  });
});

describe('SettledTable', () => {
  const mark = (node: number, fromHlc: number, upToHlc: number): SettledMark => ({ node, fromHlc, upToHlc });

  it('settles versions in (from, upTo] of the writer that sent the mark', () => {
    const table = new SettledTable(() => {});
    table.mark(mark(7, 100, 200));
    expect(table.settled(100, 7)).toBe(false); // at `from`: not this process's
    expect(table.settled(101, 7)).toBe(true);
    expect(table.settled(200, 7)).toBe(true);
    expect(table.settled(201, 7)).toBe(false);
    expect(table.settled(150, 8)).toBe(false); // another writer
  });

  it('only grows a range of one writer process', () => {
    const table = new SettledTable(() => {});
    table.mark(mark(7, 100, 200));
    table.mark(mark(7, 100, 150)); // an older mark arriving late
    expect(table.settled(200, 7)).toBe(true);
    table.mark(mark(7, 100, 300));
    expect(table.settled(300, 7)).toBe(true);
  });

  it('keeps one range per writer process (a new `from`), at most 8', () => {
    const table = new SettledTable(() => {});
    // Process 1 of writer 7 covered (100, 200]; after a restart process 2 starts at 1000.
    table.mark(mark(7, 100, 200));
    table.mark(mark(7, 1000, 1100));
    expect(table.settled(150, 7)).toBe(true);
    expect(table.settled(1050, 7)).toBe(true);
    expect(table.settled(500, 7)).toBe(false); // between the processes: nobody vouched
    for (let p = 3; p <= 9; p++) table.mark(mark(7, p * 1000, p * 1000 + 100));
    // Nine processes: the first range was dropped, the other eight answer.
    expect(table.settled(150, 7)).toBe(false);
    expect(table.settled(1050, 7)).toBe(true);
    expect(table.settled(9050, 7)).toBe(true);
  });

  it('answers per writer tag, taking tags as uint32', () => {
    const table = new SettledTable(() => {});
    table.mark(mark(TAG, 0, 100));
    table.mark(mark(1, 0, 50));
    expect(table.settled(80, TAG)).toBe(true);
    expect(table.settled(80, TAG | 0)).toBe(true); // the same tag as a signed int32
    expect(table.settled(80, 1)).toBe(false);
    expect(table.settled(50, 1)).toBe(true);
  });

  it("judges this node's own versions by setSelf's callback, other writers by their marks", () => {
    const table = new SettledTable(() => {});
    const asked: number[] = [];
    table.setSelf(
      () => TAG,
      (hlc) => {
        asked.push(hlc);
        return hlc <= 40;
      },
    );
    table.mark(mark(TAG, 0, 100)); // a mark under this node's own tag does not override the callback
    table.mark(mark(7, 0, 100));
    expect(table.settled(40, TAG)).toBe(true);
    expect(table.settled(41, TAG)).toBe(false);
    expect(table.settled(41, TAG | 0)).toBe(false);
    expect(table.settled(41, 7)).toBe(true);
    expect(asked).toEqual([40, 41, 41]);
  });

  it('pin forwards the unsettled write to the callback', () => {
    const pinned: UnsettledWrite[] = [];
    const table = new SettledTable((w) => pinned.push(w));
    const r = record(5);
    table.pin(r);
    expect(pinned).toEqual([r]);
  });
});

describe('SettledMarks -> SettledTable', () => {
  it('an open write is never settled; it is once every replica has it', () => {
    const { marks, publish, table, clockAt } = setup();
    clockAt(FROM + 9);
    const t = marks.open(FROM + 10);
    clockAt(FROM + 12);
    publish();
    expect(table.settled(FROM + 9, TAG)).toBe(true);
    expect(table.settled(FROM + 10, TAG)).toBe(false);
    expect(table.settled(FROM, TAG)).toBe(false);
    marks.settle(t);
    publish();
    expect(table.settled(FROM + 10, TAG)).toBe(true);
    expect(table.settled(FROM + 12, TAG)).toBe(true);
  });

  it('an abandoned write is pinned on the replica side before the mark passes it', () => {
    const { marks, publish, table, pinned, clockAt } = setup();
    const t = marks.open(FROM + 10);
    clockAt(FROM + 10);
    publish();
    const r = marks.abandon(t, record(FROM + 10), 0);
    table.pin(r); // rides on the frame before the next mark
    publish();
    expect(pinned).toEqual([r]);
    expect(table.settled(FROM + 10, TAG)).toBe(true); // the store's pin keeps it unsettled
  });
});
