import { DEFAULT_ANTI_ENTROPY_OPTIONS } from '../antientropy/AntiEntropyOptions.js';
import type { EvictionPolicyName } from '../store/index.js';

/** One named cache a node serves. */
export interface CacheOptions {
  name: string;
  /**
   * Byte budget of everything the cache's store allocates: segments, index,
   * TTL array, large items and a fixed part. An item costs its key and value
   * plus about 46 bytes (a 32-byte header, 8-byte alignment and its index
   * slot). Eviction keeps the cache under it.
   */
  maxMemoryBytes: number;
  /** TTL applied when a write asks for the cache default; 0 = entries never expire by default. */
  defaultTtlMs: number;
  /** Largest value accepted, in bytes. */
  maxValueBytes: number;
  evictionPolicy: EvictionPolicyName;
  /**
   * Copies of each entry, capped at the member count (the cap is logged and
   * shown in /v1/info); a factor above 1 keeps tombstones and versioned
   * eviction markers so no older copy comes back.
   */
  replicationFactor: number;
  /** Level of operations that name none: ONE, QUORUM (a majority of the copies) or ALL. */
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
  /** Node-to-node replication port (the Replica service), apart from client ports so a NetworkPolicy can tell members from clients. */
  replicaPort: number;
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
  /** Address clients outside the cluster use (host:port), advertised as is; '' = none. */
  externalAddress: string;
  /** Per-pod DNS name through the mesh (the headless Service's), advertised for hybrid clients; '' = none. */
  meshAddress: string;
  /** Membership: time between probes (SWIM period), scaled by the local health multiplier. */
  probeIntervalMs: number;
  /** Membership: wait for a direct ack before asking `indirectProbes` others. */
  probeTimeoutMs: number;
  /** Membership: members asked to probe a target indirectly. */
  indirectProbes: number;
  /** Membership: suspicion timeout once confirmed (up to 10 members; x log10(n) beyond). */
  suspicionTimeoutMs: number;
  /** Membership: an unconfirmed suspicion lasts this many times `suspicionTimeoutMs`. */
  suspicionMaxTimeoutMultiplier: number;
  /** Membership: how often pending updates are gossiped to `gossipFanout` members. */
  gossipIntervalMs: number;
  gossipFanout: number;
  /** Membership: each update is retransmitted this many times log10(n + 1). */
  retransmitMultiplier: number;
  /** Membership: full-state push-pull (TCP) with a random member, scaled beyond 32 members. */
  pushPullIntervalMs: number;
  /** Membership: a member DEAD this long is removed from the view. */
  removeAfterMs: number;
  /** Membership: how long the first seed looks for an existing cluster before it bootstraps one. */
  bootstrapSearchMs: number;
  /** Membership: how often seed DNS names are resolved again. */
  seedRefreshIntervalMs: number;
  /** On SIGTERM, how long to wait for queued hints to reach their replicas before stopping. */
  leaveTimeoutMs: number;
  /**
   * Replication: the most a version may be ahead of this node's clock (such
   * writes are refused), and the most this node's clock may be from its
   * peers' before it stops coordinating writes.
   */
  maxClockSkewMs: number;
  /** Replication: how long deletes, expiries and eviction markers are kept as tombstones before they may be purged. */
  tombstoneGraceMs: number;
  /** Replication: a hint older than this is dropped unreplayed; must be below tombstoneGraceMs. */
  maxHintAgeMs: number;
  /** Replication: most hints queued for one replica. */
  maxHintsPerTarget: number;
  /** Replication: most key and value bytes of hints queued for one replica. */
  maxHintBytesPerTarget: number;
  /** Replication: hints in flight to one replica while replaying (the replay throttle). */
  hintReplayBatch: number;
  /** Replication: share of reads at ONE that also check the other replicas and repair them (0..1). */
  readRepairChance: number;
  /** Deadline of an operation that carries none (gRPC frames, Redis commands), ms. */
  requestTimeoutMs: number;
  /** Rebalancing: bytes per second this node pulls in slot transfers and bootstraps, all together. */
  transferBytesPerSecond: number;
  /** Rebalancing: slot groups this node fills at once. */
  maxConcurrentTransfers: number;
  /** Rebalancing: bytes of items in one transfer batch (capped at maxFrameBytes / 2: a batch travels in one replica frame). */
  transferBatchBytes: number;
  /** Rebalancing: how long a node keeps a slot's data after it stops holding it (a move back finds it there), ms. */
  dropGraceMs: number;
  /**
   * Anti-entropy: rounds with each peer compare the replicas' per-slot
   * digests and repair the slots that differ (docs/anti-entropy.md). Off by
   * default (a short tombstoneGraceMs, which the operator allows, would
   * otherwise refuse to start); when on, antiEntropyMaxIntervalMs must be
   * below tombstoneGraceMs.
   */
  antiEntropy: boolean;
  /** Anti-entropy: interval between rounds with a peer after a repair (and the first), ms; at least 1000. */
  antiEntropyMinIntervalMs: number;
  /** Anti-entropy: longest interval (reached by doubling after clean or failed rounds), ms; below tombstoneGraceMs. */
  antiEntropyMaxIntervalMs: number;
  /** Anti-entropy: slots per range of the Merkle tree. */
  antiEntropyLeafSlots: number;
  /** Anti-entropy: index positions a scan step examines before yielding the event loop. */
  antiEntropyScanWork: number;
  /** Anti-entropy: values expiring within this long of a round's start are not compared, ms. */
  antiEntropyCutoffMarginMs: number;
  /** Anti-entropy: differing slots repaired per fetch and push message. */
  antiEntropyRepairSlots: number;
  /** Tests only: this node's clocks run this many ms ahead (negative: behind) of the machine's. */
  testClockOffsetMs: number;
  /** Tests only: expose the gossip fault hook (drop rate, blocked peers) on the admin API. */
  testFaults: boolean;
  /**
   * Tests only: `POST /v1/test/write-local` writes a key into this node's own
   * store with a new version and replicates nothing, so a test can make the
   * replicas differ. 404 when off.
   */
  testWriteLocal: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

const MIB = 1024 * 1024;

export const DEFAULT_CACHE_OPTIONS: Omit<CacheOptions, 'name'> = {
  maxMemoryBytes: 256 * MIB,
  defaultTtlMs: 0,
  maxValueBytes: 1 * MIB,
  evictionPolicy: 's3fifo',
  replicationFactor: 3,
  defaultConsistency: 'QUORUM',
};

export const DEFAULT_NODE_OPTIONS: Omit<NodeOptions, 'id' | 'host'> = {
  bindHost: '0.0.0.0',
  zone: '',
  grpcPort: 7070,
  adminPort: 8080,
  gossipPort: 7946,
  redisPort: 6379,
  replicaPort: 7071,
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
  externalAddress: '',
  meshAddress: '',
  // Membership timings: see MembershipOptions for how they meet the detection and false-positive goals.
  probeIntervalMs: 300,
  probeTimeoutMs: 150,
  indirectProbes: 3,
  suspicionTimeoutMs: 2000,
  suspicionMaxTimeoutMultiplier: 3,
  gossipIntervalMs: 150,
  gossipFanout: 3,
  retransmitMultiplier: 6,
  pushPullIntervalMs: 15_000,
  removeAfterMs: 30_000,
  bootstrapSearchMs: 3000,
  seedRefreshIntervalMs: 30_000,
  leaveTimeoutMs: 3000,
  maxClockSkewMs: 500,
  tombstoneGraceMs: 10 * 60_000,
  maxHintAgeMs: 5 * 60_000,
  maxHintsPerTarget: 100_000,
  maxHintBytesPerTarget: 64 * MIB,
  hintReplayBatch: 256,
  readRepairChance: 0.1,
  requestTimeoutMs: 5000,
  transferBytesPerSecond: 64 * MIB,
  maxConcurrentTransfers: 4,
  transferBatchBytes: MIB,
  dropGraceMs: 30_000,
  antiEntropy: false,
  antiEntropyMinIntervalMs: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyMinIntervalMs,
  antiEntropyMaxIntervalMs: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyMaxIntervalMs,
  antiEntropyLeafSlots: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyLeafSlots,
  antiEntropyScanWork: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyScanWork,
  antiEntropyCutoffMarginMs: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyCutoffMarginMs,
  antiEntropyRepairSlots: DEFAULT_ANTI_ENTROPY_OPTIONS.antiEntropyRepairSlots,
  testClockOffsetMs: 0,
  testFaults: false,
  testWriteLocal: false,
  logLevel: 'info',
};
