// ReadRound against a fake RoundHost (the test answers each READ and repair)
// and a real replicated ArenaStore for this node's copy.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Consistency, ErrorCode, ReplicaOpType } from '@meshcache/proto';
import { ReadRound, type ReadOutcome } from '../../../src/coordinator/ReadRound.js';
import { SlotRoute } from '../../../src/coordinator/SlotRoute.js';
import { makeHlc } from '../../../src/store/index.js';
import { EMPTY, FakeRoundHost, T0, b, errorReply, heldIn, okReply } from './support/fakeRoundHost.js';

const DEADLINE_MS = 1000;
const W1 = 0x1111; // writer tags
const W2 = 0x2222;
const V1 = makeHlc(T0 - 2000, 0);
const V2 = makeHlc(T0 - 1000, 0);
const EXPIRY = T0 + 60_000;

interface Options {
  replicas?: string[];
  /** A moving slot's route (replicas is then ignored). */
  route?: SlotRoute;
  level?: Consistency;
  unreachable?: string[];
}

function setup(o: Options = {}) {
  const host = new FakeRoundHost();
  for (const id of o.unreachable ?? []) host.unreachable.add(id);
  const store = host.makeStore();
  const key = b('k');
  const outcomes: ReadOutcome[] = [];
  const replicas = o.replicas ?? ['self', 'a', 'b'];
  const round = new ReadRound(
    host,
    'c',
    key,
    o.route ?? new SlotRoute(replicas, [replicas]),
    o.level ?? Consistency.QUORUM,
    performance.now() + DEADLINE_MS,
    store,
    (out) => outcomes.push(out),
  );
  /** Puts a version in this node's store. */
  const holdLocally = (hlc: number, node: number, value: string | null, expiresAt = 0): void => {
    const v = value === null ? EMPTY : b(value);
    store.applyAt(key, 0, key.length, v, 0, v.length, expiresAt, hlc, node, value === null);
  };
  return { host, store, key, round, outcomes, holdLocally };
}

/** A READ answer: the replica holds (hlc, node) with this value (null: a tombstone). */
function holds(hlc: number, node: number, value: string | null, expiresAtMs = 0) {
  return okReply(hlc, node, {
    tombstone: value === null,
    value: value === null ? EMPTY : b(value),
    expiresAtMs: value === null ? 0 : expiresAtMs,
  });
}

afterEach(() => {
  jest.useRealTimers();
});

describe('ReadRound: QUORUM of 3', () => {
  it('asks every other reachable replica for its version', () => {
    const { host, round } = setup({ unreachable: ['b'] });
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a']);
    expect(host.sent[0]!.request).toMatchObject({ type: ReplicaOpType.READ, cache: 'c' });
    expect(host.sent[0]!.request.key.toString('latin1')).toBe('k');
    expect(host.sent[0]!.request.timeoutMs).toBeGreaterThanOrEqual(1);
  });

  it('answers the newest and repairs the stale replica, once the repair is acknowledged', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, 'new', EXPIRY);
    round.start();
    expect(outcomes).toEqual([]); // one answer (this node's) of the 2 needed

    host.lastTo('a').done(holds(V1, W1, 'old'), true);
    // Decided on this node's version; a gets it as an APPLY with its version, expiry and flag.
    const repair = host.lastTo('a');
    expect(host.sentTo('a')).toHaveLength(2);
    expect(repair.request).toMatchObject({
      type: ReplicaOpType.APPLY,
      cache: 'c',
      hlc: V2,
      node: W2,
      expiresAtMs: EXPIRY,
      tombstone: false,
    });
    expect(repair.request.key.toString('latin1')).toBe('k');
    expect(repair.request.value.toString('latin1')).toBe('new');
    expect(host.stats.readRepairs).toBe(1);
    // Only this node holds the newest so far: no answer yet.
    expect(outcomes).toEqual([]);

    repair.done(okReply(V2, W2), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held).toMatchObject({ hlc: V2, node: W2, tombstone: false, expiresAtMs: EXPIRY });
    expect(outcomes[0]!.held.value.toString('latin1')).toBe('new');
  });

  it('answers when another replica already holds the newest, without waiting for the repair', () => {
    const { host, round, outcomes } = setup({ replicas: ['a', 'b', 'c'] });
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b', 'c']);
    host.lastTo('a').done(holds(V2, W2, 'new'), true);
    host.lastTo('b').done(holds(V1, W1, 'old'), true);
    expect(host.lastTo('b').request.type).toBe(ReplicaOpType.APPLY);
    expect(outcomes).toEqual([]);
    host.lastTo('c').done(holds(V2, W2, 'new'), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.held.hlc).toBe(V2);
  });

  it('does not count a failed repair toward the level', () => {
    jest.useFakeTimers();
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('a').done(holds(V1, W1, 'old'), true);
    host.lastTo('a').done(errorReply(ErrorCode.OUT_OF_MEMORY), true);
    expect(outcomes).toEqual([]);
    jest.advanceTimersByTime(DEADLINE_MS + 100);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes[0]!.message).toMatch(/found its version on 1 of the 2 replicas it needs \(of 3\)/);
    expect(outcomes[0]!.held.hlc).toBe(V2);
  });

  it('a tombstone newer than a value wins: the answer is absent and the value is repaired away', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, null); // this node holds the delete
    round.start();
    host.lastTo('a').done(holds(V1, W1, 'old', EXPIRY), true);
    const repair = host.lastTo('a');
    expect(repair.request).toMatchObject({
      type: ReplicaOpType.APPLY,
      hlc: V2,
      node: W2,
      tombstone: true,
      expiresAtMs: 0,
    });
    expect(repair.request.value.length).toBe(0);
    repair.done(okReply(V2, W2, { tombstone: true }), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held).toMatchObject({ hlc: V2, node: W2, tombstone: true });
  });

  it('a remote tombstone beats a local value', () => {
    const { host, store, key, round, outcomes, holdLocally } = setup();
    holdLocally(V1, W1, 'old');
    round.start();
    host.lastTo('a').done(holds(V2, W2, null), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.held).toMatchObject({ hlc: V2, tombstone: true });
    expect(heldIn(store, key)).toMatchObject({ hlc: V2, node: W2, tombstone: true });
  });

  it('orders equal clocks by writer tag', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W1, 'lower tag');
    round.start();
    host.lastTo('a').done(holds(V2, W2, 'higher tag'), true);
    expect(outcomes[0]!.held.node).toBe(W2);
    expect(outcomes[0]!.held.value.toString('latin1')).toBe('higher tag');
  });

  it('nothing anywhere: answers absent and repairs nothing', () => {
    const { host, round, outcomes } = setup();
    round.start();
    host.lastTo('a').done(okReply(0, 0), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held.hlc).toBe(0);
    expect(outcomes[0]!.held.tombstone).toBe(true);
    host.lastTo('b').done(okReply(0, 0), true);
    expect(host.sent.every((s) => s.request.type === ReplicaOpType.READ)).toBe(true);
    expect(host.stats.readRepairs).toBe(0);
  });

  it('a replica holding nothing is repaired with the newest version', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V1, W1, 'only');
    round.start();
    host.lastTo('a').done(okReply(0, 0), true);
    expect(host.lastTo('a').request).toMatchObject({ type: ReplicaOpType.APPLY, hlc: V1, node: W1 });
    host.lastTo('a').done(okReply(V1, W1), true);
    expect(outcomes[0]!.held.value.toString('latin1')).toBe('only');
  });

  it('too few answers: TIMEOUT at once when the level can no longer be reached', () => {
    const { host, round, outcomes } = setup({ unreachable: ['b'] });
    round.start();
    expect(outcomes).toEqual([]);
    host.lastTo('a').done(errorReply(ErrorCode.STALE_EPOCH), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes[0]!.message).toMatch(/read reached 1 of the 2 replicas it needs \(of 3\)/);
    expect(outcomes[0]!.held.hlc).toBe(0);
  });

  it('too few answers: TIMEOUT at the deadline', () => {
    jest.useFakeTimers();
    const { round, outcomes } = setup();
    round.start();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(DEADLINE_MS + 100);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
  });

  it('ALL with every replica unreachable: TIMEOUT without sending', () => {
    const { host, round, outcomes } = setup({ level: Consistency.ALL, unreachable: ['a', 'b'] });
    round.start();
    expect(host.sent).toEqual([]);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
  });

  it('repairs a stale answer that arrives after the decision, in the background', () => {
    jest.useFakeTimers();
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, 'new', EXPIRY);
    round.start();
    host.lastTo('a').done(holds(V2, W2, 'new', EXPIRY), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(jest.getTimerCount()).toBe(0); // answered: no deadline left

    host.lastTo('b').done(holds(V1, W1, 'old'), true);
    expect(host.sentTo('b')).toHaveLength(2);
    expect(host.lastTo('b').request).toMatchObject({
      type: ReplicaOpType.APPLY,
      hlc: V2,
      node: W2,
      expiresAtMs: EXPIRY,
      tombstone: false,
    });
    expect(host.lastTo('b').request.value.toString('latin1')).toBe('new');
    expect(host.stats.readRepairs).toBe(1);
    host.lastTo('b').done(okReply(V2, W2), true);
    expect(outcomes).toHaveLength(1); // still one answer
  });

  it('does not repair a late answer that already holds the newest', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('a').done(holds(V2, W2, 'new'), true);
    host.lastTo('b').done(holds(V2, W2, 'new'), true);
    expect(outcomes).toHaveLength(1);
    expect(host.sent).toHaveLength(2);
    expect(host.stats.readRepairs).toBe(0);
  });

  it('repairs a stale local copy through applyLocal and counts it at once', () => {
    const { host, store, key, round, outcomes, holdLocally } = setup();
    holdLocally(V1, W1, 'old');
    round.start();
    host.lastTo('a').done(holds(V2, W2, 'new', EXPIRY), true);

    expect(host.appliedLocally).toHaveLength(1);
    expect(host.appliedLocally[0]).toMatchObject({
      cache: 'c',
      hlc: V2,
      node: W2,
      expiresAtMs: EXPIRY,
      tombstone: false,
    });
    expect(heldIn(store, key)).toEqual({
      hlc: V2,
      node: W2,
      tombstone: false,
      value: 'new',
      expiresAtMs: EXPIRY,
    });
    expect(host.sentTo('a')).toHaveLength(1); // no repair sent anywhere
    expect(host.stats.readRepairs).toBe(1);
    // a and this node hold the newest: 2 of 2.
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held.value.toString('latin1')).toBe('new');
  });

  it('reads an expired local value as a tombstone of its version', () => {
    const { host, round, outcomes, holdLocally } = setup();
    holdLocally(V2, W2, 'gone soon', T0 + 10);
    host.wallMs = T0 + 20; // expired now
    round.start();
    host.lastTo('a').done(holds(V1, W1, 'old'), true);
    expect(host.lastTo('a').request).toMatchObject({
      type: ReplicaOpType.APPLY,
      hlc: V2,
      node: W2,
      tombstone: true,
    });
    host.lastTo('a').done(okReply(V2, W2, { tombstone: true }), true);
    expect(outcomes[0]!.held).toMatchObject({ hlc: V2, tombstone: true });
  });

  // Coordinator.applyLocal swallows store errors ("this copy stays stale; the
  // level counts it missing"), but the round counts this node as holding the
  // newest whatever happened, so a QUORUM read can answer from one copy.
  it('does not count a local repair that failed toward the level', () => {
    const { host, store, key, round, outcomes, holdLocally } = setup();
    holdLocally(V1, W1, 'old');
    round.start();
    const big = 'x'.repeat((1 << 16) + 1); // above this store's maxValueBytes
    host.lastTo('a').done(holds(V2, W2, big), true);
    expect(host.localApplyErrors).toHaveLength(1);
    expect(heldIn(store, key)!.hlc).toBe(V1); // still stale
    // Only a holds V2: 1 of the 2 replicas needed, no answer yet.
    expect(outcomes.map((o) => ErrorCode[o.code])).toEqual([]);
  });
});

describe('ReadRound: a slot moving between two sets', () => {
  // Reads use OLD = {self, a, b}; writes need OLD and NEW = {self, a, c}.
  const OLD = ['self', 'a', 'b'];
  const NEW = ['self', 'a', 'c'];
  const pending = () => new SlotRoute(OLD, [OLD, NEW]);
  const reads = (host: FakeRoundHost) =>
    host.sent
      .filter((s) => s.request.type === ReplicaOpType.READ)
      .map((s) => `${s.target}${s.request.versionOnly ? ' (version)' : ''}`);

  it('reads values from the old set only; the new member is asked its version', () => {
    const { host, round } = setup({ route: pending() });
    round.start();
    expect(reads(host)).toEqual(['a', 'b', 'c (version)']);
  });

  it('decides from the old set: a newer version in the new set only is not returned', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending() });
    holdLocally(V1, W1, 'old');
    round.start();
    host.lastTo('c').done(holds(V2, W2, null), true); // version only; newer, would win were it read
    host.lastTo('b').done(holds(V1, W1, 'old'), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held).toMatchObject({ hlc: V1, node: W1, tombstone: false });
    expect(host.stats.readRepairs).toBe(0);
  });

  it('repairs a stale new member with the winner and answers only once the new set holds it', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending() });
    holdLocally(V2, W2, 'new', EXPIRY);
    round.start();
    host.lastTo('b').done(holds(V2, W2, 'new', EXPIRY), true);
    // The old set holds it 2 of 2; the new set only on this node.
    expect(outcomes).toEqual([]);
    host.lastTo('c').done(okReply(V1, W1), true); // its version: older
    const repair = host.lastTo('c');
    expect(repair.request).toMatchObject({
      type: ReplicaOpType.APPLY,
      hlc: V2,
      node: W2,
      expiresAtMs: EXPIRY,
      tombstone: false,
    });
    expect(repair.request.value.toString('latin1')).toBe('new');
    expect(host.stats.readRepairs).toBe(1);
    expect(outcomes).toEqual([]);
    repair.done(okReply(V2, W2), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held.value.toString('latin1')).toBe('new');
  });

  it('a new member still filling (NOT_READY) gets the winner blind', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending() });
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('c').done(errorReply(ErrorCode.NOT_READY), true);
    host.lastTo('b').done(holds(V2, W2, 'new'), true);
    expect(host.lastTo('c').request).toMatchObject({ type: ReplicaOpType.APPLY, hlc: V2, node: W2 });
    expect(outcomes).toEqual([]);
    host.lastTo('c').done(okReply(V2, W2), true);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
  });

  it('a replica in both sets holding the winner meets the level in both', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending() });
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('a').done(holds(V2, W2, 'new'), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(host.sent.every((s) => s.request.type === ReplicaOpType.READ)).toBe(true);
  });

  it('nothing held in the old set: answers absent from the old set alone', () => {
    const { host, round, outcomes } = setup({ route: pending() });
    round.start();
    host.lastTo('b').done(okReply(0, 0), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
    expect(outcomes[0]!.held.hlc).toBe(0);
  });

  it('fails as soon as the new set cannot hold the winner, reporting a STALE_EPOCH refusal', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending(), unreachable: ['a'] });
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('b').done(holds(V2, W2, 'new'), true);
    expect(outcomes).toEqual([]);
    host.lastTo('c').done({ ...errorReply(ErrorCode.STALE_EPOCH), epoch: 6 }, true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes[0]!.message).toMatch(
      /found its version on 2 of the 2 replicas it needs in \(self, a, b\) and 1 of the 2 replicas it needs in \(self, a, c\)/,
    );
    expect(outcomes[0]!.stale).toBe(6);
  });

  it('a refused repair counts as a missing write', () => {
    const { host, round, outcomes, holdLocally } = setup({ route: pending(), unreachable: ['a'] });
    holdLocally(V2, W2, 'new');
    round.start();
    host.lastTo('b').done(holds(V2, W2, 'new'), true);
    host.lastTo('c').done(okReply(V1, W1), true);
    host.lastTo('c').done(errorReply(ErrorCode.OUT_OF_MEMORY), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes[0]!.stale).toBeUndefined();
  });

  it('after a cutover it reads the new set and repairs the previous one', () => {
    // Cut over to NEW: reads use NEW; OLD still needs the level until every member installed the cutover.
    const { host, round, outcomes, holdLocally } = setup({ route: new SlotRoute(NEW, [OLD, NEW]) });
    holdLocally(V2, W2, 'new');
    round.start();
    expect(reads(host)).toEqual(['a', 'b (version)', 'c']);
    host.lastTo('c').done(holds(V2, W2, 'new'), true);
    host.lastTo('b').done(okReply(0, 0), true);
    expect(host.lastTo('b').request).toMatchObject({ type: ReplicaOpType.APPLY, hlc: V2 });
    expect(outcomes).toEqual([]);
    host.lastTo('b').done(okReply(V2, W2), true);
    expect(outcomes[0]!.code).toBe(ErrorCode.OK);
  });
});
