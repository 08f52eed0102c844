import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SLOT_COUNT } from '@meshcache/proto';
import { z } from 'zod';
import { ConfigError } from './ConfigError.js';
import { DEFAULT_CACHE_OPTIONS, DEFAULT_NODE_OPTIONS, type NodeOptions } from './NodeOptions.js';
import { ARENA_MAX_BUDGET_BYTES } from '../store/index.js';
import { parseByteSize } from './byteSize.js';

/** What a replica frame needs beyond one value and key: its own fields and the request's (see ReplicaPeer). */
const FRAME_HEADROOM_BYTES = 128 * 1024;

/** Smallest cache budget: below it the fixed part, the index and one segment leave no room for items. */
export const MIN_CACHE_MEMORY_BYTES = 64 * 1024;

const port = z.number().int('must be an integer').min(0, 'must be 0..65535').max(65535, 'must be 0..65535');
const positiveInt = z.number().int('must be an integer').positive('must be greater than 0');
const byteSize = z.preprocess(
  parseByteSize,
  z
    .number({ error: 'must be a byte size such as 268435456 or "256Mi"' })
    .int('must be a whole number of bytes')
    .positive('must be greater than 0'),
);
const cacheName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9._-]{0,62})$/,
    'must be 1-63 characters of a-z, 0-9, ".", "_", "-", starting alphanumeric',
  );

const cacheSchema = z
  .object({
    name: cacheName,
    maxMemoryBytes: byteSize.pipe(
      z
        .number()
        .min(
          MIN_CACHE_MEMORY_BYTES,
          'must be at least 65536 (64Ki): a smaller cache cannot hold its index and a segment',
        )
        .max(ARENA_MAX_BUDGET_BYTES, 'must be at most 17179869184 (16Gi) per cache'),
    ),
    defaultTtlMs: z.number().int('must be an integer').min(0, 'must be >= 0 (0 = no default TTL)'),
    maxValueBytes: byteSize,
    evictionPolicy: z.enum(['lru', 's3fifo']),
    replicationFactor: positiveInt.max(7, 'must be at most 7'),
    defaultConsistency: z.enum(['ONE', 'QUORUM', 'ALL']),
  })
  .strict();

const nodeSchema = z
  .object({
    id: z.string().min(1, 'must not be empty').max(253, 'must be at most 253 characters'),
    host: z.string().min(1, 'must not be empty'),
    bindHost: z.string().min(1, 'must not be empty'),
    zone: z.string(),
    grpcPort: port,
    adminPort: port,
    gossipPort: port,
    redisPort: port,
    replicaPort: port,
    seeds: z.array(z.string().min(1, 'must not be empty')),
    caches: z
      .array(cacheSchema)
      .min(1, 'must name at least one cache')
      .refine(
        (caches) => new Set(caches.map((c) => c.name)).size === caches.length,
        'cache names must be unique',
      ),
    maxKeyBytes: byteSize,
    maxOpsPerFrame: positiveInt,
    maxFrameBytes: byteSize,
    activeExpiryIntervalMs: positiveInt,
    shutdownTimeoutMs: positiveInt,
    redisMaxBulkBytes: byteSize,
    redisMaxArgs: positiveInt,
    redisMaxQueryBufferBytes: byteSize,
    redisMaxClients: positiveInt,
    redisPassword: z.string(),
    externalAddress: z.string(),
    meshAddress: z.string(),
    probeIntervalMs: positiveInt,
    probeTimeoutMs: positiveInt,
    indirectProbes: z.number().int('must be an integer').min(0, 'must be >= 0'),
    suspicionTimeoutMs: positiveInt,
    suspicionMaxTimeoutMultiplier: z.number().min(1, 'must be at least 1'),
    gossipIntervalMs: positiveInt,
    gossipFanout: positiveInt,
    retransmitMultiplier: positiveInt,
    pushPullIntervalMs: positiveInt,
    removeAfterMs: positiveInt,
    bootstrapSearchMs: positiveInt,
    seedRefreshIntervalMs: positiveInt,
    leaveTimeoutMs: positiveInt,
    maxClockSkewMs: positiveInt,
    tombstoneGraceMs: positiveInt,
    maxHintAgeMs: positiveInt,
    maxHintsPerTarget: positiveInt,
    maxHintBytesPerTarget: byteSize,
    hintReplayBatch: positiveInt,
    readRepairChance: z.number().min(0, 'must be 0..1').max(1, 'must be 0..1'),
    requestTimeoutMs: positiveInt,
    transferBytesPerSecond: byteSize,
    maxConcurrentTransfers: positiveInt.max(64, 'must be at most 64'),
    transferBatchBytes: byteSize,
    dropGraceMs: z.number().int('must be an integer').min(0, 'must be 0 or more'),
    antiEntropy: z.boolean({ error: 'must be true or false' }),
    antiEntropyMinIntervalMs: positiveInt.min(
      1000,
      'must be at least 1000: a round scans the whole cache on both nodes',
    ),
    antiEntropyMaxIntervalMs: positiveInt,
    antiEntropyLeafSlots: positiveInt.max(SLOT_COUNT, `must be at most ${SLOT_COUNT} (the slot count)`),
    antiEntropyScanWork: positiveInt,
    antiEntropyCutoffMarginMs: z.number().int('must be an integer').min(0, 'must be 0 or more'),
    antiEntropyRepairSlots: positiveInt.max(SLOT_COUNT, `must be at most ${SLOT_COUNT} (the slot count)`),
    testClockOffsetMs: z.number().int('must be an integer'),
    testFaults: z.boolean({ error: 'must be true or false' }),
    testWriteLocal: z.boolean({ error: 'must be true or false' }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']),
  })
  .strict()
  .refine(
    (o) => o.caches.every((c) => o.maxFrameBytes >= c.maxValueBytes + o.maxKeyBytes + FRAME_HEADROOM_BYTES),
    {
      path: ['maxFrameBytes'],
      message: `must hold the largest value and key of every cache plus ${FRAME_HEADROOM_BYTES} bytes of framing: a value accepted from a client must fit the frame that replicates it`,
    },
  )
  .refine((o) => o.maxHintAgeMs < o.tombstoneGraceMs, {
    path: ['maxHintAgeMs'],
    message:
      'must be below tombstoneGraceMs: a hint replayed after its tombstone was purged could bring a deleted value back',
  })
  .refine((o) => o.antiEntropyMaxIntervalMs > o.antiEntropyMinIntervalMs, {
    path: ['antiEntropyMaxIntervalMs'],
    message: 'must be above antiEntropyMinIntervalMs',
  })
  .refine((o) => !o.antiEntropy || o.antiEntropyMaxIntervalMs < o.tombstoneGraceMs, {
    path: ['antiEntropyMaxIntervalMs'],
    message:
      'must be below tombstoneGraceMs when antiEntropy is on: every tombstone must meet a round before its grace runs out, or it waits for one past its grace',
  });

type Kind = 'string' | 'int' | 'float' | 'bool' | 'list' | 'caches';

/** Every setting with its kind; flag and environment names derive from the key. */
const SETTINGS: Record<Exclude<keyof NodeOptions, never>, { kind: Kind; help: string }> = {
  id: { kind: 'string', help: 'stable node id (default: host name)' },
  host: { kind: 'string', help: 'advertised host (default: host name)' },
  bindHost: { kind: 'string', help: 'interface to bind listeners to' },
  zone: { kind: 'string', help: 'failure zone, for replica placement' },
  grpcPort: { kind: 'int', help: 'gRPC data-plane port (0 = any free port)' },
  adminPort: { kind: 'int', help: 'admin HTTP port: /healthz, /readyz, /metrics, /v1/info' },
  gossipPort: { kind: 'int', help: 'gossip (membership) port' },
  redisPort: { kind: 'int', help: 'Redis protocol port' },
  replicaPort: { kind: 'int', help: 'node-to-node replication port (0 = any free port)' },
  seeds: { kind: 'list', help: 'comma-separated host:gossipPort or DNS names' },
  caches: { kind: 'caches', help: 'caches as YAML or JSON, e.g. "[{name: default, maxMemoryBytes: 512Mi}]"' },
  maxKeyBytes: { kind: 'int', help: 'largest key, bytes' },
  maxOpsPerFrame: { kind: 'int', help: 'most operations in one frame' },
  maxFrameBytes: { kind: 'int', help: 'largest gRPC message, bytes' },
  activeExpiryIntervalMs: { kind: 'int', help: 'active expiry cycle period, ms' },
  shutdownTimeoutMs: { kind: 'int', help: 'grace period for in-flight work on SIGTERM, ms' },
  redisMaxBulkBytes: { kind: 'int', help: 'largest bulk string in a Redis request, bytes' },
  redisMaxArgs: { kind: 'int', help: 'most arguments in one Redis command' },
  redisMaxQueryBufferBytes: { kind: 'int', help: 'most bytes one Redis command may buffer, bytes' },
  redisMaxClients: { kind: 'int', help: 'most open Redis client connections' },
  redisPassword: {
    kind: 'string',
    help: 'Redis AUTH password of the default user ("" = none); prefer the env',
  },
  externalAddress: { kind: 'string', help: 'address for clients outside the cluster, advertised as is' },
  meshAddress: { kind: 'string', help: 'per-pod DNS name through the mesh, advertised for hybrid clients' },
  probeIntervalMs: { kind: 'int', help: 'membership probe period, ms' },
  probeTimeoutMs: { kind: 'int', help: 'direct probe ack timeout before indirect probes, ms' },
  indirectProbes: { kind: 'int', help: 'members asked to probe indirectly' },
  suspicionTimeoutMs: { kind: 'int', help: 'confirmed suspicion timeout (x log10(n) beyond 10 members), ms' },
  suspicionMaxTimeoutMultiplier: { kind: 'int', help: 'unconfirmed suspicion lasts this many timeouts' },
  gossipIntervalMs: { kind: 'int', help: 'gossip period for pending updates, ms' },
  gossipFanout: { kind: 'int', help: 'members each gossip round sends to' },
  retransmitMultiplier: { kind: 'int', help: 'update retransmits = this x log10(n + 1)' },
  pushPullIntervalMs: { kind: 'int', help: 'full-state push-pull period, ms' },
  removeAfterMs: { kind: 'int', help: 'a member DEAD this long is removed from the view, ms' },
  bootstrapSearchMs: {
    kind: 'int',
    help: 'first seed searches this long for a cluster before bootstrapping, ms',
  },
  seedRefreshIntervalMs: { kind: 'int', help: 'seed DNS re-resolution period, ms' },
  leaveTimeoutMs: { kind: 'int', help: 'on SIGTERM, wait this long for hints to be delivered, ms' },
  maxClockSkewMs: {
    kind: 'int',
    help: 'most a version may be ahead of this clock, and this clock from its peers, ms',
  },
  tombstoneGraceMs: { kind: 'int', help: 'tombstones are kept at least this long, ms' },
  maxHintAgeMs: { kind: 'int', help: 'hints older than this are dropped (below tombstoneGraceMs), ms' },
  maxHintsPerTarget: { kind: 'int', help: 'most hints queued for one replica' },
  maxHintBytesPerTarget: { kind: 'int', help: 'most hint bytes queued for one replica' },
  hintReplayBatch: { kind: 'int', help: 'hints in flight to one replica while replaying' },
  readRepairChance: { kind: 'float', help: 'share of ONE reads repaired in the background (0..1)' },
  requestTimeoutMs: { kind: 'int', help: 'deadline of an operation that carries none, ms' },
  transferBytesPerSecond: { kind: 'int', help: 'bytes per second this node pulls in slot transfers' },
  maxConcurrentTransfers: { kind: 'int', help: 'slot groups this node fills at once' },
  transferBatchBytes: {
    kind: 'int',
    help: 'bytes of items in one transfer batch (capped at maxFrameBytes / 2)',
  },
  dropGraceMs: { kind: 'int', help: 'how long data of a slot this node no longer holds is kept, ms' },
  antiEntropy: {
    kind: 'bool',
    help: 'compare replicas in the background and repair differences (true/false)',
  },
  antiEntropyMinIntervalMs: {
    kind: 'int',
    help: 'anti-entropy: interval between rounds with a peer after a repair (>= 1000), ms',
  },
  antiEntropyMaxIntervalMs: {
    kind: 'int',
    help: 'anti-entropy: longest interval between rounds with a peer (below tombstoneGraceMs), ms',
  },
  antiEntropyLeafSlots: { kind: 'int', help: 'anti-entropy: slots per range of the digest tree' },
  antiEntropyScanWork: { kind: 'int', help: 'anti-entropy: index positions per scan step between yields' },
  antiEntropyCutoffMarginMs: {
    kind: 'int',
    help: 'anti-entropy: values expiring this soon after a round starts are not compared, ms',
  },
  antiEntropyRepairSlots: { kind: 'int', help: 'anti-entropy: differing slots repaired per message' },
  testClockOffsetMs: { kind: 'int', help: "tests only: run this node's clocks this many ms off" },
  testFaults: { kind: 'bool', help: 'tests only: gossip fault hook on the admin API (true/false)' },
  testWriteLocal: {
    kind: 'bool',
    help: "tests only: POST /v1/test/write-local writes into this node's store alone (true/false)",
  },
  logLevel: { kind: 'string', help: 'fatal, error, warn, info, debug or trace' },
};

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string): string {
  return `MESHCACHE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function convert(key: string, kind: Kind, raw: string, source: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int': {
      const size = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : parseByteSize(raw);
      if (!Number.isFinite(size))
        throw new ConfigError(key, `${key} (${source}) must be a number, got "${raw}"`);
      return size;
    }
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) {
        throw new ConfigError(key, `${key} (${source}) must be a number, got "${raw}"`);
      }
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (v === 'true' || v === '1' || v === 'yes') return true;
      if (v === 'false' || v === '0' || v === 'no' || v === '') return false;
      throw new ConfigError(key, `${key} (${source}) must be true or false, got "${raw}"`);
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'caches':
      try {
        return parseYaml(raw) as unknown;
      } catch (err) {
        throw new ConfigError(key, `${key} (${source}) is not valid YAML or JSON: ${(err as Error).message}`);
      }
  }
}

export interface LoadNodeConfigInput {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** Builds the flag parser; exported so `--help` lists every setting. */
export function buildNodeCommand(): Command {
  const cmd = new Command('meshcache-node')
    .description('Runs one meshcache cache node.')
    .option('--config <file>', 'YAML file with settings (keys as in the docs, e.g. grpcPort)')
    .allowExcessArguments(false)
    .exitOverride();
  for (const [key, { help }] of Object.entries(SETTINGS)) {
    cmd.addOption(new Option(`--${flagName(key)} <value>`, `${help} [env ${envName(key)}]`));
  }
  return cmd;
}

function camel(flagKey: string): string {
  return flagKey.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Merges flags, environment, file and defaults (in that order of precedence)
 * and validates once. Throws ConfigError naming the field and the rule.
 */
export function loadNodeConfig(input: LoadNodeConfigInput): NodeOptions {
  const cmd = buildNodeCommand();
  cmd.parse(input.argv, { from: 'user' });
  const flags = cmd.opts<Record<string, string | undefined>>();

  let file: Record<string, unknown> = {};
  const configPath = flags['config'] ?? input.env['MESHCACHE_CONFIG'];
  if (configPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new ConfigError('config', `cannot read config file ${configPath}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError(
        'config',
        `config file ${configPath} is not valid YAML: ${(err as Error).message}`,
      );
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError('config', `config file ${configPath} must hold a mapping of settings`);
      }
      file = parsed as Record<string, unknown>;
    }
  }

  const merged: Record<string, unknown> = {
    id: hostname(),
    host: hostname(),
    ...DEFAULT_NODE_OPTIONS,
    ...file,
  };
  for (const [key, { kind }] of Object.entries(SETTINGS)) {
    const fromEnv = input.env[envName(key)];
    if (fromEnv !== undefined) merged[key] = convert(key, kind, fromEnv, `env ${envName(key)}`);
  }
  for (const [flagKey, value] of Object.entries(flags)) {
    if (flagKey === 'config' || value === undefined) continue;
    const key = camel(flagKey);
    const setting = SETTINGS[key as keyof NodeOptions];
    merged[key] = convert(key, setting.kind, value, `--${flagName(key)}`);
  }
  if (Array.isArray(merged['caches'])) {
    merged['caches'] = merged['caches'].map((c: unknown) =>
      c !== null && typeof c === 'object' ? { ...DEFAULT_CACHE_OPTIONS, ...c } : c,
    );
  }
  return validateNodeOptions(merged);
}

/** Validates a complete settings object; the first failure names the field and the rule. */
export function validateNodeOptions(raw: unknown): NodeOptions {
  const result = nodeSchema.safeParse(raw);
  if (result.success) return result.data as NodeOptions;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(root)';
  const rule =
    issue.code === 'unrecognized_keys'
      ? `unknown setting(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
      : issue.message;
  throw new ConfigError(field, `invalid setting ${field}: ${rule}`);
}
