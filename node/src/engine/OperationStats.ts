import { ErrorCode, OpType } from '@meshcache/proto';

const OP_TYPES = Object.values(OpType).filter((v): v is number => typeof v === 'number' && v >= 0);
const CODES = Object.values(ErrorCode).filter((v): v is number => typeof v === 'number' && v >= 0);
const OP_SLOTS = Math.max(...OP_TYPES) + 1;
const CODE_SLOTS = Math.max(...CODES) + 1;

/** Latency bucket upper bounds, seconds: 10 µs .. 1 s. */
export const LATENCY_BUCKETS_SECONDS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1,
];
const BUCKET_SLOTS = LATENCY_BUCKETS_SECONDS.length + 1;

/**
 * Operation counters and latency histograms kept in flat typed arrays, so the
 * hot path only increments numbers; metrics read them at scrape time. Index
 * -1 for the cache is the "unknown cache" row.
 */
export class OperationStats {
  private readonly counts: Float64Array;
  private readonly buckets: Float64Array;
  private readonly sums: Float64Array;
  private readonly rows: number;

  constructor(readonly cacheNames: readonly string[]) {
    this.rows = cacheNames.length + 1;
    this.counts = new Float64Array(this.rows * OP_SLOTS * CODE_SLOTS);
    this.buckets = new Float64Array(this.rows * OP_SLOTS * BUCKET_SLOTS);
    this.sums = new Float64Array(this.rows * OP_SLOTS);
  }

  record(cacheIndex: number, op: number, code: number, seconds: number): void {
    const row = cacheIndex + 1;
    const opSlot = op >= 0 && op < OP_SLOTS ? op : 0;
    const codeSlot = code >= 0 && code < CODE_SLOTS ? code : ErrorCode.INTERNAL;
    this.counts[(row * OP_SLOTS + opSlot) * CODE_SLOTS + codeSlot]! += 1;
    const base = (row * OP_SLOTS + opSlot) * BUCKET_SLOTS;
    let b = 0;
    while (b < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[b]!) b++;
    this.buckets[base + b]! += 1;
    this.sums[row * OP_SLOTS + opSlot]! += seconds;
  }

  private cacheLabel(row: number): string {
    return row === 0 ? '(unknown)' : this.cacheNames[row - 1]!;
  }

  /** Non-zero counters as label sets. */
  *counters(): Generator<{ cache: string; op: string; result: string; value: number }> {
    for (let row = 0; row < this.rows; row++) {
      for (const op of OP_TYPES) {
        for (const code of CODES) {
          const value = this.counts[(row * OP_SLOTS + op) * CODE_SLOTS + code]!;
          if (value > 0)
            yield { cache: this.cacheLabel(row), op: OpType[op]!, result: ErrorCode[code]!, value };
        }
      }
    }
  }

  /** Per (cache, op) histograms with cumulative bucket counts, for series that saw traffic. */
  *histograms(): Generator<{ cache: string; op: string; cumulative: number[]; count: number; sum: number }> {
    for (let row = 0; row < this.rows; row++) {
      for (const op of OP_TYPES) {
        const base = (row * OP_SLOTS + op) * BUCKET_SLOTS;
        let running = 0;
        const cumulative: number[] = [];
        for (let b = 0; b < BUCKET_SLOTS; b++) {
          running += this.buckets[base + b]!;
          cumulative.push(running);
        }
        if (running > 0) {
          yield {
            cache: this.cacheLabel(row),
            op: OpType[op]!,
            cumulative,
            count: running,
            sum: this.sums[row * OP_SLOTS + op]!,
          };
        }
      }
    }
  }
}
