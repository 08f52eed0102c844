import { describe, expect, it } from '@jest/globals';
import { SLOT_COUNT } from '@meshcache/proto';
import { AntiEntropyWireError, ByteReader, ByteWriter } from '../../../src/antientropy/bytes.js';
import { maskSlots, readSlotSet, slotMask, writeSlotSet } from '../../../src/antientropy/slotSet.js';
import {
  AnswerStatus,
  AntiEntropyPeerError,
  MessageKind,
  decodeDigestsAnswer,
  decodeDigestsRequest,
  decodeEntriesRequest,
  decodePushAnswer,
  decodeSlotsRequest,
  encodeDigestsAnswer,
  encodeDigestsRequest,
  encodePushAnswer,
  encodeRefusal,
  encodeSlotsRequest,
  entriesRequestWriter,
  readEntries,
  writeEntry,
} from '../../../src/antientropy/wire.js';
import { FakeReplica } from './support/fakeReplica.js';

function roundTrip(mask: Uint8Array): { back: Uint8Array; bytes: number } {
  const w = new ByteWriter();
  writeSlotSet(w, mask);
  const r = new ByteReader(w.bytes());
  const back = readSlotSet(r);
  expect(r.remaining).toBe(0);
  return { back, bytes: w.length };
}

describe('slot sets on the wire', () => {
  it('take a few bytes for runs of slots', () => {
    const run = slotMask(Array.from({ length: 5461 }, (_, i) => 5461 + i));
    const { back, bytes } = roundTrip(run);
    expect(back).toEqual(run);
    expect(bytes).toBeLessThanOrEqual(6);
    const wrap = slotMask([
      ...Array.from({ length: 100 }, (_, i) => i),
      ...Array.from({ length: 100 }, (_, i) => SLOT_COUNT - 1 - i),
    ]);
    expect(roundTrip(wrap).back).toEqual(wrap);
    expect(roundTrip(new Uint8Array(SLOT_COUNT)).bytes).toBe(2);
  });

  it('fall back to a bitmap when scattered', () => {
    const scattered = slotMask(Array.from({ length: 5461 }, (_, i) => i * 3));
    const { back, bytes } = roundTrip(scattered);
    expect(back).toEqual(scattered);
    expect(bytes).toBe(1 + SLOT_COUNT / 8);
  });

  it('refuse runs past the last slot and unknown forms', () => {
    const w = new ByteWriter();
    w.u8(0);
    w.varint(1);
    w.varint(SLOT_COUNT - 1);
    w.varint(1);
    expect(() => readSlotSet(new ByteReader(w.bytes()))).toThrow(AntiEntropyWireError);
    expect(() => readSlotSet(new ByteReader(Uint8Array.of(9)))).toThrow(/form/);
  });
});

describe('messages', () => {
  const request = {
    roundId: 'a/1/x',
    from: 'node-a',
    cache: 'sessions',
    seed: new Int32Array([1, -2, 3, 0x7fffffff]),
    cutoffMs: 1_700_000_000_123,
    tombstoneHorizonMs: 1_699_999_400_123,
    leafSlots: 64,
    slots: slotMask([1, 2, 3, 100]),
    root: Uint8Array.from({ length: 16 }, (_, i) => i),
  };

  it('a DIGESTS request and its answers round-trip', () => {
    const back = decodeDigestsRequest(encodeDigestsRequest(request));
    expect(back).toEqual({ ...request, root: Buffer.from(request.root) });
    expect(maskSlots(back.slots)).toEqual(Uint16Array.of(1, 2, 3, 100));

    const clean = encodeDigestsAnswer({ root: request.root });
    expect(clean.length).toBe(3 + 1 + 16);
    expect(decodeDigestsAnswer(clean).ranges).toBeUndefined();

    const ranges = new Uint8Array(3 * 16).fill(9);
    const full = decodeDigestsAnswer(
      encodeDigestsAnswer({ slots: slotMask([2]), root: request.root, ranges }),
    );
    expect(maskSlots(full.slots!)).toEqual(Uint16Array.of(2));
    expect(full.ranges).toEqual(Buffer.from(ranges));
  });

  it('SLOTS requests carry ascending range indexes', () => {
    expect(decodeSlotsRequest(encodeSlotsRequest({ roundId: 'r', ranges: [0, 5, 6, 300] }))).toEqual({
      roundId: 'r',
      ranges: [0, 5, 6, 300],
    });
    expect(() => encodeSlotsRequest({ roundId: 'r', ranges: [3, 1] })).toThrow(/ascending/);
  });

  it('entries round-trip: values with and without expiry, tombstones without value or expiry', () => {
    const src = new FakeReplica();
    src.put('plain', 'v1', { hlc: 11, node: 0xfeedbeef });
    src.put('ttl', 'v2', { hlc: 12, node: 2, expiresAt: 1_700_000_000_000 });
    src.put('gone', '', { hlc: 13, node: 3, tombstone: true });
    src.put(Buffer.alloc(0), Buffer.alloc(0), { hlc: 14 });
    const w = entriesRequestWriter(MessageKind.PUSH, 'r', slotMask([1]), true);
    src.scan(0, 100, undefined, (h) => writeEntry(w, src, h));
    const m = decodeEntriesRequest(w.bytes(), MessageKind.PUSH);
    expect(m.last).toBe(true);
    const seen: unknown[] = [];
    const n = readEntries(m.bytes, m.entriesAt, (e) =>
      seen.push({
        key: Buffer.from(e.bytes.subarray(e.keyAt, e.keyAt + e.keyLen)).toString(),
        value: Buffer.from(e.bytes.subarray(e.valueAt, e.valueAt + e.valueLen)).toString(),
        hlc: e.hlc,
        node: e.node,
        expiresAt: e.expiresAt,
        tombstone: e.tombstone,
      }),
    );
    expect(n).toBe(4);
    expect(seen).toEqual(
      expect.arrayContaining([
        { key: 'plain', value: 'v1', hlc: 11, node: 0xfeedbeef, expiresAt: 0, tombstone: false },
        { key: 'ttl', value: 'v2', hlc: 12, node: 2, expiresAt: 1_700_000_000_000, tombstone: false },
        { key: 'gone', value: '', hlc: 13, node: 3, expiresAt: 0, tombstone: true },
        { key: '', value: '', hlc: 14, node: 1, expiresAt: 0, tombstone: false },
      ]),
    );
  });

  it('refusals surface as AntiEntropyPeerError with their status', () => {
    const busy = encodeRefusal(MessageKind.PUSH_ANSWER, AnswerStatus.BUSY, 'try later');
    expect(() => decodePushAnswer(busy)).toThrow(AntiEntropyPeerError);
    try {
      decodePushAnswer(busy);
    } catch (err) {
      expect((err as AntiEntropyPeerError).status).toBe(AnswerStatus.BUSY);
      expect((err as Error).message).toBe('try later');
    }
    expect(decodePushAnswer(encodePushAnswer(300))).toBe(300);
  });

  it('malformed messages throw AntiEntropyWireError', () => {
    const good = encodeDigestsRequest(request);
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => decodeDigestsRequest(good.subarray(0, cut))).toThrow(AntiEntropyWireError);
    }
    const otherVersion = Uint8Array.from(good);
    otherVersion[0] = 2;
    expect(() => decodeDigestsRequest(otherVersion)).toThrow(/protocol 2 is not supported/);
    expect(() => decodeSlotsRequest(good)).toThrow(/kind/);
    const entries = Buffer.concat([Buffer.from([7]), Buffer.alloc(3)]);
    expect(() => readEntries(entries, 0, () => undefined)).toThrow(/flags/);
    expect(() => readEntries(Buffer.from([0, 5, 1]), 0, () => undefined)).toThrow(/truncated/);
    expect(() => new ByteReader(Buffer.alloc(9, 0xff)).varint()).toThrow(/varint/);
  });
});
