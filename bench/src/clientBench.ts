#!/usr/bin/env node
// `npm run bench`: one meshcache node on loopback, loaded through the client by
// `meshcache bench` in a separate process (so client and server each have a
// process, as in production). Arguments pass through to `meshcache bench`;
// defaults: 10 s, 64 in flight, 90:10 get:set, 100-byte values.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalNodeProcess } from '@meshcache/operator';

const CLI = fileURLToPath(new URL('../../operator/dist/cli/meshcache.js', import.meta.url));
const DEFAULTS = ['--duration', '10', '--concurrency', '64', '--mix', '90:10', '--value-bytes', '100'];

async function main(): Promise<number> {
  const node = await LocalNodeProcess.start({ id: 'bench-1' });
  try {
    const args = [CLI, '--seeds', node.grpcAddress, 'bench', ...DEFAULTS, ...process.argv.slice(2)];
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: 'inherit' });
      child.once('exit', (code) => resolve(code ?? 1));
    });
  } finally {
    await node.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
