/** Writer tags as committed with a view: member id -> tag, and the next tag never yet given. */
export interface WriterTags {
  tags: Record<string, number>;
  nextTag: number;
}

/**
 * The writer tag of every member, committed with each view beside the
 * placement. A version is (HLC timestamp, writer tag); two writers with one
 * tag could stamp the same version on different values. A hash of the id
 * could collide, and an id that left and came back as a new member could
 * meet its old versions, so tags are handed out by the view: a member keeps
 * its tag while it stays a member (a restart keeps it), a new member gets the
 * next unused number, and a tag is never given twice. Deterministic: whichever
 * member decides, a view gets the same tags.
 */
export function nextWriterTags(previousPayload: unknown, memberIds: readonly string[]): WriterTags {
  const prev = writerTagsOf(previousPayload);
  const tags: Record<string, number> = {};
  let nextTag = prev.nextTag;
  for (const id of [...memberIds].sort()) {
    const kept = prev.tags[id];
    tags[id] = kept !== undefined ? kept : nextTag++;
  }
  return { tags, nextTag };
}

/** The writer tags in a view's payload (none, starting at 1, when it has none). */
export function writerTagsOf(payload: unknown): WriterTags {
  if (payload === null || typeof payload !== 'object') return { tags: {}, nextTag: 1 };
  const p = payload as Partial<WriterTags>;
  const tags: Record<string, number> = {};
  if (p.tags !== null && typeof p.tags === 'object') {
    for (const [id, tag] of Object.entries(p.tags)) {
      if (Number.isInteger(tag) && tag > 0 && tag <= 0xffff_ffff) tags[id] = tag;
    }
  }
  const highest = Math.max(0, ...Object.values(tags));
  const next = Number.isInteger(p.nextTag) && p.nextTag! > highest ? p.nextTag! : highest + 1;
  return { tags, nextTag: next };
}
