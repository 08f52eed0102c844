/** Settings of `meshcache bench`; see DEFAULT_BENCH_OPTIONS. */
export interface BenchOptions {
  durationMs: number;
  /** Operations in flight at once (each a loop awaiting its previous call). */
  concurrency: number;
  /** Share of gets among operations, 0..1; the rest are sets. */
  getRatio: number;
  valueBytes: number;
  /** Distinct keys; all are written before timing starts so gets hit. */
  keyspace: number;
  /** Untimed warm-up before measuring (JIT, connections). */
  warmupMs: number;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  durationMs: 10_000,
  concurrency: 64,
  getRatio: 0.9,
  valueBytes: 100,
  keyspace: 10_000,
  warmupMs: 1_000,
};

/** Parses a get:set mix such as `90:10` or `50:50` into the share of gets. */
export function parseMix(text: string): number {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--mix must be GETS:SETS such as 90:10, got "${text}"`);
  const gets = Number(m[1]);
  const sets = Number(m[2]);
  if (gets + sets === 0) throw new Error('--mix must not be 0:0');
  return gets / (gets + sets);
}
