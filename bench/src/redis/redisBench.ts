/**
 * Redis front door benchmark (`npm run bench:redis`; `-- --json FILE` for the figures).
 *
 * In one run, the real redis-benchmark (Debian redis-tools) drives
 *   (a) one meshcache node (its Redis port),
 *   (b) Redis from Debian (redis-server, no persistence),
 *   (c) the bare-minimum RESP server in this folder (a Map, GET and SET),
 * with `-c 50 -n N -d 100 -t get,set` at each pipeline depth (`-P 1`, `-P 16`),
 * and prints ops/s with the ratios of meshcache to Redis and to the bare server.
 * Targets take turns within each round so that the noise of a shared machine
 * falls on all of them; with --rounds R each figure is the median of R runs.
 *
 * Options: --n N (1000000), --clients N (50), --data BYTES (100),
 * --pipelines 1,16, --rounds R (3), --json FILE.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { localNodeArgs, NODE_V8_FLAGS } from '@meshcache/operator';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const N = Number(arg('n', '1000000'));
const CLIENTS = Number(arg('clients', '50'));
const DATA = Number(arg('data', '100'));
const PIPELINES = arg('pipelines', '1,16').split(',').map(Number);
const ROUNDS = Number(arg('rounds', '3'));
const JSON_FILE = arg('json', '');
const TESTS = ['SET', 'GET'] as const;
const TARGETS = ['meshcache', 'redis', 'bare'] as const;
type Target = (typeof TARGETS)[number];
type Test = (typeof TESTS)[number];

/** Goals from issue 3. */
const GOALS: Record<number, { vsRedis: number; vsBare: number }> = {
  1: { vsRedis: 0.9, vsBare: 0.85 },
  16: { vsRedis: 0.6, vsBare: 0.85 },
};

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');
const NODE_BIN = join(REPO, 'node', 'dist', 'bin', 'meshcache-node.js');
const BARE_BIN = join(HERE, 'bareRespServer.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a server and resolves with its port once `portFrom` finds it in a stdout line. */
function startServer(
  name: string,
  command: string,
  args: string[],
  portFrom: (line: string) => number | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    // Read every line to the end (a full stdout pipe would stall the server); the first port wins.
    let found = false;
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      const port = found ? undefined : portFrom(line);
      if (port === undefined) return;
      found = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, port });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** One redis-benchmark run; returns ops/s per test. */
function redisBenchmark(port: number, pipeline: number): Record<Test, number> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', String(CLIENTS), '-n', String(N)];
  args.push('-d', String(DATA), '-P', String(pipeline), '-t', 'set,get', '--csv');
  const res = spawnSync('redis-benchmark', args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (res.error !== undefined) throw res.error;
  if (res.status !== 0) throw new Error(`redis-benchmark failed (${res.status}): ${res.stderr}`);
  const rates: Partial<Record<Test, number>> = {};
  for (const line of res.stdout.split('\n')) {
    const m = /^"(SET|GET)","([\d.]+)"/.exec(line);
    if (m !== null) rates[m[1] as Test] = Number(m[2]);
  }
  if (rates.SET === undefined || rates.GET === undefined) {
    throw new Error(`unexpected redis-benchmark output: ${res.stdout}${res.stderr}`);
  }
  return rates as Record<Test, number>;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(`  ${line(r)}`);
}

async function main(): Promise<void> {
  const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const redisPort = await freePort();
  const servers = await Promise.all([
    startServer(
      'meshcache-node',
      process.execPath,
      [...NODE_V8_FLAGS, NODE_BIN, ...localNodeArgs('bench-redis'), '--log-level', 'info'],
      (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; redisPort?: number };
          return entry.msg === 'node ready' ? entry.redisPort : undefined;
        } catch {
          return undefined;
        }
      },
    ),
    startServer(
      'redis-server',
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      (line) => (line.includes('Ready to accept connections') ? redisPort : undefined),
    ),
    startServer('bare RESP server', process.execPath, [BARE_BIN], (line) =>
      /^\d+$/.test(line.trim()) ? Number(line.trim()) : undefined,
    ),
  ]);
  const ports: Record<Target, number> = {
    meshcache: servers[0].port,
    redis: servers[1].port,
    bare: servers[2].port,
  };

  const loadBefore = loadavg()[0]!;
  const samples: Record<string, number[]> = {};
  const key = (t: Target, p: number, test: Test) => `${t}/P${p}/${test}`;
  try {
    console.log(
      `bench:redis: redis-benchmark -c ${CLIENTS} -n ${N} -d ${DATA} -t get,set at -P ${PIPELINES.join(', ')}; ` +
        `${ROUNDS} round(s); ${redisVersion}; node ${process.version}`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of PIPELINES) {
        // Rotate the order each round so no target always runs first or last.
        const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length]!);
        for (const target of order) {
          const rates = redisBenchmark(ports[target], p);
          for (const test of TESTS) (samples[key(target, p, test)] ??= []).push(rates[test]);
          process.stderr.write(`  round ${round + 1} -P ${p} ${target}: SET ${rates.SET} GET ${rates.GET}\n`);
        }
      }
    }
  } finally {
    await Promise.all(servers.map((s) => stop(s.child)));
  }

  const loadAfter = loadavg()[0]!;
  const figure = (t: Target, p: number, test: Test) => median(samples[key(t, p, test)]!);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  const misses: string[] = [];
  for (const p of PIPELINES) {
    for (const test of TESTS) {
      const mesh = figure('meshcache', p, test);
      const redis = figure('redis', p, test);
      const bare = figure('bare', p, test);
      const vsRedis = mesh / redis;
      const vsBare = mesh / bare;
      const goal = GOALS[p];
      const meets = goal === undefined ? undefined : vsRedis >= goal.vsRedis && vsBare >= goal.vsBare;
      if (meets === false) misses.push(`-P ${p} ${test}`);
      rows.push([
        `-P ${p} ${test}`,
        Math.round(mesh).toLocaleString('en-US'),
        Math.round(redis).toLocaleString('en-US'),
        Math.round(bare).toLocaleString('en-US'),
        vsRedis.toFixed(2),
        vsBare.toFixed(2),
        goal === undefined ? '' : `>=${goal.vsRedis} / >=${goal.vsBare}: ${meets ? 'met' : 'missed'}`,
      ]);
      results[`P${p}_${test}`] = {
        pipeline: p,
        test,
        meshcacheOpsPerSec: mesh,
        redisOpsPerSec: redis,
        bareOpsPerSec: bare,
        meshcacheVsRedis: vsRedis,
        meshcacheVsBare: vsBare,
        goal,
        goalMet: meets,
      };
    }
  }
  table(
    `ops/s (median of ${ROUNDS} round(s)); ratios are meshcache / other`,
    ['run', 'meshcache', 'redis', 'bare node', 'vs redis', 'vs bare', 'goal (vs redis / vs bare)'],
    rows,
  );
  console.log(misses.length === 0 ? '\nall goals met' : `\ngoals missed: ${misses.join(', ')}`);
  // The servers and redis-benchmark share this machine's cores: other load skews the figures.
  console.log(`1-minute load average: ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  if (JSON_FILE !== '') {
    writeFileSync(
      JSON_FILE,
      JSON.stringify(
        {
          benchmark: 'redis',
          command: `redis-benchmark -c ${CLIENTS} -n ${N} -d ${DATA} -t get,set -P <p>`,
          clients: CLIENTS,
          requests: N,
          dataBytes: DATA,
          pipelines: PIPELINES,
          rounds: ROUNDS,
          redisVersion,
          nodeVersion: process.version,
          loadAverageBefore: loadBefore,
          loadAverageAfter: loadAfter,
          results,
          samples,
        },
        null,
        2,
      ),
    );
    console.log(`figures written to ${JSON_FILE}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
