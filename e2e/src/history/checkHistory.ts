/**
 * Judges a recorded history against the behaviour of an atomic (linearizable)
 * register per key, using only what the client saw: the real-time order of
 * operations on its monotonic clock and the unique values it wrote. Server
 * versions, server clocks and replica states are never consulted, so a bug that
 * corrupts them cannot hide itself.
 *
 * THE MODEL (what a correct system may do)
 * Every key is an independent register, initially absent (null). Then:
 *  - a write or delete completed `ok` took effect exactly once, at an instant
 *    within [invokedAt, completedAt];
 *  - one completed `unknown`, or never completed, took effect at most once, at any
 *    instant >= invokedAt (possibly long after the client gave up), or never;
 *  - one completed `fail` never took effect;
 *  - a read completed `ok` took effect at an instant within its interval and
 *    returned the register's value at that instant (null = absent); reads that
 *    ended `fail`/`unknown` carry no value and are ignored;
 *  - a write with `expiresAtMs` may also expire: at one instant >= max(its effect,
 *    expiresAtMs), IF it is still the key's latest mutation, the key becomes absent.
 *    Expiry is optional (nothing is reported for a value read after its expiry) and,
 *    by default, permanent like a delete (see CheckOptions.expiryMayFlicker).
 * A history is legal iff such instants exist for all operations. Deciding that
 * exactly is expensive in general; this checker applies necessary conditions
 * instead. It is SOUND: each violation it reports is a proof that no such
 * instants exist, so a legal history, however concurrent, with whatever mix of
 * unknown outcomes and expiries, yields none. It is not COMPLETE: some illegal
 * histories pass (e.g. anomalies provable only by reasoning about which of several
 * concurrent writes went first).
 *
 * DEFINITIONS (per key; `slack` is CheckOptions.clockSlackMs, default 0)
 *  - x "definitely precedes" y, for an end-like instant x (a completion) and a
 *    start-like instant y (an invocation, an expiresAtMs): x + slack < y. Equal
 *    instants are possibly simultaneous, never ordered.
 *  - appliedBy(M) for a write or delete M: the earliest end-like instant by which M
 *    surely took effect: its completion if it completed `ok`; for a write, also the
 *    completion of the first accepted read (below) that returned its value (a read
 *    cannot see a value before it is written, whatever the outcome says); otherwise
 *    unknown (infinite). The initial absence has appliedBy = -infinity.
 *  - At instant t, a source N (a write's value, a delete's absence, the initial
 *    absence, or a TTL'd write's expiry) is REPLACED if, by evidence that definitely
 *    precedes t, it cannot be the register's state at any instant >= t:
 *    (a) superseded: some mutation M' has appliedBy(N) definitely preceding
 *        M'.invokedAt, and appliedBy(M') definitely preceding t. Then N took effect,
 *        M' took effect after it and before t, and since every mutation takes effect
 *        once, N's value can never be current again (nor can N's expiry, which only
 *        acts while N is the latest mutation);
 *    (b) seen gone: some accepted read R1 has appliedBy(N) definitely preceding
 *        R1.invokedAt, R1's completion definitely preceding t, and R1 returned
 *        something N could not have produced: for a write's value, any other value,
 *        or null; for a delete or the initial absence, any value; for a write's
 *        expiry, any other non-null value. R1 read after N had taken effect and saw
 *        it gone, and gone is forever. (With expiryMayFlicker, a null R1 only counts
 *        against a TTL'd write if it completed definitely before expiresAtMs.)
 *
 * THE RULES (each ok read R, at t = R.invokedAt)
 *  R returned value v:
 *   1. no write to this key wrote v                               -> value-never-written
 *   2. the write W of v completed `fail`                          -> failed-write-observed
 *   3. R's completion definitely precedes W.invokedAt             -> value-from-future
 *   4. W is replaced at t; the kind names the strongest evidence:
 *      an acknowledged delete superseded W                        -> resurrected-delete
 *      else an acknowledged write superseded W                    -> overwritten-value-returned
 *      else only reads prove it (a read saw W gone, or saw the
 *      superseding write, which was not acknowledged in time)     -> read-went-back
 *  R returned null: the POSSIBLE CAUSES of absence are the initial absence, every
 *  delete not `fail` whose invocation R's completion does not definitely precede,
 *  and the expiry of every write not `fail` with expiresAtMs where R's completion
 *  definitely precedes neither the write's invocation nor its expiresAtMs.
 *   5. every possible cause is replaced at t:
 *      the most recently invoked mutation acknowledged before t is a write invoked
 *      after every cause took effect                              -> lost-write
 *      else (reads were needed to prove it)                       -> read-went-back
 * An accepted read is one no rule flagged. Only accepted reads serve as evidence
 * (for appliedBy and for (b)): one anomalous read is reported once, instead of
 * making every later correct read look wrong too.
 *
 * WHAT THIS MEANS FOR THE CASES THE REPLICATION TESTS CARE ABOUT
 *  - Lost write: W acknowledged, a read invoked later returns the previous value
 *    (or null): rule 4 (or 5) via (a).
 *  - A later write beaten by an earlier one: W1 acknowledged before W2 was invoked,
 *    W2 acknowledged, a later read returns W1: rule 4, overwritten-value-returned,
 *    whatever else ran concurrently.
 *  - Monotonic reads: R1 completed before R2 was invoked; R1 saw W_a; R2 returns W_b
 *    with W_b taking effect definitely before W_a's invocation (or before R1's), or
 *    null although every cause of absence took effect before: (a) with W_a's
 *    appliedBy from R1, or (b).
 *  - An `unknown` write may surface arbitrarily late, even after writes invoked
 *    after it were acknowledged and read: it may have been stuck in a queue. Only
 *    after a read has returned it is it known to have taken effect; from then on
 *    it is replaced like any other write.
 *  - A TTL'd write's value may read as null once expiresAtMs has passed (rule 5's
 *    expiry cause) but, overwritten, it never comes back (rule 4).
 *
 * Each mutation takes effect AT MOST ONCE: a client that silently retries a write
 * which already took effect can make its value reappear after a later write, and
 * that is reported (users would see it too).
 *
 * COST: one sweep over each key's events in time order, O(n log n) for the sort;
 * each value read is judged in O(log n) and each null read in O(number of mutations
 * of its key); explanations (only for violations) scan the key's operations.
 */
import { describeOp, formatTime } from './describeOp.js';
import type { CheckOptions, OpRecord, Violation, ViolationKind } from './types.js';

/** A write or delete of one key, with what is known so far about when it took effect. */
interface Mutation {
  readonly op: OpRecord;
  /** End-like instant (slack included) by which its own `ok` proves it applied; Infinity otherwise. */
  readonly ackedBy: number;
  /** appliedBy (slack included) as far as the sweep has seen; Infinity while unknown. */
  appliedBy: number;
  /** The read whose completion set appliedBy, or null when the acknowledgement did. */
  appliedSeenBy: OpRecord | null;
}

/** Something that can explain what a read returned. */
type Source =
  | { readonly kind: 'initial' }
  | { readonly kind: 'value' | 'expiry'; readonly write: Mutation }
  | { readonly kind: 'delete'; readonly delete: Mutation };

/** Why a source is replaced: a mutation that superseded it, or a read that saw it gone. */
type Replacer = { readonly mutation: Mutation } | { readonly read: OpRecord };

/** Judges `history` (a History, or its ops) and returns every violation found, per key in read order. */
export function checkHistory(
  history: { readonly ops: readonly OpRecord[] } | readonly OpRecord[],
  options: CheckOptions = {},
): Violation[] {
  const ops = 'ops' in history ? history.ops : history;
  const slack = options.clockSlackMs ?? 0;
  if (!(slack >= 0)) throw new Error(`clockSlackMs must be >= 0, got ${slack}`);
  const byKey = new Map<string, OpRecord[]>();
  for (const op of ops) {
    validate(op);
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  // Which key each value went to, only to say so when a read returns it under another key.
  const writerOfValue = new Map<string, OpRecord>();
  for (const op of ops) {
    if (op.kind === 'write' && !writerOfValue.has(op.value!)) writerOfValue.set(op.value!, op);
  }

  const violations: Violation[] = [];
  for (const [key, keyOps] of byKey) {
    violations.push(
      ...new KeyChecker(key, keyOps, slack, options.expiryMayFlicker ?? false, writerOfValue).run(),
    );
  }
  return violations;
}

/** Malformed histories are test bugs, not system bugs: refuse them instead of judging nonsense. */
function validate(op: OpRecord): void {
  const where = `operation #${op.id} (${op.kind} of "${op.key}")`;
  if (!Number.isFinite(op.invokedAt)) throw new Error(`${where}: invokedAt is not a finite number`);
  if ((op.completedAt === undefined) !== (op.outcome === undefined)) {
    throw new Error(`${where}: completedAt and outcome must be both set or both absent`);
  }
  if (op.completedAt !== undefined && !(op.completedAt >= op.invokedAt)) {
    throw new Error(`${where}: completed before it was invoked`);
  }
  if (op.kind === 'write' && typeof op.value !== 'string') throw new Error(`${where}: a write needs a value`);
  if (op.expiresAtMs !== undefined && Number.isNaN(op.expiresAtMs))
    throw new Error(`${where}: expiresAtMs is NaN`);
  if (op.kind === 'read' && op.outcome === 'ok' && op.readValue === undefined) {
    throw new Error(`${where}: a read completed ok needs readValue (null = not found)`);
  }
}

// Event types, in the order they are processed at the same instant: a read is judged
// before evidence carrying the same timestamp, because "definitely precedes" is strict.
const JUDGE = 0;
const EVIDENCE = 1;

interface SweepEvent {
  readonly time: number;
  readonly type: typeof JUDGE | typeof EVIDENCE;
  readonly op: OpRecord;
}

/** The sweep over one key. State only ever grows: once replaced, a source stays replaced. */
class KeyChecker {
  readonly #key: string;
  readonly #ops: readonly OpRecord[];
  readonly #slack: number;
  readonly #flicker: boolean;
  readonly #writerOfValue: ReadonlyMap<string, OpRecord>;

  readonly #writes = new Map<string, Mutation>();
  readonly #mutations: Mutation[] = [];
  readonly #mutationOf = new Map<OpRecord, Mutation>();
  readonly #ttlWrites: Mutation[] = [];
  readonly #deletes: Mutation[] = [];

  // Evidence so far, summarised so each replacement test is O(1) or O(log n):
  /** Latest invocation among mutations known applied: the best witness for rule (a). */
  #latestAppliedStart = -Infinity;
  /** Latest invocations among accepted non-null reads, for two distinct values (rule (b)). */
  #nonNullReads: { start: number; value: string }[] = [];
  /** Accepted null reads in order of completion, with the running max of their invocations. */
  readonly #nullReadEnds: number[] = [];
  readonly #nullReadMaxStart: number[] = [];
  /** Accepted reads whose evidence has been taken in, for explanations. */
  readonly #evidenceReads: OpRecord[] = [];
  readonly #accepted = new Set<OpRecord>();
  readonly #violations: Violation[] = [];

  constructor(
    key: string,
    ops: readonly OpRecord[],
    slack: number,
    flicker: boolean,
    writerOfValue: ReadonlyMap<string, OpRecord>,
  ) {
    this.#key = key;
    this.#ops = ops;
    this.#slack = slack;
    this.#flicker = flicker;
    this.#writerOfValue = writerOfValue;
  }

  run(): Violation[] {
    const events: SweepEvent[] = [];
    for (const op of this.#ops) {
      if (op.kind === 'read') {
        if (op.outcome !== 'ok') continue;
        events.push({ time: op.invokedAt, type: JUDGE, op });
        events.push({ time: this.#end(op), type: EVIDENCE, op });
        continue;
      }
      if (op.kind === 'write' && this.#writes.has(op.value!)) {
        throw new Error(`value ${JSON.stringify(op.value)} was written twice to "${this.#key}" (#${op.id})`);
      }
      if (op.outcome === 'fail') {
        // Never took effect, but a read returning its value must still be recognised.
        if (op.kind === 'write') this.#writes.set(op.value!, this.#newMutation(op));
        continue;
      }
      const m = this.#newMutation(op);
      this.#mutations.push(m);
      this.#mutationOf.set(op, m);
      if (op.kind === 'write') {
        this.#writes.set(op.value!, m);
        if (op.expiresAtMs !== undefined) this.#ttlWrites.push(m);
      } else {
        this.#deletes.push(m);
      }
      if (op.outcome === 'ok') events.push({ time: m.ackedBy, type: EVIDENCE, op });
    }
    events.sort((a, b) => a.time - b.time || a.type - b.type);
    for (const e of events) {
      if (e.type === JUDGE) this.#judge(e.op);
      else if (e.op.kind === 'read') this.#takeReadEvidence(e.op);
      else this.#markApplied(this.#mutationOf.get(e.op)!, e.time, null);
    }
    return this.#violations;
  }

  #newMutation(op: OpRecord): Mutation {
    const ackedBy = op.outcome === 'ok' ? this.#end(op) : Infinity;
    return { op, ackedBy, appliedBy: Infinity, appliedSeenBy: null };
  }

  /** A completion as an end-like instant: slack pushes it later, so fewer things count as after it. */
  #end(op: OpRecord): number {
    return op.completedAt! + this.#slack;
  }

  #markApplied(m: Mutation, by: number, seenBy: OpRecord | null): void {
    if (by >= m.appliedBy) return;
    m.appliedBy = by;
    m.appliedSeenBy = seenBy;
    if (m.op.invokedAt > this.#latestAppliedStart) this.#latestAppliedStart = m.op.invokedAt;
  }

  #takeReadEvidence(read: OpRecord): void {
    if (!this.#accepted.has(read)) return;
    this.#evidenceReads.push(read);
    const end = this.#end(read);
    if (read.readValue === null) {
      const prevMax = this.#nullReadMaxStart.at(-1) ?? -Infinity;
      this.#nullReadEnds.push(end);
      this.#nullReadMaxStart.push(Math.max(prevMax, read.invokedAt));
      return;
    }
    const value = read.readValue!;
    this.#markApplied(this.#writes.get(value)!, end, read);
    // Keep the latest invocation for the two most recent distinct values: enough to
    // answer "latest non-null read that returned anything but v" for every v.
    const entries = this.#nonNullReads.filter((r) => r.value !== value);
    const same = this.#nonNullReads.find((r) => r.value === value);
    entries.push({ value, start: Math.max(read.invokedAt, same?.start ?? -Infinity) });
    entries.sort((a, b) => b.start - a.start);
    this.#nonNullReads = entries.slice(0, 2);
  }

  // ---- replacement tests: source replaced iff its appliedBy < the latest witness ----

  #latestNonNullReadStart(except?: string): number {
    for (const r of this.#nonNullReads) if (r.value !== except) return r.start;
    return -Infinity;
  }

  /** Latest invocation among accepted null reads whose completion (slack included) is < limit. */
  #latestNullReadStart(limit: number): number {
    let lo = 0;
    let hi = this.#nullReadEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#nullReadEnds[mid]! < limit) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? -Infinity : this.#nullReadMaxStart[lo - 1]!;
  }

  /** Up to which instant a null read proves this write's value gone (rule (b)). */
  #nullReadLimit(w: Mutation): number {
    return this.#flicker && w.op.expiresAtMs !== undefined ? w.op.expiresAtMs : Infinity;
  }

  #isReplaced(source: Source): boolean {
    switch (source.kind) {
      case 'initial':
        return -Infinity < Math.max(this.#latestAppliedStart, this.#latestNonNullReadStart());
      case 'delete':
        return source.delete.appliedBy < Math.max(this.#latestAppliedStart, this.#latestNonNullReadStart());
      case 'value': {
        const w = source.write;
        return (
          w.appliedBy <
          Math.max(
            this.#latestAppliedStart,
            this.#latestNonNullReadStart(w.op.value),
            this.#latestNullReadStart(this.#nullReadLimit(w)),
          )
        );
      }
      case 'expiry': {
        const w = source.write;
        return w.appliedBy < Math.max(this.#latestAppliedStart, this.#latestNonNullReadStart(w.op.value));
      }
    }
  }

  // ---- judging ----

  #judge(read: OpRecord): void {
    const flagged = read.readValue === null ? this.#judgeNull(read) : this.#judgeValue(read, read.readValue!);
    if (flagged) this.#violations.push(flagged);
    else this.#accepted.add(read);
  }

  #judgeValue(read: OpRecord, value: string): Violation | null {
    const w = this.#writes.get(value);
    if (!w) {
      const elsewhere = this.#writerOfValue.get(value);
      const note = elsewhere
        ? ` (it was written to key ${JSON.stringify(elsewhere.key)} by ${describeOp(elsewhere)})`
        : '';
      return this.#violation(
        'value-never-written',
        read,
        [],
        `${describeOp(read)} returned a value that no write to this key wrote${note}`,
      );
    }
    if (w.op.outcome === 'fail') {
      return this.#violation(
        'failed-write-observed',
        read,
        [w.op],
        `${describeOp(read)} returned the value of ${describeOp(w.op)}, which failed and so never took effect`,
      );
    }
    if (this.#end(read) < w.op.invokedAt) {
      return this.#violation(
        'value-from-future',
        read,
        [w.op],
        `${describeOp(read)} returned the value of ${describeOp(w.op)}, which was invoked only after the read had completed`,
      );
    }
    const source: Source = { kind: 'value', write: w };
    if (!this.#isReplaced(source)) return null;

    const t = read.invokedAt;
    const replacers = this.#replacersOf(source);
    const what = `${describeOp(read)} returned the value of ${describeOp(w.op)} (${this.#appliedText(w)})`;
    const acked = replacers.filter(
      (r): r is { mutation: Mutation } => 'mutation' in r && r.mutation.ackedBy < t,
    );
    const ackedDelete = latest(acked.filter((r) => r.mutation.op.kind === 'delete'));
    if (ackedDelete) {
      const d = ackedDelete.mutation.op;
      return this.#violation(
        'resurrected-delete',
        read,
        [w.op, d],
        `${what}, but ${describeOp(d)} was invoked after that and acknowledged before the read began: the deleted value came back`,
      );
    }
    const ackedWrite = latest(acked);
    if (ackedWrite) {
      const w2 = ackedWrite.mutation.op;
      return this.#violation(
        'overwritten-value-returned',
        read,
        [w.op, w2],
        `${what}, but ${describeOp(w2)} was invoked after that and acknowledged before the read began: the newer write was lost, or beaten by the older one`,
      );
    }
    const why = this.#replacerText(latest(replacers));
    return this.#violation(
      'read-went-back',
      read,
      [w.op, ...why.ops],
      `${what}, but ${why.text} before the read began: the read went back in time`,
    );
  }

  #judgeNull(read: OpRecord): Violation | null {
    const end = this.#end(read);
    const causes: Source[] = [{ kind: 'initial' }];
    for (const d of this.#deletes) if (!(end < d.op.invokedAt)) causes.push({ kind: 'delete', delete: d });
    for (const w of this.#ttlWrites) {
      if (!(end < w.op.invokedAt) && !(end < w.op.expiresAtMs!)) causes.push({ kind: 'expiry', write: w });
    }
    if (causes.some((c) => !this.#isReplaced(c))) return null;

    const t = read.invokedAt;
    let lastAcked: Mutation | null = null;
    for (const m of this.#mutations) {
      if (m.ackedBy < t && (!lastAcked || m.op.invokedAt > lastAcked.op.invokedAt)) lastAcked = m;
    }
    if (
      lastAcked &&
      lastAcked.op.kind === 'write' &&
      causes.every((c) => this.#sourceAppliedBy(c) < lastAcked.op.invokedAt)
    ) {
      return this.#violation(
        'lost-write',
        read,
        [lastAcked.op, ...causes.flatMap((c) => this.#sourceOps(c))],
        `${describeOp(read)} found the key absent, but ${describeOp(lastAcked.op)} was acknowledged before the read began, and was invoked after every possible cause of absence had taken effect (${listText(causes.map((c) => this.#sourceText(c)))}): the write was lost`,
      );
    }
    const reasons = causes.map((c) => ({ cause: c, why: this.#replacerText(latest(this.#replacersOf(c))) }));
    return this.#violation(
      'read-went-back',
      read,
      reasons.flatMap((r) => [...this.#sourceOps(r.cause), ...r.why.ops]),
      `${describeOp(read)} found the key absent, but every possible cause of absence had been replaced before the read began: ${listText(reasons.map((r) => `${this.#sourceText(r.cause)}, as ${r.why.text}`))}: the read went back in time`,
    );
  }

  // ---- explanations (only computed for violations, so plain scans are fine) ----

  /** Every piece of evidence, as of now, that `source` is replaced. */
  #replacersOf(source: Source): Replacer[] {
    const appliedBy = this.#sourceAppliedBy(source);
    const out: Replacer[] = [];
    for (const m of this.#mutations) {
      if (m.appliedBy < Infinity && appliedBy < m.op.invokedAt) out.push({ mutation: m });
    }
    for (const r of this.#evidenceReads) {
      if (appliedBy < r.invokedAt && this.#readRulesOut(r, source)) out.push({ read: r });
    }
    return out;
  }

  /** Rule (b): could `source` have produced what `read` returned? */
  #readRulesOut(read: OpRecord, source: Source): boolean {
    const v = read.readValue;
    switch (source.kind) {
      case 'initial':
      case 'delete':
        return v !== null;
      case 'expiry':
        return v !== null && v !== source.write.op.value;
      case 'value':
        if (v !== null) return v !== source.write.op.value;
        return this.#end(read) < this.#nullReadLimit(source.write);
    }
  }

  #sourceAppliedBy(source: Source): number {
    if (source.kind === 'initial') return -Infinity;
    return source.kind === 'delete' ? source.delete.appliedBy : source.write.appliedBy;
  }

  #sourceOps(source: Source): OpRecord[] {
    if (source.kind === 'initial') return [];
    return [source.kind === 'delete' ? source.delete.op : source.write.op];
  }

  #sourceText(source: Source): string {
    switch (source.kind) {
      case 'initial':
        return 'the initial absence';
      case 'delete':
        return `${describeOp(source.delete.op)} (${this.#appliedText(source.delete)})`;
      case 'expiry':
        return `the expiry of ${describeOp(source.write.op)} (${this.#appliedText(source.write)})`;
      case 'value':
        return `${describeOp(source.write.op)} (${this.#appliedText(source.write)})`;
    }
  }

  #appliedText(m: Mutation): string {
    if (m.appliedBy === Infinity) return 'not known to have taken effect';
    if (m.appliedSeenBy) return `known applied once ${describeOp(m.appliedSeenBy)} returned it`;
    return `acknowledged at ${formatTime(m.op.completedAt!)}`;
  }

  /** Why a source is replaced, as a phrase that reads after "X, as" or "but". */
  #replacerText(r: Replacer | undefined): { text: string; ops: OpRecord[] } {
    if (!r) return { text: 'it was replaced', ops: [] }; // unreachable: #isReplaced found a witness
    if ('read' in r) {
      return {
        text: `${describeOp(r.read)}, invoked after it had taken effect, had already returned something else`,
        ops: [r.read],
      };
    }
    const m = r.mutation;
    if (!m.appliedSeenBy) {
      return {
        text: `${describeOp(m.op)}, invoked after it had taken effect, had been acknowledged`,
        ops: [m.op],
      };
    }
    return {
      text: `${describeOp(m.op)}, invoked after it had taken effect, had already been returned by ${describeOp(m.appliedSeenBy)}`,
      ops: [m.op, m.appliedSeenBy],
    };
  }

  #violation(kind: ViolationKind, read: OpRecord, ops: OpRecord[], explanation: string): Violation {
    const unique = [...new Set([read, ...ops])];
    return {
      kind,
      key: this.#key,
      read,
      ops: unique,
      explanation: `key ${JSON.stringify(this.#key)}: ${explanation}`,
    };
  }
}

/** The replacer invoked last: the most recent, hence most telling, evidence. */
function latest<R extends Replacer>(rs: readonly R[]): R | undefined {
  let best: R | undefined;
  for (const r of rs) if (!best || replacerStart(r) > replacerStart(best)) best = r;
  return best;
}

function replacerStart(r: Replacer): number {
  return 'read' in r ? r.read.invokedAt : r.mutation.op.invokedAt;
}

/** At most four items, so a key with hundreds of deletes still gives a readable line. */
function listText(items: readonly string[]): string {
  const shown = items.slice(0, 4).join('; ');
  return items.length > 4 ? `${shown}; and ${items.length - 4} more` : shown;
}
