// A correct system to check the checker against: per key, an atomic register that
// applies each operation at one instant inside its interval (ok), at any later
// instant or never (unknown / pending), or never (fail), with optional TTL expiry
// at any instant after max(applied, expiresAtMs). Every history it produces is
// linearizable by construction, so the checker must find nothing in it; the
// mutant hooks break it in ways that are observable by construction.
import { History, type OpRecord, type Outcome } from '../../../src/history/index.js';

/** Small, fast, seedable PRNG (mulberry32): a failing seed replays exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One planned operation: its client-side interval and what the "system" does with it. */
export interface PlannedOp {
  process: string;
  kind: 'write' | 'delete' | 'read';
  key: string;
  value?: string;
  expiresAtMs?: number;
  start: number;
  /** undefined: still pending when the test ended. */
  end?: number;
  outcome?: Outcome;
  /** The instant it takes effect; null: never. */
  point: number | null;
  /** For TTL'd writes: the instant it expires (if still the latest mutation then); null: never. */
  expiry: number | null;
  /** Orders effects at equal instants: random, but fixed at plan time so reruns agree. */
  tie: number;
  /** Filled in by `run`: what an ok read returned. */
  readValue?: string | null;
}

export interface Plan {
  ops: PlannedOp[];
  /** An instant after every planned point, expiry and completion: from here on nothing else happens. */
  quietAfter: number;
  keys: string[];
  /** Whether times were rounded to integers (to provoke equal instants). */
  integerTimes: boolean;
}

export interface PlanSize {
  maxKeys: number;
  maxProcesses: number;
  maxOpsPerProcess: number;
}

/** Random concurrent clients against random keys; every outcome and TTL kind mixed in. */
export function plan(
  rand: () => number,
  size: PlanSize = { maxKeys: 3, maxProcesses: 6, maxOpsPerProcess: 20 },
): Plan {
  const integerTimes = rand() < 0.4;
  const q = (x: number) => (integerTimes ? Math.round(x) : x);
  const keys = Array.from({ length: 1 + Math.floor(rand() * size.maxKeys) }, (_, i) => `k${i}`);
  const processes = 2 + Math.floor(rand() * (size.maxProcesses - 1));
  const ops: PlannedOp[] = [];
  for (let p = 0; p < processes; p++) {
    const process = `p${p}`;
    const count = 1 + Math.floor(rand() * size.maxOpsPerProcess);
    let t = q(rand() * 5);
    for (let i = 0; i < count; i++) {
      const start = q(t + rand() * 3);
      const end = q(start + (rand() < 0.2 ? rand() * 30 : rand() * 6));
      const key = keys[Math.floor(rand() * keys.length)]!;
      const r = rand();
      const kind = r < 0.45 ? 'write' : r < 0.6 ? 'delete' : 'read';
      const o = rand();
      let outcome: Outcome | undefined;
      if (kind === 'read') outcome = o < 0.85 ? 'ok' : o < 0.93 ? 'unknown' : 'fail';
      else outcome = o < 0.7 ? 'ok' : o < 0.85 ? 'unknown' : 'fail';
      // Only a client's last operation can still be in flight when the test ends.
      if (i === count - 1 && rand() < 0.3) outcome = undefined;
      let point: number | null = null;
      if (outcome === 'ok') point = q(start + rand() * (end - start));
      else if (kind !== 'read' && outcome !== 'fail' && rand() < 0.5)
        point = q(start + rand() * (end - start + 40));
      const op: PlannedOp = { process, kind, key, start, end, outcome, point, expiry: null, tie: rand() };
      if (outcome === undefined) delete op.end;
      if (kind === 'write') {
        op.value = `${key}/${process}/${i}`;
        if (rand() < 0.35) {
          op.expiresAtMs = q(start + rand() * 25);
          if (point !== null && rand() < 0.8) op.expiry = q(Math.max(point, op.expiresAtMs) + rand() * 8);
        }
      }
      ops.push(op);
      t = end;
    }
  }
  const instants = ops.flatMap((o) => [o.start, o.end ?? o.start, o.point ?? o.start, o.expiry ?? o.start]);
  return { ops, quietAfter: Math.ceil(Math.max(...instants)) + 1, keys, integerTimes };
}

export interface RunOptions {
  /** Planned ops the broken system acknowledges but never applies. */
  drop?: ReadonlySet<PlannedOp>;
}

/**
 * Plays the plan: applies effects in instant order (a write's expiry after
 * everything else at the same instant, ties otherwise in the plan's random order) and fills
 * in what each ok read returned.
 */
export function run(p: Plan, options: RunOptions = {}): RunStats {
  type Event = { time: number; rank: number; tie: number; op: PlannedOp; expire: boolean };
  const events: Event[] = [];
  for (const op of p.ops) {
    if (op.point === null || options.drop?.has(op)) continue;
    events.push({ time: op.point, rank: 0, tie: op.tie, op, expire: false });
    if (op.expiry !== null) events.push({ time: op.expiry, rank: 1, tie: op.tie, op, expire: true });
  }
  events.sort((a, b) => a.time - b.time || a.rank - b.rank || a.tie - b.tie);
  const latest = new Map<string, PlannedOp | null>();
  const expired = new Set<string>(); // keys absent because of an expiry, for the stats
  const stats: RunStats = { nullsFromExpiry: 0, lateValuesRead: 0 };
  for (const e of events) {
    const current = latest.get(e.op.key) ?? null;
    if (e.expire) {
      if (current !== e.op) continue;
      latest.set(e.op.key, null);
      expired.add(e.op.key);
    } else if (e.op.kind === 'read') {
      e.op.readValue = current?.value ?? null;
      if (!current && expired.has(e.op.key)) stats.nullsFromExpiry++;
      if (current && current.outcome !== 'ok' && (current.end === undefined || current.end < e.op.start)) {
        stats.lateValuesRead++;
      }
    } else {
      latest.set(e.op.key, e.op.kind === 'write' ? e.op : null);
      expired.delete(e.op.key);
    }
  }
  return stats;
}

/** What a run exercised, so a test can show its random histories cover the hard cases. */
export interface RunStats {
  /** Ok reads that found the key absent because a TTL'd write expired. */
  nullsFromExpiry: number;
  /** Ok reads that returned an unknown/pending write's value after the client had given up on it. */
  lateValuesRead: number;
}

/** Records the plan through the real History recorder, on an injected clock. */
export function record(p: Plan): { history: History; recordOf: Map<PlannedOp, OpRecord> } {
  let now = 0;
  const history = new History({ now: () => now });
  const recordOf = new Map<PlannedOp, OpRecord>();
  for (const op of p.ops) {
    now = op.start;
    const h =
      op.kind === 'write'
        ? history.invoke(op.process, 'write', op.key, op.value!, { expiresAtMs: op.expiresAtMs })
        : history.invoke(op.process, op.kind, op.key);
    recordOf.set(op, history.ops[h.id]!);
    if (op.outcome === undefined) continue;
    now = op.end!;
    history.complete(h, op.outcome, op.kind === 'read' && op.outcome === 'ok' ? op.readValue : undefined);
  }
  return { history, recordOf };
}

/** Appends sequential, isolated operations after everything planned has settled. */
export function appendTail(
  p: Plan,
  key: string,
  steps: readonly { kind: 'write' | 'delete' | 'read'; ackAfter?: number }[],
): PlannedOp[] {
  let t = p.quietAfter;
  const added = steps.map((s, i) => {
    const start = t;
    const end = t + (s.ackAfter ?? 1);
    const op: PlannedOp = {
      process: 'tail',
      kind: s.kind,
      key,
      start,
      end,
      outcome: 'ok',
      point: start + 0.5,
      expiry: null,
      tie: 0,
    };
    if (s.kind === 'write') op.value = `${key}/tail/${i}`;
    t = start + 2;
    return op;
  });
  p.ops.push(...added);
  p.quietAfter = Math.max(...added.map((o) => o.end!)) + 1;
  return added;
}
