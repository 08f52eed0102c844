import { getJson, postJson } from '../Cluster.js';
import type { NodeProcess } from '../NodeProcess.js';
import { digestMismatches, type Topology } from '../rebalance/settle.js';
import { waitFor } from '../waitFor.js';

/** Flags of a node that runs anti-entropy with the given intervals and accepts test-only local writes. */
export function antiEntropyArgs(minIntervalMs: number, maxIntervalMs: number): string[] {
  return [
    '--anti-entropy',
    'true',
    '--anti-entropy-min-interval-ms',
    String(minIntervalMs),
    '--anti-entropy-max-interval-ms',
    String(maxIntervalMs),
    '--test-write-local',
    'true',
  ];
}

export interface LocalVersion {
  hlc: number;
  node: number;
  tombstone: boolean;
}

/**
 * Writes into one node's own store only (POST /v1/test/write-local): a new
 * version from that node's clock, replicated nowhere. `value` undefined
 * deletes the key there (a tombstone). Returns the version the node now holds.
 */
export async function writeLocal(
  node: NodeProcess,
  key: string,
  value: string | undefined,
  cache = 'default',
): Promise<LocalVersion> {
  const body = value === undefined ? { cache, key, delete: true } : { cache, key, value };
  const r = await postJson(`${node.adminUrl}/v1/test/write-local`, body);
  if (r.status !== 200)
    throw new Error(`write-local of ${key} on ${node.id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  const version = (r.body as { version: LocalVersion | null }).version;
  if (version === null) throw new Error(`write-local of ${key} on ${node.id} left no version`);
  return version;
}

/** The anti-entropy block of /v1/info. */
export interface AntiEntropyInfo {
  enabled: boolean;
  stats: {
    rounds: number;
    roundsClean: number;
    roundsFailed: number;
    roundsServed: number;
    differences: number;
    keysRepaired: number;
    bytesSent: number;
    bytesReceived: number;
    tombstonePurgesBlocked: number;
  };
  loops: { peer: string; cache: string; last: { outcome: string; error?: string } | null }[];
  covered: { peer: string; cache: string; startedAt: string; ageMs: number; slots: number }[];
}

export interface CacheInfo {
  name: string;
  keys: number;
  tombstones: number;
  stats: { tombstonesPurged: number };
}

interface Info {
  antiEntropy: AntiEntropyInfo;
  caches: CacheInfo[];
  replication: { hintsPending: number; hints: { queued: number; replayed: number; expired: number } };
}

export const infoOf = (node: NodeProcess): Promise<Info> => getJson<Info>(`${node.adminUrl}/v1/info`);

/** Sum of one Prometheus metric's samples on a node (those whose labels include `labels`). */
export async function metricSum(
  node: NodeProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${node.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map(
      (m[2] ?? '')
        .split(',')
        .filter((p) => p.includes('='))
        .map((p) => {
          const [k, v] = p.split('=');
          return [k!, v!.replace(/^"|"$/g, '')] as const;
        }),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Waits until every replica of every slot reports the same digest (the admin
 * digests, SHA-1 per item, so independent of anti-entropy's own); returns how
 * long it took. Throws with the last mismatches at the deadline.
 */
export async function waitDigestsMatch(
  nodes: readonly NodeProcess[],
  topology: Topology,
  replicationFactor: number,
  timeoutMs: number,
  cache = 'default',
): Promise<number> {
  const start = performance.now();
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await digestMismatches(nodes, topology, replicationFactor, cache);
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 100, what: `per-slot digests of ${cache} to match on every replica` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; still differing: ${last.slice(0, 10).join('; ')}`, {
      cause: err,
    });
  }
  return performance.now() - start;
}
