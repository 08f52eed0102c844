import { status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorCodes } from './ErrorCodes.js';
import { MeshcacheError } from './MeshcacheError.js';

interface GrpcLikeError extends Error {
  code?: number;
  details?: string;
}

/**
 * A failed gRPC call (handshake, ping, or the Execute stream) as a
 * {@link MeshcacheError}: a passed deadline is `TIMEOUT`, a cancelled call
 * `CANCELLED`, anything else a lost connection (retryable).
 */
export function errorFromGrpc(err: unknown, what: string, nodeId?: string): MeshcacheError {
  if (err instanceof MeshcacheError) return err;
  const e = err as GrpcLikeError;
  const detail = e?.details || e?.message || String(err);
  switch (e?.code) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new MeshcacheError(ErrorCodes.TIMEOUT, `${what}: deadline exceeded (${detail})`, {
        nodeId,
        cause: err,
      });
    case GrpcStatus.CANCELLED:
      return new MeshcacheError(ErrorCodes.CANCELLED, `${what}: cancelled (${detail})`, {
        nodeId,
        cause: err,
      });
    default:
      return new MeshcacheError(ErrorCodes.CONNECTION_LOST, `${what}: ${detail}`, {
        nodeId,
        retryable: true,
        cause: err,
      });
  }
}
