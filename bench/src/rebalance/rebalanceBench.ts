/**
 * A 4th node joins a loaded 3-node RF 3 cluster (`npm run bench:rebalance`;
 * `-- --quick` for 100k keys, `-- --json FILE` for the figures).
 *
 * Three meshcache nodes on loopback, cache `default` (RF 3, QUORUM, 1 GiB
 * budget), --keys (1,000,000) keys of --value-bytes (100) loaded through
 * setMany. One client per original node keeps --concurrency calls in flight
 * (80% GET / 20% SET at QUORUM, uniform over the loaded keys) from before
 * the join to the end. Phases:
 *  1. baseline: --baseline seconds of that load on 3 nodes;
 *  2. move: the 4th node starts; the phase ends when every node serves one
 *     epoch with 4 members, no slot move pending, and answers /readyz 200
 *     (the last cutover is installed everywhere; goal: under 30 s from its
 *     spawn);
 *  3. after: at least --after seconds, and until the old owners have dropped
 *     the copies they gave away;
 *  4. restart: kill -9 of --victim (default the joiner, which no client is
 *     connected to) and a new process under the same id; the phase ends when
 *     its /readyz answers 200 (it bootstrapped its share).
 * Reported: the join's timeline (from the nodes' logs and admin polls), keys
 * and bytes moved (the nodes' rebalance counters) against the unavoidable
 * minimum (the entries of the slots the node gained, counted from the loaded
 * keys and the final slot table, in the node's own byte unit), client ops/s,
 * p50/p99 and errors by code per phase (with the first messages), and the
 * restarted node's bootstrap. Because the machine is usually shared, each
 * phase also shows the CPU the nodes, this process and everything else used,
 * and each node's longest event-loop stall and major-GC time (from its
 * /metrics): a fill that stalls its node shows there. Node logs go to a
 * temporary directory, printed at the start. MESHCACHE_NODE_BIN picks
 * another meshcache-node build.
 *
 * Options: --keys N (1000000; --quick: 100000), --quick (also shorter
 * windows), --value-bytes N (100), --baseline S (10; quick 5), --after S (5;
 * quick 3), --concurrency N per client (16), --get-share F (0.8), --budget
 * SIZE (1Gi), --drop-grace-ms N (2000), --settle-timeout S (600), --victim I
 * (3), --transfer-bytes-per-second / --max-concurrent-transfers /
 * --transfer-batch-bytes (passed to every node when given), --json FILE.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as hdr from 'hdr-histogram-js';
import { createClient, keySlot, type MeshcacheClient, rawSerializer } from '@meshcache/client';
import { arg, getJson, percentile, sleep, table, waitFor } from '../membership/benchNodes.js';
import { errorCode, int, latencyHistogram, ms, processCpuMs, rng, selfCpuMs } from '../replication/common.js';
import { RebalanceNode } from './rebalanceNode.js';
import type { RebalanceStatus } from '@meshcache/node';

const QUICK = process.argv.includes('--quick');
const KEYS = Number(arg('keys', QUICK ? '100000' : '1000000'));
const VALUE_BYTES = Number(arg('value-bytes', '100'));
const BASELINE_MS = Number(arg('baseline', QUICK ? '5' : '10')) * 1000;
const AFTER_MS = Number(arg('after', QUICK ? '3' : '5')) * 1000;
const WARMUP_MS = 2000;
const CONCURRENCY = Number(arg('concurrency', '16'));
const GET_SHARE = Number(arg('get-share', '0.8'));
const BUDGET = arg('budget', '1Gi');
const DROP_GRACE_MS = arg('drop-grace-ms', '2000');
const SETTLE_TIMEOUT_MS = Number(arg('settle-timeout', '600')) * 1000;
const VICTIM = Number(arg('victim', '3'));
const JSON_FILE = arg('json', '');
const PASSED_FLAGS = ['transfer-bytes-per-second', 'max-concurrent-transfers', 'transfer-batch-bytes'];
const GOAL_CUTOVER_MS = 30_000;
const SLOTS = 16384;
const RF = 3;
const LOAD_BATCH = 500;
const LOAD_IN_FLIGHT_PER_CLIENT = 4;
const ERROR_PAUSE_MS = 10;
/** What the node counts per transferred entry besides key and value (FillTask's unit). */
const ENTRY_OVERHEAD = 32;
const CORES = availableParallelism();

const PHASES = ['warmup', 'baseline', 'move', 'after', 'restart', 'end'] as const;
type Phase = (typeof PHASES)[number];

// ------------------------------------------------------------------ admin replies

interface TopologyReply {
  epoch: number;
  members: { id: string; state: number | string }[];
  tables: {
    replicationFactor: number;
    ranges: { start: number; end: number; replicas: string[] }[];
    pending?: { start: number; end: number; replicas: string[]; since: number }[];
  }[];
}

interface InfoReply {
  caches: { name: string; keys: number; usedBytes: number }[];
}

const topologyOf = (n: RebalanceNode) => getJson<TopologyReply>(`${n.adminUrl}/v1/cluster/topology`);
const rebalanceOf = (n: RebalanceNode) => getJson<RebalanceStatus>(`${n.adminUrl}/v1/cluster/rebalance`);
const keysOn = async (n: RebalanceNode) =>
  (await getJson<InfoReply>(`${n.adminUrl}/v1/info`)).caches.find((c) => c.name === 'default')?.keys ?? 0;

/** An admin call retried for up to a minute: a node busy filling may answer late but still answers. */
function patient<T>(call: () => Promise<T>, what: string): Promise<T> {
  return waitFor(async () => ({ value: await call() }), 60_000, what).then((x) => x.value);
}

async function readyz(n: RebalanceNode): Promise<number> {
  try {
    const res = await fetch(`${n.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

function pendingSlots(t: TopologyReply): number {
  let n = 0;
  for (const table of t.tables) for (const p of table.pending ?? []) n += p.end - p.start + 1;
  return n;
}

/** Settled: one epoch on every node, `members` members, nothing pending, every node ready. */
async function settledNow(
  nodes: readonly RebalanceNode[],
  members: number,
): Promise<{ settled: boolean; tops: TopologyReply[]; pending: number; ready: number[] }> {
  const [tops, ready] = await Promise.all([
    Promise.all(nodes.map(topologyOf)),
    Promise.all(nodes.map(readyz)),
  ]);
  const pending = Math.max(...tops.map(pendingSlots));
  const settled =
    tops.every((t) => t.epoch === tops[0]!.epoch && t.members.length === members) &&
    pending === 0 &&
    ready.every((c) => c === 200);
  return { settled, tops, pending, ready };
}

/** Slot -> whether `id` is one of its replicas, in the table of factor RF. */
function slotsHeldBy(t: TopologyReply, id: string): Uint8Array {
  const out = new Uint8Array(SLOTS);
  const table = t.tables.find((x) => x.replicationFactor === RF);
  for (const r of table?.ranges ?? []) {
    if (!r.replicas.includes(id)) continue;
    for (let s = r.start; s <= r.end; s++) out[s] = 1;
  }
  return out;
}

// ------------------------------------------------------------------ CPU

/** Busy and total jiffies of the whole machine (/proc/stat); NaN where there is none. */
function machineJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    // idle and iowait are the 4th and 5th fields.
    return { busy: total - f[3]! - (f[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/**
 * CPU spent over a window, in cores: the machine, the nodes, this process,
 * and everything else. The machine is shared with other work, and a node
 * that waits for the CPU moves data slowly: this tells the two apart.
 */
class CpuWindow {
  private readonly wall = performance.now();
  private readonly machine = machineJiffies();
  private readonly self = selfCpuMs();
  private readonly perPid = new Map<number, number>();

  constructor(nodes: readonly RebalanceNode[]) {
    for (const n of nodes) if (n?.pid !== undefined) this.perPid.set(n.pid, processCpuMs(n.pid));
  }

  /** A process started inside the window counts from 0; one that ended inside it loses its last part. */
  end(nodes: readonly RebalanceNode[]): CpuFigures {
    const wallMs = performance.now() - this.wall;
    const m = machineJiffies();
    const nodeMs = nodes.map((n) =>
      n.pid === undefined ? NaN : processCpuMs(n.pid) - (this.perPid.get(n.pid) ?? 0),
    );
    const benchMs = selfCpuMs() - this.self;
    const machineCores = ((m.busy - this.machine.busy) / (m.total - this.machine.total)) * CORES;
    const nodesCores = nodeMs.reduce((a, b) => a + b, 0) / wallMs;
    const benchCores = benchMs / wallMs;
    return {
      wallMs,
      machineCores,
      nodesCores,
      perNodeCores: nodeMs.map((x) => x / wallMs),
      benchCores,
      otherCores: Math.max(0, machineCores - nodesCores - benchCores),
    };
  }
}

interface CpuFigures {
  wallMs: number;
  machineCores: number;
  nodesCores: number;
  perNodeCores: number[];
  benchCores: number;
  otherCores: number;
}

// ------------------------------------------------------------------ client load

class PhaseFigures {
  readonly hist: hdr.Histogram = latencyHistogram();
  ops = 0;
  failed = 0;
  readonly byCode: Record<string, number> = {};
  /** The first messages per code: what the node said, as evidence. */
  readonly samples: Record<string, string[]> = {};
  /** performance.now() at the phase's start and end. */
  from = NaN;
  to = NaN;

  get seconds(): number {
    return (this.to - this.from) / 1000;
  }
}

/** Ops by the 1-second window they started in (from the load's start): count, failures, latencies. */
class Timeline {
  readonly ops: number[] = [];
  readonly failed: number[] = [];
  readonly latencies: number[][] = [];

  add(window: number, latencyMs: number, ok: boolean): void {
    while (this.ops.length <= window) {
      this.ops.push(0);
      this.failed.push(0);
      this.latencies.push([]);
    }
    this.ops[window]!++;
    if (!ok) this.failed[window]!++;
    this.latencies[window]!.push(latencyMs);
  }

  p99(window: number): number {
    const l = this.latencies[window];
    return l === undefined
      ? NaN
      : percentile(
          [...l].sort((a, b) => a - b),
          99,
        );
  }
}

// ------------------------------------------------------------------ event-loop stalls

/**
 * The longest event-loop delay of each node per phase, from prom-client's
 * `nodejs_eventloop_lag_max_seconds` (reset at every scrape, so each scrape
 * gives the worst delay since the previous one), and the time in major GC
 * (`nodejs_gc_duration_seconds`). A node whose loop stalls for seconds
 * answers nothing meanwhile: peers suspect it, streams time out, and
 * transfers stop; a scrape it does not answer within 3 s is counted too.
 */
class LagSampler {
  /** phase -> node id -> worst delay (s). */
  readonly worst = new Map<Phase, Map<string, number>>();
  readonly unanswered = new Map<Phase, Map<string, number>>();
  /** phase -> node id -> seconds in major GC. */
  readonly majorGc = new Map<Phase, Map<string, number>>();
  readonly latest = new Map<string, number>();
  /** Last cumulative major GC seconds per process, to take differences. */
  private readonly gcSeen = new Map<number, number>();
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nodes: () => readonly RebalanceNode[],
    private readonly phase: () => Phase,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const phase = this.phase();
        await Promise.all(
          this.nodes().map(async (n) => {
            if (n === undefined || n.exited) return;
            const m = await scrapeMetrics(n);
            const bump = (to: Map<Phase, Map<string, number>>, v: number, add: boolean) => {
              let per = to.get(phase);
              if (per === undefined) to.set(phase, (per = new Map()));
              per.set(n.id, add ? (per.get(n.id) ?? 0) + v : Math.max(per.get(n.id) ?? 0, v));
            };
            if (m === undefined) {
              bump(this.unanswered, 1, true);
              this.latest.set(n.id, NaN);
              return;
            }
            bump(this.worst, m.lagMax, false);
            this.latest.set(n.id, m.lagMax);
            const pid = n.pid ?? 0;
            bump(this.majorGc, m.majorGc - (this.gcSeen.get(pid) ?? 0), true);
            this.gcSeen.set(pid, m.majorGc);
          }),
        );
        await sleep(1000);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

async function scrapeMetrics(n: RebalanceNode): Promise<{ lagMax: number; majorGc: number } | undefined> {
  try {
    const res = await fetch(`${n.adminUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    const lag = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
    const gc = /^nodejs_gc_duration_seconds_sum\{[^}]*kind="major"[^}]*\} (\S+)$/m.exec(text);
    if (lag === null) return undefined;
    return { lagMax: Number(lag[1]), majorGc: gc === null ? 0 : Number(gc[1]) };
  } catch {
    return undefined;
  }
}

class Load {
  phase: Phase = 'warmup';
  readonly figures = new Map<Phase, PhaseFigures>(PHASES.map((p) => [p, new PhaseFigures()]));
  readonly timeline = new Timeline();
  readonly t0 = performance.now();
  private stopped = false;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly clients: readonly MeshcacheClient[],
    private readonly keys: readonly string[],
    private readonly value: Buffer,
  ) {
    this.figures.get('warmup')!.from = this.t0;
  }

  start(): void {
    let seed = 1;
    for (const client of this.clients) {
      for (let i = 0; i < CONCURRENCY; i++)
        this.workers.push(this.worker(client, (0x9e3779b9 ^ seed++) >>> 0));
    }
  }

  enter(phase: Phase): void {
    const now = performance.now();
    this.figures.get(this.phase)!.to = now;
    this.phase = phase;
    this.figures.get(phase)!.from = now;
  }

  async stop(): Promise<void> {
    if (this.phase !== 'end') this.enter('end');
    this.stopped = true;
    await Promise.all(this.workers);
  }

  /** Ops/s and p99 over the last `seconds` whole windows, for progress lines. */
  recent(seconds: number): { opsPerSec: number; p99: number } {
    const last = Math.floor((performance.now() - this.t0) / 1000) - 1;
    const from = Math.max(0, last - seconds + 1);
    let ops = 0;
    const lat: number[] = [];
    for (let w = from; w <= last; w++) {
      ops += this.timeline.ops[w] ?? 0;
      for (const l of this.timeline.latencies[w] ?? []) lat.push(l);
    }
    lat.sort((a, b) => a - b);
    return { opsPerSec: ops / Math.max(1, last - from + 1), p99: percentile(lat, 99) };
  }

  private async worker(client: MeshcacheClient, seed: number): Promise<void> {
    const random = rng(seed);
    const keys = this.keys;
    while (!this.stopped) {
      const key = keys[(random() * keys.length) | 0]!;
      const isGet = random() < GET_SHARE;
      const kind = isGet ? 'get' : 'set';
      // Attributed to the phase it started in: an op slowed by a cutover counts where it met it.
      const phase = this.figures.get(this.phase)!;
      const started = performance.now();
      let code: string | undefined;
      let message = '';
      try {
        if (isGet) await client.get(key);
        else await client.set(key, this.value);
      } catch (err) {
        code = errorCode(err);
        message = (err as Error | null)?.message ?? '';
      }
      const latency = performance.now() - started;
      phase.ops++;
      phase.hist.recordValue(Math.max(1, Math.round(latency * 1000)));
      if (code !== undefined) {
        phase.failed++;
        const k = `${kind} ${code}`;
        phase.byCode[k] = (phase.byCode[k] ?? 0) + 1;
        const samples = (phase.samples[k] ??= []);
        if (samples.length < 3)
          samples.push(`+${((started - this.t0) / 1000).toFixed(2)} s ${key}: ${message}`);
      }
      this.timeline.add(Math.floor((started - this.t0) / 1000), latency, code === undefined);
      if (code !== undefined) await sleep(ERROR_PAUSE_MS);
    }
  }
}

// ------------------------------------------------------------------ main

interface MoveSample {
  t: number;
  epoch: number;
  pending: number;
  ready: number;
  keysMoved: number;
  tasks: number;
}

async function main(): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'meshcache-rebalance-'));
  const passed = PASSED_FLAGS.flatMap((f) => {
    const v = arg(f, '');
    return v === '' ? [] : [`--${f}`, v];
  });
  const nodeArgs = [
    '--caches',
    `[{name: default, maxMemoryBytes: ${BUDGET}, replicationFactor: ${RF}, defaultConsistency: QUORUM}]`,
    '--drop-grace-ms',
    DROP_GRACE_MS,
    ...passed,
  ];
  const loadBefore = loadavg();
  console.log(
    `bench:rebalance: 3 nodes RF ${RF} QUORUM (${BUDGET} each), ${int(KEYS)} keys x ${VALUE_BYTES} B; ` +
      `3 clients x ${CONCURRENCY} in flight, ${Math.round(GET_SHARE * 100)}% GET / ` +
      `${Math.round((1 - GET_SHARE) * 100)}% SET; then a 4th node joins, then kill -9 + restart of node ${VICTIM}; ` +
      `node ${process.version}${passed.length > 0 ? `; node flags ${passed.join(' ')}` : ''}`,
  );
  console.log(`node logs: ${logDir}`);

  const prefix = `rb${process.pid}`;
  const nodes: RebalanceNode[] = [];
  const spawnNode = async (index: number) => {
    const seeds = index === 0 ? [] : ['--seeds', nodes[0]!.gossipAddress];
    const n = await RebalanceNode.start(`${prefix}-${index}`, [...nodeArgs, ...seeds], logDir);
    nodes[index] = n;
    return n;
  };
  const clients: MeshcacheClient[] = [];
  let load: Load | undefined;
  let lags: LagSampler | undefined;
  try {
    // ------------------------------------------------------------ 3 nodes, loaded
    await spawnNode(0);
    await Promise.all([spawnNode(1), spawnNode(2)]);
    await waitFor(async () => (await settledNow(nodes, 3)).settled, 60_000, '3 nodes to settle');
    for (const [i, n] of nodes.entries()) {
      clients.push(
        createClient({
          url: n.grpcAddress,
          clientName: `bench-rebalance-${i}`,
          serializer: rawSerializer,
          tracing: false,
        }),
      );
    }
    await Promise.all(clients.map((c) => c.connect()));

    const keys = Array.from({ length: KEYS }, (_, i) => `rb:${i.toString().padStart(8, '0')}`);
    const value = Buffer.alloc(VALUE_BYTES, 'v');
    const loadStarted = performance.now();
    let loaded = 0;
    let loadFailures = 0;
    let next = 0;
    const progress = setInterval(() => {
      const s = (performance.now() - loadStarted) / 1000;
      console.log(`  loading: ${int(loaded)} / ${int(KEYS)} keys, ${int(loaded / s)} keys/s`);
    }, 3000);
    try {
      await Promise.all(
        clients.flatMap((client) =>
          Array.from({ length: LOAD_IN_FLIGHT_PER_CLIENT }, async () => {
            for (;;) {
              const from = next;
              next += LOAD_BATCH;
              if (from >= KEYS) return;
              const entries = keys.slice(from, from + LOAD_BATCH).map((key) => ({ key, value }));
              for (let attempt = 0; ; attempt++) {
                try {
                  await client.setMany(entries, { timeoutMs: 30_000 });
                  break;
                } catch (err) {
                  loadFailures++;
                  if (attempt >= 4) throw err;
                  await sleep(200);
                }
              }
              loaded += entries.length;
            }
          }),
        ),
      );
    } finally {
      clearInterval(progress);
    }
    const loadMs = performance.now() - loadStarted;
    console.log(
      `loaded ${int(KEYS)} keys in ${(loadMs / 1000).toFixed(1)} s: ${int(KEYS / (loadMs / 1000))} keys/s ` +
        `(setMany of ${LOAD_BATCH} at QUORUM, ${clients.length * LOAD_IN_FLIGHT_PER_CLIENT} in flight` +
        `${loadFailures > 0 ? `, ${loadFailures} failed attempts retried` : ''})`,
    );
    // QUORUM acks after 2 copies: wait for the third, so the join starts from full replicas.
    const held = await waitFor(
      async () => {
        const k = await Promise.all(nodes.map(keysOn));
        return k.every((x) => x >= KEYS) ? k : undefined;
      },
      60_000,
      'every node to hold every key',
    ).catch(async () => patient(() => Promise.all(nodes.map(keysOn)), 'keys per node'));
    console.log(`keys per node: ${held.map(int).join(', ')}`);

    // Exact per-slot entries and bytes of the data set, for the minimum a move must copy.
    const keysInSlot = new Float64Array(SLOTS);
    const bytesInSlot = new Float64Array(SLOTS);
    for (const k of keys) {
      const s = keySlot(k);
      keysInSlot[s]!++;
      bytesInSlot[s]! += Buffer.byteLength(k) + VALUE_BYTES + ENTRY_OVERHEAD;
    }
    const sumOver = (mask: Uint8Array, per: Float64Array) => {
      let x = 0;
      for (let s = 0; s < SLOTS; s++) if (mask[s] !== 0) x += per[s]!;
      return x;
    };

    // ------------------------------------------------------------ baseline
    load = new Load(clients, keys, value);
    load.start();
    const running = load;
    lags = new LagSampler(
      () => nodes,
      () => running.phase,
    );
    lags.start();
    await sleep(WARMUP_MS);
    load.enter('baseline');
    console.log(`baseline load: ${BASELINE_MS / 1000} s`);
    const baseCpuWindow = new CpuWindow(nodes);
    await sleep(BASELINE_MS);
    const baseCpu = baseCpuWindow.end(nodes);
    const before = await patient(() => Promise.all(nodes.map(rebalanceOf)), 'rebalance status');
    const topBefore = await patient(() => topologyOf(nodes[0]!), 'topology');
    const moveCpuWindow = new CpuWindow(nodes);

    // ------------------------------------------------------------ the join
    load.enter('move');
    const joinWall = Date.now();
    const joinT = performance.now();
    const joiner = await spawnNode(3);
    const joinerReadyMs = performance.now() - joinT;
    console.log(`4th node ${joiner.id} spawned; "node ready" after ${int(joinerReadyMs)} ms`);
    const samples: MoveSample[] = [];
    let memberAt = NaN;
    let firstPendingAt = NaN;
    let maxPending = 0;
    let settledAt = NaN;
    let settledTop: TopologyReply | undefined;
    let lastPrint = 0;
    let lastStatus: RebalanceStatus[] = [];
    let polls = 0;
    while (performance.now() - joinT < SETTLE_TIMEOUT_MS) {
      const t = performance.now() - joinT;
      let s;
      try {
        s = await settledNow(nodes, 4);
      } catch {
        await sleep(100);
        continue;
      }
      if (Number.isNaN(memberAt) && s.tops.every((x) => x.members.length === 4)) memberAt = t;
      if (Number.isNaN(firstPendingAt) && s.pending > 0) firstPendingAt = t;
      maxPending = Math.max(maxPending, s.pending);
      if (s.settled) {
        settledAt = t;
        settledTop = s.tops[0];
        break;
      }
      if (polls++ % 5 === 0) {
        lastStatus = await Promise.all(nodes.map(rebalanceOf)).catch(() => lastStatus);
        const j = lastStatus[3];
        // Counters add a task's keys when it ends: running tasks show what they have so far.
        const live =
          lastStatus.reduce((a, r) => a + r.counters.keysMoved, 0) +
          (j?.tasks ?? []).filter((x) => x.state === 'running').reduce((a, x) => a + x.keys, 0);
        samples.push({
          t,
          epoch: Math.max(...s.tops.map((x) => x.epoch)),
          pending: s.pending,
          ready: s.ready.filter((c) => c === 200).length,
          keysMoved: live,
          tasks: j?.tasks.length ?? 0,
        });
        if (t - lastPrint >= 2000) {
          lastPrint = t;
          const r = load.recent(2);
          console.log(
            `  +${(t / 1000).toFixed(1)} s: epoch ${samples.at(-1)!.epoch}, ${int(s.pending)} slots pending, ` +
              `${samples.at(-1)!.ready}/4 ready, ~${int(live)} keys moved, joiner tasks ${j?.tasks.length ?? '-'}` +
              ` (throttle waits ${j?.throttle.waits ?? '-'}, ${int(j?.throttle.waitedMs ?? NaN)} ms); ` +
              `clients ${int(r.opsPerSec)} ops/s, p99 ${ms(r.p99)} ms; ` +
              `loop max (s) ${nodes.map((n) => (lags!.latest.get(n.id) ?? NaN).toFixed(2)).join(' ')}`,
          );
        }
      }
      await sleep(100);
    }
    load.enter('after');
    const moveCpu = moveCpuWindow.end(nodes);
    const afterMove = await patient(() => Promise.all(nodes.map(rebalanceOf)), 'rebalance status');
    if (Number.isNaN(settledAt)) {
      console.log(`\nNOT SETTLED within ${SETTLE_TIMEOUT_MS / 1000} s; rebalance status per node:`);
      for (const [i, r] of afterMove.entries()) console.log(`  ${nodes[i]!.id}: ${JSON.stringify(r)}`);
      for (const n of nodes)
        for (const p of n.problems.slice(0, 20)) console.log(`  ${n.id} log: ${p.slice(0, 400)}`);
      settledTop = await patient(() => topologyOf(nodes[0]!), 'topology');
    } else {
      console.log(`settled after ${(settledAt / 1000).toFixed(2)} s`);
    }
    const top = settledTop!;

    // The cutovers as the deciding node logged them: the view that left nothing pending.
    const allCommitted = nodes
      .flatMap((n) => n.views.filter((v) => v.time >= joinWall - 5))
      .sort((a, b) => a.time - b.time);
    const joinCommitted = allCommitted.find((v) => v.members.includes(joiner.id));
    const lastCutover = allCommitted.filter((v) => v.epoch <= top.epoch).at(-1);
    const transfers = joiner.fills.filter((f) => f.purpose === 'TRANSFER');
    const firstTransferStart = transfers.length > 0 ? Math.min(...transfers.map((f) => f.time - f.ms)) : NaN;
    const firstTransferDone = transfers.length > 0 ? Math.min(...transfers.map((f) => f.time)) : NaN;
    const lastTransferDone = transfers.length > 0 ? Math.max(...transfers.map((f) => f.time)) : NaN;
    const transferSources = transfers.reduce((a, f) => a + f.sources, 0);
    const epochsDuringMove = new Set(allCommitted.filter((v) => v.epoch <= top.epoch).map((v) => v.epoch))
      .size;

    const gained = slotsHeldBy(top, joiner.id);
    const gainedSlots = gained.reduce((a, b) => a + b, 0);
    const minKeys = sumOver(gained, keysInSlot);
    const minBytes = sumOver(gained, bytesInSlot);
    // Old members held every slot at RF 3 on 3 nodes: only gains need copies, and only the joiner gains.
    const otherGains = nodes.slice(0, 3).map((n) => {
      const b = slotsHeldBy(topBefore, n.id);
      const a = slotsHeldBy(top, n.id);
      let g = 0;
      for (let s = 0; s < SLOTS; s++) if (a[s] !== 0 && b[s] === 0) g++;
      return g;
    });
    const moved = afterMove.map((r, i) => ({
      keys: r.counters.keysMoved - (before[i]?.counters.keysMoved ?? 0),
      bytes: r.counters.bytesMoved - (before[i]?.counters.bytesMoved ?? 0),
      transfers: r.counters.transfersCompleted - (before[i]?.counters.transfersCompleted ?? 0),
      scansServed: r.counters.scansServed - (before[i]?.counters.scansServed ?? 0),
    }));
    const movedKeys = moved.reduce((a, m) => a + m.keys, 0);
    const movedBytes = moved.reduce((a, m) => a + m.bytes, 0);

    // ------------------------------------------------------------ after: old copies dropped
    const afterT = performance.now();
    const totalCopies = KEYS * RF;
    const dropped = await waitFor(
      async () => {
        const k = await Promise.all(nodes.map(keysOn));
        return k.reduce((a, b) => a + b, 0) <= totalCopies ? k : undefined;
      },
      60_000,
      'the old owners to drop what moved',
    ).catch(() => undefined);
    const droppedAfterMs = dropped === undefined ? NaN : performance.now() - afterT;
    const keysNow = dropped ?? (await patient(() => Promise.all(nodes.map(keysOn)), 'keys per node'));
    const rest = AFTER_MS - (performance.now() - afterT);
    if (rest > 0) await sleep(rest);

    // ------------------------------------------------------------ restart: kill -9, same id
    const victimIndex = VICTIM;
    const victim = nodes[victimIndex]!;
    const victimSlots = slotsHeldBy(top, victim.id);
    const victimMinKeys = sumOver(victimSlots, keysInSlot);
    const victimMinBytes = sumOver(victimSlots, bytesInSlot);
    load.enter('restart');
    const restartCpuWindow = new CpuWindow(nodes);
    const killT = performance.now();
    await victim.stop('SIGKILL');
    const spawnT = performance.now();
    const restarted = await spawnNode(victimIndex);
    const restartedReadyLog = performance.now() - spawnT;
    let sawNotReady = false;
    const readyAt = await waitFor(
      async () => {
        const code = await readyz(restarted);
        if (code !== 200) sawNotReady = true;
        return code === 200 ? performance.now() : undefined;
      },
      SETTLE_TIMEOUT_MS,
      `${restarted.id} to bootstrap and answer ready`,
    ).catch(() => NaN);
    load.enter('end');
    const restartCpu = restartCpuWindow.end(nodes);
    const bootMs = readyAt - spawnT;
    const bootFromKillMs = readyAt - killT;
    // A node stalled in a fill answers its admin port late: ask again rather than report nothing.
    const restartStatus = await waitFor(() => rebalanceOf(restarted), 30_000, `${restarted.id} status`).catch(
      () => undefined,
    );
    if (!Number.isFinite(readyAt)) {
      console.log(`\n${restarted.id} NOT ready within ${SETTLE_TIMEOUT_MS / 1000} s; its rebalance status:`);
      console.log(`  ${JSON.stringify(restartStatus)}`);
    }
    const boots = restarted.fills.filter((f) => f.purpose === 'BOOTSTRAP');
    const bootSources = boots.reduce((a, f) => a + f.sources, 0);
    const resettled = await waitFor(
      async () => ((await settledNow(nodes, 4)).settled ? true : undefined),
      60_000,
      '4 nodes to settle after the restart',
    ).catch(() => false);
    await sleep(1000);
    await load.stop();
    await lags.stop();
    const loadAfter = loadavg();

    // ------------------------------------------------------------ report
    const f = (p: Phase) => load!.figures.get(p)!;
    const base = f('baseline');
    const move = f('move');
    const restart = f('restart');
    const pct = (h: hdr.Histogram, p: number) => h.getValueAtPercentile(p) / 1000;
    const rate = (x: PhaseFigures) => x.ops / x.seconds;
    const codes = (byCode: Record<string, number>) =>
      Object.entries(byCode)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ') || '-';
    const sec = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '-');
    const rel = (wall: number) => wall - joinWall;
    const metCutover = settledAt < GOAL_CUTOVER_MS;

    console.log(`\njoin of ${joiner.id} (times from its spawn)`);
    console.log(
      table(
        ['event', 'time', 'source'],
        [
          ['process logs "node ready"', sec(joinerReadyMs), 'its log'],
          [
            'view with 4 members committed',
            sec(joinCommitted ? rel(joinCommitted.time) : NaN),
            'decider log',
          ],
          ['every node shows 4 members', sec(memberAt), 'topology polls'],
          ['first slot move seen pending', sec(firstPendingAt), 'topology polls'],
          ['first transfer task started', sec(rel(firstTransferStart)), 'joiner log'],
          ['first transfer task done', sec(rel(firstTransferDone)), 'joiner log'],
          ['last transfer task done', sec(rel(lastTransferDone)), 'joiner log'],
          [
            `last cutover committed (epoch ${lastCutover?.epoch ?? '-'})`,
            sec(lastCutover ? rel(lastCutover.time) : NaN),
            'decider log',
          ],
          ['settled: one epoch, none pending, all ready', sec(settledAt), 'polls, 100 ms'],
        ],
      ),
    );
    console.log(
      `(most slots pending at once: ${int(maxPending)}; views committed from the join to the settle: ${epochsDuringMove}; ` +
        `joiner transfer tasks: ${transfers.length}, sources merged: ${transferSources}` +
        `${transfers.length > 0 ? ` (${(transferSources / transfers.length).toFixed(1)} per task)` : ''})`,
    );
    const taskRows = (fills: typeof transfers) =>
      fills.map((x) => [
        `${sec(rel(x.time - x.ms))} -> ${sec(rel(x.time))}`,
        int(x.slots),
        int(x.keys),
        (x.bytes / 1e6).toFixed(1),
        String(x.sources),
        int(x.keys / (x.ms / 1000)),
        (x.bytes / 1e6 / (x.ms / 1000)).toFixed(2),
      ]);
    const taskHeaders = ['task (from spawn)', 'slots', 'keys', 'MB', 'sources', 'keys/s', 'MB/s'];
    console.log(table(taskHeaders, taskRows(transfers)));

    console.log('\nkeys and bytes moved for the join, against the unavoidable minimum');
    console.log(
      table(
        ['', 'keys', 'bytes', 'slots'],
        [
          ['moved (rebalance counters, all nodes)', int(movedKeys), int(movedBytes), ''],
          ...moved.map((m, i) => [
            `  ${nodes[i]!.id}`,
            int(m.keys),
            int(m.bytes),
            `${m.transfers} transfers, ${m.scansServed} scans served`,
          ]),
          [
            'minimum: entries of the slots the joiner gained',
            int(minKeys),
            int(minBytes),
            `${int(gainedSlots)} of ${int(SLOTS)}`,
          ],
          [
            'fair share (RF/4 of the data)',
            int((KEYS * RF) / 4),
            int(sumOver(new Uint8Array(SLOTS).fill(1), bytesInSlot) * (RF / 4)),
            int((SLOTS * RF) / 4),
          ],
          ['moved / minimum', (movedKeys / minKeys).toFixed(2), (movedBytes / minBytes).toFixed(2), ''],
        ],
      ),
    );
    console.log(
      `(slots gained by the old members: ${otherGains.join(', ')}. Bytes are key + value + ${ENTRY_OVERHEAD} per entry, ` +
        `the node's unit. A transfer merges a read quorum of the old replica set (2 of 3 at RF 3: the target ` +
        `cannot know which copy has the last QUORUM write), so each key of a moved slot is read from 2 sources ` +
        `and counted twice: 2.0 is the expected ratio, above it is repeated work (retried or re-planned tasks).)`,
    );
    console.log(
      `old owners dropped what moved ${Number.isFinite(droppedAfterMs) ? `${sec(droppedAfterMs)} after the settle` : 'NOT within 60 s of the settle'}` +
        ` (--drop-grace-ms ${DROP_GRACE_MS}); keys per node then: ${keysNow.map(int).join(', ')}`,
    );

    const phaseRow = (label: string, x: PhaseFigures) => [
      label,
      `${x.seconds.toFixed(1)} s`,
      int(rate(x)),
      `${((100 * rate(x)) / rate(base)).toFixed(0)}%`,
      ms(pct(x.hist, 50)),
      ms(pct(x.hist, 99)),
      `${(pct(x.hist, 99) / pct(base.hist, 99)).toFixed(1)}x`,
      ms(x.hist.maxValue / 1000),
      int(x.failed),
      codes(x.byCode),
    ];
    console.log('\nclient load by phase (ops counted in the phase they started in)');
    console.log(
      table(
        [
          'phase',
          'length',
          'ops/s',
          'vs base',
          'p50 ms',
          'p99 ms',
          'p99 vs base',
          'max ms',
          'failed',
          'by code',
        ],
        [
          phaseRow('baseline (3 nodes)', base),
          phaseRow('move (join -> settled)', move),
          phaseRow('after (4 nodes)', f('after')),
          phaseRow('restart (kill -> ready)', restart),
        ],
      ),
    );
    for (const p of ['move', 'after', 'restart'] as const) {
      for (const [k, msgs] of Object.entries(f(p).samples)) {
        for (const m of msgs) console.log(`  ${p} ${k}: ${m.slice(0, 300)}`);
      }
    }
    const w0 = Math.floor((move.from - load.t0) / 1000);
    const w1 = Math.ceil((move.to - load.t0) / 1000);
    const moveWindows = Array.from({ length: Math.max(0, w1 - w0) }, (_, i) => w0 + i);
    if (moveWindows.length > 0) {
      const worstOps = Math.min(...moveWindows.map((w) => load!.timeline.ops[w] ?? 0));
      const worstP99 = Math.max(...moveWindows.map((w) => load!.timeline.p99(w)).filter(Number.isFinite));
      console.log(
        `during the move, per 1 s window: fewest ops ${int(worstOps)} (${((100 * worstOps) / rate(base)).toFixed(0)}% of the ` +
          `baseline rate), worst p99 ${ms(worstP99)} ms`,
      );
    }
    // The whole run, a row per 10 s: where each phase starts shows as a letter before the cell.
    const marks = new Map<number, string>();
    const mark: [Phase, string][] = [
      ['baseline', 'B'],
      ['move', 'J'],
      ['after', 'S'],
      ['restart', 'K'],
      ['end', 'R'],
    ];
    for (const [p, letter] of mark) {
      const at = f(p).from;
      if (Number.isFinite(at)) {
        const w = Math.floor((at - load.t0) / 1000);
        marks.set(w, `${marks.get(w) ?? ''}${letter}`);
      }
    }
    const first = Math.floor((base.from - load.t0) / 1000);
    const last = Math.min(load.timeline.ops.length, Math.ceil((f('end').from - load.t0) / 1000));
    const rows: string[][] = [];
    for (let w = first; w < last; w += 10) {
      const cells = Array.from({ length: 10 }, (_, i) => {
        const x = w + i;
        if (x >= last) return '';
        return `${marks.get(x) ?? ''} ${int(load!.timeline.ops[x] ?? 0)}/${ms(load!.timeline.p99(x))}`;
      });
      rows.push([`+${w - first} s`, ...cells]);
    }
    console.log(
      '\nclient ops and p99 (ms) per second, from the baseline (B) on; J: 4th node spawned, S: settled, ' +
        'K: kill -9, R: restarted node ready',
    );
    console.log(table(['', ...Array.from({ length: 10 }, (_, i) => `+${i}`)], rows));

    console.log(`\nrestart of ${restarted.id} (kill -9, a new process under the same id, empty)`);
    const bc = restartStatus?.counters;
    console.log(
      table(
        ['', 'value'],
        [
          ['"node ready" logged after spawn', sec(restartedReadyLog)],
          ['bootstrap: spawn -> /readyz 200', sec(bootMs)],
          ['kill -> /readyz 200', sec(bootFromKillMs)],
          ['answered 503 before it was filled', sawNotReady ? 'yes' : 'no (never seen unready)'],
          [
            'bootstrap tasks / sources merged',
            `${bc?.bootstrapsCompleted ?? '-'} / ${bootSources}${boots.length > 0 ? ` (${(bootSources / boots.length).toFixed(1)} per task)` : ''}`,
          ],
          ['keys moved / minimum (its slots)', `${int(bc?.keysMoved ?? NaN)} / ${int(victimMinKeys)}`],
          ['bytes moved / minimum', `${int(bc?.bytesMoved ?? NaN)} / ${int(victimMinBytes)}`],
          ['moved / minimum', bc ? (bc.keysMoved / victimMinKeys).toFixed(2) : '-'],
          ['slots lost', String(bc?.slotsLost ?? '-')],
          ['4 nodes settled again', resettled ? 'yes' : 'NO'],
        ],
      ),
    );

    if (boots.length > 0) {
      const spawnWall = restarted.spawnedAt;
      const relBoot = (wall: number) => wall - spawnWall;
      console.log(
        table(
          taskHeaders.map((h, i) => (i === 0 ? 'bootstrap task (from spawn)' : h)),
          boots.map((x) => [
            `${sec(relBoot(x.time - x.ms))} -> ${sec(relBoot(x.time))}`,
            ...taskRows([x])[0]!.slice(1),
          ]),
        ),
      );
    }
    const r0 = Math.floor((restart.from - load.t0) / 1000);
    const r1 = Math.ceil((restart.to - load.t0) / 1000);
    if (restart.failed > 0) {
      console.log(
        `  client failures per second from the kill: ${Array.from({ length: Math.max(0, r1 - r0) }, (_, i) => load!.timeline.failed[r0 + i] ?? 0).join(' ')}`,
      );
    }

    const cpuRow = (label: string, c: CpuFigures) => [
      label,
      `${(c.wallMs / 1000).toFixed(1)} s`,
      c.machineCores.toFixed(2),
      c.nodesCores.toFixed(2),
      c.perNodeCores.map((x) => x.toFixed(2)).join(' '),
      c.benchCores.toFixed(2),
      c.otherCores.toFixed(2),
    ];
    console.log(`\nCPU by phase, in cores of ${CORES} (from /proc; "others" is work outside this bench)`);
    console.log(
      table(
        ['phase', 'length', 'machine', 'nodes', 'per node (0 1 2 3)', 'bench', 'others'],
        [cpuRow('baseline', baseCpu), cpuRow('move', moveCpu), cpuRow('restart', restartCpu)],
      ),
    );

    const lagRow = (p: Phase) => [
      p,
      ...nodes.map((n) => {
        const w = lags!.worst.get(p)?.get(n.id);
        const u = lags!.unanswered.get(p)?.get(n.id) ?? 0;
        const gc = lags!.majorGc.get(p)?.get(n.id);
        return (
          `${w === undefined ? '-' : w.toFixed(2)} / ${gc === undefined ? '-' : gc.toFixed(1)}` +
          `${u > 0 ? ` (${u} unanswered)` : ''}`
        );
      }),
    ];
    console.log(
      '\nper node: longest event-loop stall (s) / time in major GC (s), from /metrics every ~1 s ' +
        '(nodejs_eventloop_lag_max_seconds, nodejs_gc_duration_seconds); scrapes not answered within 3 s in brackets',
    );
    console.log(
      table(
        ['phase', ...nodes.map((n) => n.id)],
        (['baseline', 'move', 'after', 'restart'] as const).map(lagRow),
      ),
    );

    console.log('\nsummary');
    console.log(
      table(
        ['figure', 'value', 'goal', ''],
        [
          [
            'time until the last cutover (4th node spawn -> settled)',
            sec(settledAt),
            '< 30 s',
            Number.isNaN(settledAt) ? 'NOT met (never settled)' : metCutover ? 'met' : 'NOT met',
          ],
          [
            '  of which: spawn -> 4-member view committed',
            sec(joinCommitted ? rel(joinCommitted.time) : NaN),
            '',
            '',
          ],
          [
            '  of which: transfers (first start -> last done)',
            sec(lastTransferDone - firstTransferStart),
            '',
            '',
          ],
          [
            'keys moved / minimum (join)',
            `${int(movedKeys)} / ${int(minKeys)} = ${(movedKeys / minKeys).toFixed(2)}`,
            '2.00 (quorum merge)',
            '',
          ],
          [
            'bytes moved / minimum (join)',
            `${int(movedBytes)} / ${int(minBytes)} = ${(movedBytes / minBytes).toFixed(2)}`,
            '2.00 (quorum merge)',
            '',
          ],
          [
            'client ops/s: move vs baseline',
            `${int(rate(move))} vs ${int(rate(base))} (${((100 * rate(move)) / rate(base)).toFixed(0)}%)`,
            '',
            '',
          ],
          [
            'client p99: move vs baseline',
            `${ms(pct(move.hist, 99))} vs ${ms(pct(base.hist, 99))} ms`,
            '',
            '',
          ],
          ['client errors during the move', `${int(move.failed)} (${codes(move.byCode)})`, '', ''],
          ['restarted node bootstrap (spawn -> ready)', sec(bootMs), '', ''],
          [
            'keys moved / minimum (bootstrap)',
            bc
              ? `${int(bc.keysMoved)} / ${int(victimMinKeys)} = ${(bc.keysMoved / victimMinKeys).toFixed(2)}`
              : '-',
            '',
            '',
          ],
        ],
      ),
    );
    console.log(
      `\nload average (1/5/15 min): ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
        `${loadAfter.map((x) => x.toFixed(2)).join(' ')} after (4 nodes and the clients share this machine's cores)`,
    );
    const problems = nodes.flatMap((n) => n.problems.map((p) => `${n.id}: ${p}`));
    if (problems.length > 0) {
      console.log(`\nwarn/error lines in node logs (${problems.length}; first 10):`);
      for (const p of problems.slice(0, 10)) console.log(`  ${p.slice(0, 300)}`);
    }

    if (JSON_FILE !== '') {
      const phase = (x: PhaseFigures) => ({
        seconds: x.seconds,
        ops: x.ops,
        opsPerSec: rate(x),
        p50Ms: pct(x.hist, 50),
        p99Ms: pct(x.hist, 99),
        maxMs: x.hist.maxValue / 1000,
        failed: x.failed,
        byCode: x.byCode,
      });
      writeFileSync(
        JSON_FILE,
        `${JSON.stringify(
          {
            benchmark: 'rebalance',
            keys: KEYS,
            valueBytes: VALUE_BYTES,
            concurrencyPerClient: CONCURRENCY,
            clients: clients.length,
            getShare: GET_SHARE,
            budget: BUDGET,
            dropGraceMs: Number(DROP_GRACE_MS),
            nodeFlags: passed,
            nodeVersion: process.version,
            loadMs,
            loadKeysPerSec: KEYS / (loadMs / 1000),
            join: {
              nodeReadyMs: joinerReadyMs,
              viewCommittedMs: joinCommitted ? rel(joinCommitted.time) : null,
              allSeeMembersMs: memberAt,
              firstPendingMs: firstPendingAt,
              firstTransferDoneMs: rel(firstTransferDone),
              lastTransferDoneMs: rel(lastTransferDone),
              lastCutoverCommittedMs: lastCutover ? rel(lastCutover.time) : null,
              settledMs: Number.isNaN(settledAt) ? null : settledAt,
              goalMs: GOAL_CUTOVER_MS,
              goalMet: metCutover,
              maxPendingSlots: maxPending,
              epochs: epochsDuringMove,
              transferTasks: transfers.length,
              transferSourcesMerged: transferSources,
              cpu: moveCpu,
              samples,
            },
            moved: {
              keys: movedKeys,
              bytes: movedBytes,
              perNode: Object.fromEntries(moved.map((m, i) => [nodes[i]!.id, m])),
              minimumKeys: minKeys,
              minimumBytes: minBytes,
              gainedSlots,
              otherGains,
              ratioKeys: movedKeys / minKeys,
              ratioBytes: movedBytes / minBytes,
              droppedAfterSettleMs: Number.isFinite(droppedAfterMs) ? droppedAfterMs : null,
            },
            phases: Object.fromEntries(
              (['baseline', 'move', 'after', 'restart'] as const).map((p) => [p, phase(f(p))]),
            ),
            restart: {
              node: restarted.id,
              nodeReadyMs: restartedReadyLog,
              bootstrapMs: Number.isFinite(bootMs) ? bootMs : null,
              fromKillMs: Number.isFinite(bootFromKillMs) ? bootFromKillMs : null,
              counters: bc ?? null,
              minimumKeys: victimMinKeys,
              minimumBytes: victimMinBytes,
              bootstrapSourcesMerged: bootSources,
              resettled,
            },
            cpu: { baseline: baseCpu, move: moveCpu, restart: restartCpu },
            eventLoopStallS: Object.fromEntries([...lags.worst].map(([p, m]) => [p, Object.fromEntries(m)])),
            majorGcS: Object.fromEntries([...lags.majorGc].map(([p, m]) => [p, Object.fromEntries(m)])),
            scrapesUnanswered: Object.fromEntries(
              [...lags.unanswered].map(([p, m]) => [p, Object.fromEntries(m)]),
            ),
            loadAverageBefore: loadBefore,
            loadAverageAfter: loadAfter,
            logDir,
          },
          null,
          2,
        )}\n`,
      );
      console.log(`figures written to ${JSON_FILE}`);
    }
  } finally {
    if (load !== undefined) await load.stop().catch(() => undefined);
    if (lags !== undefined) await lags.stop();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.filter((n) => n !== undefined).map((n) => n.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
