import { describe, expect, it } from '@jest/globals';
import { checkHistory, formatViolations, type Violation } from '../../../src/history/index.js';
import { HistoryBuilder } from './build.js';

/** The kinds found, in order; the explanation is printed when the expectation fails. */
function kinds(b: HistoryBuilder, options = {}): string[] {
  return checkHistory(b.history, options).map((v) => v.kind);
}

function only(b: HistoryBuilder, options = {}): Violation {
  const vs = checkHistory(b.history, options);
  if (vs.length !== 1) throw new Error(`expected exactly one violation, got:\n${formatViolations(vs)}`);
  return vs[0]!;
}

function clean(b: HistoryBuilder, options = {}): void {
  const vs = checkHistory(b.history, options);
  if (vs.length) throw new Error(`expected no violation, got:\n${formatViolations(vs)}`);
}

describe('checkHistory catches', () => {
  it('a lost write: acknowledged, then a later read finds the key absent as before', () => {
    const b = new HistoryBuilder();
    const w = b.write('p1', 'a', 0, 1);
    const r = b.read('p2', null, 2, 3);
    const v = only(b);
    expect(v.kind).toBe('lost-write');
    expect(v.read).toBe(r);
    expect(v.ops).toContain(w);
    expect(v.explanation).toContain('#0 p1 write "a" [0.000ms–1.000ms, ok]');
    expect(v.explanation).toContain('#1 p2 read → null [2.000ms–3.000ms, ok]');
  });

  it('a lost write: acknowledged, then a later read returns the previous value', () => {
    const b = new HistoryBuilder();
    const w0 = b.write('p1', 'a', 0, 1);
    const w1 = b.write('p1', 'b', 2, 3);
    b.read('p2', 'a', 4, 5);
    const v = only(b);
    expect(v.kind).toBe('overwritten-value-returned');
    expect(v.ops).toEqual(expect.arrayContaining([w0, w1]));
  });

  it('a stale read from a lagging replica, amid concurrent operations', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 2, 4);
    b.write('p3', 'c', 3, 10, { outcome: 'unknown' }); // may apply any time: cannot excuse "a"
    b.read('p2', 'a', 3.5, 6); // concurrent with b's write: "a" is still fine here
    const stale = b.read('p4', 'a', 5, 6); // began after b was acknowledged
    const v = only(b);
    expect(v.kind).toBe('overwritten-value-returned');
    expect(v.read).toBe(stale);
  });

  it('a later write beaten by an earlier one, once, even after a read saw the later one', () => {
    const b = new HistoryBuilder();
    const w1 = b.write('p1', 'old', 0, 2);
    const w2 = b.write('p2', 'new', 3, 5);
    b.read('p3', 'new', 5.5, 6);
    const r = b.read('p3', 'old', 7, 8);
    b.read('p3', 'new', 9, 10); // correct again: not blamed for the anomaly before it
    const v = only(b);
    expect(v).toMatchObject({ kind: 'overwritten-value-returned', read: r });
    expect(v.ops).toEqual([r, w1, w2]);
  });

  it('a resurrected delete, despite a concurrent write of unknown outcome', () => {
    const b = new HistoryBuilder();
    const w = b.write('p1', 'a', 0, 1);
    const d = b.del('p1', 2, 3);
    b.write('p2', 'b', 2.5, 3.5, { outcome: 'unknown' });
    b.read('p3', 'b', 4, 5);
    const r = b.read('p3', 'a', 6, 7);
    const v = only(b);
    expect(v).toMatchObject({ kind: 'resurrected-delete', read: r });
    expect(v.ops).toEqual(expect.arrayContaining([w, d]));
  });

  it('a read that went back in time: R2 returns a value older than the one R1 saw', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 2, 20); // not acknowledged until long after: only R1 proves it applied
    const r1 = b.read('p2', 'b', 3, 4);
    const r2 = b.read('p3', 'a', 5, 6);
    const v = only(b);
    expect(v).toMatchObject({ kind: 'read-went-back', read: r2 });
    expect(v.ops).toContain(r1);
  });

  it('a read that went back to absent after an earlier read saw a value', () => {
    const b = new HistoryBuilder();
    b.del('p1', 0, 1);
    b.write('p1', 'a', 2, 20, { outcome: 'unknown' });
    b.read('p2', 'a', 3, 4);
    b.read('p3', null, 5, 6);
    expect(kinds(b)).toEqual(['read-went-back']);
  });

  it('a read that went back, proven only by what an earlier read did not see', () => {
    // "a" and "b" were written concurrently, so neither write alone orders them; but R1
    // began after "a" was acknowledged and saw "b": "a" was gone for good by then.
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p2', 'b', 0.5, 2, { outcome: 'unknown' });
    b.read('p3', 'b', 3, 4);
    b.read('p4', 'a', 5, 6);
    expect(kinds(b)).toEqual(['read-went-back']);
  });

  it('a value never written, naming the key it was written to if any', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'x', 0, 1, { key: 'other' });
    b.read('p2', 'zzz', 2, 3);
    b.read('p2', 'x', 4, 5);
    const vs = checkHistory(b.history);
    expect(vs.map((v) => v.kind)).toEqual(['value-never-written', 'value-never-written']);
    expect(vs[1]!.explanation).toContain('written to key "other"');
  });

  it('the value of a failed write', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { outcome: 'fail' });
    b.read('p2', 'a', 2, 3);
    expect(kinds(b)).toEqual(['failed-write-observed']);
  });

  it('a value read before its write was invoked', () => {
    const b = new HistoryBuilder();
    b.read('p2', 'a', 0, 1);
    b.write('p1', 'a', 2, 3);
    expect(kinds(b)).toEqual(['value-from-future']);
  });

  it('null before expiresAtMs, and a TTL that does not excuse losing the write that replaced it', () => {
    const early = new HistoryBuilder();
    early.write('p1', 'a', 0, 1, { expiresAtMs: 10 });
    early.read('p2', null, 5, 6);
    expect(kinds(early)).toEqual(['lost-write']);

    const overwritten = new HistoryBuilder();
    overwritten.write('p1', 'a', 0, 1, { expiresAtMs: 10 });
    overwritten.write('p1', 'b', 2, 3);
    overwritten.read('p2', null, 11, 12); // "a" expiring cannot hide "b"
    overwritten.read('p2', 'a', 13, 14); // nor can "a" come back
    expect(kinds(overwritten)).toEqual(['lost-write', 'overwritten-value-returned']);
  });

  it('an expired value coming back, unless expiryMayFlicker', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { expiresAtMs: 5 });
    b.read('p2', null, 6, 7);
    b.read('p3', 'a', 8, 9);
    expect(kinds(b)).toEqual(['read-went-back']);
    clean(b, { expiryMayFlicker: true });
  });

  it('an absent key despite a delete that failed', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.del('p2', 2, 3, { outcome: 'fail' });
    b.read('p3', null, 4, 5);
    expect(kinds(b)).toEqual(['lost-write']);
  });

  it('violations on several keys independently', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { key: 'k1' });
    b.write('p1', 'b', 0, 1, { key: 'k2' });
    b.read('p2', null, 2, 3, { key: 'k1' });
    b.read('p2', 'b', 2, 3, { key: 'k2' });
    b.del('p1', 4, 5, { key: 'k2' });
    b.read('p2', 'b', 6, 7, { key: 'k2' });
    const vs = checkHistory(b.history);
    expect(vs.map((v) => [v.key, v.kind])).toEqual([
      ['k1', 'lost-write'],
      ['k2', 'resurrected-delete'],
    ]);
  });
});

describe('checkHistory raises no false alarm on', () => {
  it('concurrent writes, whichever value later reads return', () => {
    for (const seen of ['a', 'b']) {
      const b = new HistoryBuilder();
      b.write('p1', 'a', 0, 10);
      b.write('p2', 'b', 1, 9);
      b.read('p3', seen, 11, 12);
      b.read('p3', seen, 13, 14);
      clean(b);
    }
  });

  it('concurrent writes of unknown outcome, whichever value reads return', () => {
    for (const seen of ['a', 'b', null]) {
      const b = new HistoryBuilder();
      b.write('p1', 'a', 0, 2, { outcome: 'unknown' });
      b.write('p2', 'b', 1, 3, { outcome: 'unknown' });
      b.read('p3', seen, 4, 5);
      clean(b);
    }
  });

  it('an unknown write appearing late, after writes invoked after it were acknowledged and read', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { outcome: 'unknown' });
    b.write('p1', 'b', 2, 3);
    b.read('p2', 'b', 4, 5);
    b.read('p2', 'a', 6, 7); // applied late: it may have sat in a replication queue
    b.read('p2', 'a', 8, 9);
    clean(b);
    // Once it has surfaced after "b", "b" cannot come back.
    b.read('p2', 'b', 10, 11);
    expect(kinds(b)).toEqual(['read-went-back']);
  });

  it('a pending write (the test ended first) surfacing late, like an unknown one', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { outcome: 'pending' });
    b.write('p1', 'b', 2, 3);
    b.read('p2', 'a', 4, 5);
    clean(b);
  });

  it('a failed write never seen', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 2, 3, { outcome: 'fail' });
    b.read('p2', 'a', 4, 5);
    b.del('p1', 6, 7, { outcome: 'fail' });
    b.read('p2', 'a', 8, 9);
    clean(b);
  });

  it('a TTL value reading as null after expiresAtMs, including one that applied late', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1, { expiresAtMs: 10 });
    b.read('p2', 'a', 11, 12); // expiry is allowed, not required
    b.read('p2', null, 13, 14);
    b.read('p2', null, 15, 16);
    clean(b);

    const late = new HistoryBuilder();
    late.write('p1', 'a', 0, 1, { expiresAtMs: 5, outcome: 'unknown' });
    late.read('p2', null, 6, 7); // not applied yet
    late.read('p2', 'a', 8, 9); // applied late: expiresAtMs is past, yet expiring is optional
    late.read('p2', null, 10, 11); // and now expired
    clean(late);
  });

  it('reads concurrent with a write returning either value, in either order', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 2, 6);
    b.read('p2', 'b', 3, 4);
    b.read('p3', 'a', 3.5, 5); // overlaps R1, so it may be ordered before it
    clean(b);
    b.read('p4', 'a', 4.5, 5.5); // began after R1 saw "b" completed: went back
    expect(kinds(b)).toEqual(['read-went-back']);
  });

  it('reads concurrent with a delete, and a delete of unknown outcome that may apply late', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.del('p1', 2, 4);
    b.read('p2', null, 3, 3.5);
    b.read('p3', 'a', 3.2, 3.8);
    b.write('p1', 'c', 5, 6);
    b.del('p1', 7, 8, { outcome: 'unknown' });
    b.read('p2', 'c', 9, 10);
    b.read('p2', null, 11, 12);
    clean(b);
  });

  it('equal instants, which are never taken as ordered', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 2);
    b.write('p2', 'b', 2, 3);
    b.read('p3', 'a', 3, 4);
    b.read('p4', 'b', 1, 2);
    clean(b);
  });

  it('instants closer than clockSlackMs', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 1.5, 2);
    b.read('p2', 'a', 2.5, 3);
    expect(kinds(b)).toEqual(['overwritten-value-returned']);
    clean(b, { clockSlackMs: 1 });
  });

  it('reads that failed or timed out, whatever else happened', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.read('p2', null, 2, 3, { outcome: 'fail' });
    b.read('p2', null, 4, 5, { outcome: 'unknown' });
    b.read('p2', null, 6, 7, { outcome: 'pending' });
    clean(b);
  });
});

describe('checkHistory refuses malformed histories', () => {
  it('a value written twice to one key', () => {
    const ops = [
      {
        id: 0,
        process: 'p',
        kind: 'write',
        key: 'k',
        value: 'a',
        invokedAt: 0,
        completedAt: 1,
        outcome: 'ok',
      },
      {
        id: 1,
        process: 'p',
        kind: 'write',
        key: 'k',
        value: 'a',
        invokedAt: 2,
        completedAt: 3,
        outcome: 'ok',
      },
    ] as const;
    expect(() => checkHistory(ops)).toThrow(/written twice/);
  });

  it('an ok read without a value, or an operation completed before it began', () => {
    const read = {
      id: 0,
      process: 'p',
      kind: 'read',
      key: 'k',
      invokedAt: 0,
      completedAt: 1,
      outcome: 'ok',
    } as const;
    expect(() => checkHistory([read])).toThrow(/needs readValue/);
    expect(() => checkHistory([{ ...read, readValue: null, completedAt: -1 }])).toThrow(/completed before/);
    expect(() => checkHistory([read], { clockSlackMs: -1 })).toThrow(/clockSlackMs/);
  });
});
