// HintQueues with a recording sender and a hand-moved clock.
import { describe, expect, it } from '@jest/globals';
import { HintQueues, type Hint, type HintOptions } from '../../../src/coordinator/HintQueues.js';

const DEFAULTS: HintOptions = {
  maxHintsPerTarget: 100,
  maxHintBytesPerTarget: 1 << 20,
  maxHintAgeMs: 1000,
  replayBatch: 2,
  replayBytes: 1_000_000,
};

interface Delivery {
  target: string;
  name: string;
  done: (ok: boolean) => void;
}

function setup(o: Partial<HintOptions> = {}) {
  let nowMs = 0;
  const deliveries: Delivery[] = [];
  /** Per hint name, what its done() was called with (in order). */
  const outcomes = new Map<string, boolean[]>();
  const queues = new HintQueues(
    { ...DEFAULTS, ...o },
    (target, hint, done) => deliveries.push({ target, name: hint.key.toString('latin1'), done }),
    () => nowMs,
  );
  /** A hint whose key is its name; `valueBytes` of value. */
  const hint = (name: string, valueBytes = 1): Hint => ({
    cache: 'c',
    key: Buffer.from(name, 'latin1'),
    value: Buffer.alloc(valueBytes, 0x61),
    hlc: 1,
    node: 1,
    expiresAtMs: 0,
    tombstone: false,
    queuedAt: nowMs,
    done: (delivered) => {
      const list = outcomes.get(name) ?? [];
      list.push(delivered);
      outcomes.set(name, list);
    },
  });
  return {
    queues,
    deliveries,
    outcomes,
    hint,
    setNow: (ms: number) => {
      nowMs = ms;
    },
    names: () => deliveries.map((d) => d.name),
  };
}

const always = (): boolean => true;

describe('HintQueues: bounds', () => {
  it('drops a hint beyond maxHintsPerTarget (counted, done(false)); other targets are separate', () => {
    const { queues, hint, outcomes } = setup({ maxHintsPerTarget: 2 });
    queues.add('a', hint('h1'));
    queues.add('a', hint('h2'));
    queues.add('a', hint('h3'));
    queues.add('b', hint('h4'));
    expect(queues.pendingFor('a')).toBe(2);
    expect(queues.pendingFor('b')).toBe(1);
    expect(queues.pending).toBe(3);
    expect(queues.counters).toEqual({ queued: 3, replayed: 0, expired: 0, dropped: 1 });
    expect(outcomes.get('h3')).toEqual([false]);
    expect(outcomes.has('h1')).toBe(false);
  });

  it('drops a hint beyond maxHintBytesPerTarget (key + value bytes)', () => {
    const { queues, hint, outcomes } = setup({ maxHintBytesPerTarget: 10 });
    queues.add('a', hint('k', 5)); // 6 bytes
    queues.add('a', hint('l', 5)); // 12 > 10: dropped
    queues.add('a', hint('m', 3)); // 10: fits exactly
    queues.add('a', hint('n', 0)); // 11: dropped
    expect(queues.pendingFor('a')).toBe(2);
    expect(queues.counters.dropped).toBe(2);
    expect(outcomes.get('l')).toEqual([false]);
    expect(outcomes.get('n')).toEqual([false]);
    expect(outcomes.has('m')).toBe(false);
  });

  it('frees the bytes of a hint once it is sent, and takes them back when it fails', () => {
    const { queues, hint, deliveries, outcomes } = setup({ maxHintBytesPerTarget: 12, replayBatch: 1 });
    queues.add('a', hint('k', 5));
    queues.add('a', hint('l', 5));
    queues.tick(always); // k in flight: its bytes are no longer queued
    queues.add('a', hint('m', 5));
    expect(outcomes.has('m')).toBe(false);
    expect(queues.pendingFor('a')).toBe(2);
    deliveries[0]!.done(false); // k back in the queue: 18 bytes queued
    queues.add('a', hint('n', 0));
    expect(outcomes.get('n')).toEqual([false]);
  });
});

describe('HintQueues: expiry', () => {
  it('expires hints older than maxHintAgeMs (counted, done(false)), even for a target still down', () => {
    const { queues, hint, setNow, outcomes, deliveries } = setup({ maxHintAgeMs: 100 });
    queues.add('a', hint('h1'));
    setNow(50);
    queues.add('a', hint('h2'));
    setNow(100);
    queues.tick(() => false);
    expect(queues.pendingFor('a')).toBe(2); // exactly maxHintAgeMs old: kept
    setNow(101);
    queues.tick(() => false);
    expect(queues.pendingFor('a')).toBe(1);
    expect(queues.counters.expired).toBe(1);
    expect(outcomes.get('h1')).toEqual([false]);
    expect(outcomes.has('h2')).toBe(false);
    setNow(151);
    queues.tick(() => false);
    expect(queues.pending).toBe(0);
    expect(queues.counters.expired).toBe(2);
    expect(deliveries).toEqual([]);
  });

  it('expires a hint that fails after it aged out instead of queueing it again', () => {
    const { queues, hint, setNow, outcomes, deliveries } = setup({ maxHintAgeMs: 100 });
    queues.add('a', hint('h1'));
    setNow(90);
    queues.tick(always);
    setNow(120);
    deliveries[0]!.done(false);
    expect(outcomes.get('h1')).toEqual([false]);
    expect(queues.counters.expired).toBe(1);
    expect(queues.pending).toBe(0);
  });
});

describe('HintQueues: replay', () => {
  it('replays only to targets canReplay admits', () => {
    const { queues, hint, names, deliveries } = setup();
    queues.add('a', hint('a1'));
    queues.add('b', hint('b1'));
    queues.tick(() => false);
    expect(deliveries).toEqual([]);
    queues.tick((t) => t === 'b');
    expect(deliveries.map((d) => d.target)).toEqual(['b']);
    expect(names()).toEqual(['b1']);
    expect(queues.pendingFor('a')).toBe(1);
  });

  it('keeps at most replayBatch hints in flight per target, in queue order', () => {
    const { queues, hint, names, deliveries } = setup({ replayBatch: 2 });
    for (const n of ['h1', 'h2', 'h3', 'h4', 'h5']) queues.add('a', hint(n));
    queues.add('b', hint('b1'));
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h2', 'b1']);
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h2', 'b1']); // a still has 2 in flight
    deliveries[1]!.done(true);
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h2', 'b1', 'h3']);
    expect(queues.pendingFor('a')).toBe(2);
  });

  it('calls done(true) on delivery and counts it', () => {
    const { queues, hint, deliveries, outcomes } = setup();
    queues.add('a', hint('h1'));
    queues.tick(always);
    expect(outcomes.has('h1')).toBe(false); // in flight
    deliveries[0]!.done(true);
    expect(outcomes.get('h1')).toEqual([true]);
    expect(queues.counters.replayed).toBe(1);
    queues.tick(always);
    expect(queues.pending).toBe(0);
    expect(deliveries).toHaveLength(1);
  });

  it('puts a failed delivery back at the front, to be tried first on a later tick', () => {
    const { queues, hint, names, deliveries, outcomes } = setup({ replayBatch: 1 });
    for (const n of ['h1', 'h2', 'h3']) queues.add('a', hint(n));
    queues.tick(always);
    expect(names()).toEqual(['h1']);
    deliveries[0]!.done(false);
    expect(outcomes.has('h1')).toBe(false); // not given up on
    expect(queues.pendingFor('a')).toBe(3);
    expect(names()).toEqual(['h1']); // not retried before the next tick
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h1']);
    deliveries[1]!.done(true);
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h1', 'h2']);
    expect(queues.counters.replayed).toBe(1);
  });

  // "replayed in order": two failures of one batch, reported in the order they
  // were sent (as a broken stream reports them), each unshift the hint to the
  // front, so the second lands before the first.
  it('keeps queue order when several hints of a batch fail', () => {
    const { queues, hint, names, deliveries } = setup({ replayBatch: 2 });
    for (const n of ['h1', 'h2', 'h3']) queues.add('a', hint(n));
    queues.tick(always);
    expect(names()).toEqual(['h1', 'h2']);
    deliveries[0]!.done(false);
    deliveries[1]!.done(false);
    queues.tick(always);
    expect(names().slice(2)).toEqual(['h1', 'h2']);
  });

  // ReplicaPeer.send calls back synchronously (undefined reply) when its stream
  // is in backoff, e.g. right after connect() failed for a peer with no
  // advertised address. The failed hint is unshifted and the while loop in
  // tick() shifts it again at once: the event loop spins until the hint ages
  // out (maxHintAgeMs, 5 minutes by default).
  it('stops replaying to a target for the tick once a send fails (no retry loop on a sender that fails at once)', () => {
    let nowMs = 0;
    let sends = 0;
    const queues = new HintQueues(
      { ...DEFAULTS, replayBatch: 2, maxHintAgeMs: 1000 },
      (_target, _hint, done) => {
        sends++;
        // Keeps this test finite if the loop comes back: at 50 sends, age the hints out so it ends.
        if (sends === 50) nowMs = 5000;
        done(false);
      },
      () => nowMs,
    );
    const { hint } = setup();
    queues.add('a', hint('h1'));
    queues.add('a', hint('h2'));
    queues.tick(always);
    expect(sends).toBe(1);
    expect(queues.pendingFor('a')).toBe(2); // both wait for a later tick
    expect(queues.counters.expired).toBe(0);
    queues.tick(always);
    expect(sends).toBe(2);
  });
});
