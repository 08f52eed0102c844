// The decider's placement step: moves become pending, are retargeted from the pending target, and cut over when finished.
import { describe, expect, it } from '@jest/globals';
import { Placement, SLOT_COUNT } from '@meshcache/proto';
import { drainingOf, holdsSlots, placementPayload } from '../../../src/placement/placementPayload.js';

const members = (...ids: string[]) => ids.map((id) => ({ id, zone: '' }));

/** Slots whose committed member set differs from their target's. */
function movingSlots(payload: unknown, rf: number): number[] {
  const p = Placement.fromJSON(payload);
  const pending = p.pending(rf);
  const out: number[] = [];
  if (pending === undefined) return out;
  for (let s = 0; s < SLOT_COUNT; s++) if (pending.isPending(s)) out.push(s);
  return out;
}

describe('placementPayload: two-step moves', () => {
  const v1 = placementPayload(undefined, members('a', 'b', 'c'), [3], { epoch: 1 });

  it('a fresh cluster places every slot at once (no copy exists to move)', () => {
    const p = Placement.fromJSON(v1);
    expect(p.pending(3)).toBeUndefined();
    expect(p.table(3)!.replicas(0)).toHaveLength(3);
  });

  it('a join makes the moving slots pending: committed sets stay, targets and the since epoch are recorded', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2 });
    const p = Placement.fromJSON(v2);
    const before = Placement.fromJSON(v1).table(3)!;
    const pending = p.pending(3)!;
    expect(pending.count).toBeGreaterThan(0);
    for (let s = 0; s < SLOT_COUNT; s++) {
      // The committed sets keep their members until a cutover (a new order alone takes effect at once).
      expect(p.table(3)!.sameMembers(before, s)).toBe(true);
      if (pending.isPending(s)) {
        expect(pending.since[s]).toBe(2);
        expect(pending.targetOf(s)).toContain('d');
      }
    }
  });

  it('a slot cuts over only when `finished` says so, and only that slot', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2 });
    const moving = movingSlots(v2, 3);
    const first = moving[0]!;
    const v3 = placementPayload(v2, members('a', 'b', 'c', 'd'), [3], {
      epoch: 3,
      finished: (rf, slot, since) => rf === 3 && slot === first && since === 2,
    });
    const p = Placement.fromJSON(v3);
    const target = Placement.fromJSON(v2).pending(3)!;
    expect(p.table(3)!.replicas(first)).toEqual(target.targetOf(first));
    expect(p.pending(3)!.isPending(first)).toBe(false);
    expect(movingSlots(v3, 3)).toEqual(moving.slice(1));
    // Still-pending slots keep their since epoch (their transfers stay valid).
    expect(p.pending(3)!.since[moving[1]!]).toBe(2);
  });

  it('cutting every slot over leaves nothing pending and the target as the table', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2 });
    const v3 = placementPayload(v2, members('a', 'b', 'c', 'd'), [3], { epoch: 3, finished: () => true });
    const p = Placement.fromJSON(v3);
    expect(p.pending(3)).toBeUndefined();
    expect(p.table(3)!.equals(Placement.fromJSON(v2).pending(3)!.target)).toBe(true);
  });

  it('a change while moves are pending is computed from the pending targets; the old set stays the last cut-over set', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2 });
    const v3 = placementPayload(v2, members('a', 'b', 'c', 'd', 'e'), [3], { epoch: 3 });
    const p2 = Placement.fromJSON(v2);
    const p3 = Placement.fromJSON(v3);
    const committed1 = Placement.fromJSON(v1).table(3)!;
    for (let s = 0; s < SLOT_COUNT; s++) expect(p3.table(3)!.sameMembers(committed1, s)).toBe(true);
    let kept = 0;
    let retargeted = 0;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (!p3.pending(3)!.isPending(s)) continue;
      const sameTarget =
        p2.pending(3)?.isPending(s) && p2.pending(3)!.target.sameSlot(p3.pending(3)!.target, s);
      if (sameTarget) {
        kept++;
        expect(p3.pending(3)!.since[s]).toBe(2);
      } else {
        retargeted++;
        expect(p3.pending(3)!.since[s]).toBe(3);
      }
    }
    expect(kept).toBeGreaterThan(0);
    expect(retargeted).toBeGreaterThan(0);
  });

  it('a reordering of the same members takes effect at once; a slot with no old replica left cuts over at once', () => {
    const solo = placementPayload(undefined, members('a'), [1], { epoch: 1 });
    // a is gone and b replaces it: nothing can be moved from a non-member.
    const next = placementPayload(solo, members('b'), [1], { epoch: 2 });
    const p = Placement.fromJSON(next);
    expect(p.pending(1)).toBeUndefined();
    expect(p.table(1)!.replicas(0)).toEqual(['b']);
  });

  it('a width change (two members to three at factor 3) is cut over slot by slot', () => {
    const two = placementPayload(undefined, members('a', 'b'), [3], { epoch: 1 });
    const three = placementPayload(two, members('a', 'b', 'c'), [3], { epoch: 2 });
    expect(movingSlots(three, 3)).toHaveLength(SLOT_COUNT);
    const half = placementPayload(three, members('a', 'b', 'c'), [3], {
      epoch: 3,
      finished: (_rf, slot) => slot < SLOT_COUNT / 2,
    });
    const p = Placement.fromJSON(half);
    expect(p.table(3)!.replicas(0)).toHaveLength(3);
    expect(p.table(3)!.replicas(SLOT_COUNT - 1)).toHaveLength(2);
    expect(p.table(3)!.uniform).toBe(false);
    // The JSON round trip keeps the mixed widths and the pending half.
    expect(Placement.fromJSON(JSON.parse(JSON.stringify(half))).pending(3)!.count).toBe(SLOT_COUNT / 2);
  });

  it('a frozen factor keeps its targets: a join moves nothing there (a move refused for memory)', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2, freeze: [3] });
    expect(Placement.fromJSON(v2).pending(3)).toBeUndefined();
    expect(Placement.fromJSON(v2).table(3)!.equals(Placement.fromJSON(v1).table(3)!)).toBe(true);
  });

  it('is deterministic in its inputs', () => {
    const a = placementPayload(v1, members('d', 'a', 'c', 'b'), [3], { epoch: 2 });
    const b = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});

describe('placementPayload: drains', () => {
  const v1 = placementPayload(undefined, members('a', 'b', 'c', 'd'), [3], { epoch: 1 });

  it('a draining member gets no target slot; its slots become pending elsewhere; it is listed as draining', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2, draining: ['d'] });
    expect(drainingOf(v2)).toEqual(['d']);
    const p = Placement.fromJSON(v2);
    const target = p.pending(3)!.target;
    for (let s = 0; s < SLOT_COUNT; s++) expect(target.replicas(s)).not.toContain('d');
    // Until the cutover it still holds its committed slots.
    expect(holdsSlots(v2, 'd')).toBe(true);
    const v3 = placementPayload(v2, members('a', 'b', 'c', 'd'), [3], {
      epoch: 3,
      draining: ['d'],
      finished: () => true,
    });
    expect(holdsSlots(v3, 'd')).toBe(false);
    expect(holdsSlots(v3, 'a')).toBe(true);
  });

  it('draining ids that are not members are ignored', () => {
    const v2 = placementPayload(v1, members('a', 'b', 'c', 'd'), [3], { epoch: 2, draining: ['zz'] });
    expect(drainingOf(v2)).toEqual([]);
    expect(drainingOf({ draining: [1, 'x'] })).toEqual(['x']);
  });
});
