import type { ConsistencyLevel, MeshcacheClient } from '@meshcache/client';
import { ErrorCode, keySlot, ReplicaOpType, SLOT_COUNT } from '@meshcache/proto';
import { getJson } from '../Cluster.js';
import type { NodeProcess } from '../NodeProcess.js';
import { RawReplicaClient, replicaAddressOf } from '../replication/RawReplicaClient.js';
import { waitFor } from '../waitFor.js';
import { digestMismatches, type Topology } from './settle.js';

/** One fill task as `GET /v1/cluster/rebalance` lists it. */
export interface FillTaskStatus {
  purpose: 'TRANSFER' | 'BOOTSTRAP' | 'REPAIR';
  replicationFactor: number;
  since: number;
  /** Compact ranges ("0-99,200"). */
  slots: string;
  state: 'waiting' | 'running' | 'done' | 'cancelled';
  /** Candidate replicas in the order the task merges them. */
  sources: string[];
  need: number;
  keys: number;
  bytes: number;
}

/** The counters of `GET /v1/cluster/rebalance` that tests read. */
export interface RebalanceCounters {
  keysMoved: number;
  transfersCompleted: number;
  bootstrapsCompleted: number;
  slotsFilled: number;
  slotsLost: number;
  slotsDropped: number;
  keysDropped: number;
  scansServed: number;
  scansRefused: number;
  filledReports: number;
}

/** What `GET /v1/cluster/rebalance` returns (the fields tests read). */
export interface RebalanceStatus {
  epoch: number;
  filled: boolean;
  factors: { replicationFactor: number; slotsPending: number; slotsHeld: number; slotsFilled: number }[];
  tasks: FillTaskStatus[];
  counters: RebalanceCounters;
  draining: string[];
}

export function rebalanceStatus(node: NodeProcess): Promise<RebalanceStatus> {
  return getJson<RebalanceStatus>(`${node.adminUrl}/v1/cluster/rebalance`);
}

/** Slot numbers of a compact range list as the admin API writes it ("0-99,200"). */
export function parseSlotRanges(ranges: string): number[] {
  const out: number[] = [];
  for (const part of ranges.split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    for (let s = Number(a); s <= Number(b ?? a); s++) out.push(s);
  }
  return out;
}

function tableOf(topology: Topology, rf: number): Topology['tables'][number] {
  const t = topology.tables.find((x) => x.replicationFactor === rf);
  if (t === undefined) throw new Error(`the topology has no table of factor ${rf}`);
  return t;
}

/** The committed replica set of every slot of factor `rf`, by slot. */
export function committedSets(topology: Topology, rf: number): string[][] {
  const out: string[][] = new Array<string[]>(SLOT_COUNT).fill([]);
  for (const r of tableOf(topology, rf).ranges) for (let s = r.start; s <= r.end; s++) out[s] = r.replicas;
  return out;
}

/** The pending moves of factor `rf`, by slot (target set and the epoch it became pending). */
export function pendingMoves(
  topology: Topology,
  rf: number,
): Map<number, { replicas: string[]; since: number }> {
  const out = new Map<number, { replicas: string[]; since: number }>();
  for (const p of tableOf(topology, rf).pending ?? []) {
    for (let s = p.start; s <= p.end; s++) out.set(s, { replicas: p.replicas, since: p.since });
  }
  return out;
}

/** The committed replica set of the slot `key` hashes to. */
export function replicasOfKey(topology: Topology, rf: number, key: string): string[] {
  const slot = keySlot(key);
  const r = tableOf(topology, rf).ranges.find((x) => x.start <= slot && slot <= x.end);
  return r?.replicas ?? [];
}

/** The wire form of a slot set: a 2048-byte bitmap, bit s % 8 of byte s / 8. */
export function slotBitmap(slots: Iterable<number>): Buffer {
  const out = Buffer.alloc(SLOT_COUNT / 8);
  for (const s of slots) out[s >> 3]! |= 1 << (s & 7);
  return out;
}

/**
 * Each key's value in one replica's own store (a replica READ over the
 * node-to-node port: no coordinator, no other replica, no repair), or null
 * when it holds nothing live for the key. Throws on any refusal: a node
 * asked about a slot it has not filled answers NOT_READY.
 */
export async function ownCopies(
  node: NodeProcess,
  keys: readonly string[],
): Promise<Map<string, string | null>> {
  const raw = new RawReplicaClient(replicaAddressOf(node));
  const out = new Map<string, string | null>();
  try {
    const stream = await raw.connect('e2e-own-copy-reader');
    for (const key of keys) {
      const { reply } = await stream.request({ type: ReplicaOpType.READ, key: Buffer.from(key) });
      if (reply.code !== ErrorCode.OK) {
        throw new Error(`${node.id} refused a READ of ${key}: ${ErrorCode[reply.code]} ${reply.message}`);
      }
      out.set(key, reply.hlc === 0 || reply.tombstone ? null : Buffer.from(reply.value).toString());
    }
    stream.end();
  } finally {
    raw.close();
  }
  return out;
}

/** Writes `valueOf(key)` to every key, `workers` at a time; every write must be acknowledged. */
export async function writeAll(
  clients: readonly MeshcacheClient[],
  keys: readonly string[],
  valueOf: (key: string) => string,
  consistency: ConsistencyLevel = 'QUORUM',
  workers = 20,
): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = w; i < keys.length; i += workers) {
        await clients[i % clients.length]!.set(keys[i]!, valueOf(keys[i]!), {
          consistency,
          timeoutMs: 10_000,
        });
      }
    }),
  );
}

/** Keys whose QUORUM read through `client` is not `valueOf(key)`, each with what was read. */
export async function misreadKeys(
  client: MeshcacheClient,
  keys: readonly string[],
  valueOf: (key: string) => string,
): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) {
    const got = await client.get<string>(key, { consistency: 'QUORUM', timeoutMs: 10_000 });
    if (got !== valueOf(key)) out.push(`${key}: ${String(got)}`);
  }
  return out;
}

/**
 * Waits until every replica of every slot holds the same per-slot digest and
 * no node holds data of a slot it does not replicate (so every drop ran);
 * returns the mismatches left at the deadline (empty when they agreed).
 */
export async function settledDigestMismatches(
  nodes: readonly NodeProcess[],
  topology: Topology,
  replicationFactor: number,
  timeoutMs = 30_000,
): Promise<string[]> {
  return waitFor(
    async () => {
      const m = await digestMismatches(nodes, topology, replicationFactor);
      return m.length === 0 ? m : undefined;
    },
    { timeoutMs, intervalMs: 500, what: 'per-slot digests to match the table on every node' },
  ).catch(async () => digestMismatches(nodes, topology, replicationFactor));
}

/**
 * digestMismatches output counted by kind and nodes (`a != b`: replica a's
 * digests differ from those of b, the slot's first replica), for a failure
 * message that shows the whole picture.
 */
export function countMismatches(mismatches: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mismatches) {
    const words = m.split(' ');
    const key = m.endsWith('is not a replica')
      ? `${words[2]} holds slots it does not replicate`
      : `${words[2]} != ${words[5]}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
