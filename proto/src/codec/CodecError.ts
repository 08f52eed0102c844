/**
 * Thrown by the fast wire codec for input it cannot decode (truncated or
 * malformed protobuf, integers beyond Number.MAX_SAFE_INTEGER) and for
 * messages it cannot encode (a field value outside its protobuf type's range).
 */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}
