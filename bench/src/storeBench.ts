/**
 * Store benchmark (`npm run bench:store`; add `-- --json FILE` for the figures),
 * of ArenaStore, the store each cache of a node lives in:
 *
 *  (a) in-process get-hit, get-miss and set throughput of ArenaStore (S3-FIFO
 *      and LRU) beside a plain Map holding the same keys and values as latin1
 *      strings, in alternating rounds (median of each).
 *      Map keys are pre-built strings whose hash V8 has cached, so a Map get
 *      is one probe; the store hashes key bytes on every call. Two ways to
 *      give the store its keys:
 *        - "key views": one Buffer view per key, pre-built, as the Map's
 *          strings are (each get then touches a separate key object);
 *        - "keys in a frame": getAt on a range of one buffer, as a server
 *          calls it on the buffer a request was read into.
 *      The "Map+decode" column is what the current server pays: it decodes
 *      each key from the frame into a string before its Map lookup.
 *  (b) miss ratios of S3-FIFO and LRU (both on segments) on a seeded
 *      Zipf(0.99) trace (100k keys, 1M requests), and on the same trace with
 *      a one-off sequential scan of 2x the cache size in the middle; the
 *      budget is set so that the LRU store holds 10% of the keys (10k).
 *  (c) memory: spawns storeMemoryBench.js in fresh processes (256 MiB
 *      budget, 2M inserts): RSS, heap, usedBytes, entries, evictions.
 *
 * Options: --keys N,N (1000,100000), --ops N per round (1000000), --rounds N (7),
 * --requests N (1000000), --no-memory, --json FILE.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArenaStore, HybridLogicalClock, nodeTagOf, type EvictionPolicyName } from '@meshcache/node';
import { ZipfGenerator, seededRandom } from './zipf.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const KEY_COUNTS = arg('keys', '1000,100000').split(',').map(Number);
const OPS = Number(arg('ops', '1000000'));
const ROUNDS = Number(arg('rounds', '7'));
const REQUESTS = Number(arg('requests', '1000000'));
const JSON_FILE = arg('json', '');
const RUN_MEMORY = !process.argv.includes('--no-memory');
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const clock = new HybridLogicalClock(nodeTagOf('bench-node'));

function newStore(
  policy: EvictionPolicyName,
  maxMemoryBytes: number,
  now: () => number = Date.now,
): ArenaStore {
  return new ArenaStore(
    {
      name: 'bench',
      maxMemoryBytes,
      defaultTtlMs: 0,
      maxValueBytes: 1 << 20,
      maxKeyBytes: 1024,
      evictionPolicy: policy,
    },
    clock,
    now,
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmtOps = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(`  ${line(r)}`);
}

let sink = 0; // consumed results, so no loop is optimised away

// ---------------------------------------------------------------- (a) ops/s

// Each kind of loop is its own function, so each call site stays monomorphic.
function mapGet(map: Map<string, string>, keys: string[], order: Uint32Array, ops: number): number {
  const mask = order.length - 1;
  let s = 0;
  for (let i = 0; i < ops; i++) {
    const v = map.get(keys[order[i & mask]!]!);
    if (v !== undefined) s += v.length;
    else s++;
  }
  return s;
}

function mapGetDecode(map: Map<string, string>, frame: Buffer, order: Uint32Array, ops: number): number {
  const mask = order.length - 1;
  let s = 0;
  for (let i = 0; i < ops; i++) {
    const at = order[i & mask]! * KEY_BYTES;
    const v = map.get(frame.toString('latin1', at, at + KEY_BYTES));
    if (v !== undefined) s += v.length;
    else s++;
  }
  return s;
}

function storeGetViews(store: ArenaStore, keys: Buffer[], order: Uint32Array, ops: number): number {
  const mask = order.length - 1;
  let s = 0;
  for (let i = 0; i < ops; i++) {
    const h = store.get(keys[order[i & mask]!]!);
    if (h >= 0) s += store.valueLength(h);
    else s++;
  }
  return s;
}

function storeGetFrame(store: ArenaStore, frame: Buffer, order: Uint32Array, ops: number): number {
  const mask = order.length - 1;
  let s = 0;
  for (let i = 0; i < ops; i++) {
    const h = store.getAt(frame, order[i & mask]! * KEY_BYTES, KEY_BYTES);
    if (h >= 0) s += store.valueLength(h);
    else s++;
  }
  return s;
}

function mapSet(
  map: Map<string, string>,
  keys: string[],
  values: string[],
  order: Uint32Array,
  ops: number,
): number {
  const mask = order.length - 1;
  for (let i = 0; i < ops; i++) {
    const j = order[i & mask]!;
    map.set(keys[j]!, values[j]!);
  }
  return map.size;
}

function storeSetFrame(
  store: ArenaStore,
  keys: Buffer,
  values: Buffer,
  order: Uint32Array,
  ops: number,
): number {
  const mask = order.length - 1;
  for (let i = 0; i < ops; i++) {
    const j = order[i & mask]!;
    store.setAt(keys, j * KEY_BYTES, KEY_BYTES, values, j * VALUE_BYTES, VALUE_BYTES, 0);
  }
  return store.size;
}

function timeOps(ops: number, run: () => number): number {
  const t0 = process.hrtime.bigint();
  sink += run();
  const ns = Number(process.hrtime.bigint() - t0);
  return ops / (ns / 1e9);
}

interface OpsRow {
  keys: number;
  operation: string;
  cols: Record<string, number>;
}

const OPS_COLS = ['Map', 'Map+decode', 's3fifo', 'lru'];

function opsBench(keyCount: number): OpsRow[] {
  const random = seededRandom(1);
  const fill = (buf: Buffer, width: number, tag: number): void => {
    for (let i = 0; i < buf.length; i++) buf[i] = 33 + Math.floor(random() * 94);
    for (let k = 0; k < buf.length / width; k++) {
      buf.writeUInt32BE(k, k * width);
      buf[k * width + 4] = tag;
    }
  };
  // Keys and values laid out as in a frame, plus per-key views and strings.
  const keyFrame = Buffer.alloc(keyCount * KEY_BYTES);
  const absentFrame = Buffer.alloc(keyCount * KEY_BYTES);
  const valueFrame = Buffer.alloc(keyCount * VALUE_BYTES);
  fill(keyFrame, KEY_BYTES, 1);
  fill(absentFrame, KEY_BYTES, 2);
  fill(valueFrame, VALUE_BYTES, 3);
  const keyViews = Array.from({ length: keyCount }, (_, i) =>
    keyFrame.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES),
  );
  const absentViews = Array.from({ length: keyCount }, (_, i) =>
    absentFrame.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES),
  );
  const keys = keyViews.map((k) => k.toString('latin1'));
  const absent = absentViews.map((k) => k.toString('latin1'));
  const values = Array.from({ length: keyCount }, (_, i) =>
    valueFrame.toString('latin1', i * VALUE_BYTES, (i + 1) * VALUE_BYTES),
  );
  const order = new Uint32Array(1 << 20);
  for (let i = 0; i < order.length; i++) order[i] = Math.floor(random() * keyCount);

  const roomy = Math.max(4 << 20, keyCount * 400);
  const map = new Map<string, string>();
  const stores: Record<string, ArenaStore> = {
    s3fifo: newStore('s3fifo', roomy),
    lru: newStore('lru', roomy),
  };
  for (let i = 0; i < keyCount; i++) {
    map.set(keys[i]!, values[i]!);
    for (const s of Object.values(stores))
      s.setAt(keyFrame, i * KEY_BYTES, KEY_BYTES, valueFrame, i * VALUE_BYTES, VALUE_BYTES, 0);
  }
  // Set with eviction: stores that hold about half of the keys.
  const half = Math.max(64 << 10, Math.floor((keyCount / 2) * 190));
  const full: Record<string, ArenaStore> = { s3fifo: newStore('s3fifo', half), lru: newStore('lru', half) };

  type Case = { row: string; col: string; ops: number; run: () => number };
  const cases: Case[] = [];
  const add = (row: string, col: string, ops: number, run: () => number): void => {
    cases.push({ row, col, ops, run });
  };
  add('get hit, key views', 'Map', OPS, () => mapGet(map, keys, order, OPS));
  add('get hit, keys in a frame', 'Map', OPS, () => mapGet(map, keys, order, OPS));
  add('get hit, keys in a frame', 'Map+decode', OPS, () => mapGetDecode(map, keyFrame, order, OPS));
  add('get miss, keys in a frame', 'Map', OPS, () => mapGet(map, absent, order, OPS));
  add('get miss, keys in a frame', 'Map+decode', OPS, () => mapGetDecode(map, absentFrame, order, OPS));
  add('set (overwrite)', 'Map', OPS / 4, () => mapSet(map, keys, values, order, OPS / 4));
  add('set (store full, evicting)', 'Map', OPS / 4, () => mapSet(map, keys, values, order, OPS / 4));
  for (const col of ['s3fifo', 'lru']) {
    const s = stores[col]!;
    add('get hit, key views', col, OPS, () => storeGetViews(s, keyViews, order, OPS));
    add('get hit, keys in a frame', col, OPS, () => storeGetFrame(s, keyFrame, order, OPS));
    add('get miss, keys in a frame', col, OPS, () => storeGetFrame(s, absentFrame, order, OPS));
    add('set (overwrite)', col, OPS / 4, () => storeSetFrame(s, keyFrame, valueFrame, order, OPS / 4));
    add('set (store full, evicting)', col, OPS / 4, () =>
      storeSetFrame(full[col]!, keyFrame, valueFrame, order, OPS / 4),
    );
  }
  const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
  // Round 0 warms up the JIT and is discarded; the order rotates every round.
  for (let round = 0; round <= ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + round) % cases.length]!;
      const opsPerSec = timeOps(c.ops, c.run);
      if (round > 0) samples.get(c)!.push(opsPerSec);
    }
  }
  const rows: OpsRow[] = [];
  for (const c of cases) {
    let row = rows.find((r) => r.operation === c.row);
    if (!row) rows.push((row = { keys: keyCount, operation: c.row, cols: {} }));
    row.cols[c.col] = median(samples.get(c)!);
  }
  return rows;
}

// ---------------------------------------------------------- (b) hit ratio

interface TraceResult {
  requests: number;
  misses: number;
  /** Requests and misses excluding the scan's (compulsory) ones. */
  zipfRequests: number;
  zipfMisses: number;
  /** Entries held, averaged over the second half of the trace. */
  meanEntries: number;
}

interface Cache {
  hit(id: number): boolean;
  insert(id: number): void;
  readonly size: number;
}

function simulate(cache: Cache, trace: Uint32Array, zipfKeys: number): TraceResult {
  let misses = 0;
  let zipfRequests = 0;
  let zipfMisses = 0;
  let entrySum = 0;
  let entrySamples = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = trace[i]!;
    const isZipf = id < zipfKeys;
    if (isZipf) zipfRequests++;
    if (!cache.hit(id)) {
      misses++;
      if (isZipf) zipfMisses++;
      cache.insert(id);
    }
    if (i >= trace.length >> 1 && (i & 1023) === 0) {
      entrySum += cache.size;
      entrySamples++;
    }
  }
  return { requests: trace.length, misses, zipfRequests, zipfMisses, meanEntries: entrySum / entrySamples };
}

function storeCache(store: ArenaStore, keyFrame: Buffer, value: Buffer): Cache {
  return {
    hit: (id) => store.getAt(keyFrame, id * KEY_BYTES, KEY_BYTES) >= 0,
    insert: (id) => {
      store.setAt(keyFrame, id * KEY_BYTES, KEY_BYTES, value, 0, VALUE_BYTES, 0);
    },
    get size() {
      return store.size;
    },
  };
}

/** A budget with which an LRU ArenaStore holds `entries` of these keys and values once full. */
function calibrateBudget(entries: number, keyFrame: Buffer, value: Buffer): number {
  let budget = entries * 200;
  for (let attempt = 0; attempt < 6; attempt++) {
    const store = newStore('lru', budget, () => 0);
    for (let id = 0; id < entries * 3; id++) {
      store.setAt(keyFrame, id * KEY_BYTES, KEY_BYTES, value, 0, VALUE_BYTES, 0);
    }
    // Mean over a few segments' worth of inserts (holdings vary by a segment).
    let sum = 0;
    for (let id = entries * 3; id < entries * 4; id++) {
      store.setAt(keyFrame, id * KEY_BYTES, KEY_BYTES, value, 0, VALUE_BYTES, 0);
      sum += store.size;
    }
    const held = sum / entries;
    if (Math.abs(held - entries) < entries * 0.002) break;
    budget = Math.round(budget * (entries / held));
  }
  return budget;
}

interface HitRatioRow {
  trace: string;
  results: Record<string, TraceResult>;
  /** % fewer misses of S3-FIFO than LRU (on the Zipf requests). */
  fewerMissesPct: number;
}

function hitRatioBench(): {
  keys: number;
  capacity: number;
  budgetBytes: number;
  requests: number;
  scanLength: number;
  rows: HitRatioRow[];
} {
  const zipfKeys = 100_000;
  const capacity = zipfKeys / 10;
  const scanLength = 2 * capacity;
  const zipf = new ZipfGenerator(zipfKeys, 0.99, seededRandom(42));
  const trace = new Uint32Array(REQUESTS);
  for (let i = 0; i < REQUESTS; i++) trace[i] = zipf.next();
  // The same trace with a sequential scan of never-seen keys in the middle.
  const mid = REQUESTS >> 1;
  const scanTrace = new Uint32Array(REQUESTS + scanLength);
  scanTrace.set(trace.subarray(0, mid), 0);
  for (let i = 0; i < scanLength; i++) scanTrace[mid + i] = zipfKeys + i;
  scanTrace.set(trace.subarray(mid), mid + scanLength);

  const totalKeys = Math.max(zipfKeys + scanLength, capacity * 4);
  const keyFrame = Buffer.alloc(totalKeys * KEY_BYTES);
  for (let i = 0; i < totalKeys; i++) {
    keyFrame.write(`key:${String(i).padStart(KEY_BYTES - 4, '0')}`, i * KEY_BYTES, 'latin1');
  }
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const budgetBytes = calibrateBudget(capacity, keyFrame, value);

  const rows: HitRatioRow[] = [];
  for (const [name, t] of [
    ['Zipf(0.99)', trace],
    [`Zipf(0.99) + scan of ${scanLength} keys`, scanTrace],
  ] as const) {
    const results: Record<string, TraceResult> = {};
    for (const policy of ['s3fifo', 'lru'] as const) {
      results[policy] = simulate(
        storeCache(
          newStore(policy, budgetBytes, () => 0),
          keyFrame,
          value,
        ),
        t,
        zipfKeys,
      );
    }
    const fewerMissesPct =
      ((results.lru!.zipfMisses - results.s3fifo!.zipfMisses) / results.lru!.zipfMisses) * 100;
    rows.push({ trace: name, results, fewerMissesPct });
  }
  return { keys: zipfKeys, capacity, budgetBytes, requests: REQUESTS, scanLength, rows };
}

// ------------------------------------------------------------- (c) memory

interface MemoryRun {
  policy: EvictionPolicyName;
  figures?: Record<string, unknown>;
  error?: string;
}

function memoryBench(): MemoryRun[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'storeMemoryBench.js');
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-storebench-'));
  const runs: MemoryRun[] = [{ policy: 's3fifo' }, { policy: 'lru' }];
  try {
    for (const [i, run] of runs.entries()) {
      const out = join(dir, `memory-${i}.json`);
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', script, '--policy', run.policy, '--json', out],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      if (child.status === 0) run.figures = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      else run.error = `exit ${child.status ?? child.signal}`;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return runs;
}

// ------------------------------------------------------------------- main

console.log(
  `store benchmark (ArenaStore): node ${process.version}, keys of ${KEY_BYTES} B, values of ${VALUE_BYTES} B`,
);

const ops: OpsRow[] = [];
for (const keys of KEY_COUNTS) {
  const rows = opsBench(keys);
  ops.push(...rows);
  printTable(
    `(a) ops/s, ${keys} keys, median of ${ROUNDS} alternating rounds (${OPS} gets or ${OPS / 4} sets each, uniform random keys)`,
    ['operation', ...OPS_COLS.flatMap((c) => (c === 'Map' ? [c] : [c, 'x Map']))],
    rows.map((r) => [
      r.operation,
      ...OPS_COLS.flatMap((c) => {
        const v = r.cols[c];
        if (c === 'Map') return [v === undefined ? '-' : fmtOps(v)];
        return v === undefined ? ['-', '-'] : [fmtOps(v), `${(v / r.cols.Map!).toFixed(2)}x`];
      }),
    ]),
  );
  const views = rows.find((r) => r.operation === 'get hit, key views')!;
  const frame = rows.find((r) => r.operation === 'get hit, keys in a frame')!;
  const ratio = (r: OpsRow, c: string): string => `${(r.cols[c]! / r.cols.Map!).toFixed(2)}x`;
  const met = (c: string): string =>
    views.cols[c]! >= 0.8 * views.cols.Map! && frame.cols[c]! >= 0.8 * frame.cols.Map! ? 'met' : 'NOT met';
  for (const c of ['s3fifo', 'lru']) {
    console.log(
      `  goal get hit >= 0.8x Map, ${c}: key views ${ratio(views, c)}, keys in a frame ${ratio(frame, c)} (${met(c)})`,
    );
  }
  console.log(
    `  (Map+decode, a Map behind a server that decodes each key into a string: ${ratio(frame, 'Map+decode')})`,
  );
}

const hit = hitRatioBench();
const cols = ['s3fifo', 'lru'];
printTable(
  `(b) miss ratio, ${hit.keys} keys, ${hit.requests} requests, seed 42; budget ${hit.budgetBytes} B (the LRU store holds ${hit.capacity} entries = 10%)`,
  ['trace', ...cols.map((c) => `${c} miss`), 'S3-FIFO fewer misses'],
  hit.rows.map((r) => [
    r.trace,
    ...cols.map((c) => pct(r.results[c]!.zipfMisses / r.results[c]!.zipfRequests)),
    `${r.fewerMissesPct.toFixed(1)}%`,
  ]),
);
console.log(
  `  mean entries held: ${cols.map((c) => `${c} ${Math.round(hit.rows[0]!.results[c]!.meanEntries)}`).join(', ')}`,
);
console.log('  (miss ratios of the Zipf requests; the scan requests, all compulsory misses, are left out)');
console.log(
  `  goals: Zipf >= 10% fewer misses: ${hit.rows[0]!.fewerMissesPct >= 10 ? 'met' : 'NOT met'}; ` +
    `scan no worse than LRU: ${hit.rows[1]!.fewerMissesPct >= 0 ? 'met' : 'NOT met'}`,
);

let memory: MemoryRun[] = [];
if (RUN_MEMORY) {
  console.log('\n(c) memory: storeMemoryBench.js in fresh processes');
  memory = memoryBench();
  printTable(
    '(c) memory summary, 256 MiB budget, 2M inserts (16 B keys, 100 B values), then 1M Zipf reads',
    [
      'policy',
      'entries',
      'evictions',
      'used MiB',
      'overhead B/entry',
      'heap MiB',
      'RSS before',
      'RSS end',
      'max RSS',
      'goal <384',
    ],
    memory.map((m) => {
      const f = m.figures as Record<string, number> | undefined;
      if (!f) return [m.policy, m.error ?? 'failed', '', '', '', '', '', '', '', ''];
      return [
        m.policy,
        String(f.entries),
        String(f.evictions),
        f.usedMiB!.toFixed(1),
        f.overheadBytesPerEntry!.toFixed(1),
        f.heapUsedAfterGcMiB!.toFixed(1),
        f.rssBeforeStoreMiB!.toFixed(1),
        f.rssMiB!.toFixed(1),
        f.maxRssMiB!.toFixed(1),
        m.figures!.rssGoalMet ? 'met' : 'NOT met',
      ];
    }),
  );
}

if (JSON_FILE) {
  const figures = {
    node: process.version,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    ops: Object.fromEntries(
      ops.map((r) => [
        `${r.operation} (${r.keys} keys)`,
        Object.fromEntries(
          Object.entries(r.cols).flatMap(([k, v]) => [
            [`${k}OpsPerSec`, Math.round(v)],
            ...(k === 'Map' ? [] : [[`${k}VsMap`, Number((v / r.cols.Map!).toFixed(3))]]),
          ]),
        ),
      ]),
    ),
    hitRatio: hit,
    memory,
  };
  writeFileSync(JSON_FILE, JSON.stringify(figures, null, 2) + '\n');
}
if (sink === 0.5) console.log(sink); // never true; keeps results observable
