// Arbitrary small single-key histories, legal or not, for comparing the checker
// with the brute force: any read may return any value (or null, or a value no
// one wrote), and every outcome, TTL and equal-instant case is in the mix.
import fc from 'fast-check';
import type { OpRecord, Outcome } from '../../../src/history/index.js';

const opSpec = fc.record({
  kind: fc.constantFrom('write', 'write', 'delete', 'read', 'read', 'read'),
  start: fc.integer({ min: 0, max: 12 }),
  duration: fc.integer({ min: 0, max: 6 }),
  outcome: fc.constantFrom<Outcome | 'pending'>('ok', 'ok', 'ok', 'ok', 'unknown', 'fail', 'pending'),
  ttl: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  pick: fc.nat(20),
});

/** A history of up to `maxOps` operations on key "k", and a clock slack to check it with. */
export function arbitraryHistory(maxOps = 8): fc.Arbitrary<[OpRecord[], number]> {
  return fc.tuple(
    fc.array(opSpec, { minLength: 1, maxLength: maxOps }).map((specs) => {
      const values = specs
        .map((s, i) => (s.kind === 'write' ? `v${i}` : undefined))
        .filter((v) => v !== undefined);
      // What a read may return: mostly written values and null, sometimes a stranger.
      const readable: (string | null)[] = [null, ...values, null, ...values, 'never-written'];
      return specs.map((s, id): OpRecord => {
        const base = { id, process: `p${id}`, kind: s.kind, key: 'k', invokedAt: s.start };
        const done = s.outcome === 'pending' ? {} : { completedAt: s.start + s.duration, outcome: s.outcome };
        if (s.kind === 'write') {
          const ttl = s.ttl === undefined ? {} : { expiresAtMs: s.start + s.ttl };
          return { ...base, ...done, ...ttl, value: `v${id}` };
        }
        if (s.kind === 'read' && s.outcome === 'ok')
          return { ...base, ...done, readValue: readable[s.pick % readable.length]! };
        return { ...base, ...done };
      });
    }),
    fc.constantFrom(0, 0, 0, 0.5, 2),
  );
}
