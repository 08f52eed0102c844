import type { BenchResult } from './runBench.js';

const BAR_WIDTH = 40;

function fmt(n: number, digits = 3): string {
  return n.toFixed(digits);
}

/** A readable summary table plus a log-scale latency histogram with bars. */
export function formatBenchReport(r: BenchResult): string {
  const o = r.options;
  const lines = [
    '',
    `meshcache bench: ${o.concurrency} in flight, ${Math.round(o.getRatio * 100)}:${Math.round((1 - o.getRatio) * 100)} get:set, ${o.valueBytes}-byte values, ${o.keyspace} keys, ${fmt(r.elapsedMs / 1000, 1)} s`,
    '',
    `  ops/s        ${Math.round(r.opsPerSecond).toLocaleString('en-US')}`,
    `  operations   ${r.ops.toLocaleString('en-US')} (${r.gets.toLocaleString('en-US')} get, ${r.sets.toLocaleString('en-US')} set)`,
    `  errors       ${r.errors}${r.errors > 0 ? ` ${JSON.stringify(r.errorsByCode)}` : ''}`,
    '',
    '  latency (ms)   mean     p50     p90     p99    p99.9     max',
    `                ${[r.latencyMs.mean, r.latencyMs.p50, r.latencyMs.p90, r.latencyMs.p99, r.latencyMs.p999, r.latencyMs.max].map((v) => fmt(v).padStart(7)).join(' ')}`,
    '',
    '  latency histogram',
  ];
  const buckets = r.log2BucketsUs;
  const first = buckets.findIndex((c) => c > 0);
  if (first >= 0) {
    const last = buckets.length - 1 - [...buckets].reverse().findIndex((c) => c > 0);
    const peak = Math.max(...buckets);
    for (let i = first; i <= last; i++) {
      const upToUs = 2 ** i;
      const label = upToUs >= 1000 ? `${fmt(upToUs / 1000, 1)} ms` : `${upToUs} µs`;
      const count = buckets[i]!;
      const bar = '#'.repeat(Math.round((count / peak) * BAR_WIDTH));
      lines.push(`    < ${label.padStart(9)}  ${((count / r.ops) * 100).toFixed(2).padStart(6)}%  ${bar}`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** The figures as one JSON object (the benchmark convention's --json FILE). */
export function benchJson(r: BenchResult): Record<string, unknown> {
  return {
    benchmark: 'meshcache-client',
    concurrency: r.options.concurrency,
    getRatio: r.options.getRatio,
    valueBytes: r.options.valueBytes,
    keyspace: r.options.keyspace,
    durationMs: Math.round(r.elapsedMs),
    ops: r.ops,
    errors: r.errors,
    errorsByCode: r.errorsByCode,
    opsPerSecond: Math.round(r.opsPerSecond),
    latencyMs: r.latencyMs,
  };
}
