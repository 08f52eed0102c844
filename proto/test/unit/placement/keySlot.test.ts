import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { commonSlot, keySlot, keySlotLatin1 } from '../../../src/placement/keySlot.js';

/** Bit-by-bit CRC16/XMODEM and Redis's hash-tag rule, written out as the spec says (a model to compare with). */
function referenceSlot(bytes: Uint8Array): number {
  let hashed = bytes;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) hashed = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of hashed) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 0x3fff;
}

describe('keySlot', () => {
  // Each value below is what a real redis-server 7 (cluster-enabled) answered to CLUSTER KEYSLOT.
  const fromRedis: [string, number][] = [
    ['123456789', 12739],
    ['foo', 12182],
    ['hello', 866],
    ['somekey', 11058],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['foo{}{bar}', 8363],
    ['foo{{bar}}zap', 4015],
    ['foo{bar}{zap}', 5061],
    ['{', 4092],
    ['}', 12090],
    ['{}', 15257],
    ['a{b', 13340],
    ['ünïcødé', 1067],
    ['{ünï}x', 9441],
    ['', 0],
  ];

  it.each(fromRedis)('%j -> %d, as Redis Cluster computes it', (key, slot) => {
    expect(keySlot(key)).toBe(slot);
    expect(keySlot(Buffer.from(key, 'utf8'))).toBe(slot);
    expect(keySlotLatin1(Buffer.from(key, 'utf8').toString('latin1'))).toBe(slot);
  });

  it('matches a bitwise CRC16/XMODEM with hash tags for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const expected = referenceSlot(bytes);
        expect(keySlot(bytes)).toBe(expected);
        expect(keySlotLatin1(Buffer.from(bytes).toString('latin1'))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes strings as their UTF-8 bytes, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        expect(keySlot(s)).toBe(referenceSlot(Buffer.from(s, 'utf8')));
      }),
      { numRuns: 1000 },
    );
    expect(keySlot('a\uD800b')).toBe(referenceSlot(Buffer.from('a\uD800b', 'utf8')));
  });

  it('commonSlot: the shared slot of keys with one hash tag, else -1', () => {
    expect(commonSlot(['{u1}.a', '{u1}.b', Buffer.from('{u1}c')])).toBe(keySlot('u1'));
    expect(commonSlot(['a', 'b'])).toBe(-1);
    expect(commonSlot([])).toBe(-1);
  });
});
