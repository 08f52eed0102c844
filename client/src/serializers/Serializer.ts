/**
 * Turns application values into the bytes stored in the cache and back. A
 * `serialize` that throws fails that call with code `SERIALIZATION`; so does a
 * `deserialize` that throws on a value read back.
 */
export interface Serializer<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}
