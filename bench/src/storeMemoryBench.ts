/**
 * Memory benchmark of one CacheStore: a 256 MiB budget, 2M inserts of distinct
 * 16-byte keys with 100-byte values (so most are evicted), then RSS, heap and
 * the store's own accounting. Run it in a fresh process so RSS is this work
 * only: `node --expose-gc bench/dist/storeMemoryBench.js [--policy lru|s3fifo]
 * [--inserts N] [--budget-mib N] [--json FILE]`. storeBench.js spawns it.
 *
 * Keys and values are decoded from a Buffer as the server decodes them from
 * the wire, so each is its own flat one-byte string (no shared or sliced
 * strings that would flatter the figures).
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import {
  CacheStore,
  ENTRY_OVERHEAD_BYTES,
  HybridLogicalClock,
  nodeTagOf,
  type EvictionPolicyName,
} from '@meshcache/node';

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
const budgetMiB = Number(arg('budget-mib', '256'));
const jsonFile = arg('json', '');
const budget = budgetMiB * MiB;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;

gc();
// The process before the store: node itself (~43 MiB resident for this binary)
// plus everything @meshcache/node loads (the server's gRPC, HTTP, logging and
// metrics modules), which the real server carries too.
const before = process.memoryUsage();
const heapBefore = before.heapUsed + before.external;
const store = new CacheStore(
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
const started = performance.now();
for (let i = 0; i < inserts; i++) {
  wire.writeUInt32BE(i, 0);
  wire.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 4);
  wire.fill(97 + (i % 26), 8);
  const key = wire.toString('latin1', 0, KEY_BYTES);
  const value = wire.toString('latin1', KEY_BYTES, KEY_BYTES + VALUE_BYTES);
  store.set(key, value, 0);
}
const elapsedMs = performance.now() - started;

const end = process.memoryUsage();
const maxRss = process.resourceUsage().maxRSS * 1024;
gc();
const afterGc = process.memoryUsage();
const heapPerEntry = (afterGc.heapUsed + afterGc.external - heapBefore) / store.size;
const heapSpaces = Object.fromEntries(
  v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / MiB)]),
);

const figures = {
  policy,
  inserts,
  budgetMiB,
  v8Flags: process.execArgv.filter((a) => a !== '--expose-gc'),
  setsPerSec: Math.round(inserts / (elapsedMs / 1000)),
  entries: store.size,
  evictions: store.stats.evictions,
  usedMiB: store.usedBytes / MiB,
  entryOverheadBytes: ENTRY_OVERHEAD_BYTES,
  accountedBytesPerEntry: store.usedBytes / store.size,
  measuredHeapBytesPerEntry: heapPerEntry,
  rssBeforeStoreMiB: before.rss / MiB,
  rssMiB: end.rss / MiB,
  rssAddedMiB: (end.rss - before.rss) / MiB,
  maxRssMiB: maxRss / MiB,
  heapUsedMiB: end.heapUsed / MiB,
  heapTotalMiB: end.heapTotal / MiB,
  heapUsedAfterGcMiB: afterGc.heapUsed / MiB,
  rssOverBudget: end.rss / budget,
  goalRssMiB: budgetMiB * 1.5,
  rssGoalMet: end.rss < budget * 1.5 && store.stats.evictions > 0,
  heapSpacesMiB: heapSpaces,
};

const f = (n: number, d = 1): string => n.toFixed(d);
const rows: Array<[string, string]> = [
  ['policy', policy],
  ['V8 flags', figures.v8Flags.join(' ') || '(defaults)'],
  ['inserts (16 B key, 100 B value)', String(inserts)],
  ['sets/s', String(figures.setsPerSec)],
  ['entries held', String(figures.entries)],
  ['evictions', String(figures.evictions)],
  ['usedBytes (MiB) / budget', `${f(figures.usedMiB)} / ${budgetMiB}`],
  ['accounted bytes/entry', `${f(figures.accountedBytesPerEntry)} (overhead ${ENTRY_OVERHEAD_BYTES})`],
  ['measured heap bytes/entry (after GC)', f(heapPerEntry)],
  ['heap used at end (MiB)', f(figures.heapUsedMiB)],
  ['heap used after GC (MiB)', f(figures.heapUsedAfterGcMiB)],
  ['heap total (MiB)', f(figures.heapTotalMiB)],
  [
    '  new space / old space / large objects',
    `${heapSpaces.new_space} / ${heapSpaces.old_space} / ${heapSpaces.large_object_space}`,
  ],
  ['RSS before the store (MiB)', f(figures.rssBeforeStoreMiB)],
  [
    'RSS added by the store (MiB)',
    `${f(figures.rssAddedMiB)} (${f(figures.rssAddedMiB / budgetMiB, 2)}x budget)`,
  ],
  ['RSS at end (MiB)', `${f(figures.rssMiB)} (${f(figures.rssOverBudget, 2)}x budget)`],
  ['max RSS (MiB)', f(figures.maxRssMiB)],
  [`goal RSS < ${figures.goalRssMiB} MiB, evictions > 0`, figures.rssGoalMet ? 'met' : 'NOT met'],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nstore memory (${policy}, ${budgetMiB} MiB budget)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);

if (jsonFile) writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
