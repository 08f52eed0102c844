/**
 * Shared parts of the replication benches: a loopback cluster whose caches
 * have a replication factor, waiting until every node serves each factor's
 * slot table, HDR histograms in µs, per-process CPU time, and small
 * formatting helpers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { agreed, type BenchNode, getJson, startCluster, waitFor } from '../membership/benchNodes.js';

export interface CacheSpec {
  name: string;
  replicationFactor: number;
  defaultConsistency: 'ONE' | 'QUORUM' | 'ALL';
}

/** The node's `--caches` flag for `caches` (YAML flow syntax). */
export function cachesFlag(caches: readonly CacheSpec[]): string {
  const items = caches.map(
    (c) =>
      `{name: ${c.name}, replicationFactor: ${c.replicationFactor}, defaultConsistency: ${c.defaultConsistency}}`,
  );
  return `[${items.join(', ')}]`;
}

interface InfoReply {
  epoch: number;
  caches: { name: string; effectiveReplicationFactor: number }[];
}

export interface SlotNode {
  id: string;
  grpcAddress: string;
}

export interface SlotsReply {
  epoch: number;
  replicationFactor: number;
  caches: string[];
  ranges: { start: number; end: number; primary: SlotNode; replicas: SlotNode[] }[];
}

/**
 * Starts `n` nodes with `caches` and waits until all of them hold one
 * committed view of `n` members and serve the full-width slot table of every
 * cache's replication factor at that view's epoch.
 */
export async function startReplicatedCluster(
  n: number,
  prefix: string,
  caches: readonly CacheSpec[],
  extraArgs: string[] = [],
): Promise<BenchNode[]> {
  const nodes = await startCluster(n, prefix, ['--caches', cachesFlag(caches), ...extraArgs]);
  try {
    await waitFor(
      async () => {
        if (!(await agreed(nodes, n))) return false;
        for (const node of nodes) {
          const info = await getJson<InfoReply>(`${node.adminUrl}/v1/info`);
          for (const c of caches) {
            const got = info.caches.find((x) => x.name === c.name)?.effectiveReplicationFactor;
            if (got !== Math.min(c.replicationFactor, n)) return false;
            const slots = await getJson<SlotsReply>(
              `${node.adminUrl}/v1/cluster/slots?replicationFactor=${c.replicationFactor}`,
            );
            if (slots.epoch !== info.epoch) return false;
            if (slots.ranges.some((r) => r.replicas.length !== Math.min(c.replicationFactor, n)))
              return false;
          }
        }
        return true;
      },
      60_000,
      'every node to serve the slot table of each replication factor',
    );
  } catch (err) {
    await Promise.all(nodes.map((x) => x.stop()));
    throw err;
  }
  return nodes;
}

/** Slot -> primary id, from a slots reply. */
export function primaryBySlot(slots: SlotsReply): string[] {
  const out = new Array<string>(16384).fill('');
  for (const r of slots.ranges) for (let s = r.start; s <= r.end; s++) out[s] = r.primary.id;
  return out;
}

/** An HDR histogram of latencies in µs (1 µs .. 60 s, 3 significant digits). */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

let clockTicks = 0;

/** User + system CPU time of a process, in ms (from /proc; NaN where there is none). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  if (clockTicks === 0) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim();
    clockTicks = Number(out) > 0 ? Number(out) : 100;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return NaN;
  }
}

/** CPU ms of this process (user + system). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** xorshift32: a cheap PRNG, so picking an op and a key costs no allocation. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export function median(values: readonly number[]): number {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A whole number with thousands separators. */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Milliseconds with 2 decimals below 10 ms, 1 below 100, none above. */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
}

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : (err as Error | null)?.name || 'UNKNOWN';
}
