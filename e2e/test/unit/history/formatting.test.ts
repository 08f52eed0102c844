import { describe, expect, it } from '@jest/globals';
import {
  checkHistory,
  formatSummary,
  formatViolations,
  summarizeHistory,
} from '../../../src/history/index.js';
import { HistoryBuilder } from './build.js';

describe('formatViolations', () => {
  it('says so when there is nothing to report', () => {
    expect(formatViolations([])).toBe('no violations');
  });

  it('counts by kind, numbers each violation and stops at the limit', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.read('p2', null, 2, 3);
    b.read('p2', 'nope', 4, 5);
    b.read('p2', 'nope2', 6, 7);
    const text = formatViolations(checkHistory(b.history), { limit: 2 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('3 violations (lost-write ×1, value-never-written ×2):');
    expect(lines[1]).toMatch(
      /^1\. \[lost-write\] key "k": #1 p2 read → null \[2\.000ms–3\.000ms, ok\] found the key absent/,
    );
    expect(lines[2]).toMatch(/^2\. \[value-never-written\] key "k": #2 p2 read → "nope"/);
    expect(lines[3]).toBe('… and 1 more');
    expect(lines).toHaveLength(4);
  });
});

describe('summarizeHistory', () => {
  it('counts operations by kind and outcome, pending included', () => {
    const b = new HistoryBuilder();
    b.write('p1', 'a', 0, 1);
    b.write('p1', 'b', 2, 3, { outcome: 'unknown', key: 'k2' });
    b.write('p2', 'c', 2, 3, { outcome: 'pending' });
    b.del('p3', 4, 5, { outcome: 'fail' });
    b.read('p3', null, 6, 7);
    b.read('p3', 'a', 8, 9);
    b.read('p3', null, 8, 9, { outcome: 'unknown' });
    const summary = summarizeHistory(b.history);
    expect(summary).toEqual({
      ops: 7,
      keys: 2,
      processes: 3,
      byKind: {
        write: { ok: 1, fail: 0, unknown: 1, pending: 1 },
        delete: { ok: 0, fail: 1, unknown: 0, pending: 0 },
        read: { ok: 2, fail: 0, unknown: 1, pending: 0 },
      },
      nullReads: 1,
    });
    expect(formatSummary(summary)).toBe(
      '7 ops on 2 keys by 3 processes; write 3 (ok 1, unknown 1, pending 1); delete 1 (fail 1); read 3 (ok 2, unknown 1); 1 read found the key absent',
    );
    expect(summarizeHistory(b.ops)).toEqual(summary);
  });
});
