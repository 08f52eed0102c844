import type { EvictionPolicyName } from '../store/index.js';

/** One named cache a node serves. */
export interface CacheOptions {
  name: string;
  /** Byte budget for keys, values and per-entry overhead; eviction keeps the cache under it. */
  maxMemoryBytes: number;
  /** TTL applied when a write asks for the cache default; 0 = entries never expire by default. */
  defaultTtlMs: number;
  /** Largest value accepted, in bytes. */
  maxValueBytes: number;
  evictionPolicy: EvictionPolicyName;
  /** Copies of each entry (honoured once replication lands; 1 on a single node). */
  replicationFactor: number;
  defaultConsistency: 'ONE' | 'QUORUM' | 'ALL';
}

/**
 * Settings of one `meshcache-node`. Every field is a flag (`--grpc-port`), an
 * environment variable (`MESHCACHE_GRPC_PORT`) and a key in the YAML file given
 * by `--config` (`grpcPort`); flags win, then environment, then file, then
 * {@link DEFAULT_NODE_OPTIONS}.
 */
export interface NodeOptions {
  /** Stable node id; defaults to the host name (the pod name in Kubernetes). */
  id: string;
  /** Address other nodes and clients use to reach this node. */
  host: string;
  /** Interface the listeners bind to. */
  bindHost: string;
  zone: string;
  /** 0 picks a free port (tests); the bound ports are logged in the `node ready` line. */
  grpcPort: number;
  adminPort: number;
  gossipPort: number;
  redisPort: number;
  /** `host:gossipPort` entries or DNS names of the headless Service. */
  seeds: string[];
  caches: CacheOptions[];
  /** Largest key accepted, in bytes, for every cache. */
  maxKeyBytes: number;
  /** Most operations one frame may carry. */
  maxOpsPerFrame: number;
  /** Largest gRPC message accepted, in bytes. */
  maxFrameBytes: number;
  /** How often the active expiry cycle runs. */
  activeExpiryIntervalMs: number;
  /** Time SIGTERM allows for in-flight work before connections are cut. */
  shutdownTimeoutMs: number;
  /** Redis front door: largest bulk string in a request (Redis proto-max-bulk-len). */
  redisMaxBulkBytes: number;
  /** Redis front door: most arguments in one command. */
  redisMaxArgs: number;
  /** Redis front door: most bytes one command may buffer while it arrives (Redis client-query-buffer-limit). */
  redisMaxQueryBufferBytes: number;
  /** Redis front door: most open client connections (Redis maxclients). */
  redisMaxClients: number;
  /** Redis front door: password of the `default` user (Redis requirepass); '' = no AUTH. Never logged. */
  redisPassword: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

const MIB = 1024 * 1024;

export const DEFAULT_CACHE_OPTIONS: Omit<CacheOptions, 'name'> = {
  maxMemoryBytes: 256 * MIB,
  defaultTtlMs: 0,
  maxValueBytes: 1 * MIB,
  evictionPolicy: 's3fifo',
  replicationFactor: 1,
  defaultConsistency: 'ONE',
};

export const DEFAULT_NODE_OPTIONS: Omit<NodeOptions, 'id' | 'host'> = {
  bindHost: '0.0.0.0',
  zone: '',
  grpcPort: 7070,
  adminPort: 8080,
  gossipPort: 7946,
  redisPort: 6379,
  seeds: [],
  caches: [{ name: 'default', ...DEFAULT_CACHE_OPTIONS }],
  maxKeyBytes: 64 * 1024,
  maxOpsPerFrame: 4096,
  maxFrameBytes: 64 * MIB,
  activeExpiryIntervalMs: 100,
  shutdownTimeoutMs: 10_000,
  redisMaxBulkBytes: 512 * MIB,
  redisMaxArgs: 1024 * 1024,
  redisMaxQueryBufferBytes: 1024 * MIB,
  redisMaxClients: 10_000,
  redisPassword: '',
  logLevel: 'info',
};
