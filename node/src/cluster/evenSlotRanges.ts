import { SLOT_COUNT, type SlotRange } from '@meshcache/proto';

/**
 * The first placement payload's shape, from before placement tables: the
 * slots split into one contiguous, near-equal range per member, in view
 * order, one replica each. Views now carry tables (placementPayload); a view
 * whose payload has none is still read through rangesOfPayload below.
 */
export function evenSlotRanges(memberIds: readonly string[]): SlotRange[] {
  const n = memberIds.length;
  if (n === 0) return [];
  const ranges: SlotRange[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * SLOT_COUNT) / n);
    const end = Math.floor(((i + 1) * SLOT_COUNT) / n) - 1;
    if (end >= start) ranges.push({ start, end, replicas: [memberIds[i]!] });
  }
  return ranges;
}

/** The slot ranges in a view payload of the shape `{ ranges: SlotRange[] }`, or [] if it has none. */
export function rangesOfPayload(payload: unknown): SlotRange[] {
  if (payload === null || typeof payload !== 'object') return [];
  const ranges = (payload as { ranges?: unknown }).ranges;
  if (!Array.isArray(ranges)) return [];
  return ranges.filter(
    (r): r is SlotRange =>
      r !== null &&
      typeof r === 'object' &&
      Number.isInteger((r as SlotRange).start) &&
      Number.isInteger((r as SlotRange).end) &&
      Array.isArray((r as SlotRange).replicas),
  );
}
