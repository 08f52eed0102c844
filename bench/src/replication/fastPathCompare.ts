/**
 * The single-copy fast path before and after replication, in one run
 * (not part of `npm test`):
 *
 *   npm run build && node bench/dist/replication/fastPathCompare.js [-- options]
 *
 * Checks out the commit before replication (65af0df) in a git worktree
 * (/tmp/mc-before), gives it a node_modules of links into this checkout's
 * (its dependencies are a subset of today's; its own workspaces link to its
 * own folders), builds it with `tsc -b tsconfig.build.json`, then, round by
 * round with the order rotating, for each variant starts that tree's node
 * alone on loopback (as `npm run bench` and `bench:redis` do) and runs
 *   - `npm run bench`'s load: that tree's `meshcache bench` CLI with
 *     clientBench's defaults (64 in flight, 90:10 get:set, 100-byte values);
 *   - the meshcache side of `bench:redis`: redis-benchmark -c 50 -n N -d 100
 *     at -P 1 and -P 16, SET then GET (one run per test).
 * Besides ops/s and latencies it reports the node's CPU time per operation
 * (user + system from /proc over each run, divided by the operations the
 * node's /v1/info counted: hits + misses + sets), which the machine's noise
 * moves less than throughput.
 * Variants:
 *   before          65af0df's node (and its client and CLI, which match today's);
 *   after           this checkout's node with its cache at RF 1 / ONE
 *                   (MESHCACHE_CACHES='[{name: default, replicationFactor: 1, defaultConsistency: ONE}]');
 *   after-defaults  this checkout's node as `npm run bench` starts it today: cache
 *                   defaults RF 3 / QUORUM, capped at 1 copy on a lone node.
 * Every figure is the median over rounds; after/before ratios are printed.
 *
 * Options: --rounds R (3), --duration S (clientBench seconds, 10), --n N
 * (redis-benchmark requests per test, 200000), --clients N (50), --pipelines
 * 1,16, --variants before,after,after-defaults, --commit 65af0df, --worktree
 * /tmp/mc-before, --keep-worktree (keep a worktree this script created;
 * one that existed is always kept), --json FILE.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NODE_V8_FLAGS } from '@meshcache/operator';
import { arg, getJson, table } from '../membership/benchNodes.js';
import { int, median, ms, processCpuMs } from './common.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ROUNDS = Number(arg('rounds', '3'));
const DURATION = arg('duration', '10');
const N = Number(arg('n', '200000'));
const CLIENTS = Number(arg('clients', '50'));
const PIPELINES = arg('pipelines', '1,16').split(',').map(Number);
const COMMIT = arg('commit', '65af0df');
const WORKTREE = arg('worktree', '/tmp/mc-before');
const KEEP = process.argv.includes('--keep-worktree');
const JSON_FILE = arg('json', '');
const VARIANTS = arg('variants', 'before,after,after-defaults').split(',') as VariantName[];

type VariantName = 'before' | 'after' | 'after-defaults';

interface Variant {
  name: VariantName;
  tree: string;
  /** The node takes --replica-port (trees with replication). */
  replicated: boolean;
  env: Record<string, string>;
}

function variant(name: VariantName): Variant {
  switch (name) {
    case 'before':
      return { name, tree: WORKTREE, replicated: false, env: {} };
    case 'after':
      return {
        name,
        tree: REPO,
        replicated: true,
        env: { MESHCACHE_CACHES: '[{name: default, replicationFactor: 1, defaultConsistency: ONE}]' },
      };
    case 'after-defaults':
      return { name, tree: REPO, replicated: true, env: {} };
    default:
      throw new Error(`unknown variant ${String(name)}`);
  }
}

function git(...args: string[]): string {
  return execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8' }).trim();
}

/** Creates the worktree (unless there) and its node_modules; returns whether this call created it. */
function prepareWorktree(): boolean {
  const want = git('rev-parse', `${COMMIT}^{commit}`);
  let created = false;
  if (!existsSync(WORKTREE)) {
    process.stderr.write(`git worktree add --detach ${WORKTREE} ${COMMIT}\n`);
    git('worktree', 'add', '--detach', WORKTREE, COMMIT);
    created = true;
  }
  const head = execFileSync('git', ['-C', WORKTREE, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  if (head !== want)
    throw new Error(`${WORKTREE} is at ${head}, not ${COMMIT} (${want}): remove it or pass --worktree`);

  // node_modules: a link per package of this checkout's, except its own workspaces, which must be the old tree's.
  const mine = join(REPO, 'node_modules');
  const theirs = join(WORKTREE, 'node_modules');
  if (existsSync(theirs) && lstatSync(theirs).isSymbolicLink()) {
    throw new Error(`${theirs} is a link: the old tree would load this checkout's @meshcache packages`);
  }
  mkdirSync(join(theirs, '@meshcache'), { recursive: true });
  for (const entry of readdirSync(mine)) {
    if (entry === '@meshcache') continue;
    const link = join(theirs, entry);
    if (!existsSync(link) && !isLink(link)) symlinkSync(join(mine, entry), link);
  }
  for (const ws of readdirSync(join(mine, '@meshcache'))) {
    const link = join(theirs, '@meshcache', ws);
    if (existsSync(join(WORKTREE, ws, 'package.json')) && !isLink(link))
      symlinkSync(join(WORKTREE, ws), link);
  }
  process.stderr.write(`building ${COMMIT} in ${WORKTREE} (tsc -b tsconfig.build.json) ...\n`);
  const tsc = spawnSync(
    process.execPath,
    [join(mine, 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json'],
    {
      cwd: WORKTREE,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error(`the build of ${COMMIT} failed (${tsc.status})`);
  return created;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function childEnv(v: Variant): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...v.env };
  delete env['MESHCACHE_NODE_BIN'];
  if (v.env['MESHCACHE_CACHES'] === undefined) delete env['MESHCACHE_CACHES'];
  return env;
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end without blocking this process (the node's stdout pipe keeps draining). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface NodeHandle {
  child: ChildProcess;
  grpcPort: number;
  adminPort: number;
  redisPort: number;
}

/** Starts the variant's node on ephemeral ports (as LocalNodeProcess does), once it logs `node ready`. */
function startNode(v: Variant): Promise<NodeHandle> {
  const args = ['--id', `fastpath-${v.name}`, '--host', '127.0.0.1', '--bind-host', '127.0.0.1'];
  for (const p of ['grpc', 'admin', 'redis', 'gossip', ...(v.replicated ? ['replica'] : [])]) {
    args.push(`--${p}-port`, '0');
  }
  const bin = join(v.tree, 'node', 'dist', 'bin', 'meshcache-node.js');
  const child = spawn(process.execPath, [...NODE_V8_FLAGS, bin, ...args], {
    env: childEnv(v),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${v.name} node did not start within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${v.name} node exited with ${code} before it was ready`)));
    let found = false;
    // Read every line to the end: a full stdout pipe would stall the node.
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      if (found || !line.includes('node ready')) return;
      found = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const ready = JSON.parse(line) as { grpcPort: number; adminPort: number; redisPort: number };
      resolve({ child, ...ready });
    });
  });
}

function stopNode(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface InfoReply {
  caches: { stats: { hits: number; misses: number; sets: number } }[];
}

/** Node CPU ms and operations served so far (hits + misses + sets over its caches). */
async function nodeCounters(node: NodeHandle): Promise<{ cpuMs: number; ops: number }> {
  const info = await getJson<InfoReply>(`http://127.0.0.1:${node.adminPort}/v1/info`);
  const ops = info.caches.reduce((s, c) => s + c.stats.hits + c.stats.misses + c.stats.sets, 0);
  return { cpuMs: processCpuMs(node.child.pid), ops };
}

/** Runs `work` and returns the node's CPU µs per operation it served meanwhile. */
async function cpuPerOp(node: NodeHandle, work: () => Promise<void>): Promise<number> {
  const before = await nodeCounters(node);
  await work();
  const after = await nodeCounters(node);
  return after.ops > before.ops ? ((after.cpuMs - before.cpuMs) * 1000) / (after.ops - before.ops) : NaN;
}

interface ClientFigures {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** `npm run bench`'s load against the node: the tree's `meshcache bench` with clientBench's defaults. */
async function clientBench(v: Variant, node: NodeHandle): Promise<ClientFigures> {
  const file = join(tmpdir(), `fastpath-${process.pid}-${v.name}.json`);
  const cli = join(v.tree, 'operator', 'dist', 'cli', 'meshcache.js');
  const args = [cli, '--seeds', `127.0.0.1:${node.grpcPort}`, 'bench', '--duration', DURATION];
  args.push('--concurrency', '64', '--mix', '90:10', '--value-bytes', '100', '--json', file);
  const res = await run(process.execPath, args, childEnv(v));
  if (!existsSync(file))
    throw new Error(`meshcache bench (${v.name}) wrote no figures (${res.status}): ${res.stderr}`);
  const j = JSON.parse(readFileSync(file, 'utf8')) as {
    opsPerSecond: number;
    errors: number;
    latencyMs: { p50: number; p99: number };
  };
  rmSync(file, { force: true });
  return { opsPerSec: j.opsPerSecond, p50Ms: j.latencyMs.p50, p99Ms: j.latencyMs.p99, errors: j.errors };
}

/** One redis-benchmark run of one test against a port; ops/s. */
async function redisBenchmark(port: number, pipeline: number, test: 'SET' | 'GET'): Promise<number> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', String(CLIENTS), '-n', String(N), '-d', '100'];
  args.push('-P', String(pipeline), '-t', test.toLowerCase(), '--csv');
  const res = await run('redis-benchmark', args);
  const m = new RegExp(`^"${test}","([\\d.]+)"`, 'm').exec(res.stdout);
  if (m === null)
    throw new Error(`unexpected redis-benchmark output (${res.status}): ${res.stdout}${res.stderr}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const created = prepareWorktree();
  const variants = VARIANTS.map(variant);
  const loadBefore = loadavg();
  const samples: Record<string, Record<string, number[]>> = Object.fromEntries(
    variants.map((v) => [v.name, {}]),
  );
  const push = (v: Variant, metric: string, x: number) => (samples[v.name]![metric] ??= []).push(x);
  console.log(
    `fast path, before (${COMMIT}) and after (${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no', 'node', 'client', 'proto') === '' ? '' : ' + uncommitted changes'}): ` +
      `clientBench ${DURATION} s (64 in flight, 90:10, 100 B); redis-benchmark -c ${CLIENTS} -n ${N} -d 100 at -P ${PIPELINES.join(', ')}; ` +
      `${ROUNDS} round(s); variants ${VARIANTS.join(', ')}; node ${process.version}`,
  );
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        const node = await startNode(v);
        const line: string[] = [];
        try {
          let c: ClientFigures | undefined;
          const cpu = await cpuPerOp(node, async () => {
            c = await clientBench(v, node);
          });
          push(v, 'bench ops/s', c!.opsPerSec);
          push(v, 'bench p50 ms', c!.p50Ms);
          push(v, 'bench p99 ms', c!.p99Ms);
          push(v, 'bench node CPU µs/op', cpu);
          push(v, 'bench errors', c!.errors);
          line.push(
            `bench ${int(c!.opsPerSec)} ops/s p50 ${ms(c!.p50Ms)} p99 ${ms(c!.p99Ms)} (${cpu.toFixed(2)} µs/op)`,
          );
          for (const p of PIPELINES) {
            for (const test of ['SET', 'GET'] as const) {
              let rate = NaN;
              const cpuRedis = await cpuPerOp(node, async () => {
                rate = await redisBenchmark(node.redisPort, p, test);
              });
              push(v, `redis -P ${p} ${test} ops/s`, rate);
              push(v, `redis -P ${p} ${test} node CPU µs/op`, cpuRedis);
              line.push(`-P ${p} ${test} ${int(rate)} (${cpuRedis.toFixed(2)} µs/op)`);
            }
          }
        } finally {
          await stopNode(node.child);
        }
        process.stderr.write(
          `  round ${round + 1} ${v.name.padEnd(14)} ${line.join('; ')}; load ${loadavg()[0]!.toFixed(2)}\n`,
        );
      }
    }
  } finally {
    if (created && !KEEP) {
      git('worktree', 'remove', '--force', WORKTREE);
      process.stderr.write(`removed the worktree ${WORKTREE}\n`);
    }
  }
  const loadAfter = loadavg();

  const metrics = Object.keys(samples[variants[0]!.name]!).filter((m) => m !== 'bench errors');
  const before = variants.find((v) => v.name === 'before');
  const header = ['figure', ...variants.map((v) => v.name)];
  for (const v of variants) if (v !== before && before !== undefined) header.push(`${v.name}/before`);
  header.push('per round');
  const rows = metrics.map((m) => {
    const med = (v: Variant) => median(samples[v.name]![m]!);
    const fmt = (x: number) => (m.endsWith(' ms') ? ms(x) : m.endsWith('µs/op') ? x.toFixed(2) : int(x));
    const row = [m, ...variants.map((v) => fmt(med(v)))];
    if (before !== undefined) {
      for (const v of variants) if (v !== before) row.push((med(v) / med(before)).toFixed(2));
    }
    row.push(variants.map((v) => `${v.name}: ${samples[v.name]![m]!.map(fmt).join(' ')}`).join('; '));
    return row;
  });
  console.log(
    `\nmedian of ${ROUNDS} round(s); after/before > 1 is better for ops/s, worse for latencies and CPU per op`,
  );
  console.log(table(header, rows));
  const errors = variants.map(
    (v) => `${v.name} ${samples[v.name]!['bench errors']!.reduce((a, b) => a + b, 0)}`,
  );
  console.log(`clientBench errors: ${errors.join(', ')}`);
  console.log(
    `load average (1/5/15 min): ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`,
  );
  if (JSON_FILE !== '') {
    writeFileSync(
      JSON_FILE,
      `${JSON.stringify(
        {
          benchmark: 'fast-path-compare',
          beforeCommit: COMMIT,
          afterCommit: git('rev-parse', 'HEAD'),
          rounds: ROUNDS,
          clientBenchSeconds: Number(DURATION),
          redisBenchmark: { clients: CLIENTS, requests: N, dataBytes: 100, pipelines: PIPELINES },
          variants: variants.map((v) => ({ name: v.name, tree: v.tree, env: v.env })),
          nodeVersion: process.version,
          loadAverageBefore: loadBefore,
          loadAverageAfter: loadAfter,
          samples,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`figures written to ${JSON_FILE}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
