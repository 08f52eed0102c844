import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type { MeshcacheClient } from '@meshcache/client';
import type { BenchOptions } from './BenchOptions.js';

/** Highest latency the histogram tracks, µs (60 s). */
const MAX_TRACKABLE_US = 60_000_000;
const PREFILL_BATCH = 500;

export interface BenchProgress {
  elapsedMs: number;
  ops: number;
  opsPerSecond: number;
  errors: number;
}

export interface BenchResult {
  options: BenchOptions;
  ops: number;
  gets: number;
  sets: number;
  errors: number;
  errorsByCode: Record<string, number>;
  elapsedMs: number;
  opsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  histogram: hdr.Histogram;
  /** Calls per power-of-two latency bucket: index i counts latencies in [2^(i-1), 2^i) µs. */
  log2BucketsUs: number[];
}

/** xorshift32: a cheap PRNG, so picking an op and a key costs no allocation. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/**
 * Drives a client with `concurrency` loops for `durationMs` and records every
 * call's latency in an HDR histogram. `onProgress` is called about once a second.
 */
export async function runBench(
  client: MeshcacheClient,
  options: BenchOptions,
  onProgress: (p: BenchProgress) => void = () => {},
): Promise<BenchResult> {
  const keys = Array.from({ length: options.keyspace }, (_, i) => `bench:${i.toString().padStart(8, '0')}`);
  const value = Buffer.alloc(options.valueBytes, 'x');
  for (let i = 0; i < keys.length; i += PREFILL_BATCH) {
    await client.setMany(keys.slice(i, i + PREFILL_BATCH).map((key) => ({ key, value })));
  }

  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
  });
  const log2BucketsUs = new Array<number>(32).fill(0);
  const errorsByCode: Record<string, number> = {};
  let ops = 0;
  let gets = 0;
  let sets = 0;
  let errors = 0;
  let measuring = false;
  let stop = false;

  const worker = async (seed: number) => {
    const random = rng(seed);
    while (!stop) {
      const key = keys[(random() * keys.length) | 0]!;
      const isGet = random() < options.getRatio;
      const started = performance.now();
      try {
        if (isGet) await client.get(key);
        else await client.set(key, value);
        if (measuring) {
          const us = Math.max(1, Math.round((performance.now() - started) * 1000));
          histogram.recordValue(us);
          log2BucketsUs[32 - Math.clz32(us)]!++;
          ops++;
          if (isGet) gets++;
          else sets++;
        }
      } catch (err) {
        if (measuring) {
          errors++;
          const code = (err as { code?: string }).code ?? 'UNKNOWN';
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        }
      }
    }
  };

  const workers = Array.from({ length: options.concurrency }, (_, i) => worker(0x9e3779b9 ^ (i + 1)));
  await new Promise((r) => setTimeout(r, options.warmupMs));
  measuring = true;
  const start = performance.now();
  const ticker = setInterval(() => {
    const elapsedMs = performance.now() - start;
    onProgress({ elapsedMs, ops, opsPerSecond: ops / (elapsedMs / 1000), errors });
  }, 1000);
  await new Promise((r) => setTimeout(r, options.durationMs));
  measuring = false;
  const elapsedMs = performance.now() - start;
  clearInterval(ticker);
  stop = true;
  await Promise.all(workers);

  const us = (p: number) => histogram.getValueAtPercentile(p) / 1000;
  return {
    options,
    ops,
    gets,
    sets,
    errors,
    errorsByCode,
    elapsedMs,
    opsPerSecond: ops / (elapsedMs / 1000),
    latencyMs: {
      mean: histogram.mean / 1000,
      p50: us(50),
      p90: us(90),
      p99: us(99),
      p999: us(99.9),
      max: histogram.maxValue / 1000,
    },
    histogram,
    log2BucketsUs,
  };
}
