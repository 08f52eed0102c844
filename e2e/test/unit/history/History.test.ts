import { describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { History } from '../../../src/history/index.js';

describe('History', () => {
  it('records each operation with the injected clock at invoke and at complete', () => {
    let now = 10;
    const h = new History({ now: () => now });
    const w = h.invoke('p1', 'write', 'k', 'a', { expiresAtMs: 99 });
    const r = h.invoke('p2', 'read', 'k');
    now = 12;
    h.complete(r, 'ok', null);
    now = 15;
    h.complete(w, 'unknown');
    const d = h.invoke('p1', 'delete', 'k');
    expect(h.ops).toEqual([
      {
        id: 0,
        process: 'p1',
        kind: 'write',
        key: 'k',
        value: 'a',
        expiresAtMs: 99,
        invokedAt: 10,
        completedAt: 15,
        outcome: 'unknown',
      },
      {
        id: 1,
        process: 'p2',
        kind: 'read',
        key: 'k',
        invokedAt: 10,
        completedAt: 12,
        outcome: 'ok',
        readValue: null,
      },
      { id: 2, process: 'p1', kind: 'delete', key: 'k', invokedAt: 15 },
    ]);
    expect(d.id).toBe(2);
    expect(h.pending()).toEqual([h.ops[2]]);
    expect(h.toJSON()).toEqual(h.ops);
    expect(h.toJSON()[0]).not.toBe(h.ops[0]);
  });

  it('uses the monotonic performance.now() by default', () => {
    const h = new History();
    const before = performance.now();
    const op = h.invoke('p', 'read', 'k');
    h.complete(op, 'ok', 'x');
    const after = performance.now();
    const rec = h.ops[0]!;
    expect(rec.invokedAt).toBeGreaterThanOrEqual(before);
    expect(rec.completedAt).toBeGreaterThanOrEqual(rec.invokedAt);
    expect(rec.completedAt).toBeLessThanOrEqual(after);
    expect(h.now()).toBeGreaterThanOrEqual(after);
  });

  it('refuses a value written twice to one key, but not to two keys', () => {
    const h = new History();
    h.invoke('p', 'write', 'k1', 'a');
    h.invoke('p', 'write', 'k2', 'a');
    expect(() => h.invoke('p', 'write', 'k1', 'a')).toThrow(/already written/);
  });

  it('refuses misuse: values where none belong, missing read values, double or foreign completion', () => {
    const h = new History();
    expect(() => (h.invoke as (...a: unknown[]) => unknown)('p', 'write', 'k')).toThrow(/needs a value/);
    expect(() => (h.invoke as (...a: unknown[]) => unknown)('p', 'delete', 'k', 'v')).toThrow(
      /carries no value/,
    );
    const r = h.invoke('p', 'read', 'k');
    expect(() => h.complete(r, 'ok')).toThrow(/without a value/);
    const r2 = h.invoke('p', 'read', 'k');
    expect(() => h.complete(r2, 'fail', 'x')).toThrow(/only a read completed ok/);
    const w = h.invoke('p', 'write', 'k', 'a');
    expect(() => h.complete(w, 'ok', 'a')).toThrow(/only a read completed ok/);
    h.complete(w, 'ok');
    expect(() => h.complete(w, 'ok')).toThrow(/already completed/);
    expect(() => h.complete({ id: 0 }, 'ok', null)).toThrow(/not a handle from this history/);
    expect(() => new History().complete(w, 'ok')).toThrow(/not a handle from this history/);
  });
});
