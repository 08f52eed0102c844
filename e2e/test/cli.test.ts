// End-to-end: the `meshcache` command line against a real node process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NodeProcess, REPO_ROOT } from '../src/NodeProcess.js';

const CLI = join(REPO_ROOT, 'operator', 'dist', 'cli', 'meshcache.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('meshcache CLI', () => {
  let node: NodeProcess;
  let seeds: string[];

  beforeAll(async () => {
    node = await NodeProcess.start({ args: ['--caches', '[{name: default}, {name: other}]'] });
    seeds = ['--seeds', node.grpcAddress];
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('sets, gets and deletes, printing the value alone', async () => {
    expect(await cli([...seeds, 'set', 'greeting', 'hello world'])).toMatchObject({
      code: 0,
      stdout: 'OK\n',
    });
    expect(await cli([...seeds, 'get', 'greeting'])).toMatchObject({ code: 0, stdout: 'hello world' });
    expect(await cli([...seeds, 'del', 'greeting'])).toMatchObject({ code: 0, stdout: '1\n' });
    const missing = await cli([...seeds, 'get', 'greeting']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/not found/);
  });

  it('uses --cache and --ttl, and honours --if-absent', async () => {
    expect((await cli([...seeds, '--cache', 'other', 'set', 'k', 'v', '--ttl', '60000'])).code).toBe(0);
    expect((await cli([...seeds, 'get', 'k'])).code).toBe(1);
    expect((await cli([...seeds, '--cache', 'other', 'get', 'k'])).stdout).toBe('v');
    const nx = await cli([...seeds, '--cache', 'other', 'set', 'k', 'w', '--if-absent']);
    expect(nx.code).toBe(1);
    expect(nx.stderr).toMatch(/not written/);
  });

  it('fails with a clear message and exit code 2', async () => {
    const unknownCache = await cli([...seeds, '--cache', 'nope', 'get', 'k']);
    expect(unknownCache.code).toBe(2);
    expect(unknownCache.stderr).toMatch(/UNKNOWN_CACHE: unknown cache 'nope'/);
    const badTtl = await cli([...seeds, 'set', 'k', 'v', '--ttl', 'soon']);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toMatch(/--ttl must be/);
    const noNode = await cli(['--seeds', '127.0.0.1:1', '--timeout-ms', '500', 'get', 'k']);
    expect(noNode.code).toBe(2);
    expect(noNode.stderr).toMatch(/no seed answered/);
  });

  it('benchmarks with progress, a histogram and --json figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-bench-'));
    const json = join(dir, 'bench.json');
    const res = await cli([
      ...seeds,
      'bench',
      '--duration',
      '2',
      '--warmup',
      '0.2',
      '--concurrency',
      '8',
      '--mix',
      '50:50',
      '--value-bytes',
      '64',
      '--keyspace',
      '500',
      '--json',
      json,
    ]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/ops\/s/);
    expect(res.stdout).toMatch(/latency histogram/);
    expect(res.stdout).toMatch(/p99\.9/);
    const figures = JSON.parse(readFileSync(json, 'utf8')) as {
      ops: number;
      opsPerSecond: number;
      errors: number;
      latencyMs: { p50: number; p99: number };
    };
    expect(figures.ops).toBeGreaterThan(0);
    expect(figures.errors).toBe(0);
    expect(figures.opsPerSecond).toBeGreaterThan(0);
    expect(figures.latencyMs.p99).toBeGreaterThanOrEqual(figures.latencyMs.p50);
  });
});
