// VersionRound against a fake RoundHost (the test answers each version read)
// and a real replicated ArenaStore for this node's copy.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Consistency, ErrorCode, ReplicaOpType } from '@meshcache/proto';
import { SlotRoute } from '../../../src/coordinator/SlotRoute.js';
import { VersionRound, type VersionOutcome } from '../../../src/coordinator/VersionRound.js';
import { makeHlc } from '../../../src/store/index.js';
import { FakeRoundHost, T0, b, errorReply, okReply } from './support/fakeRoundHost.js';

const DEADLINE_MS = 1000;
const W = 0x1111;
const V1 = makeHlc(T0 - 2000, 0);
const V2 = makeHlc(T0 - 1000, 0);
const OLD = ['self', 'a', 'b'];
const NEW = ['self', 'a', 'c'];

function setup(route: SlotRoute, level = Consistency.QUORUM, unreachable: string[] = []) {
  const host = new FakeRoundHost();
  for (const id of unreachable) host.unreachable.add(id);
  const store = host.makeStore();
  const key = b('k');
  const outcomes: VersionOutcome[] = [];
  const round = new VersionRound(host, 'c', key, route, level, performance.now() + DEADLINE_MS, store, (o) =>
    outcomes.push(o),
  );
  return { host, store, key, round, outcomes };
}

const single = (replicas: string[]) => new SlotRoute(replicas, [replicas]);
/** Pending: reads use OLD, writes need OLD and NEW. */
const pending = () => new SlotRoute(OLD, [OLD, NEW]);

afterEach(() => {
  jest.useRealTimers();
});

describe('VersionRound: one set', () => {
  it('asks the other replicas for their version only and answers the highest once the level answered', () => {
    const { host, round, outcomes, store, key } = setup(single(OLD));
    store.applyAt(key, 0, 1, b('x'), 0, 1, 0, V1, W, false);
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b']);
    expect(host.sent.every((s) => s.request.type === ReplicaOpType.READ && s.request.versionOnly)).toBe(true);
    host.lastTo('a').done(okReply(V2, W), true);
    expect(outcomes).toEqual([{ code: ErrorCode.OK, message: '', highest: V2, stale: undefined }]);
  });

  it('UNAVAILABLE once the level can no longer answer: nothing was written', () => {
    const { host, round, outcomes } = setup(single(OLD), Consistency.ALL);
    round.start();
    host.lastTo('a').done(errorReply(ErrorCode.OUT_OF_MEMORY), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.UNAVAILABLE);
    expect(outcomes[0]!.message).toMatch(
      /reached 1 of the 3 replicas it needs \(of 3\); nothing was written/,
    );
    expect(outcomes[0]!.stale).toBeUndefined();
  });

  it('TIMEOUT at the deadline', () => {
    jest.useFakeTimers();
    const { round, outcomes } = setup(single(OLD));
    round.start();
    expect(outcomes).toEqual([]);
    jest.advanceTimersByTime(DEADLINE_MS + 100);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.TIMEOUT);
  });
});

describe('VersionRound: a slot moving between two sets', () => {
  it('asks the members of both sets', () => {
    const { host, round } = setup(pending());
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b', 'c']);
  });

  it('needs the level in each set: the old set answering is not enough', () => {
    const { host, round, outcomes } = setup(pending());
    round.start();
    host.lastTo('b').done(okReply(V1, W), true);
    expect(outcomes).toEqual([]); // new set: this node only
    host.lastTo('c').done(okReply(V2, W), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ code: ErrorCode.OK, highest: V2 });
  });

  it('a member of both sets answers for both', () => {
    const { host, round, outcomes } = setup(pending());
    round.start();
    host.lastTo('a').done(okReply(V1, W), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ code: ErrorCode.OK, highest: V1 });
  });

  it('a member of the incoming set still filling (NOT_READY) counts as answered, with nothing above the old set', () => {
    const { host, round, outcomes } = setup(pending());
    round.start();
    host.lastTo('b').done(okReply(V1, W), true);
    host.lastTo('c').done(errorReply(ErrorCode.NOT_READY), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ code: ErrorCode.OK, highest: V1 });
  });

  it('after a cutover a NOT_READY member of the previous set counts as answered: the read set holds every acknowledged write', () => {
    // Cut over to NEW: reads use NEW; OLD's b let the slot go (it answers NOT_READY). Every write
    // acknowledged before the cutover met the level in NEW too, so NEW alone bounds the stamp.
    const { host, round, outcomes } = setup(new SlotRoute(NEW, [OLD, NEW]), Consistency.ALL);
    round.start();
    host.lastTo('a').done(okReply(V1, W), true);
    host.lastTo('c').done(okReply(V1, W), true);
    host.lastTo('b').done(errorReply(ErrorCode.NOT_READY), true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ code: ErrorCode.OK, highest: V1 });
  });

  it('reports a STALE_EPOCH refusal that made it miss the level', () => {
    const { host, round, outcomes } = setup(pending(), Consistency.QUORUM, ['a']);
    round.start();
    host.lastTo('c').done({ ...errorReply(ErrorCode.STALE_EPOCH), epoch: 4 }, true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.code).toBe(ErrorCode.UNAVAILABLE);
    expect(outcomes[0]!.stale).toBe(4);
    expect(outcomes[0]!.message).toMatch(/in \(self, a, c\)/);
  });
});
