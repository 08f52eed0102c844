// End-to-end: start-up validation and SIGTERM handling of real meshcache-node processes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ErrorCode, OpType } from '@meshcache/proto';
import { EPHEMERAL_PORT_ARGS, NODE_V8_FLAGS } from '@meshcache/operator';
import { NODE_BIN, NodeProcess } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';
import { op, RawCacheClient } from '../src/RawCacheClient.js';

function runNode(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [NODE_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
}

describe('node configuration', () => {
  it.each([
    [['--grpc-port', '70000'], /invalid setting grpcPort: must be 0..65535/],
    [['--grpc-port', 'abc'], /grpcPort \(--grpc-port\) must be a number, got "abc"/],
    [['--caches', '[{name: default, evictionPolicy: fifo}]'], /invalid setting caches\.0\.evictionPolicy/],
    [['--caches', '[{name: a}, {name: a}]'], /invalid setting caches: cache names must be unique/],
    [
      ['--caches', '[{name: default, maxMemoryBytes: lots}]'],
      /caches\.0\.maxMemoryBytes: must be a byte size/,
    ],
    [['--log-level', 'loud'], /invalid setting logLevel/],
  ])('%j is refused with the field and the rule', (args, message) => {
    const res = runNode(args);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toMatch(/^meshcache-node: INVALID_CONFIG: /);
  });

  it('refuses an unknown key in the config file and names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-cfg-'));
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'grpcPort: 7070\ngrpcPrt: 7071\n');
    const res = runNode(['--config', file]);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/unknown setting\(s\) "grpcPrt"/);
  });

  it('takes settings from file, environment and flags, flags first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-cfg-'));
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'zone: from-file\ncaches:\n  - name: filecache\n    maxMemoryBytes: 8Mi\n');
    const node = await NodeProcess.start({
      args: ['--config', file, '--zone', 'from-flag'],
      env: { MESHCACHE_ZONE: 'from-env', MESHCACHE_MAX_KEY_BYTES: '512' },
    });
    try {
      const info = (await (await fetch(`${node.adminUrl}/v1/info`)).json()) as {
        zone: string;
        caches: { name: string; maxMemoryBytes: number }[];
      };
      expect(info.zone).toBe('from-flag');
      expect(info.caches).toEqual([
        expect.objectContaining({ name: 'filecache', maxMemoryBytes: 8 * 1024 * 1024 }),
      ]);
      const hs = await new RawCacheClient(node.grpcAddress).handshake();
      expect(hs.limits!.maxKeyBytes).toBe(512);
    } finally {
      await node.stop();
    }
  });
});

describe('SIGTERM', () => {
  it('ends streams cleanly, finishes received frames whole, and exits 0', async () => {
    const node = await NodeProcess.start();
    const client = new RawCacheClient(node.grpcAddress);
    const s = client.openStream();
    const first = await s.roundTrip([
      op({ id: 1, type: OpType.SET, key: Buffer.from('x'), value: Buffer.from('y') }),
    ]);
    expect(first.results[0]!.code).toBe(ErrorCode.OK);

    const ops = Array.from({ length: 1000 }, (_, i) =>
      op({ id: i, type: OpType.SET, key: Buffer.from(`k${i}`), value: Buffer.from('v') }),
    );
    s.send(ops);
    node.child.kill('SIGTERM');
    // Either the frame arrived before the signal and ran whole, or the stream ended before it arrived.
    try {
      const frame = await s.next();
      expect(frame.results).toHaveLength(1000);
      expect(frame.results.every((r) => r.code === ErrorCode.OK)).toBe(true);
    } catch (err) {
      expect(String(err)).toMatch(/stream ended/);
    }
    expect(await node.waitForExit()).toBe(0);
    expect(node.logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    client.close();
  });

  it('still stops on SIGTERM when whatever read its stdout has gone', async () => {
    // Started by hand, not by NodeProcess (which keeps reading stdout): the
    // node's next log lines meet a pipe with no reader (EPIPE).
    const child = spawn(process.execPath, [...NODE_V8_FLAGS, NODE_BIN, ...EPHEMERAL_PORT_ARGS], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('"msg":"node ready"'), { timeoutMs: 20_000, what: 'node ready' });
    child.stdout.destroy();
    child.kill('SIGTERM'); // the shutdown logs, into the broken pipe
    const deadline = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still running'), 10_000).unref(),
    );
    const result = await Promise.race([exited, deadline]);
    if (result !== 0) child.kill('SIGKILL');
    expect(result).toBe(0);
  }, 40_000);

  it('a SIGTERM that arrives while the node is starting stops it gracefully once started (exit 0)', async () => {
    const child = spawn(process.execPath, [...NODE_V8_FLAGS, NODE_BIN, ...EPHEMERAL_PORT_ARGS], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    let out = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // The first log line comes from inside start(), before "node ready".
      if (!sent) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const deadline = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still running'), 20_000).unref(),
    );
    const result = await Promise.race([exited, deadline]);
    if (typeof result === 'string') child.kill('SIGKILL');
    expect(result).toEqual([0, null]);
    expect(out).toContain('"msg":"node ready"');
    expect(out).toContain('"msg":"stopped"');
  }, 40_000);
});
