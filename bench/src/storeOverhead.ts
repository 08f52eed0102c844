/**
 * Measures what one CacheStore entry really costs beyond its key and value
 * bytes, to set ENTRY_OVERHEAD_BYTES: `node --expose-gc bench/dist/storeOverhead.js [--json FILE]`.
 *
 * For each policy and several entry counts it fills a store in steady state
 * (3x its capacity inserted, so it has evicted, the map has recycled slots and
 * S3-FIFO's ghost is full; a third of the keys are read so entries reach the
 * main queue), every entry with a TTL (so the TTL array slot is included) and
 * versions from a node tag above 2^31 (so it is a boxed double, as for half of
 * all node ids). It then takes heap used + external (the ghost's typed arrays)
 * after two full GCs, minus the same before the store existed, divided by the
 * entries held, minus the 116 key and value bytes. Keys and values are decoded
 * from a Buffer, as from the wire, so each is its own flat one-byte string.
 *
 * The counts straddle the sizes where V8's hash table doubles, since a Map just
 * past a doubling costs the most per entry; the constant is the worst figure.
 */
import { writeFileSync } from 'node:fs';
import {
  CacheStore,
  ENTRY_OVERHEAD_BYTES,
  HybridLogicalClock,
  type EvictionPolicyName,
} from '@meshcache/node';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const COUNTS = [530_000, 700_000, 1_000_000, 1_060_000];
const POLICIES: EvictionPolicyName[] = ['lru', 's3fifo'];

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  collect();
  collect();
}

function heapBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

interface Measurement {
  policy: EvictionPolicyName;
  targetEntries: number;
  entries: number;
  evictions: number;
  bytesPerEntry: number;
  overheadBytes: number;
}

function measure(policy: EvictionPolicyName, target: number): Measurement {
  const base = heapBytes();
  const store = new CacheStore(
    {
      name: 'overhead',
      maxMemoryBytes: target * (KEY_BYTES + VALUE_BYTES + ENTRY_OVERHEAD_BYTES),
      defaultTtlMs: 0,
      maxValueBytes: 1 << 20,
      maxKeyBytes: 1024,
      evictionPolicy: policy,
    },
    new HybridLogicalClock(0xdeadbeef),
  );
  const wire = Buffer.alloc(KEY_BYTES + VALUE_BYTES);
  const expiresAt = Date.now() + 3_600_000;
  for (let i = 0; i < target * 3; i++) {
    wire.writeUInt32BE(i, 0);
    wire.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 4);
    wire.fill(97 + (i % 26), 8);
    const key = wire.toString('latin1', 0, KEY_BYTES);
    store.set(key, wire.toString('latin1', KEY_BYTES), expiresAt);
    if (i % 3 === 0) store.get(key);
  }
  const bytesPerEntry = (heapBytes() - base) / store.size;
  const result = {
    policy,
    targetEntries: target,
    entries: store.size,
    evictions: store.stats.evictions,
    bytesPerEntry,
    overheadBytes: bytesPerEntry - KEY_BYTES - VALUE_BYTES,
  };
  store.clear();
  return result;
}

const results: Measurement[] = [];
for (const policy of POLICIES) for (const n of COUNTS) results.push(measure(policy, n));
const worst = Math.max(...results.map((r) => r.overheadBytes));

console.log(`\nentry overhead, node ${process.version} (16 B keys, 100 B values, TTL on every entry)`);
console.log(`  policy  entries    evictions  bytes/entry  overhead`);
for (const r of results) {
  console.log(
    `  ${r.policy.padEnd(6)}  ${String(r.entries).padStart(9)}  ${String(r.evictions).padStart(9)}` +
      `  ${r.bytesPerEntry.toFixed(1).padStart(11)}  ${r.overheadBytes.toFixed(1).padStart(8)}`,
  );
}
console.log(`  worst overhead ${worst.toFixed(1)} B; ENTRY_OVERHEAD_BYTES is ${ENTRY_OVERHEAD_BYTES}`);

const i = process.argv.indexOf('--json');
if (i >= 0 && process.argv[i + 1]) {
  writeFileSync(
    process.argv[i + 1]!,
    JSON.stringify(
      { node: process.version, entryOverheadBytes: ENTRY_OVERHEAD_BYTES, worst, results },
      null,
      2,
    ) + '\n',
  );
}
