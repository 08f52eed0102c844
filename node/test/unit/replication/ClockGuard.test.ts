// ClockGuard with an injected monotonic clock (offset windows are keyed by it).
import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@meshcache/proto';
import { ClockGuard } from '../../../src/replication/ClockGuard.js';

const BOUND = 500;
const WALL = 1_763_000_000_000;
/** Longer than the offset window (5 buckets of 1 s): older samples no longer count. */
const PAST_WINDOW_MS = 6000;

function setup() {
  let mono = 10_000;
  const changes: [boolean, number][] = [];
  const guard = new ClockGuard(
    BOUND,
    () => mono,
    (out, median) => changes.push([out, median]),
  );
  return {
    guard,
    changes,
    advance: (ms: number) => {
      mono += ms;
    },
    /** A frame from peer `id` whose clock reads `offset` ms from ours. */
    peer: (id: string, offset: number) => guard.observe(id, WALL + offset, WALL),
  };
}

describe('ClockGuard: warm-up', () => {
  it('blocks writes with NOT_READY until helloComplete()', () => {
    const { guard, advance } = setup();
    expect(guard.blocker()?.code).toBe(ErrorCode.NOT_READY);
    expect(guard.blocker()?.message).toMatch(/starting/);
    advance(BOUND - 1);
    expect(guard.blocker()?.code).toBe(ErrorCode.NOT_READY);
    guard.helloComplete();
    expect(guard.blocker()).toBeUndefined();
  });

  it('stops blocking once maxClockSkewMs has passed, hellos or not', () => {
    const { guard, advance } = setup();
    advance(BOUND - 1);
    expect(guard.blocker()?.code).toBe(ErrorCode.NOT_READY);
    advance(1);
    expect(guard.blocker()).toBeUndefined();
  });

  it('whenWarm: a promise that settles on helloComplete(), then undefined', async () => {
    const { guard } = setup();
    const warm = guard.whenWarm();
    expect(warm).toBeInstanceOf(Promise);
    expect(guard.whenWarm()).toBe(warm); // one promise for every waiting write
    guard.helloComplete();
    await warm;
    expect(guard.whenWarm()).toBeUndefined();
  });

  it('whenWarm is undefined once maxClockSkewMs has passed, hellos or not', () => {
    const { guard, advance } = setup();
    advance(BOUND);
    expect(guard.whenWarm()).toBeUndefined();
  });

  it('NOT_READY during warm-up comes before CLOCK_SKEW', () => {
    const { guard, peer } = setup();
    peer('a', 5000);
    expect(guard.blocker()?.code).toBe(ErrorCode.NOT_READY);
    guard.helloComplete();
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
  });
});

describe('ClockGuard: offsets', () => {
  it('takes the median of peer offsets, this node counting as 0 when the peers are even (0 with no peers)', () => {
    const { guard, peer } = setup();
    expect(guard.medianOffsetMs()).toBe(0);
    peer('a', 100);
    peer('b', -300);
    peer('c', 40);
    expect(guard.medianOffsetMs()).toBe(40);
    peer('d', 60);
    expect(guard.medianOffsetMs()).toBe(40); // four peers and this node (0): -300, 0, 40, 60, 100
    expect(guard.maxAbsOffsetMs).toBe(300);
  });

  it("a peer's offset is its largest sample of the last few seconds (the least delayed frame)", () => {
    const { guard, peer, advance } = setup();
    peer('a', 100);
    peer('a', -400); // a delayed frame: the peer looks behind
    expect(guard.medianOffsetMs()).toBe(100);
    advance(3000);
    peer('a', 20);
    expect(guard.medianOffsetMs()).toBe(100); // 100 is still in the window
    advance(3000);
    peer('a', -50);
    expect(guard.medianOffsetMs()).toBe(20); // 100 aged out, 20 has not
    advance(PAST_WINDOW_MS);
    peer('a', -50);
    expect(guard.medianOffsetMs()).toBe(-50);
  });

  it('forget drops a peer from the median', () => {
    const { guard, peer } = setup();
    peer('a', 100);
    peer('b', 300);
    peer('c', 200);
    guard.forget('c');
    expect(guard.medianOffsetMs()).toBe(100); // a, b and this node: 0, 100, 300
  });
});

describe('ClockGuard: skew', () => {
  it('one node far off in three: the two in bound keep writing, the odd one out stops', () => {
    const good = setup();
    good.guard.helloComplete();
    good.peer('b', 0);
    good.peer('bad', 2000);
    expect(good.guard.blocker()).toBeUndefined();
    const bad = setup();
    bad.guard.helloComplete();
    bad.peer('a', -2000);
    bad.peer('b', -2000);
    expect(bad.guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
  });

  it('one peer far off does not block a node in bound with the rest', () => {
    const { guard, peer, changes } = setup();
    guard.helloComplete();
    peer('a', 10);
    peer('c', -20);
    peer('b', 10_000);
    expect(guard.blocker()).toBeUndefined();
    expect(changes).toEqual([]);
    expect(guard.maxAbsOffsetMs).toBe(10_000);
  });

  it('CLOCK_SKEW while the median offset exceeds the bound; onChange on entering and leaving', () => {
    const { guard, peer, changes, advance } = setup();
    guard.helloComplete();
    peer('a', 900);
    expect(changes).toEqual([[true, 900]]);
    const blocker = guard.blocker();
    expect(blocker?.code).toBe(ErrorCode.CLOCK_SKEW);
    expect(blocker?.message).toMatch(/900 ms from its peers'; the limit is 500 \(maxClockSkewMs\)/);

    advance(1000);
    peer('a', 800); // still out: no second call
    expect(changes).toHaveLength(1);
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);

    // The clock is fixed: fresh samples in bound once the old ones left the window.
    advance(PAST_WINDOW_MS);
    peer('a', 5);
    expect(changes).toEqual([
      [true, 900],
      [false, 5],
    ]);
    expect(guard.blocker()).toBeUndefined();
  });

  it('is out of bound in either direction, not at the bound itself', () => {
    const { guard, peer, changes } = setup();
    guard.helloComplete();
    peer('a', -BOUND);
    expect(guard.blocker()).toBeUndefined();
    peer('b', -BOUND - 1);
    expect(guard.blocker()).toBeUndefined(); // -501, -500 and this node's 0: median -500
    peer('c', -BOUND - 2);
    expect(guard.medianOffsetMs()).toBe(-BOUND - 1);
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
    expect(changes).toEqual([[true, -BOUND - 1]]);
  });

  // A node whose skewed peers left the view must not stay blocked until some
  // later frame happens to arrive: forget() judges the bound again.
  it('forgetting the peers that put the clock out of bound unblocks writes', () => {
    const { guard, peer, changes } = setup();
    guard.helloComplete();
    peer('a', 10);
    peer('b', 2000);
    peer('c', 2000);
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
    guard.forget('b');
    guard.forget('c');
    expect(guard.medianOffsetMs()).toBe(10);
    expect(guard.blocker()).toBeUndefined();
    expect(changes.map(([out]) => out)).toEqual([true, false]);
  });

  // A peer without a sample in the window is no evidence either way: it must
  // not count as in sync. Here every peer last measured this node 2 s off,
  // and one fresh sample saying the same keeps writes blocked.
  it('a peer with no recent sample does not pull the median to 0', () => {
    const { guard, peer, changes, advance } = setup();
    guard.helloComplete();
    peer('a', 2000);
    peer('b', 2000);
    peer('c', 2000);
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
    advance(PAST_WINDOW_MS); // b and c are quiet
    peer('a', 2000);
    expect(guard.blocker()?.code).toBe(ErrorCode.CLOCK_SKEW);
    expect(changes.map(([out]) => out)).toEqual([true]);
  });
});
