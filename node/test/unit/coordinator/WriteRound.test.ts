// WriteRound against a fake RoundHost (no network: the test answers each send)
// and a real replicated ArenaStore; the deadline runs on jest's fake timers.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ErrorCode, ReplicaOpType, Result } from '@meshcache/proto';
import type { VersionedWrite } from '../../../src/coordinator/RoundHost.js';
import { WriteRound } from '../../../src/coordinator/WriteRound.js';
import { hlcLogical, hlcPhysicalMs, makeHlc } from '../../../src/store/index.js';
import { FakeRoundHost, T0, b, errorReply, heldIn, okReply } from './support/fakeRoundHost.js';

const DEADLINE_MS = 1000;
/** Another coordinator's node tag (a concurrent writer). */
const OTHER = 0x0badf00d;

interface Options {
  replicas?: string[];
  required?: number;
  maxRestamps?: number;
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
  const round = new WriteRound(
    host,
    write,
    replicas,
    o.required ?? 2,
    performance.now() + DEADLINE_MS,
    store,
    o.maxRestamps ?? 3,
    Result.fromPartial({ id: 7, applied: true }),
    (r) => results.push(r),
  );
  return { host, store, key, write, firstHlc: hlc, node, results, round };
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
    const { host, round, results } = setup({ required: 3 });
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
    const { host, round, results } = setup({ required: 3, unreachable: ['a', 'b'] });
    round.start();
    expect(host.sent).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ code: ErrorCode.TIMEOUT, version: undefined, applied: false, id: 7 });
    expect(results[0]!.message).toMatch(/reached 1 of the 3 replicas it needs \(of 3\)/);
    expect(host.finished[0]!.missing).toEqual(['a', 'b']);
  });

  it('answers TIMEOUT naming acks received and needed when the deadline passes first', () => {
    jest.useFakeTimers();
    const { host, round, results, firstHlc } = setup({ required: 3 });
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
      required: 2,
    });
    round.start();
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    host.lastTo('b').done(okReply(firstHlc, node), true);
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

describe('WriteRound: re-stamps', () => {
  it('re-stamps above a newer version a replica reports, re-applies locally and re-sends to all', () => {
    const { host, store, key, round, results, write, firstHlc } = setup();
    round.start();
    const seen = makeHlc(T0 + 50, 3);
    host.lastTo('a').done(okReply(seen, OTHER), true);

    expect(host.stats.restamps).toBe(1);
    // The clock observed the reported version and stamped just above it.
    expect(write.hlc).toBe(makeHlc(T0 + 50, 4));
    expect(host.clock.current).toBeGreaterThanOrEqual(write.hlc);
    expect(write.node).toBe(host.clock.nodeTag);
    // The local copy holds the re-stamped version.
    expect(host.appliedLocally).toHaveLength(1);
    expect(heldIn(store, key)).toMatchObject({
      hlc: write.hlc,
      node: write.node,
      tombstone: false,
      value: 'v1',
    });
    // Every other replica gets the re-stamped version again.
    expect(host.sentTo('a')).toHaveLength(2);
    expect(host.sentTo('b')).toHaveLength(2);
    for (const id of ['a', 'b']) {
      expect(host.lastTo(id).request).toMatchObject({ hlc: write.hlc, node: write.node });
      expect(host.lastTo(id).request.value.toString('latin1')).toBe('v1');
    }
    expect(host.tokens.map((t) => t.hlc)).toEqual([firstHlc, write.hlc]);
    expect(results).toEqual([]);

    host.lastTo('a').done(okReply(write.hlc, write.node), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(results[0]!.version).toEqual(versionOf(write.hlc, write.node));
    expect(hlcPhysicalMs(write.hlc)).toBe(T0 + 50);
  });

  it('ignores acks for a version it already replaced', () => {
    const { host, round, results, write, firstHlc, node } = setup();
    round.start();
    const oldToB = host.lastTo('b');
    host.lastTo('a').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    const restamped = write.hlc;

    // b acks the first version: with self that would be 2 of 3, but it is not the final version.
    oldToB.done(okReply(firstHlc, node), true);
    expect(results).toEqual([]);
    expect(host.finished).toEqual([]);

    host.lastTo('b').done(okReply(restamped, write.node), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.version).toEqual(versionOf(restamped, write.node));
  });

  it('does not count a failure for a replaced version against the replica', () => {
    const { host, round, results, write } = setup({ required: 3 });
    round.start();
    const oldToB = host.lastTo('b');
    host.lastTo('a').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    oldToB.done(undefined, false); // the old request to b is lost
    expect(results).toEqual([]);
    host.lastTo('a').done(okReply(write.hlc, write.node), true);
    host.lastTo('b').done(okReply(write.hlc, write.node), true);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(host.finished[0]!.missing).toEqual([]);
  });

  it('passes the replicas missing at the end to finishWrite with one token per stamp', () => {
    jest.useFakeTimers();
    const { host, round, results, write, firstHlc } = setup();
    round.start();
    host.lastTo('b').done(okReply(makeHlc(T0 + 20, 0), OTHER), true);
    const second = write.hlc;
    host.lastTo('a').done(okReply(makeHlc(T0 + 40, 0), OTHER), true);
    const third = write.hlc;
    expect(host.stats.restamps).toBe(2);
    expect(third).toBeGreaterThan(second);

    host.lastTo('a').done(okReply(third, write.node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(results[0]!.version).toEqual(versionOf(third, write.node));
    jest.advanceTimersByTime(DEADLINE_MS + 100);

    expect(host.finished).toHaveLength(1);
    const f = host.finished[0]!;
    expect(f.missing).toEqual(['b']);
    expect(f.write.hlc).toBe(third);
    expect(f.tokens.map((t) => t.hlc)).toEqual([firstHlc, second, third]);
    expect(f.tokens).toEqual(host.tokens); // every token opened, in order
    expect(f.tokens.every((t) => t.open)).toBe(true); // the host settles them, not the round
  });

  it('stops chasing after maxRestamps; the level decides', () => {
    const { host, round, results, write, firstHlc } = setup({ maxRestamps: 2, unreachable: ['b'] });
    round.start();
    // a's clock runs ahead: every ack reports something newer than what was sent.
    for (let i = 0; i < 3; i++) {
      const sent = host.lastTo('a').request;
      host.lastTo('a').done(okReply(sent.hlc + makeHlc(10, 0), OTHER), true);
    }
    expect(host.stats.restamps).toBe(2);
    expect(host.sentTo('a')).toHaveLength(3); // first send + one per re-stamp
    expect(host.sentTo('b')).toHaveLength(0);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(ErrorCode.TIMEOUT);
    expect(results[0]!.message).toMatch(/reached 1 of the 2 replicas/);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.missing).toEqual(['a', 'b']);
    expect(host.finished[0]!.tokens).toHaveLength(3);
    expect(host.finished[0]!.tokens[0]!.hlc).toBe(firstHlc);
    expect(host.finished[0]!.write.hlc).toBe(write.hlc);
  });

  it('with maxRestamps 0 never re-stamps', () => {
    const { host, store, key, round, results, firstHlc } = setup({ maxRestamps: 0 });
    round.start();
    host.lastTo('a').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);
    expect(host.stats.restamps).toBe(0);
    expect(host.appliedLocally).toEqual([]);
    expect(heldIn(store, key)!.hlc).toBe(firstHlc);
    expect(results[0]!.code).toBe(ErrorCode.TIMEOUT);
  });

  // A write answered OK at version v is final: a replica reporting a newer
  // version afterwards holds a LATER write (possibly acknowledged after this
  // one). Re-stamping now would make this write overwrite it everywhere and
  // leave the version the client was told on no replica.
  it('does not re-stamp a write whose answer was already given', () => {
    const { host, store, key, round, results, write, firstHlc, node } = setup();
    round.start();
    host.lastTo('a').done(okReply(firstHlc, node), true);
    expect(results[0]!.code).toBe(ErrorCode.OK);
    expect(results[0]!.version).toEqual(versionOf(firstHlc, node));

    // b had already taken a later write Y (acknowledged by its own quorum) and refused ours.
    host.lastTo('b').done(okReply(makeHlc(T0 + 50, 0), OTHER), true);

    expect(host.stats.restamps).toBe(0);
    expect(host.sent).toHaveLength(2); // nothing re-sent
    expect(write.hlc).toBe(firstHlc);
    expect(heldIn(store, key)!.hlc).toBe(firstHlc);
    expect(host.finished).toHaveLength(1);
    expect(host.finished[0]!.write.hlc).toBe(firstHlc);
  });
});
