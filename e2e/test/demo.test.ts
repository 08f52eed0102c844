// End-to-end: `npm start`'s demo (a 3-node cluster, keys at QUORUM, one node
// killed and restarted, a 4th node joining under load) passes, and Ctrl-C leaves no node process and no temporary files behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';

const DEMO = join(REPO_ROOT, 'operator', 'dist', 'demo', 'demo.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runDemo(args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync('/proc/self/stat')) {
    try {
      return readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pidsIn = (stdout: string): number[] =>
  [...stdout.matchAll(/^ {2}start n\d.*?pid (\d+)/gm)].map((m) => Number(m[1]));

describe('npm start (the demo)', () => {
  let tmp: string;
  let run: Run | undefined;

  afterEach(() => {
    run?.child.kill('SIGKILL');
    run = undefined;
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes keys at QUORUM, kills a node, reads every key back and exits 0', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'meshcache-demo-test-'));
    run = runDemo(['--keys', '500'], { ...process.env, TMPDIR: tmp });
    const { code } = await run.done;
    const out = run.stdout();
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(out).toMatch(/cluster formed +epoch \d+: 3 members on every node, cache "default" on 3 replicas/);
    expect(out).toMatch(/write 500 keys via n1 +500 acknowledged at QUORUM, 0 failed/);
    expect(out).toMatch(/kill -9 n2 +pid \d+ ended by signal SIGKILL/);
    expect(out).toMatch(/read 500 keys via n3 +500 read back, 0 missing, 0 wrong/);
    expect(out).toMatch(/n2 marked DEAD +by n1 \d+\.\d\d s, by n3 \d+\.\d\d s after the kill/);
    expect(out).toMatch(
      /restart n2 under its id +empty process bootstrapped [\d,]+ keys from its peers, ready after/,
    );
    expect(out).toMatch(
      /n4 joins under load +every move cut over after [\d.]+ s \(epoch \d+\); [\d,]+ keys moved to n4; [\d,]+ rewrites meanwhile, 0 failed/,
    );
    expect(out).toMatch(/read 500 keys via n4 +500 latest, 0 stale or missing/);
    expect(out).toMatch(/^OK: all 500 keys written at QUORUM were read back/m);
    // n1..n3, n2 again, n4.
    expect(pidsIn(out)).toHaveLength(5);
    for (const pid of pidsIn(out)) expect(alive(pid)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  }, 90_000);

  it('on Ctrl-C kills every node, removes its files and exits 130', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'meshcache-demo-test-'));
    // Enough keys that the writes are still running when the signal comes.
    run = runDemo(['--keys', '5000000'], { ...process.env, TMPDIR: tmp });
    const current = run;
    await waitFor(() => (current.stdout().includes('cluster formed') ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'the demo to form its cluster',
    });
    const pids = pidsIn(current.stdout());
    expect(pids).toHaveLength(3);
    current.child.kill('SIGINT');
    const { code } = await current.done;
    expect(code).toBe(130);
    expect(current.stderr()).toMatch(
      /interrupted by SIGINT: killed n1 \(pid \d+\), n2 \(pid \d+\), n3 \(pid \d+\)/,
    );
    await waitFor(() => (pids.every((p) => !alive(p)) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the nodes to be gone',
    });
    expect(readdirSync(tmp)).toEqual([]);
  }, 90_000);
});
