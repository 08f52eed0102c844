/**
 * Stable error codes of `MeshcacheError.code`. Branch on these, never on messages.
 *
 * The first group mirrors the wire `ErrorCode` enum of `meshcache.v1` (a server
 * result with a non-OK code keeps its name); the second group is raised by the
 * client itself.
 */
export const ErrorCodes = {
  // Server codes (meshcache.v1.ErrorCode names).
  INTERNAL: 'INTERNAL',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  KEY_TOO_LARGE: 'KEY_TOO_LARGE',
  VALUE_TOO_LARGE: 'VALUE_TOO_LARGE',
  UNKNOWN_CACHE: 'UNKNOWN_CACHE',
  INVALID_TTL: 'INVALID_TTL',
  MALFORMED_FRAME: 'MALFORMED_FRAME',
  UNSUPPORTED_PROTOCOL: 'UNSUPPORTED_PROTOCOL',
  NOT_AN_INTEGER: 'NOT_AN_INTEGER',
  OVERFLOW: 'OVERFLOW',
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  NOT_OWNER: 'NOT_OWNER',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  UNAVAILABLE: 'UNAVAILABLE',
  STALE_EPOCH: 'STALE_EPOCH',
  CLOCK_SKEW: 'CLOCK_SKEW',
  NOT_READY: 'NOT_READY',
  // Shared by server and client: the deadline passed / the caller gave up.
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  // Client-side codes.
  CONNECTION_LOST: 'CONNECTION_LOST',
  QUEUE_FULL: 'QUEUE_FULL',
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  SERIALIZATION: 'SERIALIZATION',
  INVALID_CONFIG: 'INVALID_CONFIG',
  NO_NODE_AVAILABLE: 'NO_NODE_AVAILABLE',
} as const;

/** One of the string codes in {@link ErrorCodes}. */
export type ErrorCodeName = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const RETRYABLE: ReadonlySet<ErrorCodeName> = new Set<ErrorCodeName>([
  ErrorCodes.UNAVAILABLE,
  ErrorCodes.SHUTTING_DOWN,
  ErrorCodes.NOT_OWNER,
  ErrorCodes.STALE_EPOCH,
  ErrorCodes.CLOCK_SKEW,
  ErrorCodes.NOT_READY,
  ErrorCodes.TIMEOUT,
  ErrorCodes.CONNECTION_LOST,
  ErrorCodes.QUEUE_FULL,
  ErrorCodes.NO_NODE_AVAILABLE,
]);

/**
 * Whether an error with this code may succeed when tried again unchanged (on
 * another node, after a reconnect, or a little later). Used as the default of
 * `MeshcacheError.retryable`.
 */
export function isRetryableCode(code: ErrorCodeName): boolean {
  return RETRYABLE.has(code);
}
