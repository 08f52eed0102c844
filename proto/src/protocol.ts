/** Protocol versions this build speaks, newest last. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
export const CURRENT_PROTOCOL_VERSION = 1;

/** Call metadata keys carried by every call after Handshake. */
export const METADATA_PROTOCOL = 'meshcache-protocol';
export const METADATA_SESSION = 'meshcache-session';
export const METADATA_FORWARD = 'meshcache-forward';

/** Redis Cluster's slot count; key -> slot is CRC16 with hash tags. */
export const SLOT_COUNT = 16384;

/** The cache an operation targets when it names none. */
export const DEFAULT_CACHE_NAME = 'default';

/** Operation.ttl_ms sentinel: the entry never expires. */
export const TTL_NEVER = -1;
/** Operation.ttl_ms sentinel: use the cache's default TTL. */
export const TTL_CACHE_DEFAULT = 0;
