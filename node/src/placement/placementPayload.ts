import { Placement, type PlacementJson } from '@meshcache/proto';
import { computePlacement, type PlacementMember, type PlacementOptions } from './computePlacement.js';
import { nextWriterTags, type WriterTags } from './writerTags.js';

/**
 * The placement committed with a view (the view's payload): one table per
 * replication factor the caches use, each computed from the previous view's
 * table of that factor and the new members. Deterministic, so whichever
 * member decides, the same view gets the same tables. The payload also
 * carries the members' writer tags (see writerTags.ts).
 */
export function placementPayload(
  previousPayload: unknown,
  members: readonly PlacementMember[],
  replicationFactors: readonly number[],
  options: PlacementOptions = {},
): PlacementJson & WriterTags {
  const previous = Placement.tryFromJSON(previousPayload);
  const factors = [...new Set(replicationFactors)].sort((a, b) => a - b);
  const placement = new Placement(
    factors.map((rf) => computePlacement(previous.table(rf), members, rf, options)),
  ).toJSON();
  return {
    ...placement,
    ...nextWriterTags(
      previousPayload,
      members.map((m) => m.id),
    ),
  };
}
