import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Operation, OperationFrame, Result, ResultFrame } from '../../../src/gen/meshcache/v1/cache.js';
import {
  CodecError,
  decodeOperationFrame,
  decodeResultFrame,
  encodeOperationFrame,
  encodeResultFrame,
} from '../../../src/codec/index.js';
import {
  normalise,
  operationFrame,
  resultFrame,
  smallOperationFrame,
  smallResultFrame,
} from './arbitraries.js';

type Decoder = (input: Uint8Array) => unknown;

const decoders: [string, Decoder, (b: Uint8Array) => unknown][] = [
  ['decodeOperationFrame', decodeOperationFrame, (b) => OperationFrame.decode(b)],
  ['decodeResultFrame', decodeResultFrame, (b) => ResultFrame.decode(b)],
];

/**
 * Decodes with the fast decoder: it must return or throw CodecError. When it
 * returns, the generated decoder must agree.
 */
function checkDecode(fast: Decoder, generated: (b: Uint8Array) => unknown, input: Uint8Array): void {
  let decoded: unknown;
  try {
    decoded = fast(input);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    return;
  }
  expect(normalise(decoded)).toStrictEqual(normalise(generated(input)));
}

describe.each(decoders)('%s on hostile input', (_name, fast, generated) => {
  it('returns or throws CodecError for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => checkDecode(fast, generated, input)),
      { numRuns: 100_000 },
    );
  });

  it('returns or throws CodecError for mutated and truncated valid frames', () => {
    const valid = fc.oneof(
      smallOperationFrame.map((f) => encodeOperationFrame(f)),
      smallResultFrame.map((f) => encodeResultFrame(f)),
    );
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'truncate', 'insert'),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), (wire, mutations) => {
        let buf = Buffer.from(wire);
        for (const m of mutations) {
          if (buf.length === 0) break;
          const i = m.at % buf.length;
          if (m.kind === 'flip') buf[i] = buf[i]! ^ (1 << (m.byte & 7));
          else if (m.kind === 'set') buf[i] = m.byte;
          else if (m.kind === 'truncate') buf = buf.subarray(0, i);
          else buf = Buffer.concat([buf.subarray(0, i), Buffer.from([m.byte]), buf.subarray(i)]);
        }
        checkDecode(fast, generated, buf);
      }),
      { numRuns: 10_000 },
    );
  });

  it('throws CodecError (without allocating) for a huge declared length', () => {
    const input = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x08]);
    expect(() => fast(input)).toThrow(CodecError);
  });

  it('throws CodecError for malformed tags and varints', () => {
    const cases = [
      [0x00], // field number 0
      [0x0e], // wire type 6
      [0x0f], // wire type 7
      [0x0c], // stray end-group
      [0x0b, 0x14], // group 1 closed by group 2
      [0x0b], // unterminated group
      [0x08, 0x80], // truncated varint
      [0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11-byte varint
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 6-byte tag
      [0x79, 1, 2, 3], // truncated fixed64
      [0x7d, 1, 2, 3], // truncated fixed32
      [0x7a, 0x05, 1, 2], // truncated length-delimited
    ];
    for (const c of cases) expect(() => fast(Buffer.from(c))).toThrow(CodecError);
  });

  it('rejects a sub-message whose field runs past its end', () => {
    // frame field 1/2 (len 2) holding a tag whose bytes value claims 5 bytes.
    const tag = fast === decodeOperationFrame ? 0x0a : 0x12;
    expect(() => fast(Buffer.from([tag, 0x02, 0x22, 0x05, 1, 2, 3, 4, 5]))).toThrow(CodecError);
  });
});

/** Writes one unknown field of each wire type (field numbers the schema does not use). */
function writeUnknownFields(w: BinaryWriter, seed: number): void {
  w.tag(1000 + seed, WireType.Varint).uint64(2n ** 64n - 1n);
  w.tag(1001, WireType.Bit64).fixed64(12345n);
  w.tag(1002, WireType.LengthDelimited).bytes(Buffer.from('unknown bytes'));
  w.tag(1003, WireType.Bit32).fixed32(0xdeadbeef);
  w.tag(1004, WireType.StartGroup).tag(1, WireType.Varint).int32(5);
  w.tag(2, WireType.StartGroup).tag(3, WireType.LengthDelimited).string('nested').tag(2, WireType.EndGroup);
  w.tag(1004, WireType.EndGroup);
  w.tag(536870911, WireType.Varint).int64(-1); // the highest field number
}

describe('unknown fields', () => {
  it('are skipped in OperationFrame, Operation, KeyValue and Version', () => {
    fc.assert(
      fc.property(operationFrame, fc.nat({ max: 100 }), (frame, seed) => {
        const w = new BinaryWriter();
        writeUnknownFields(w, seed);
        for (const o of frame.ops) {
          // Unknown fields before and after the known ones: a message is the concatenation of its fields.
          w.uint32(10).fork();
          writeUnknownFields(w, seed);
          Operation.encode(o, w);
          writeUnknownFields(w, seed);
          w.join();
          writeUnknownFields(w, seed);
        }
        const wire = w.finish();
        expect(normalise(decodeOperationFrame(wire))).toStrictEqual(normalise(frame));
        expect(normalise(decodeOperationFrame(wire))).toStrictEqual(normalise(OperationFrame.decode(wire)));
      }),
      { numRuns: 200 },
    );
    // Inside nested KeyValue and Version messages.
    const w = new BinaryWriter();
    w.uint32(10).fork();
    w.uint32(66).fork();
    writeUnknownFields(w, 0);
    w.uint32(8).uint64(99).uint32(16).uint32(3);
    writeUnknownFields(w, 0);
    w.join();
    w.uint32(90).fork();
    writeUnknownFields(w, 0);
    w.uint32(10).bytes(Buffer.from('k')).uint32(24).int64(-1);
    writeUnknownFields(w, 0);
    w.join();
    w.join();
    const decoded = decodeOperationFrame(w.finish()).ops[0]!;
    expect(decoded.expectedVersion).toStrictEqual({ physicalMs: 99, logical: 3, node: 0 });
    expect(normalise(decoded.entries)).toStrictEqual([
      { key: { bytes: '6b' }, value: { bytes: '' }, ttlMs: -1 },
    ]);
  });

  it('are skipped in ResultFrame, Result, Entry and Version', () => {
    fc.assert(
      fc.property(resultFrame, fc.nat({ max: 100 }), (frame, seed) => {
        const w = new BinaryWriter();
        writeUnknownFields(w, seed);
        ResultFrame.encode({ ...frame, results: [] }, w);
        for (const r of frame.results) {
          w.uint32(18).fork();
          writeUnknownFields(w, seed);
          Result.encode(r, w);
          writeUnknownFields(w, seed);
          w.join();
        }
        writeUnknownFields(w, seed);
        expect(normalise(decodeResultFrame(w.finish()))).toStrictEqual(normalise(frame));
      }),
      { numRuns: 200 },
    );
    const w = new BinaryWriter();
    w.uint32(18).fork();
    w.uint32(82).fork();
    writeUnknownFields(w, 0);
    w.uint32(8).bool(true);
    w.uint32(26).fork();
    writeUnknownFields(w, 0);
    w.uint32(24).uint32(4);
    w.join();
    writeUnknownFields(w, 0);
    w.join();
    w.join();
    const entry = decodeResultFrame(w.finish()).results[0]!.entries[0]!;
    expect(normalise(entry)).toStrictEqual({
      found: true,
      value: { bytes: '' },
      version: { physicalMs: 0, logical: 0, node: 4 },
      ttlMs: 0,
    });
  });

  it('skips a known field number sent with the wrong wire type, like the generated decoder', () => {
    // Operation.id (field 1) as fixed32, Operation.key (field 4) as varint.
    const w = new BinaryWriter();
    w.uint32(10).fork().tag(1, WireType.Bit32).fixed32(7).tag(4, WireType.Varint).uint32(9).join();
    const wire = w.finish();
    expect(normalise(decodeOperationFrame(wire))).toStrictEqual(normalise(OperationFrame.decode(wire)));
    expect(decodeOperationFrame(wire).ops[0]!.id).toBe(0);
  });
});
