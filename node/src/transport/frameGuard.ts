import type { OperationFrame } from '@meshcache/proto';

const MALFORMED = Symbol('malformedFrame');

type GuardedFrame = OperationFrame & { [MALFORMED]?: string };

/**
 * Wraps a request decoder so a frame that does not decode becomes a marked
 * empty frame instead of an exception. grpc-js would otherwise end the whole
 * stream; the gRPC framing is still intact, so the stream can carry on and the
 * client gets MALFORMED_FRAME for that frame alone.
 */
export function guardDecoder(decode: (bytes: Buffer) => OperationFrame): (bytes: Buffer) => OperationFrame {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (err) {
      const frame: GuardedFrame = { ops: [] };
      frame[MALFORMED] = (err as Error)?.message ?? String(err);
      return frame;
    }
  };
}

/** The decode error of a frame that did not decode, or undefined for a good frame. */
export function malformedReason(frame: OperationFrame): string | undefined {
  return (frame as GuardedFrame)[MALFORMED];
}
