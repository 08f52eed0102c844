// FillTask against fake sources: each holds a sorted list of entries by key hash, served in cursor order.
import { describe, expect, it } from '@jest/globals';
import {
  ErrorCode,
  type ReplicaEntry,
  type ReplicaReply,
  type ReplicaRequest,
  ScanPurpose,
  SLOT_COUNT,
} from '@meshcache/proto';
import { FillTask, type FillHost } from '../../../src/rebalance/FillTask.js';
import { MoveTracker } from '../../../src/rebalance/MoveTracker.js';
import { emptyRequest } from '../../../src/replication/ReplicaPeer.js';
import { Placement, SlotTable } from '@meshcache/proto';

interface FakeSource {
  /** Entries at cursor positions 0, 1, 2... (the cursor is an index here). */
  entries: ReplicaEntry[];
  /** Reply with this code instead of data. */
  code?: ErrorCode;
  /** Fail (no reply) once the cursor reaches this index, then become unreachable. */
  dieAt?: number;
  reachable: boolean;
}

const entry = (k: string, hlc: number): ReplicaEntry => ({
  key: Buffer.from(k),
  value: Buffer.from(`v${hlc}`),
  hlc,
  node: 1,
  expiresAtMs: 0,
  tombstone: false,
});

function host(sources: Record<string, FakeSource>, batch = 2) {
  const applied: { from: string; key: string; hlc: number }[] = [];
  const scans: { source: string; cursor: number }[] = [];
  let current = '';
  const h: FillHost = {
    reachable: (id) => sources[id]?.reachable ?? false,
    send: (target: string, request: ReplicaRequest, done: (r: ReplicaReply | undefined) => void) => {
      const src = sources[target]!;
      current = target;
      scans.push({ source: target, cursor: request.cursor });
      queueMicrotask(() => {
        if (src.dieAt !== undefined && request.cursor >= src.dieAt) {
          src.reachable = false;
          done(undefined);
          return;
        }
        const reply = {
          id: request.id,
          code: src.code ?? ErrorCode.OK,
          message: '',
          entries: [],
        } as unknown as ReplicaReply;
        if (src.code === undefined) {
          const end = Math.min(request.cursor + batch, src.entries.length);
          reply.entries = src.entries.slice(request.cursor, end);
          reply.done = end >= src.entries.length;
          reply.cursor = end;
        }
        done(reply);
      });
    },
    newRequest: emptyRequest,
    reserve: () => undefined,
    apply: (_cache, e) => {
      applied.push({ from: current, key: e.key.toString(), hlc: e.hlc });
      return true;
    },
    throttle: () => Promise.resolve(),
    retryDelay: () => Promise.resolve(),
    batchBytes: 1024,
    requestTimeoutMs: 1000,
  };
  return { h, applied, scans };
}

const slots = () => {
  const m = new Uint8Array(SLOT_COUNT);
  m[7] = 1;
  return m;
};
const task = (h: FillHost, candidates: string[], need: number) =>
  new FillTask('t', 3, ScanPurpose.TRANSFER, 2, slots(), ['default'], candidates, need, h);
const now = () => 0;

describe('FillTask', () => {
  const data = [entry('a', 1), entry('b', 2), entry('c', 3), entry('d', 4), entry('e', 5)];

  it('merges `need` sources in full, in order', async () => {
    const { h, applied } = host({
      x: { entries: data, reachable: true },
      y: { entries: data, reachable: true },
      z: { entries: data, reachable: true },
    });
    const outcome = await task(h, ['x', 'y', 'z'], 2).run(now);
    expect(outcome).toEqual({ merged: 2, lost: false });
    expect(applied.filter((a) => a.from === 'x')).toHaveLength(5);
    expect(applied.filter((a) => a.from === 'y')).toHaveLength(5);
    expect(applied.filter((a) => a.from === 'z')).toHaveLength(0);
  });

  it('a source lost midway is replaced by the next, which resumes from the same cursor', async () => {
    const { h, applied, scans } = host({
      x: { entries: data, reachable: true },
      y: { entries: data, reachable: true, dieAt: 2 },
      z: { entries: data, reachable: true },
    });
    const outcome = await task(h, ['x', 'y', 'z'], 2).run(now);
    expect(outcome).toEqual({ merged: 2, lost: false });
    // y gave a, b before dying at cursor 2; z carries on from 2 (c, d, e): every key from two sources.
    expect(scans.find((s) => s.source === 'z')!.cursor).toBe(2);
    const fromZ = applied.filter((a) => a.from === 'z').map((a) => a.key);
    expect(fromZ).toEqual(['c', 'd', 'e']);
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(applied.filter((a) => a.key === k)).toHaveLength(2);
  });

  it('skips sources that answer NOT_READY; completes empty (lost) when none had data', async () => {
    const { h } = host({
      x: { entries: [], reachable: true, code: ErrorCode.NOT_READY },
      y: { entries: [], reachable: true, code: ErrorCode.NOT_READY },
    });
    expect(await task(h, ['x', 'y'], 2).run(now)).toEqual({ merged: 0, lost: true });
    const partial = host({
      x: { entries: [], reachable: true, code: ErrorCode.NOT_READY },
      y: { entries: data, reachable: true },
    });
    expect(await task(partial.h, ['x', 'y'], 2).run(now)).toEqual({ merged: 1, lost: false });
  });

  it('a source that refuses (not NOT_READY) is no evidence of missing data: the task waits, it never completes empty', async () => {
    const { h } = host({
      x: { entries: [], reachable: true, code: ErrorCode.INVALID_ARGUMENT },
      y: { entries: [], reachable: true, code: ErrorCode.STALE_EPOCH },
    });
    const t = task(h, ['x', 'y'], 2);
    expect(await t.run(now)).toBeUndefined();
    expect(t.unreachable).toEqual(['x', 'y']);
  });

  it('waits (no outcome) while a candidate it needs is unreachable: it may come back', async () => {
    const { h } = host({
      x: { entries: data, reachable: true },
      y: { entries: data, reachable: false },
    });
    const t = task(h, ['x', 'y'], 2);
    expect(await t.run(now)).toBeUndefined();
    expect(t.state).toBe('waiting');
  });

  it('a second run after waiting keeps what merged: merged sources are not scanned again', async () => {
    const sources: Record<string, FakeSource> = {
      x: { entries: data, reachable: true },
      y: { entries: data, reachable: false },
    };
    const { h, scans } = host(sources);
    const t = task(h, ['x', 'y'], 2);
    expect(await t.run(now)).toBeUndefined();
    expect(t.unreachable).toEqual(['y']);
    const before = scans.length;
    sources['y']!.reachable = true;
    expect(await t.run(now)).toEqual({ merged: 2, lost: false });
    expect(scans.slice(before).every((s) => s.source === 'y')).toBe(true);
  });

  it('asks the store to size its index from the first batch estimate', async () => {
    const reserved: number[] = [];
    const { h } = host({ x: { entries: data, reachable: true } });
    const withReserve = { ...h, reserve: (_t: string, _c: string, n: number) => void reserved.push(n) };
    const sendPlain = h.send;
    withReserve.send = (target, request, done) =>
      sendPlain(target, request, (r) =>
        done(r === undefined ? r : { ...r, estimatedItems: request.cursor === 0 ? 5 : 0 }),
      );
    expect(await task(withReserve, ['x'], 1).run(now)).toEqual({ merged: 1, lost: false });
    expect(reserved).toEqual([5]);
  });

  it('a cancelled task gives no outcome', async () => {
    const { h } = host({ x: { entries: data, reachable: true } });
    const t = task(h, ['x'], 1);
    const running = t.run(now);
    t.cancel();
    expect(await running).toBeUndefined();
    expect(t.state).toBe('cancelled');
  });
});

describe('MoveTracker', () => {
  it('a pending slot is finished once every newcomer reported it for the same since epoch', () => {
    const committed = SlotTable.fromRanges(3, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a', 'b', 'c'] }]);
    const payload = {
      tables: [
        {
          replicationFactor: 3,
          ranges: committed.toRanges(),
          pending: [{ start: 0, end: 9, replicas: ['a', 'd', 'e'], since: 5 }],
        },
      ],
    };
    const pending = Placement.fromJSON(payload).pending(3)!;
    const t = new MoveTracker();
    const mask = new Uint8Array(SLOT_COUNT);
    mask[3] = 1;
    expect(t.newcomersFilled(committed, pending, 3)).toBe(false);
    t.report('d', 3, 5, mask);
    expect(t.newcomersFilled(committed, pending, 3)).toBe(false);
    t.report('e', 3, 4, mask); // an older move's report says nothing about this one
    expect(t.newcomersFilled(committed, pending, 3)).toBe(false);
    t.report('e', 3, 5, mask);
    expect(t.newcomersFilled(committed, pending, 3)).toBe(true);
    expect(t.newcomersFilled(committed, pending, 4)).toBe(false);
    t.forget('d');
    expect(t.newcomersFilled(committed, pending, 3)).toBe(false);
    t.report('d', 3, 5, mask);
    expect(t.newcomersFilled(committed, pending, 3)).toBe(true);
    t.retain(new Set());
    expect(t.newcomersFilled(committed, pending, 3)).toBe(false);
  });
});
