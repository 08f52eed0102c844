import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_BENCH_OPTIONS, parseMix } from '../bench/BenchOptions.js';
import { benchJson, formatBenchReport } from '../bench/formatBenchReport.js';
import { runBench } from '../bench/runBench.js';
import type { CliContext } from './dataCommands.js';
import { EXIT_ERROR, EXIT_OK } from './exitCodes.js';

function positiveInt(flag: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) <= 0)
      throw new Error(`${flag} must be a positive whole number, got "${text}"`);
    return Number(text);
  };
}

function seconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--duration must be a positive number of seconds, got "${text}"`);
  return n;
}

export function registerBenchCommand(
  program: Command,
  ctx: CliContext,
  setExit: (code: number) => void,
): void {
  const d = DEFAULT_BENCH_OPTIONS;
  program
    .command('bench')
    .description('load a cluster through the client and report throughput and latency')
    .option('--duration <s>', 'measured seconds', seconds, d.durationMs / 1000)
    .option('--concurrency <n>', 'operations in flight', positiveInt('--concurrency'), d.concurrency)
    .option('--mix <gets:sets>', 'get:set ratio', parseMix, d.getRatio)
    .option('--value-bytes <n>', 'value size in bytes', positiveInt('--value-bytes'), d.valueBytes)
    .option('--keyspace <n>', 'distinct keys', positiveInt('--keyspace'), d.keyspace)
    .option('--warmup <s>', 'untimed warm-up seconds', (t: string) => Number(t), d.warmupMs / 1000)
    .option('--json <file>', 'also write the figures to FILE as one JSON object')
    .action(
      async (opts: {
        duration: number;
        concurrency: number;
        mix: number;
        valueBytes: number;
        keyspace: number;
        warmup: number;
        json?: string;
      }) => {
        const options = {
          durationMs: Math.round(opts.duration * 1000),
          concurrency: opts.concurrency,
          getRatio: opts.mix,
          valueBytes: opts.valueBytes,
          keyspace: opts.keyspace,
          warmupMs: Math.round(opts.warmup * 1000),
        };
        const result = await ctx.withClient((client) =>
          runBench(client, options, (p) => {
            const line = `[${(p.elapsedMs / 1000).toFixed(0).padStart(3)} s / ${opts.duration} s] ${Math.round(p.opsPerSecond).toLocaleString('en-US')} ops/s, ${p.ops.toLocaleString('en-US')} ops, ${p.errors} errors`;
            ctx.err(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
          }),
        );
        if (process.stderr.isTTY) ctx.err('\n');
        ctx.out(formatBenchReport(result));
        if (opts.json) writeFileSync(opts.json, `${JSON.stringify(benchJson(result), null, 2)}\n`);
        setExit(result.ops > 0 && result.errors === 0 ? EXIT_OK : EXIT_ERROR);
      },
    );
}
