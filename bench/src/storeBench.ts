/**
 * Store benchmark (`npm run bench:store`; add `-- --json FILE` for the figures):
 *
 *  (a) in-process get-hit, get-miss and set throughput of CacheStore beside a
 *      plain Map holding the same keys and values, in alternating rounds
 *      (median of each); the store does its real work on every call (expiry
 *      check, hit/miss counting, policy bookkeeping, versions on set);
 *  (b) miss ratios of LRU and S3-FIFO on a seeded Zipf(0.99) trace, and on the
 *      same trace with a one-off sequential scan in the middle;
 *  (c) memory: spawns storeMemoryBench.js in fresh processes, so RSS is clean.
 *
 * (a) runs at two working-set sizes: 1,000 keys, which stay in the CPU caches
 * (the figures then compare the work per call), and 100,000 keys (about 40 MiB
 * with the store's entries, beyond this machine's 32 MiB L3), where each
 * lookup waits on memory and the store's extra pointer hops (map -> Entry ->
 * value, and LRU's neighbours) cost more than its instructions.
 *
 * Options: --keys N,N (1000,100000), --ops N per round (1000000), --rounds N (7),
 * --requests N (1000000), --no-memory, --json FILE.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CacheStore,
  ENTRY_OVERHEAD_BYTES,
  HybridLogicalClock,
  nodeTagOf,
  type EvictionPolicyName,
} from '@meshcache/node';
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
): CacheStore {
  return new CacheStore(
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

/** Distinct flat latin1 strings decoded from a Buffer, as the server decodes them from the wire. */
function makeStrings(count: number, bytes: number, tag: number, random: () => number): string[] {
  const out = new Array<string>(count);
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < bytes; j++) buf[j] = 33 + Math.floor(random() * 94);
    buf.writeUInt32BE(i, 0);
    buf[4] = tag;
    out[i] = buf.toString('latin1');
  }
  return out;
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

function storeGet(store: CacheStore, keys: string[], order: Uint32Array, ops: number): number {
  const mask = order.length - 1;
  let s = 0;
  for (let i = 0; i < ops; i++) {
    const e = store.get(keys[order[i & mask]!]!);
    if (e !== undefined) s += e.value.length;
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

function storeSet(
  store: CacheStore,
  keys: string[],
  values: string[],
  order: Uint32Array,
  ops: number,
): number {
  const mask = order.length - 1;
  for (let i = 0; i < ops; i++) {
    const j = order[i & mask]!;
    store.set(keys[j]!, values[j]!, 0);
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
  map: number;
  stores: Record<string, number>;
}

function opsBench(keyCount: number): OpsRow[] {
  const random = seededRandom(1);
  const keys = makeStrings(keyCount, KEY_BYTES, 1, random);
  const absent = makeStrings(keyCount, KEY_BYTES, 2, random);
  const values = makeStrings(keyCount, VALUE_BYTES, 3, random);
  const order = new Uint32Array(1 << 20);
  for (let i = 0; i < order.length; i++) order[i] = Math.floor(random() * keyCount);

  const roomy = keyCount * (KEY_BYTES + VALUE_BYTES + ENTRY_OVERHEAD_BYTES) * 2;
  const map = new Map<string, string>();
  const lru = newStore('lru', roomy);
  const s3 = newStore('s3fifo', roomy);
  const s3ttl = newStore('s3fifo', roomy);
  const farFuture = Date.now() + 3_600_000;
  for (let i = 0; i < keyCount; i++) {
    map.set(keys[i]!, values[i]!);
    lru.set(keys[i]!, values[i]!, 0);
    s3.set(keys[i]!, values[i]!, 0);
    s3ttl.set(keys[i]!, values[i]!, farFuture);
  }
  // Set with eviction: stores that hold half of the keys.
  const half = Math.floor((keyCount / 2) * (KEY_BYTES + VALUE_BYTES + ENTRY_OVERHEAD_BYTES));
  const lruFull = newStore('lru', half);
  const s3Full = newStore('s3fifo', half);

  type Case = { row: string; col: string; run: () => number };
  const cases: Case[] = [
    { row: 'get hit', col: 'Map', run: () => mapGet(map, keys, order, OPS) },
    { row: 'get hit', col: 'lru', run: () => storeGet(lru, keys, order, OPS) },
    { row: 'get hit', col: 's3fifo', run: () => storeGet(s3, keys, order, OPS) },
    { row: 'get hit, entries with TTL', col: 'Map', run: () => mapGet(map, keys, order, OPS) },
    { row: 'get hit, entries with TTL', col: 's3fifo', run: () => storeGet(s3ttl, keys, order, OPS) },
    { row: 'get miss', col: 'Map', run: () => mapGet(map, absent, order, OPS) },
    { row: 'get miss', col: 'lru', run: () => storeGet(lru, absent, order, OPS) },
    { row: 'get miss', col: 's3fifo', run: () => storeGet(s3, absent, order, OPS) },
    { row: 'set (overwrite)', col: 'Map', run: () => mapSet(map, keys, values, order, OPS / 4) },
    { row: 'set (overwrite)', col: 'lru', run: () => storeSet(lru, keys, values, order, OPS / 4) },
    { row: 'set (overwrite)', col: 's3fifo', run: () => storeSet(s3, keys, values, order, OPS / 4) },
    { row: 'set (store full, evicting)', col: 'Map', run: () => mapSet(map, keys, values, order, OPS / 4) },
    {
      row: 'set (store full, evicting)',
      col: 'lru',
      run: () => storeSet(lruFull, keys, values, order, OPS / 4),
    },
    {
      row: 'set (store full, evicting)',
      col: 's3fifo',
      run: () => storeSet(s3Full, keys, values, order, OPS / 4),
    },
  ];
  const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
  // Round 0 warms up the JIT and is discarded; the order rotates every round.
  for (let round = 0; round <= ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + round) % cases.length]!;
      const ops = c.row.startsWith('set') ? OPS / 4 : OPS;
      const opsPerSec = timeOps(ops, c.run);
      if (round > 0) samples.get(c)!.push(opsPerSec);
    }
  }
  const rows: OpsRow[] = [];
  for (const c of cases) {
    let row = rows.find((r) => r.operation === c.row);
    if (!row) rows.push((row = { keys: keyCount, operation: c.row, map: 0, stores: {} }));
    const m = median(samples.get(c)!);
    if (c.col === 'Map') row.map = m;
    else row.stores[c.col] = m;
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
}

function simulate(
  policy: EvictionPolicyName,
  trace: Uint32Array,
  keys: string[],
  zipfKeys: number,
  capacity: number,
): TraceResult {
  const value = 'v'.repeat(VALUE_BYTES);
  const store = newStore(policy, capacity * (KEY_BYTES + VALUE_BYTES + ENTRY_OVERHEAD_BYTES), () => 0);
  let misses = 0;
  let zipfRequests = 0;
  let zipfMisses = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = trace[i]!;
    const key = keys[id]!;
    const isZipf = id < zipfKeys;
    if (isZipf) zipfRequests++;
    if (store.get(key) === undefined) {
      misses++;
      if (isZipf) zipfMisses++;
      store.set(key, value, 0);
    }
  }
  return { requests: trace.length, misses, zipfRequests, zipfMisses };
}

interface HitRatioRow {
  trace: string;
  lru: TraceResult;
  s3fifo: TraceResult;
  /** % fewer misses of S3-FIFO than LRU (on the Zipf requests). */
  fewerMissesPct: number;
}

function hitRatioBench(): {
  keys: number;
  capacity: number;
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

  const keyBuf = Buffer.alloc(KEY_BYTES);
  const keys = new Array<string>(zipfKeys + scanLength);
  for (let i = 0; i < keys.length; i++) {
    keyBuf.write(`key:${String(i).padStart(KEY_BYTES - 4, '0')}`, 'latin1');
    keys[i] = keyBuf.toString('latin1');
  }
  const rows: HitRatioRow[] = [];
  for (const [name, t] of [
    [`Zipf(0.99)`, trace],
    [`Zipf(0.99) + scan of ${scanLength} keys`, scanTrace],
  ] as const) {
    const lru = simulate('lru', t, keys, zipfKeys, capacity);
    const s3fifo = simulate('s3fifo', t, keys, zipfKeys, capacity);
    const fewerMissesPct = ((lru.zipfMisses - s3fifo.zipfMisses) / lru.zipfMisses) * 100;
    rows.push({ trace: name, lru, s3fifo, fewerMissesPct });
  }
  return { keys: zipfKeys, capacity, requests: REQUESTS, scanLength, rows };
}

// ------------------------------------------------------------- (c) memory

interface MemoryRun {
  label: string;
  flags: string[];
  policy: EvictionPolicyName;
  figures?: Record<string, unknown>;
  error?: string;
}

/**
 * V8 sizes its heap for this 24 GiB machine by default: a young generation of
 * up to 2 x 64 MiB semi-spaces and an old generation allowed to grow to several
 * times the live data before a full collection. A cache server should run with
 * a small young generation and a tight growth factor; these are the flags
 * meshcache-node is meant to run with (see the report in storeMemoryBench).
 */
const SERVER_HEAP_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=20'];

function memoryBench(): MemoryRun[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'storeMemoryBench.js');
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-storebench-'));
  const runs: MemoryRun[] = [
    { label: 'V8 defaults', flags: [], policy: 's3fifo' },
    { label: 'server heap flags', flags: SERVER_HEAP_FLAGS, policy: 's3fifo' },
    { label: 'server heap flags', flags: SERVER_HEAP_FLAGS, policy: 'lru' },
  ];
  try {
    for (const [i, run] of runs.entries()) {
      const out = join(dir, `memory-${i}.json`);
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', ...run.flags, script, '--policy', run.policy, '--json', out],
        { stdio: ['ignore', 'inherit', 'inherit'] },
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
  `store benchmark: node ${process.version}, keys of ${KEY_BYTES} B, values of ${VALUE_BYTES} B, ` +
    `ENTRY_OVERHEAD_BYTES ${ENTRY_OVERHEAD_BYTES}`,
);

const ops: OpsRow[] = [];
const storeCols = ['lru', 's3fifo'];
for (const keys of KEY_COUNTS) {
  const rows = opsBench(keys);
  ops.push(...rows);
  printTable(
    `(a) ops/s, ${keys} keys, median of ${ROUNDS} alternating rounds (${OPS} gets or ${OPS / 4} sets each, uniform random keys)`,
    ['operation', 'Map', ...storeCols.flatMap((c) => [c, 'x Map'])],
    rows.map((r) => [
      r.operation,
      fmtOps(r.map),
      ...storeCols.flatMap((c) =>
        r.stores[c] === undefined
          ? ['-', '-']
          : [fmtOps(r.stores[c]), `${(r.stores[c] / r.map).toFixed(2)}x`],
      ),
    ]),
  );
  const getHit = rows.find((r) => r.operation === 'get hit')!;
  const lruRatio = getHit.stores.lru! / getHit.map;
  const s3Ratio = getHit.stores.s3fifo! / getHit.map;
  console.log(
    `  goal get hit >= 0.8x Map: lru ${lruRatio.toFixed(2)}x (${lruRatio >= 0.8 ? 'met' : 'NOT met'}), ` +
      `s3fifo ${s3Ratio.toFixed(2)}x (${s3Ratio >= 0.8 ? 'met' : 'NOT met'})`,
  );
}

const hit = hitRatioBench();
printTable(
  `(b) miss ratio, ${hit.keys} keys, cache holds ${hit.capacity} entries (10%), ${hit.requests} requests, seed 42`,
  ['trace', 'LRU miss', 'S3-FIFO miss', 'S3-FIFO fewer misses'],
  hit.rows.map((r) => [
    r.trace,
    pct(r.lru.zipfMisses / r.lru.zipfRequests),
    pct(r.s3fifo.zipfMisses / r.s3fifo.zipfRequests),
    `${r.fewerMissesPct.toFixed(1)}%`,
  ]),
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
    '(c) memory summary, 256 MiB budget, 2M inserts',
    [
      'run',
      'policy',
      'entries',
      'evictions',
      'used MiB',
      'heap/entry',
      'RSS before',
      'RSS end',
      'max RSS',
      'goal <384',
    ],
    memory.map((m) => {
      const f = m.figures as Record<string, number> | undefined;
      if (!f) return [m.label, m.policy, m.error ?? 'failed', '', '', '', '', '', '', ''];
      return [
        m.label,
        m.policy,
        String(f.entries),
        String(f.evictions),
        f.usedMiB!.toFixed(1),
        f.measuredHeapBytesPerEntry!.toFixed(0),
        f.rssBeforeStoreMiB!.toFixed(1),
        f.rssMiB!.toFixed(1),
        f.maxRssMiB!.toFixed(1),
        m.figures!.rssGoalMet ? 'met' : 'NOT met',
      ];
    }),
  );
  console.log(`  server heap flags: ${SERVER_HEAP_FLAGS.join(' ')}`);
}

if (JSON_FILE) {
  const figures = {
    node: process.version,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    entryOverheadBytes: ENTRY_OVERHEAD_BYTES,
    ops: Object.fromEntries(
      ops.map((r) => [
        `${r.operation} (${r.keys} keys)`,
        {
          mapOpsPerSec: Math.round(r.map),
          ...Object.fromEntries(
            Object.entries(r.stores).flatMap(([k, v]) => [
              [`${k}OpsPerSec`, Math.round(v)],
              [`${k}VsMap`, Number((v / r.map).toFixed(3))],
            ]),
          ),
        },
      ]),
    ),
    hitRatio: hit,
    memory,
  };
  writeFileSync(JSON_FILE, JSON.stringify(figures, null, 2) + '\n');
}
if (sink === 0.5) console.log(sink); // never true; keeps results observable
