import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  checkHistory,
  describeOp,
  formatViolations,
  type OpRecord,
  type ViolationKind,
} from '../../../src/history/index.js';
import { arbitraryHistory } from './arbitraryHistory.js';
import { isLinearizable } from './bruteForceLinearizable.js';
import { appendTail, type Plan, plan, type PlannedOp, prng, record, run } from './simulateRegister.js';

const SEEDS = 500;
const SMALL = { maxKeys: 1, maxProcesses: 3, maxOpsPerProcess: 4 };

function fail(seed: number, ops: readonly OpRecord[], message: string): never {
  throw new Error(`seed ${seed}: ${message}\nhistory:\n${ops.map(describeOp).join('\n')}`);
}

describe('checkHistory on a correct register (simulated linearizable system)', () => {
  it(`finds no violation in ${SEEDS} random concurrent histories, which do cover the hard cases`, () => {
    const covered = { ops: 0, nullsFromExpiry: 0, lateValuesRead: 0, unknown: 0, integerTimes: 0 };
    for (let seed = 0; seed < SEEDS; seed++) {
      const p = plan(prng(seed));
      const stats = run(p);
      const { history } = record(p);
      const vs = checkHistory(history);
      if (vs.length) fail(seed, history.ops, formatViolations(vs));
      covered.ops += p.ops.length;
      covered.nullsFromExpiry += stats.nullsFromExpiry;
      covered.lateValuesRead += stats.lateValuesRead;
      covered.unknown += p.ops.filter((o) => o.outcome !== 'ok' && o.outcome !== 'fail').length;
      covered.integerTimes += p.integerTimes ? 1 : 0;
    }
    // Not what is tested, but what makes the test worth something.
    expect(covered.nullsFromExpiry).toBeGreaterThan(50);
    expect(covered.lateValuesRead).toBeGreaterThan(50);
    expect(covered.unknown).toBeGreaterThan(500);
    expect(covered.integerTimes).toBeGreaterThan(100);
  });

  it('finds none either with clock slack or flickering expiry allowed (both only relax the rules)', () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const rand = prng(seed);
      const p = plan(rand);
      run(p);
      const { history } = record(p);
      const options = { clockSlackMs: rand() * 3, expiryMayFlicker: rand() < 0.5 };
      const vs = checkHistory(history, options);
      if (vs.length) fail(seed, history.ops, `${JSON.stringify(options)}\n${formatViolations(vs)}`);
    }
  });

  it('agrees with the brute force that small simulated histories are linearizable', () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const p = plan(prng(seed), SMALL);
      run(p);
      const { history } = record(p);
      if (!isLinearizable(history.ops)) fail(seed, history.ops, 'the brute force rejects a correct run');
      expect(checkHistory(history)).toEqual([]);
    }
  });
});

/** A mutation of the correct system that is observable by construction, and what it must be reported as. */
interface Mutant {
  name: string;
  expected: readonly ViolationKind[];
  /** Breaks the plan; returns the planned read that must be flagged. */
  apply(p: Plan, rand: () => number): PlannedOp;
}

// Each tail runs after everything planned has settled, one operation at a time:
// nothing concurrent or late can excuse what the broken system does there.
const mutants: Mutant[] = [
  {
    name: 'drops an acknowledged write (the read returns the previous value)',
    expected: ['overwritten-value-returned'],
    apply(p, rand) {
      const [, dropped, read] = appendTail(p, pick(p.keys, rand), [
        { kind: 'write' },
        { kind: 'write' },
        { kind: 'read' },
      ]);
      run(p, { drop: new Set([dropped!]) });
      return read!;
    },
  },
  {
    name: 'drops the first acknowledged write of a key (the read finds it absent)',
    expected: ['lost-write'],
    apply(p) {
      const [dropped, read] = appendTail(p, 'fresh', [{ kind: 'write' }, { kind: 'read' }]);
      run(p, { drop: new Set([dropped!]) });
      return read!;
    },
  },
  {
    name: 'drops an acknowledged delete (the deleted value comes back)',
    expected: ['resurrected-delete'],
    apply(p, rand) {
      const [, dropped, read] = appendTail(p, pick(p.keys, rand), [
        { kind: 'write' },
        { kind: 'delete' },
        { kind: 'read' },
      ]);
      run(p, { drop: new Set([dropped!]) });
      return read!;
    },
  },
  {
    name: 'serves a read from a replica behind one that already served a newer value',
    expected: ['read-went-back'],
    apply(p, rand) {
      // The newer write is acknowledged only late, so only the first read proves it applied.
      const [older, , , read] = appendTail(p, pick(p.keys, rand), [
        { kind: 'write' },
        { kind: 'write', ackAfter: 18 },
        { kind: 'read' },
        { kind: 'read' },
      ]);
      run(p);
      read!.readValue = older!.value;
      return read!;
    },
  },
  {
    name: 'returns a stale value to a random read in the middle of the concurrent history',
    expected: ['overwritten-value-returned', 'resurrected-delete'],
    apply(p, rand) {
      run(p);
      // Stale by the plainest real-time argument: W acknowledged, then an acknowledged
      // mutation invoked after it, then acknowledged before the read began.
      const acked = p.ops.filter((o) => o.kind !== 'read' && o.outcome === 'ok');
      const targets = p.ops.flatMap((r) => {
        if (r.kind !== 'read' || r.outcome !== 'ok') return [];
        const stale = acked.filter(
          (w) =>
            w.kind === 'write' &&
            w.key === r.key &&
            acked.some((m) => m.key === r.key && w.end! < m.start && m.end! < r.start),
        );
        return stale.length ? [{ read: r, stale }] : [];
      });
      if (!targets.length) return mutants[0]!.apply(p, rand); // nothing stale to serve (5% of seeds): use a tail
      const { read, stale } = pick(targets, rand);
      read.readValue = pick(stale, rand).value;
      return read;
    },
  },
];

function pick<T>(items: readonly T[], rand: () => number): T {
  return items[Math.floor(rand() * items.length)]!;
}

describe('checkHistory on a broken register', () => {
  it.each(mutants.map((m) => [m.name, m] as const))('flags every run where the system %s', (_, mutant) => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const rand = prng(seed);
      const p = plan(rand);
      const target = mutant.apply(p, rand);
      const { history, recordOf } = record(p);
      const vs = checkHistory(history);
      const flagged = vs.find((v) => v.read === recordOf.get(target));
      if (!flagged)
        fail(seed, history.ops, `#${recordOf.get(target)!.id} not flagged; found:\n${formatViolations(vs)}`);
      expect(mutant.expected).toContain(flagged.kind);
    }
  });

  it('flags most random dropped acknowledged writes that the brute force proves observable, and nothing else', () => {
    let observable = 0;
    let flagged = 0;
    for (let seed = 0; seed < 3 * SEEDS; seed++) {
      const rand = prng(seed);
      const p = plan(rand, SMALL);
      const acked = p.ops.filter((o) => o.kind === 'write' && o.outcome === 'ok');
      if (!acked.length) continue;
      run(p, { drop: new Set([pick(acked, rand)]) });
      const { history } = record(p);
      const vs = checkHistory(history);
      if (isLinearizable(history.ops)) {
        if (vs.length) fail(seed, history.ops, `false alarm:\n${formatViolations(vs)}`);
        continue;
      }
      observable++;
      if (vs.length) flagged++;
    }
    expect(observable).toBeGreaterThan(100);
    // Not every anomaly is provable without trying orders of concurrent writes; the
    // drop of an acknowledged write almost always is.
    expect(flagged / observable).toBeGreaterThan(0.8);
  });
});

describe('checkHistory against the brute force on arbitrary small histories', () => {
  it('never reports a violation in a history that is linearizable (soundness)', () => {
    fc.assert(
      fc.property(arbitraryHistory(), ([ops, clockSlackMs]) => {
        const vs = checkHistory(ops, { clockSlackMs });
        if (vs.length && isLinearizable(ops)) {
          throw new Error(`false alarm with slack ${clockSlackMs}:\n${formatViolations(vs)}`);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('reports most non-linearizable ones, beyond values that were never written', () => {
    let anomalies = 0;
    let caught = 0;
    for (const [ops] of fc.sample(arbitraryHistory(), { numRuns: 20000, seed: 7 })) {
      if (readsValueWithoutWriter(ops) || isLinearizable(ops)) continue;
      anomalies++;
      if (checkHistory(ops).length) caught++;
    }
    expect(anomalies).toBeGreaterThan(200);
    expect(caught / anomalies).toBeGreaterThan(0.9);
  });
});

/** The easy anomalies (rules 1-3): a value nobody wrote, a failed write's, or one from the future. */
function readsValueWithoutWriter(ops: readonly OpRecord[]): boolean {
  return ops.some((r) => {
    if (r.kind !== 'read' || r.outcome !== 'ok' || r.readValue === null) return false;
    const w = ops.find((o) => o.kind === 'write' && o.value === r.readValue);
    return !w || w.outcome === 'fail' || r.completedAt! < w.invokedAt;
  });
}
