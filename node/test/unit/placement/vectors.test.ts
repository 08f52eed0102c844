import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { SlotTable } from '@meshcache/proto';
import type { SlotRange } from '@meshcache/proto';
import { computePlacement, type PlacementMember } from '../../../src/placement/computePlacement.js';
import { balanceOf, zoneViolations } from '../../../src/placement/placementStats.js';

interface Vector {
  name: string;
  description: string;
  replicationFactor: number;
  previous: SlotRange[] | null;
  members: PlacementMember[];
  expected: SlotRange[];
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
const vectors: Vector[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Vector);

describe('placement test vectors (previous table, view change -> new table)', () => {
  it('has vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const prev = v.previous ? SlotTable.fromRanges(v.replicationFactor, v.previous) : undefined;
    const next = computePlacement(prev, v.members, v.replicationFactor);
    expect(next.toRanges()).toEqual(v.expected);
    // The member order of a view does not matter.
    const shuffled = [...v.members].reverse();
    expect(computePlacement(prev, shuffled, v.replicationFactor).equals(next)).toBe(true);
    // What the vectors pin obeys the rules.
    expect(zoneViolations(next, v.members)).toBe(0);
    const b = balanceOf(next, v.members);
    if (b.replicasBound <= 1.05) expect(Math.max(b.primaries, b.replicasVsShare)).toBeLessThanOrEqual(1.05);
    expect(next.width).toBe(Math.min(v.replicationFactor, v.members.length));
  });

  it('a change that keeps the members keeps the table', () => {
    const v = vectors.find((x) => x.name.includes('same-members'))!;
    expect(v.expected).toEqual(v.previous);
  });
});
