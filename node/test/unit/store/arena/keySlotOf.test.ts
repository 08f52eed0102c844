import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { keySlot } from '@meshcache/proto';
import { keySlotOf } from '../../../../../proto/src/placement/keySlot.js';
import { HybridLogicalClock } from '../../../../src/store/HybridLogicalClock.js';
import { ArenaStore } from '../../../../src/store/arena/ArenaStore.js';

/** Keys built from the bytes that matter to hash tags, so `{` and `}` come up often. */
const tagBytes = fc.uint8Array({ maxLength: 40 }).map((raw) => {
  const alphabet = [0x7b, 0x7d, 0x61, 0x62, 0x00, 0xff, 0x7b, 0x7d];
  return Uint8Array.from(raw, (x) => (x < 128 ? alphabet[x % alphabet.length]! : x));
});

describe('keySlotOf', () => {
  it('equals keySlot (the crc package) on fixed keys, hash tags included', () => {
    const keys = [
      '',
      'a',
      '123456789',
      'foo',
      '{user1000}.following',
      '{user1000}.followers',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      '{',
      '}',
      '{}',
      'a{b',
      '}{a}',
      '{a}',
      'x'.repeat(5000),
      `{${'t'.repeat(300)}}rest`,
    ];
    for (const k of keys) {
      const bytes = Buffer.from(k, 'latin1');
      expect(keySlotOf(bytes, 0, bytes.length)).toBe(keySlot(bytes));
      // The same key inside a larger buffer, with tag bytes around it.
      const framed = Buffer.concat([Buffer.from('{x}'), bytes, Buffer.from('{y}')]);
      expect(keySlotOf(framed, 3, bytes.length)).toBe(keySlot(bytes));
    }
    expect(keySlotOf(Buffer.from('123456789'), 0, 9)).toBe(12739); // CLUSTER KEYSLOT 123456789
  });

  it('equals keySlot on random keys at random offsets', () => {
    fc.assert(
      fc.property(
        fc.oneof(tagBytes, fc.uint8Array({ maxLength: 200 })),
        tagBytes,
        tagBytes,
        (key, pre, post) => {
          const framed = Buffer.concat([pre, key, post]);
          expect(keySlotOf(framed, pre.length, key.length)).toBe(keySlot(key));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('equals the slot the store reads from a stored key (small and large items)', () => {
    const store = new ArenaStore(
      {
        name: 'slots',
        maxMemoryBytes: 1 << 20,
        defaultTtlMs: 0,
        maxValueBytes: 1 << 16,
        maxKeyBytes: 4096,
        evictionPolicy: 's3fifo',
      },
      new HybridLogicalClock(1),
    );
    fc.assert(
      fc.property(fc.oneof(tagBytes, fc.uint8Array({ maxLength: 3000 })), (key) => {
        const h = store.set(key, Buffer.alloc(key.length > 1000 ? 2000 : 10), 0);
        expect(store.slotOf(h)).toBe(keySlot(key));
        expect(store.slotOf(h)).toBe(keySlotOf(key, 0, key.length));
      }),
      { numRuns: 500 },
    );
  });
});
