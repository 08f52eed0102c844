// ReplicaSets over a fake committed view (an EventEmitter standing in for ClusterTopology).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import {
  type Member,
  MemberState,
  Placement,
  SLOT_COUNT,
  type SlotRange,
  SlotTable,
  type Topology,
} from '@meshcache/proto';
import { ReplicaSets, type ReplicaSetsSource } from '../../../src/coordinator/ReplicaSets.js';

const HALF = SLOT_COUNT / 2;

function member(id: string, state: MemberState = MemberState.ALIVE): Member {
  return { id, zone: '', state, grpcAddress: '', redisAddress: '', adminAddress: '', meshAddress: '' };
}

class FakeSource extends EventEmitter implements ReplicaSetsSource {
  placement = new Placement();
  epoch = 0;
  members: Member[] = [];

  snapshot(): Topology {
    return { epoch: this.epoch, members: this.members, ranges: [], caches: [], tables: [] };
  }

  /** Commits a view: its epoch, tables and (optionally) members, then tells the listeners. */
  commit(epoch: number, tables: SlotTable[], members?: Member[]): void {
    this.epoch = epoch;
    this.placement = new Placement(tables);
    if (members !== undefined) this.members = members;
    this.emit('change', this.snapshot());
  }

  /** A member state change within the same epoch. */
  states(members: Member[]): void {
    this.members = members;
    this.emit('change', this.snapshot());
  }
}

const table = (factor: number, ranges: SlotRange[]) => SlotTable.fromRanges(factor, ranges);

/** Factor 3: slots of the first half on a, b, c; of the second on b, c, d. */
const T3 = table(3, [
  { start: 0, end: HALF - 1, replicas: ['a', 'b', 'c'] },
  { start: HALF, end: SLOT_COUNT - 1, replicas: ['b', 'c', 'd'] },
]);
/** T3 with the first quarter of the second half reordered (a new primary). */
const T3_MOVED = table(3, [
  { start: 0, end: HALF - 1, replicas: ['a', 'b', 'c'] },
  { start: HALF, end: HALF + 4095, replicas: ['c', 'b', 'd'] },
  { start: HALF + 4096, end: SLOT_COUNT - 1, replicas: ['b', 'c', 'd'] },
]);
const T1 = table(1, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a'] }]);
const MEMBERS = ['a', 'b', 'c', 'd'].map((id) => member(id));

function setup() {
  const source = new FakeSource();
  const sets = new ReplicaSets('a', source);
  const epochs: number[] = [];
  sets.onEpoch((e) => epochs.push(e));
  return { source, sets, epochs };
}

describe('ReplicaSets: replicas', () => {
  it('has no replicas before a committed view', () => {
    const { sets } = setup();
    expect(sets.table(3)).toBeUndefined();
    expect(sets.replicas(3, 0)).toBeUndefined();
    expect(sets.staleEpoch(3, 0, 0)).toBe(false);
  });

  it('reads the slot replica list of each factor, primary first', () => {
    const { source, sets } = setup();
    source.commit(5, [T1, T3], MEMBERS);
    expect(sets.epoch).toBe(5);
    expect(sets.replicas(3, 0)).toEqual(['a', 'b', 'c']);
    expect(sets.replicas(3, HALF - 1)).toEqual(['a', 'b', 'c']);
    expect(sets.replicas(3, HALF)).toEqual(['b', 'c', 'd']);
    expect(sets.replicas(3, SLOT_COUNT - 1)).toEqual(['b', 'c', 'd']);
    expect(sets.replicas(1, 1234)).toEqual(['a']);
    expect(sets.replicas(2, 0)).toBeUndefined();
    expect(sets.table(3)).toBe(T3);
  });

  it('reads the view committed before it was made', () => {
    const source = new FakeSource();
    source.epoch = 4;
    source.placement = new Placement([T3]);
    source.members = MEMBERS;
    const sets = new ReplicaSets('a', source);
    expect(sets.replicas(3, 0)).toEqual(['a', 'b', 'c']);
    expect(sets.staleEpoch(3, 0, 3)).toBe(true);
    expect(sets.staleEpoch(3, 0, 4)).toBe(false);
  });

  it('treats an empty table as none', () => {
    const { source, sets } = setup();
    source.commit(2, [SlotTable.empty(3)], MEMBERS);
    expect(sets.table(3)).toBeUndefined();
    expect(sets.replicas(3, 0)).toBeUndefined();
  });
});

describe('ReplicaSets: liveness', () => {
  it('isLive for ALIVE and SUSPECT members and this node; isAlive for ALIVE only', () => {
    const { source, sets } = setup();
    source.commit(
      3,
      [T3],
      [
        member('b', MemberState.ALIVE),
        member('c', MemberState.SUSPECT),
        member('d', MemberState.DEAD),
        member('e', MemberState.LEFT),
      ],
    );
    expect(sets.isLive('a')).toBe(true); // self, even unlisted
    expect(sets.isLive('b')).toBe(true);
    expect(sets.isLive('c')).toBe(true);
    expect(sets.isLive('d')).toBe(false);
    expect(sets.isLive('e')).toBe(false);
    expect(sets.isLive('unknown')).toBe(false);
    expect(sets.isAlive('a')).toBe(true);
    expect(sets.isAlive('b')).toBe(true);
    expect(sets.isAlive('c')).toBe(false);
    expect(sets.isAlive('d')).toBe(false);
  });

  it('lists the peers of the committed view without this node', () => {
    const { source, sets } = setup();
    source.commit(3, [T3], MEMBERS);
    expect(sets.peers()).toEqual(['b', 'c', 'd']);
  });

  it('follows member states that change within an epoch, without a new epoch', () => {
    const { source, sets, epochs } = setup();
    source.commit(3, [T3], MEMBERS);
    source.states([member('a'), member('b', MemberState.DEAD), member('c'), member('d')]);
    expect(sets.isLive('b')).toBe(false);
    expect(epochs).toEqual([3]);
    source.states(MEMBERS);
    expect(sets.isLive('b')).toBe(true);
  });
});

describe('ReplicaSets: staleEpoch', () => {
  it('the first table seen marks every slot changed at its epoch', () => {
    const { source, sets } = setup();
    source.commit(5, [T3], MEMBERS);
    for (const slot of [0, HALF, SLOT_COUNT - 1]) {
      expect(sets.staleEpoch(3, slot, 4)).toBe(true);
      expect(sets.staleEpoch(3, slot, 5)).toBe(false);
      expect(sets.staleEpoch(3, slot, 6)).toBe(false);
    }
    expect(sets.staleEpoch(2, 0, 1)).toBe(false); // no table of that factor
  });

  it('a reordering (new primary, same members) fences nothing', () => {
    const { source, sets } = setup();
    source.commit(5, [T3], MEMBERS);
    source.commit(7, [T3_MOVED], MEMBERS);
    for (const slot of [HALF, HALF + 4095, 0, SLOT_COUNT - 1]) {
      expect(sets.staleEpoch(3, slot, 5)).toBe(false);
      expect(sets.staleEpoch(3, slot, 4)).toBe(true);
    }
    expect(sets.replicas(3, HALF)).toEqual(['c', 'b', 'd']);
  });

  it('refuses older epochs only on the slots whose write targets gained a member', () => {
    const { source, sets } = setup();
    source.commit(5, [T3], MEMBERS);
    // The second half's first quarter moves from b, c, d to a, c, d: a is new there.
    const moved = table(3, [
      { start: 0, end: HALF - 1, replicas: ['a', 'b', 'c'] },
      { start: HALF, end: HALF + 4095, replicas: ['a', 'c', 'd'] },
      { start: HALF + 4096, end: SLOT_COUNT - 1, replicas: ['b', 'c', 'd'] },
    ]);
    source.commit(7, [moved], MEMBERS);
    for (const slot of [HALF, HALF + 4095]) {
      expect(sets.staleEpoch(3, slot, 6)).toBe(true);
      expect(sets.staleEpoch(3, slot, 7)).toBe(false);
    }
    for (const slot of [0, HALF - 1, HALF + 4096, SLOT_COUNT - 1]) {
      expect(sets.staleEpoch(3, slot, 6)).toBe(false);
      expect(sets.staleEpoch(3, slot, 4)).toBe(true);
    }
  });

  it('a factor seen for the first time marks all its slots, leaving the other factors alone', () => {
    const { source, sets } = setup();
    source.commit(5, [T3], MEMBERS);
    source.commit(8, [T1, T3], MEMBERS);
    expect(sets.staleEpoch(1, 0, 7)).toBe(true);
    expect(sets.staleEpoch(1, SLOT_COUNT - 1, 8)).toBe(false);
    expect(sets.staleEpoch(3, 0, 5)).toBe(false);
  });

  it('a narrower table (members removed) fences nothing: older coordinators write a superset', () => {
    const { source, sets } = setup();
    source.commit(5, [T3], MEMBERS);
    const narrow = table(3, [{ start: 0, end: SLOT_COUNT - 1, replicas: ['a', 'b'] }]);
    source.commit(6, [narrow], MEMBERS.slice(0, 2));
    expect(sets.staleEpoch(3, 0, 5)).toBe(false);
    expect(sets.replicas(3, 0)).toEqual(['a', 'b']);
  });

  it('calls onEpoch listeners once per new epoch', () => {
    const { source, epochs } = setup();
    source.commit(5, [T3], MEMBERS);
    source.commit(5, [T3], MEMBERS);
    source.commit(7, [T3_MOVED], MEMBERS);
    expect(epochs).toEqual([5, 7]);
  });
});
