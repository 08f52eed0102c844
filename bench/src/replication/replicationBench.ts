/**
 * Cost of replication (`npm run bench:replication`; `-- --json FILE` for the figures).
 *
 * Three meshcache nodes on loopback with two caches: `default` (3 copies,
 * QUORUM) and `one` (1 copy, ONE). One client (rawSerializer, 100-byte
 * values) connected to the first node keeps 64 calls in flight over 10,000
 * preloaded keys, 50/50 get/set, in each of these cells:
 *   RF 3 at ONE, RF 3 at QUORUM, RF 3 at ALL  (cache `default`, per-call consistency)
 *   RF 1 at ONE, all keys                     (cache `one`: 2/3 of keys live on other nodes,
 *                                              so the client's node forwards them: one extra hop)
 *   RF 1 at ONE, local keys only              (keys whose slot's primary is the client's node)
 * Cells take turns within each round (the order rotates every round), so
 * the noise of a shared machine falls on all of them alike; every figure is
 * the median over rounds. Goals (vs RF 1, both ways): QUORUM set p95 <= 3x,
 * QUORUM get p95 <= 2x, QUORUM ops/s >= 40%.
 *
 * Options: --rounds R (3), --duration S per cell and round (5), --warmup S
 * untimed seconds before each cell (1), --concurrency N (64), --keys N
 * (10000), --value-bytes N (100), --json FILE.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type * as hdr from 'hdr-histogram-js';
import {
  type ConsistencyLevel,
  createClient,
  keySlot,
  type MeshcacheClient,
  rawSerializer,
} from '@meshcache/client';
import { arg, type BenchNode, getJson, sleep, table } from '../membership/benchNodes.js';
import {
  type CacheSpec,
  errorCode,
  int,
  latencyHistogram,
  median,
  ms,
  primaryBySlot,
  processCpuMs,
  rng,
  selfCpuMs,
  type SlotsReply,
  startReplicatedCluster,
} from './common.js';

const ROUNDS = Number(arg('rounds', '3'));
const DURATION_MS = Number(arg('duration', '5')) * 1000;
const WARMUP_MS = Number(arg('warmup', '1')) * 1000;
const CONCURRENCY = Number(arg('concurrency', '64'));
const KEYS = Number(arg('keys', '10000'));
const VALUE_BYTES = Number(arg('value-bytes', '100'));
const JSON_FILE = arg('json', '');
const NODES = 3;

const CACHES: CacheSpec[] = [
  { name: 'default', replicationFactor: 3, defaultConsistency: 'QUORUM' },
  { name: 'one', replicationFactor: 1, defaultConsistency: 'ONE' },
];

interface Cell {
  id: string;
  label: string;
  cache: string;
  consistency: ConsistencyLevel;
  keys: string[];
  /** When set: also split latencies by whether the key's slot is on the client's node (RF 1, all keys). */
  localKeys?: ReadonlySet<string>;
}

interface OpFigures {
  opsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
}

interface CellRun {
  round: number;
  opsPerSec: number;
  gets: OpFigures;
  sets: OpFigures;
  errors: number;
  errorsByCode: Record<string, number>;
  /** CPU of the three nodes together and of the bench process (the client), µs per measured op. */
  nodeCpuUsPerOp: number;
  clientCpuUsPerOp: number;
  /** Gets and sets together, by where the key lives (only for a cell with `localKeys`). */
  localKeyOps?: OpFigures;
  forwardedKeyOps?: OpFigures;
}

function figures(h: hdr.Histogram, seconds: number): OpFigures {
  const p = (q: number) => (h.totalCount === 0 ? NaN : h.getValueAtPercentile(q) / 1000);
  return {
    opsPerSec: h.totalCount / seconds,
    p50Ms: p(50),
    p95Ms: p(95),
    p99Ms: p(99),
    meanMs: h.totalCount === 0 ? NaN : h.mean / 1000,
  };
}

function nodesCpuMs(nodes: readonly BenchNode[]): number {
  return nodes.reduce((sum, n) => sum + processCpuMs(n.child.pid), 0);
}

/** Runs one cell: `CONCURRENCY` loops for warm-up + duration; only the duration is measured. */
async function runCell(
  client: MeshcacheClient,
  nodes: readonly BenchNode[],
  cell: Cell,
  round: number,
  value: Buffer,
): Promise<CellRun> {
  const getHist = latencyHistogram();
  const setHist = latencyHistogram();
  const localHist = latencyHistogram();
  const remoteHist = latencyHistogram();
  const localKeys = cell.localKeys;
  const errorsByCode: Record<string, number> = {};
  let errors = 0;
  let measuring = false;
  let stop = false;
  const options = { cache: cell.cache, consistency: cell.consistency };
  const keys = cell.keys;

  const worker = async (seed: number) => {
    const random = rng(seed);
    while (!stop) {
      const key = keys[(random() * keys.length) | 0]!;
      const isGet = random() < 0.5;
      const started = performance.now();
      try {
        if (isGet) await client.get(key, options);
        else await client.set(key, value, options);
        if (measuring) {
          const us = Math.max(1, Math.round((performance.now() - started) * 1000));
          (isGet ? getHist : setHist).recordValue(us);
          if (localKeys !== undefined) (localKeys.has(key) ? localHist : remoteHist).recordValue(us);
        }
      } catch (err) {
        if (measuring) {
          errors++;
          const code = errorCode(err);
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        }
      }
    }
  };

  const workers = Array.from({ length: CONCURRENCY }, (_, i) =>
    worker((0x9e3779b9 ^ (i + 1 + round * 977)) >>> 0),
  );
  await sleep(WARMUP_MS);
  const cpuNodes0 = nodesCpuMs(nodes);
  const cpuSelf0 = selfCpuMs();
  measuring = true;
  const start = performance.now();
  await sleep(DURATION_MS);
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const cpuNodes = nodesCpuMs(nodes) - cpuNodes0;
  const cpuSelf = selfCpuMs() - cpuSelf0;
  stop = true;
  await Promise.all(workers);
  const ops = getHist.totalCount + setHist.totalCount;
  return {
    round,
    opsPerSec: ops / seconds,
    gets: figures(getHist, seconds),
    sets: figures(setHist, seconds),
    errors,
    errorsByCode,
    nodeCpuUsPerOp: ops === 0 ? NaN : (cpuNodes * 1000) / ops,
    clientCpuUsPerOp: ops === 0 ? NaN : (cpuSelf * 1000) / ops,
    ...(localKeys === undefined
      ? {}
      : { localKeyOps: figures(localHist, seconds), forwardedKeyOps: figures(remoteHist, seconds) }),
  };
}

async function preload(
  client: MeshcacheClient,
  cache: string,
  keys: readonly string[],
  value: Buffer,
  consistency: ConsistencyLevel,
): Promise<void> {
  for (let i = 0; i < keys.length; i += 250) {
    await client.setMany(
      keys.slice(i, i + 250).map((key) => ({ key, value })),
      { cache, consistency, timeoutMs: 30_000 },
    );
  }
}

interface Summary {
  opsPerSec: number;
  gets: OpFigures;
  sets: OpFigures;
  errors: number;
  nodeCpuUsPerOp: number;
  clientCpuUsPerOp: number;
  localKeyOps?: OpFigures;
  forwardedKeyOps?: OpFigures;
}

function summarize(runs: readonly CellRun[]): Summary {
  const m = (f: (r: CellRun) => number) => median(runs.map(f));
  const op = (pick: (r: CellRun) => OpFigures): OpFigures => ({
    opsPerSec: m((r) => pick(r).opsPerSec),
    p50Ms: m((r) => pick(r).p50Ms),
    p95Ms: m((r) => pick(r).p95Ms),
    p99Ms: m((r) => pick(r).p99Ms),
    meanMs: m((r) => pick(r).meanMs),
  });
  return {
    opsPerSec: m((r) => r.opsPerSec),
    gets: op((r) => r.gets),
    sets: op((r) => r.sets),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    nodeCpuUsPerOp: m((r) => r.nodeCpuUsPerOp),
    clientCpuUsPerOp: m((r) => r.clientCpuUsPerOp),
    ...(runs[0]?.localKeyOps === undefined
      ? {}
      : { localKeyOps: op((r) => r.localKeyOps!), forwardedKeyOps: op((r) => r.forwardedKeyOps!) }),
  };
}

interface GoalCheck {
  goal: string;
  baseline: string;
  ratio: number;
  perRound: number[];
  limit: number;
  kind: 'max' | 'min';
  met: boolean;
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  console.log(
    `bench:replication: ${NODES} nodes, caches default (RF 3) and one (RF 1); 1 client, ${CONCURRENCY} in flight, ` +
      `${KEYS} keys, ${VALUE_BYTES}-byte values, 50/50 get/set; ${ROUNDS} round(s) x ${DURATION_MS / 1000} s per cell ` +
      `(+${WARMUP_MS / 1000} s warm-up); node ${process.version}`,
  );
  const nodes = await startReplicatedCluster(NODES, `repl${process.pid}`, CACHES);
  const client = createClient({
    url: `127.0.0.1:${nodes[0]!.grpcPort}`,
    clientName: 'bench-replication',
    serializer: rawSerializer,
    tracing: false,
    timeoutMs: 5000,
  });
  const results: Record<string, { label: string; median: Summary; rounds: CellRun[] }> = {};
  let localShare: number;
  let clientNode = '';
  try {
    await client.connect();
    clientNode = client.nodeId ?? nodes[0]!.id;
    const value = Buffer.alloc(VALUE_BYTES, 'v');
    const allKeys = Array.from({ length: KEYS }, (_, i) => `rb:${i.toString().padStart(8, '0')}`);

    // Keys of the single-copy cache whose slot's primary is the client's node.
    const slots = await getJson<SlotsReply>(`${nodes[0]!.adminUrl}/v1/cluster/slots?replicationFactor=1`);
    const primary = primaryBySlot(slots);
    localShare = allKeys.filter((k) => primary[keySlot(k)] === clientNode).length / allKeys.length;
    const localKeys: string[] = [];
    for (let i = 0; localKeys.length < KEYS; i++) {
      const k = `rbl:${i.toString().padStart(8, '0')}`;
      if (primary[keySlot(k)] === clientNode) localKeys.push(k);
    }

    const t0 = performance.now();
    await preload(client, 'default', allKeys, value, 'ALL');
    await preload(client, 'one', allKeys, value, 'ONE');
    await preload(client, 'one', localKeys, value, 'ONE');
    console.log(
      `cluster ready (client on ${clientNode}); preloaded ${KEYS} keys at RF 3 (ALL) and ${2 * KEYS} at RF 1 in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const cells: Cell[] = [
      { id: 'rf3_one', label: 'RF 3 ONE', cache: 'default', consistency: 'ONE', keys: allKeys },
      { id: 'rf3_quorum', label: 'RF 3 QUORUM', cache: 'default', consistency: 'QUORUM', keys: allKeys },
      { id: 'rf3_all', label: 'RF 3 ALL', cache: 'default', consistency: 'ALL', keys: allKeys },
      {
        id: 'rf1_one',
        label: 'RF 1 ONE (all keys)',
        cache: 'one',
        consistency: 'ONE',
        keys: allKeys,
        localKeys: new Set(allKeys.filter((k) => primary[keySlot(k)] === clientNode)),
      },
      {
        id: 'rf1_one_local',
        label: 'RF 1 ONE (local keys)',
        cache: 'one',
        consistency: 'ONE',
        keys: localKeys,
      },
    ];
    const runs: Record<string, CellRun[]> = Object.fromEntries(cells.map((c) => [c.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = cells.map((_, i) => cells[(i + round) % cells.length]!);
      for (const cell of order) {
        const r = await runCell(client, nodes, cell, round, value);
        runs[cell.id]!.push(r);
        process.stderr.write(
          `  round ${round + 1} ${cell.label.padEnd(22)} ${int(r.opsPerSec).padStart(7)} ops/s  ` +
            `get p95 ${ms(r.gets.p95Ms)} ms  set p95 ${ms(r.sets.p95Ms)} ms  errors ${r.errors}  ` +
            `load ${loadavg()[0]!.toFixed(2)}\n`,
        );
      }
    }
    for (const c of cells)
      results[c.id] = { label: c.label, median: summarize(runs[c.id]!), rounds: runs[c.id]! };
  } finally {
    await client.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
  const loadAfter = loadavg();

  const rows = Object.values(results).map(({ label, median: s }) => [
    label,
    int(s.opsPerSec),
    int(s.gets.opsPerSec),
    ms(s.gets.p50Ms),
    ms(s.gets.p95Ms),
    ms(s.gets.p99Ms),
    int(s.sets.opsPerSec),
    ms(s.sets.p50Ms),
    ms(s.sets.p95Ms),
    ms(s.sets.p99Ms),
    String(s.errors),
    int(s.nodeCpuUsPerOp),
    int(s.clientCpuUsPerOp),
  ]);
  console.log(
    `\nmedian of ${ROUNDS} round(s) per cell; latencies in ms, measured at the client (64 in flight)`,
  );
  console.log(
    table(
      [
        'cell',
        'ops/s',
        'get/s',
        'get p50',
        'get p95',
        'get p99',
        'set/s',
        'set p50',
        'set p95',
        'set p99',
        'errors',
        'node CPU µs/op',
        'client CPU µs/op',
      ],
      rows,
    ),
  );
  console.log(
    `\nRF 1 over ${NODES} nodes: ${(100 * (1 - localShare)).toFixed(1)}% of the ${KEYS} keys belong to slots whose ` +
      `primary is another node; the client talks to ${clientNode} only, which forwards those calls to their owner ` +
      `(one extra node-to-node hop each way). "RF 1 ONE (local keys)" uses ${KEYS} keys whose slot's primary is ` +
      `${clientNode}, so it never forwards. At RF 3 every node holds every slot: ${clientNode} coordinates every call itself.`,
  );

  const split = results['rf1_one']?.median;
  if (split?.localKeyOps !== undefined && split.forwardedKeyOps !== undefined) {
    const f = (o: OpFigures) => `p50 ${ms(o.p50Ms)} / p95 ${ms(o.p95Ms)} / p99 ${ms(o.p99Ms)} ms`;
    console.log(
      `In "RF 1 ONE (all keys)", gets and sets on keys ${clientNode} owns: ${f(split.localKeyOps)}; on keys it ` +
        `forwards: ${f(split.forwardedKeyOps)}. (Close figures would mean local calls wait for forwarded ones ` +
        `that shared their frame.)`,
    );
  }

  // Goals: QUORUM against each RF 1 baseline; ratio of the medians, with the same ratio per round.
  const checks: GoalCheck[] = [];
  const quorum = results['rf3_quorum']!;
  for (const baseId of ['rf1_one', 'rf1_one_local']) {
    const base = results[baseId]!;
    const perRound = (f: (r: CellRun) => number) => quorum.rounds.map((r, i) => f(r) / f(base.rounds[i]!));
    const add = (
      goal: string,
      f: (s: Summary) => number,
      g: (r: CellRun) => number,
      limit: number,
      kind: 'max' | 'min',
    ) => {
      const ratio = f(quorum.median) / f(base.median);
      checks.push({
        goal,
        baseline: base.label,
        ratio,
        perRound: perRound(g),
        limit,
        kind,
        met: kind === 'max' ? ratio <= limit : ratio >= limit,
      });
    };
    add(
      'QUORUM set p95 <= 3x RF 1 set p95',
      (s) => s.sets.p95Ms,
      (r) => r.sets.p95Ms,
      3,
      'max',
    );
    add(
      'QUORUM get p95 <= 2x RF 1 get p95',
      (s) => s.gets.p95Ms,
      (r) => r.gets.p95Ms,
      2,
      'max',
    );
    add(
      'QUORUM ops/s >= 40% of RF 1 ops/s',
      (s) => s.opsPerSec,
      (r) => r.opsPerSec,
      0.4,
      'min',
    );
  }
  const fmtRatio = (c: GoalCheck, x: number) =>
    c.kind === 'min' ? `${(100 * x).toFixed(0)}%` : `${x.toFixed(2)}x`;
  console.log('\ngoals (ratio of the medians; per round in brackets)');
  console.log(
    table(
      ['goal', 'baseline', 'ratio', 'per round', 'result'],
      checks.map((c) => [
        c.goal,
        c.baseline,
        fmtRatio(c, c.ratio),
        `[${c.perRound.map((x) => fmtRatio(c, x)).join(' ')}]`,
        c.met ? 'met' : 'NOT met',
      ]),
    ),
  );
  console.log(
    `\nload average (1/5/15 min): ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((x) => x.toFixed(2)).join(' ')} after (2 cores shared by 3 nodes, the client and anything else)`,
  );

  if (JSON_FILE !== '') {
    writeFileSync(
      JSON_FILE,
      `${JSON.stringify(
        {
          benchmark: 'replication',
          nodes: NODES,
          caches: CACHES,
          clientNode,
          concurrency: CONCURRENCY,
          keys: KEYS,
          valueBytes: VALUE_BYTES,
          mix: '50:50',
          rounds: ROUNDS,
          durationMs: DURATION_MS,
          warmupMs: WARMUP_MS,
          rf1RemoteKeyShare: 1 - localShare,
          nodeVersion: process.version,
          loadAverageBefore: loadBefore,
          loadAverageAfter: loadAfter,
          cells: results,
          goals: checks,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`figures written to ${JSON_FILE}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
