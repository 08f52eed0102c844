/**
 * Memory benchmark of one ArenaStore: a 256 MiB budget, 2M inserts of distinct
 * 16-byte keys with 100-byte values (so most are evicted), then RSS, heap and
 * the store's own accounting. Run it in a fresh process so RSS is this work
 * only: `node --expose-gc bench/dist/storeMemoryBench.js [--policy
 * lru|s3fifo] [--inserts N] [--budget-mib N] [--reads N] [--json FILE]`.
 * storeBench.js (`npm run bench:store`) spawns it.
 *
 * Keys and values are written into one reused "wire" buffer and stored with
 * setAt, as a server would store them straight from the buffer a request was
 * read into: no per-insert objects. With --reads N (default 1M), it then does N
 * Zipf-distributed gets through the same buffer, so LRU's moves and S3-FIFO's
 * counters are exercised and RSS is measured after reads too.
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { ArenaStore, HybridLogicalClock, nodeTagOf, type EvictionPolicyName } from '@meshcache/node';
import { ZipfGenerator, seededRandom } from './zipf.js';

const MiB = 1024 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

const policy = arg('policy', 's3fifo') as EvictionPolicyName;
const inserts = Number(arg('inserts', '2000000'));
const reads = Number(arg('reads', '1000000'));
const budgetMiB = Number(arg('budget-mib', '256'));
const jsonFile = arg('json', '');
const budget = budgetMiB * MiB;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;

gc();
const before = process.memoryUsage();
const store = new ArenaStore(
  {
    name: 'memory-bench',
    maxMemoryBytes: budget,
    defaultTtlMs: 0,
    maxValueBytes: 1024 * 1024,
    maxKeyBytes: 1024,
    evictionPolicy: policy,
  },
  new HybridLogicalClock(nodeTagOf('bench-node')),
);

const wire = Buffer.alloc(KEY_BYTES + VALUE_BYTES);
function writeKey(i: number): void {
  wire.writeUInt32BE(i, 0);
  wire.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 4);
  wire.fill(48 + (i % 10), 8, KEY_BYTES);
}
const started = performance.now();
for (let i = 0; i < inserts; i++) {
  writeKey(i);
  wire.fill(97 + (i % 26), KEY_BYTES);
  store.setAt(wire, 0, KEY_BYTES, wire, KEY_BYTES, VALUE_BYTES, 0);
}
const elapsedMs = performance.now() - started;
const afterInserts = process.memoryUsage();
const entries = store.size;

// Reads over the most recent keys, Zipf-distributed (hot keys recent).
const zipf = new ZipfGenerator(Math.min(inserts, 1_000_000), 0.99, seededRandom(7));
let hits = 0;
const readStarted = performance.now();
for (let i = 0; i < reads; i++) {
  writeKey(inserts - 1 - zipf.next());
  if (store.getAt(wire, 0, KEY_BYTES) >= 0) hits++;
}
const readMs = performance.now() - readStarted;

const end = process.memoryUsage();
const maxRss = process.resourceUsage().maxRSS * 1024;
gc();
const afterGc = process.memoryUsage();
const heapSpaces = Object.fromEntries(
  v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / MiB)]),
);
const memory = store.memory();

const figures = {
  policy,
  inserts,
  reads,
  budgetMiB,
  v8Flags: process.execArgv.filter((a) => a !== '--expose-gc'),
  setsPerSec: Math.round(inserts / (elapsedMs / 1000)),
  getsPerSec: reads > 0 ? Math.round(reads / (readMs / 1000)) : 0,
  readHitRatio: reads > 0 ? hits / reads : 0,
  entries,
  entriesAfterReads: store.size,
  evictions: store.stats.evictions,
  compactions: store.compactions,
  forcedReclaims: store.forcedReclaims,
  usedMiB: store.usedBytes / MiB,
  memory,
  /** Everything the store holds beyond key + value bytes, per entry held (index, ghost, headers, slack). */
  overheadBytesPerEntry: (store.usedBytes - store.size * (KEY_BYTES + VALUE_BYTES)) / store.size,
  rssBeforeStoreMiB: before.rss / MiB,
  rssAfterInsertsMiB: afterInserts.rss / MiB,
  rssMiB: end.rss / MiB,
  rssAddedMiB: (end.rss - before.rss) / MiB,
  maxRssMiB: maxRss / MiB,
  heapUsedMiB: end.heapUsed / MiB,
  heapTotalMiB: end.heapTotal / MiB,
  heapUsedAfterGcMiB: afterGc.heapUsed / MiB,
  externalMiB: afterGc.external / MiB,
  rssOverBudget: end.rss / budget,
  goalRssMiB: budgetMiB * 1.5,
  rssGoalMet: Math.max(end.rss, maxRss) < budget * 1.5 && store.stats.evictions > 0,
  heapSpacesMiB: heapSpaces,
};

const f = (n: number, d = 1): string => n.toFixed(d);
const rows: Array<[string, string]> = [
  ['policy', policy],
  ['V8 flags', figures.v8Flags.join(' ') || '(defaults)'],
  ['inserts (16 B key, 100 B value)', String(inserts)],
  ['sets/s', String(figures.setsPerSec)],
  ['entries held', String(entries)],
  ['evictions', String(figures.evictions)],
  ['compactions / forced reclaims', `${figures.compactions} / ${figures.forcedReclaims}`],
  ['usedBytes (MiB) / budget', `${f(figures.usedMiB)} / ${budgetMiB}`],
  [
    '  segments / index / ghost (MiB)',
    `${f(memory.segmentBytes / MiB)} (${memory.segments} x ${store.segmentSize / 1024} KiB) / ` +
      `${f(memory.index / MiB)} / ${f(memory.policy / MiB)}`,
  ],
  ['overhead bytes/entry (usedBytes - key - value)', f(figures.overheadBytesPerEntry)],
  [`Zipf reads, gets/s, hit ratio`, `${figures.getsPerSec}, ${f(figures.readHitRatio * 100)}%`],
  ['heap used at end / after GC (MiB)', `${f(figures.heapUsedMiB)} / ${f(figures.heapUsedAfterGcMiB)}`],
  ['external after GC (MiB)', f(figures.externalMiB)],
  ['RSS before the store (MiB)', f(figures.rssBeforeStoreMiB)],
  [
    'RSS added by the store (MiB)',
    `${f(figures.rssAddedMiB)} (${f(figures.rssAddedMiB / budgetMiB, 2)}x budget)`,
  ],
  [
    'RSS at end / max RSS (MiB)',
    `${f(figures.rssMiB)} / ${f(figures.maxRssMiB)} (${f(figures.rssOverBudget, 2)}x budget)`,
  ],
  [`goal RSS < ${figures.goalRssMiB} MiB, evictions > 0`, figures.rssGoalMet ? 'met' : 'NOT met'],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nstore memory (ArenaStore, ${policy}, ${budgetMiB} MiB budget)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);

if (jsonFile) writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
