import { describe, expect, it } from '@jest/globals';
import { jsonSerializer } from '../../../src/serializers/jsonSerializer.js';
import { rawSerializer } from '../../../src/serializers/rawSerializer.js';
import type { Serializer } from '../../../src/serializers/Serializer.js';
import { stringSerializer } from '../../../src/serializers/stringSerializer.js';

describe('serializers', () => {
  it('json round-trips values as UTF-8 JSON', () => {
    const value = { a: 1, b: ['x', null, true], c: 'é' };
    const bytes = jsonSerializer.serialize(value);
    expect(bytes.toString('utf8')).toBe('{"a":1,"b":["x",null,true],"c":"é"}');
    expect(jsonSerializer.deserialize(bytes)).toEqual(value);
  });

  it('json reads decimal integer strings (as written by incr) as numbers', () => {
    expect(jsonSerializer.deserialize(Buffer.from('-42'))).toBe(-42);
  });

  it('json refuses values without a JSON form and bad input', () => {
    expect(() => jsonSerializer.serialize(undefined)).toThrow(TypeError);
    expect(() => jsonSerializer.serialize(() => 1)).toThrow(TypeError);
    expect(() => jsonSerializer.deserialize(Buffer.from('{nope'))).toThrow(SyntaxError);
  });

  it('raw passes Buffers through on write, wraps Uint8Arrays, and copies on read', () => {
    const buf = Buffer.from([1, 2, 3]);
    expect(rawSerializer.serialize(buf)).toBe(buf);
    const copy = rawSerializer.deserialize(buf);
    expect(copy).toEqual(buf);
    copy[0] = 99; // received values are views of the frame: the caller gets its own copy
    expect(buf[0]).toBe(1);
    const u8 = new Uint8Array([9, 8, 7]);
    const wrapped = rawSerializer.serialize(u8 as Buffer);
    expect(Buffer.isBuffer(wrapped)).toBe(true);
    expect([...wrapped]).toEqual([9, 8, 7]);
    expect(wrapped.buffer).toBe(u8.buffer);
    expect(() => rawSerializer.serialize('x' as unknown as Buffer)).toThrow(TypeError);
  });

  it('string round-trips UTF-8 and refuses non-strings', () => {
    expect(stringSerializer.deserialize(stringSerializer.serialize('héllo ✓'))).toBe('héllo ✓');
    expect(() => stringSerializer.serialize(5 as unknown as string)).toThrow(TypeError);
  });

  it('custom serializers only need the two methods', () => {
    const upper: Serializer<string> = {
      serialize: (v) => Buffer.from(v.toUpperCase()),
      deserialize: (b) => b.toString().toLowerCase(),
    };
    expect(upper.deserialize(upper.serialize('Ab'))).toBe('ab');
  });
});
