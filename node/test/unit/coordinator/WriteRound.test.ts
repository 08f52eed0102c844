// WriteRound against a fake RoundHost (no network: the test answers each send)
// and a real replicated ArenaStore; the deadline runs on jest's fake timers.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Consistency, ErrorCode, ReplicaOpType, Result } from '@meshcache/proto';
import type { VersionedWrite } from '../../../src/coordinator/RoundHost.js';
import { SlotRoute } from '../../../src/coordinator/SlotRoute.js';
import { WriteRound } from '../../../src/coordinator/WriteRound.js';
import { hlcLogical, hlcPhysicalMs, makeHlc } from '../../../src/store/index.js';
import { FakeRoundHost, T0, b, errorReply, heldIn, okReply } from './support/fakeRoundHost.js';

const DEADLINE_MS = 1000;
/** Another coordinator's node tag (a concurrent writer). */
const OTHER = 0x0badf00d;

interface Options {
  replicas?: string[];
  /** A moving slot's route (replicas is then ignored). */
  route?: SlotRoute;
  level?: Consistency;
  unreachable?: string[];
}

/** The coordinator's part before the round: stamp the write and apply it locally. */
function setup(o: Options = {}) {
  const replicas = o.replicas ?? ['self', 'a', 'b'];
  const host = new FakeRoundHost();
  for (const id of o.unreachable ?? []) host.unreachable.add(id);
  const store = host.makeStore();
  const key = b('k');
  const value = b('v1');
  const hlc = host.clock.now();
  const node = host.clock.nodeTag;
  store.applyAt(key, 0, key.length, value, 0, value.length, 0, hlc, node, false);
  const write: VersionedWrite = { cache: 'c', key, value, hlc, node, expiresAtMs: 0, tombstone: false };
  const results: Result[] = [];
  const stales: (number | undefined)[] = [];
  const round = new WriteRound(
    host,
    write,
    o.route ?? new SlotRoute(replicas, [replicas]),
    o.level ?? Consistency.QUORUM,
    performance.now() + DEADLINE_MS,
    Result.fromPartial({ id: 7, applied: true }),
    (r, stale) => {
      results.push(r);
      stales.push(stale);
    },
  );
  return { host, store, key, write, firstHlc: hlc, node, results, stales, round };
}

function versionOf(hlc: number, node: number) {
  return { physicalMs: hlcPhysicalMs(hlc), logical: hlcLogical(hlc), node: node >>> 0 };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('WriteRound: the level', () => {
  it('sends an APPLY of the stamped version to every other replica', () => {
    const { host, round, firstHlc, node } = setup();
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b']);
    for (const s of host.sent) {
      expect(s.request).toMatchObject({
        type: ReplicaOpType.APPLY,
        cache: 'c',
        hlc: firstHlc,
        node,
        expiresAtMs: 0,
        tombstone: false,
      });
      expect(s.request.key.toString('latin1')).toBe('k');
      expect(s.request.value.toString('latin1')).toBe('v1');
      expect(s.request.timeoutMs).toBeGreaterThanOrEqual(1);
      expect(s.request.timeoutMs).toBeLessThanOrEqual(DEADLINE_MS);
    }
    expect(host.tokens.map((t) => t.hlc)).toEqual([firstHlc]);
  });

  it('answers OK with the write version once 2 of 3 replicas hold it (self counts)', () => {
    const { host, round, results, firstHlc, node } = setup();
    round.start();
    expect(results).toEqual([]); // only this node so far

    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ id: 7, code: ErrorCode.OK, applied: true });
    expect(results[0]!.version).toEqual(versionOf(firstHlc, node));
    expect(results[0]!.version).toEqual({ physicalMs: T0, logical: 0, node });
    expect(host.finished).toEqual([]); // still waiting for b

    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(results).toHaveLength(1); // answered once
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual([]);
    expect(host.finished[0]!.tokens.map((t) => t.hlc)).toEqual([firstHlc]);
    expect(host.stats.ackCount).toBe(2);
    expect(host.stats.restamps).toBe(0);
  });

  it('counts a refusal or a lost reply as a missing ack', () => {
    const { host, round, results } = setup({ level: Consistency.ALL });
    round.start();
    host.lastTo('a').done(errorReply(ErrorCode.STALE_EPOCH), true);
    // 1 acked + 1 waiting < 3: the level can no longer be met.
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(results[0]!.message).toMatch(/reached 1 of the 3 replicas/);
    host.lastTo('b').done(undefined, false);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['a', 'b']);
  });

  it('counts a replica answering with an older version as missing', () => {
    const { host, round, results, firstHlc, node } = setup();
    round.start();
    host.lastTo('a').done(okReply(firstHlc - 1, node), true);
    expect(results).toEqual([]);
    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(host.finished[0]!.missing).toEqual(['a']);
  });

  it('counts unreachable replicas as missing without sending to them', () => {
    const { host, round, results, firstHlc, node } = setup({ unreachable: ['b'] });
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a']);
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    // Nothing is waiting any more: the round is over, b gets a hint.
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['b']);
  });

  it('answers TIMEOUT at once when too few replicas are reachable', () => {
    const { host, round, results } = setup({ level: Consistency.ALL, unreachable: ['a', 'b'] });
    round.start();
    expect(host.sent).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ code: ErrorCode.TIMEOUT, version: undefined, applied: false, id: 7 });
    expect(results[0]!.message).toMatch(/reached 1 of the 3 replicas it needs \(of 3\)/);
    expect(host.finished[0]!.missing).toEqual(['a', 'b']);
  });

  it('answers TIMEOUT naming acks received and needed when the deadline passes first', () => {
    jest.useFakeTimers();
    const { host, round, results, firstHlc } = setup({ level: Consistency.ALL });
    round.start();
    host.lastTo('a').done(okReply(firstHlc, host.clock.nodeTag), true);
    expect(results).toEqual([]);

    jest.advanceTimersByTime(DEADLINE_MS + 100);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ code: ErrorCode.TIMEOUT, version: undefined, applied: false });
    expect(results[0]!.message).toMatch(/reached 2 of the 3 replicas it needs \(of 3\)/);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['b']);
    expect(host.finished[0]!.tokens.map((t) => t.hlc)).toEqual([firstHlc]);

    // A reply after the round is over changes nothing.
    host.lastTo('b').done(okReply(firstHlc, host.clock.nodeTag), true);
    expect(results).toHaveLength(1);
    expect(host.finished).toHaveLength(1);
  });

  it('keeps collecting acks past the level until the deadline, then hands the missing ones over', () => {
    jest.useFakeTimers();
    const { host, round, results, firstHlc, node } = setup({
      replicas: ['self', 'a', 'b', 'c'],
    });
    round.start();
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results).toEqual([]); // QUORUM of 4 is 3
    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(host.finished).toEqual([]);
    jest.advanceTimersByTime(DEADLINE_MS + 100);
    expect(results).toHaveLength(1);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['c']);
  });

  it('clears its deadline timer when every replica answered', () => {
    jest.useFakeTimers();
    const { host, round, firstHlc, node } = setup();
    round.start();
    expect(jest.getTimerCount()).toBe(1);
    host.lastTo('a').done(okReply(firstHlc, node), true);
    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('WriteRound: a replica holding a newer version (a concurrent, later-stamped write)', () => {
  // The coordinator stamps above what a quorum holds before the round (VersionRound), so a
  // newer version at a replica belongs to a write stamped after this one: this write is
  // overwritten there, which is its place in the order. Re-stamping it would bring back a
  // value readers may already have seen under its first version.
  it('counts that replica as holding the write: the level is met, nothing is re-sent or re-stamped', () => {
    const { host, store, key, round, results, write, firstHlc, node } = setup();
    round.start();
    host.lastTo('a').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(results[0]!.version).toEqual(versionOf(firstHlc, node));
    expect(host.sent).toHaveLength(2); // nothing re-sent
    expect(write.hlc).toBe(firstHlc);
    expect(heldIn(store, key)!.hlc).toBe(firstHlc);
  });

  it('hands no hint over for it, and opens one token for the one stamp', () => {
    const { host, round, firstHlc, node } = setup();
    round.start();
    host.lastTo('a').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual([]);
    expect(host.finished[0]!.tokens).toHaveLength(1);
  });

  it('after answering, a newer version at the last replica changes nothing either', () => {
    const { host, store, key, round, results, write, firstHlc, node } = setup();
    round.start();
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    host.lastTo('b').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    expect(host.sent).toHaveLength(2);
    expect(write.hlc).toBe(firstHlc);
    expect(heldIn(store, key)!.hlc).toBe(firstHlc);
    expect(host.finished[0]!.missing).toEqual([]);
  });
});

describe('WriteRound: a slot moving from one set to another', () => {
  // Old set {self, a, b}, new set {self, a, c}: self and a are in both.
  const OLD = ['self', 'a', 'b'];
  const NEW = ['self', 'a', 'c'];
  const moving = () => new SlotRoute(OLD, [OLD, NEW]);

  it('sends the write to every member of both sets once', () => {
    const { host, round } = setup({ route: moving() });
    round.start();
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b', 'c']);
    expect(host.sent.every((s) => s.request.type === ReplicaOpType.APPLY)).toBe(true);
  });

  it('an ack from the old set only is not enough: it waits for the new set', () => {
    const { host, round, results, firstHlc, node } = setup({ route: moving() });
    round.start();
    host.lastTo('b').done(okReply(firstHlc, node), true);
    // Old set: self + b = 2 of 2; new set: self = 1 of 2.
    expect(results).toEqual([]);
    host.lastTo('c').done(okReply(firstHlc, node), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(results[0]!.version).toEqual(versionOf(firstHlc, node));
  });

  it('one ack from a replica in both sets counts toward both', () => {
    const { host, round, results, firstHlc, node } = setup({ route: moving() });
    round.start();
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.OK);
  });

  it('fails as soon as one set can no longer meet the level, naming each set, and hints the missing', () => {
    const { host, round, results, stales, firstHlc, node } = setup({ route: moving() });
    round.start();
    host.lastTo('b').done(okReply(firstHlc, node), true);
    host.lastTo('c').done(errorReply(ErrorCode.STALE_EPOCH), true);
    expect(results).toEqual([]); // a could still meet both
    host.lastTo('a').done(undefined, true);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ code: ErrorCode.TIMEOUT, applied: false, version: undefined });
    expect(results[0]!.message).toMatch(
      /reached 2 of the 2 replicas it needs in \(self, a, b\) and 1 of the 2 replicas it needs in \(self, a, c\)/,
    );
    expect(stales).toEqual([0]); // refused; the reply named no epoch
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['a', 'c']);
  });

  it('reports the highest epoch a STALE_EPOCH refusal named', () => {
    const { host, round, results, stales } = setup({ route: moving(), unreachable: ['a'] });
    round.start();
    host.lastTo('c').done({ ...errorReply(ErrorCode.STALE_EPOCH), epoch: 9 }, true);
    expect(results[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(stales).toEqual([9]);
  });

  it('answers TIMEOUT without sending anything more when the new set is unreachable at ALL', () => {
    const { host, round, results } = setup({
      route: moving(),
      level: Consistency.ALL,
      unreachable: ['c'],
    });
    round.start();
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(host.sent.map((s) => s.target)).toEqual(['a', 'b']);
  });

  it('after a cutover the old set is listed first and both still need the level', () => {
    // Cut over to NEW; OLD is kept until every member installed the cutover.
    const { host, round, results, firstHlc, node } = setup({ route: new SlotRoute(NEW, [OLD, NEW]) });
    round.start();
    host.lastTo('c').done(okReply(firstHlc, node), true);
    expect(results).toEqual([]); // new set met, old not
    host.lastTo('b').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
  });
});
