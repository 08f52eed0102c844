import { describe, expect, it } from '@jest/globals';
import { placementPayload } from '../../../src/placement/placementPayload.js';
import { nextWriterTags, writerTagsOf } from '../../../src/placement/writerTags.js';

describe('writer tags committed with views', () => {
  it('gives each new member the next unused tag, in id order, starting at 1', () => {
    expect(nextWriterTags(undefined, ['c', 'a', 'b'])).toEqual({ tags: { a: 1, b: 2, c: 3 }, nextTag: 4 });
  });

  it('keeps a member tag across views (a restart keeps its member id and tag)', () => {
    const v1 = nextWriterTags(undefined, ['a', 'b']);
    const v2 = nextWriterTags(v1, ['a', 'b', 'c']);
    expect(v2.tags).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('never gives a tag twice: a member that left and came back gets a new one', () => {
    const v1 = nextWriterTags(undefined, ['a', 'b', 'c']);
    const v2 = nextWriterTags(v1, ['a', 'c']);
    expect(v2).toEqual({ tags: { a: 1, c: 3 }, nextTag: 4 });
    const v3 = nextWriterTags(v2, ['a', 'b', 'c']);
    expect(v3.tags['b']).toBe(4);
    expect(new Set(Object.values(v3.tags)).size).toBe(3);
  });

  it('is deterministic whichever member computes it', () => {
    const prev = nextWriterTags(undefined, ['x', 'y']);
    expect(nextWriterTags(prev, ['z', 'y', 'x'])).toEqual(nextWriterTags(prev, ['x', 'y', 'z']));
  });

  it('reads no tags from a payload without them, and ignores malformed ones', () => {
    expect(writerTagsOf(undefined)).toEqual({ tags: {}, nextTag: 1 });
    expect(writerTagsOf({ tags: { a: -1, b: 'x', c: 7 }, nextTag: 2 })).toEqual({
      tags: { c: 7 },
      nextTag: 8,
    });
  });

  it('rides in the placement payload beside the tables', () => {
    const payload = placementPayload(
      undefined,
      [
        { id: 'a', zone: '' },
        { id: 'b', zone: '' },
      ],
      [1, 3],
    );
    expect(payload.tables.map((t) => t.replicationFactor)).toEqual([1, 3]);
    expect(payload.tags).toEqual({ a: 1, b: 2 });
    expect(payload.nextTag).toBe(3);
  });
});
