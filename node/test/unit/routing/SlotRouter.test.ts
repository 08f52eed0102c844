import { describe, expect, it } from '@jest/globals';
import { keySlot, Placement } from '@meshcache/proto';
import { MemberState, Operation, OpType, type Topology } from '@meshcache/proto';
import { placementPayload } from '../../../src/placement/placementPayload.js';
import { clusterSlots } from '../../../src/routing/clusterSlots.js';
import { SlotRouter } from '../../../src/routing/SlotRouter.js';

const members = ['a', 'b', 'c'].map((id, i) => ({ id, zone: `z${i}` }));
const caches = [
  { name: 'default', replicationFactor: 2 },
  { name: 'sessions', replicationFactor: 1 },
];

function topologyOf(placement: Placement, epoch = 7): Topology {
  return {
    epoch,
    members: members.map((m) => ({
      id: m.id,
      zone: m.zone,
      state: MemberState.ALIVE,
      grpcAddress: `${m.id}:7070`,
      redisAddress: `${m.id}:6379`,
      adminAddress: `${m.id}:8080`,
      meshAddress: '',
    })),
    ranges: placement.table(2)!.toRanges(),
    caches: caches.map((c) => ({
      ...c,
      defaultConsistency: 0,
      defaultTtlMs: 0,
      maxMemoryBytes: 0,
      maxValueBytes: 0,
      evictionPolicy: '',
    })),
    tables: placement.tables.map((t) => ({ replicationFactor: t.replicationFactor, ranges: t.toRanges() })),
  };
}

describe('placementPayload', () => {
  it('commits one table per replication factor, and keeps them when the members do not change', () => {
    const first = placementPayload(null, members, [2, 1, 2]);
    expect(first.tables.map((t) => t.replicationFactor)).toEqual([1, 2]);
    const again = placementPayload(first, [...members].reverse(), [1, 2]);
    expect(again).toEqual(first);
    // A malformed previous payload reads as none.
    expect(placementPayload({ tables: 'x' }, members, [1, 2])).toEqual(first);
  });
});

describe('SlotRouter', () => {
  const placement = Placement.fromJSON(placementPayload(null, members, [2, 1]));
  const topology = topologyOf(placement);
  const source = { placement, epoch: 7, snapshot: () => topology };

  it('routes a key to its slot primary in the table of its cache, with the address', () => {
    const router = new SlotRouter('a', source, caches);
    for (const key of ['x', 'user:1', '{tag}a', 'another']) {
      const slot = keySlot(key);
      for (const cache of ['', 'default', 'sessions']) {
        const factor = cache === 'sessions' ? 1 : 2;
        const owner = placement.table(factor)!.primary(slot)!;
        const route = router.route(cache, Buffer.from(key));
        expect(route.slot).toBe(slot);
        expect(route.local).toBe(owner === 'a');
        if (!route.local) expect(route).toMatchObject({ owner, address: `${owner}:7070` });
      }
    }
  });

  it('isLocal and allLocal agree with route().local for every kind of operation', () => {
    const router = new SlotRouter('a', source, caches);
    const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`key:${i}`));
    for (const cache of ['', 'default', 'sessions', 'nope']) {
      for (const k of keys) expect(router.isLocal(cache, k)).toBe(router.route(cache, k).local);
    }
    const local = keys.filter((k) => router.route('', k).local);
    const away = keys.find((k) => !router.route('', k).local)!;
    const get = (key: Buffer) => Operation.fromPartial({ type: OpType.GET, key });
    const getMany = (ks: Buffer[]) => Operation.fromPartial({ type: OpType.GET_MANY, keys: ks });
    const setMany = (ks: Buffer[]) =>
      Operation.fromPartial({ type: OpType.SET_MANY, entries: ks.map((key) => ({ key, value: key })) });
    expect(router.allLocal([get(local[0]!), getMany(local), setMany(local)])).toBe(true);
    expect(router.allLocal([get(local[0]!), get(away)])).toBe(false);
    expect(router.allLocal([getMany([...local, away])])).toBe(false);
    expect(router.allLocal([setMany([away, ...local])])).toBe(false);
    expect(router.allLocal([])).toBe(true);
  });

  it('serves locally before there is a table, and for unknown caches (which then fail locally)', () => {
    const empty = { placement: new Placement(), epoch: 0, snapshot: () => topology };
    expect(new SlotRouter('a', empty, caches).route('', Buffer.from('k')).local).toBe(true);
    expect(new SlotRouter('a', source, caches).route('nope', Buffer.from('k')).local).toBe(true);
  });
});

describe('clusterSlots', () => {
  const placement = Placement.fromJSON(placementPayload(null, members, [2, 1]));
  const topology = topologyOf(placement);

  it('lists the default cache table with addresses, primary first', () => {
    const out = clusterSlots(topology)!;
    expect(out.replicationFactor).toBe(2);
    expect(out.caches).toEqual(['default']);
    expect(out.epoch).toBe(7);
    expect(out.ranges[0]!.start).toBe(0);
    expect(out.ranges.at(-1)!.end).toBe(16383);
    for (const r of out.ranges) {
      expect(r.primary).toEqual(r.replicas[0]);
      expect(r.replicas).toHaveLength(2);
      expect(r.primary.grpcAddress).toBe(`${r.primary.id}:7070`);
    }
    expect(clusterSlots(topology, 1)!.caches).toEqual(['sessions']);
    expect(clusterSlots(topology, 3)).toBeUndefined();
  });
});
