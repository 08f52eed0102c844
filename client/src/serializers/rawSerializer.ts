import type { Serializer } from './Serializer.js';

/**
 * Bytes as they are: a Buffer (or any Uint8Array) in, a Buffer out. What it
 * returns is a copy the caller owns (received values are otherwise views of
 * the network frame).
 */
export const rawSerializer: Serializer<Buffer> = {
  serialize(value: Buffer): Buffer {
    if (Buffer.isBuffer(value)) return value;
    const bytes: unknown = value;
    if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    throw new TypeError(`rawSerializer expects a Buffer, got ${typeof value}`);
  },
  deserialize(bytes: Buffer): Buffer {
    return Buffer.from(bytes);
  },
};
