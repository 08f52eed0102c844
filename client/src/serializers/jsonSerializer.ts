import type { Serializer } from './Serializer.js';

/**
 * JSON as UTF-8 (the default). Integers written by `incr` are decimal strings
 * on the server, which read back as JSON numbers.
 */
export const jsonSerializer: Serializer<unknown> = {
  serialize(value: unknown): Buffer {
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new TypeError(`value of type ${typeof value} has no JSON representation`);
    }
    return Buffer.from(text, 'utf8');
  },
  deserialize(bytes: Buffer): unknown {
    return JSON.parse(bytes.toString('utf8'));
  },
};
