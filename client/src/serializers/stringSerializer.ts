import type { Serializer } from './Serializer.js';

/** Strings as UTF-8. */
export const stringSerializer: Serializer<string> = {
  serialize(value: string): Buffer {
    if (typeof value !== 'string') {
      throw new TypeError(`stringSerializer expects a string, got ${typeof value}`);
    }
    return Buffer.from(value, 'utf8');
  },
  deserialize(bytes: Buffer): string {
    return bytes.toString('utf8');
  },
};
