import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Path of the compiled `meshcache-node` entry point: MESHCACHE_NODE_BIN when
 * set, else the node workspace next to this one. Run with process.execPath
 * directly (no wrapper), so signals reach the node itself.
 */
export function nodeBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['MESHCACHE_NODE_BIN'];
  if (explicit) return explicit;
  const path = fileURLToPath(new URL('../../../node/dist/bin/meshcache-node.js', import.meta.url));
  if (!existsSync(path)) {
    throw new Error(
      `meshcache-node not found at ${path}: run "npm run build" first, or set MESHCACHE_NODE_BIN`,
    );
  }
  return path;
}

/**
 * V8 flags `meshcache-node` runs with wherever it is started: the Docker
 * image's ENTRYPOINT (a test keeps it in step), `meshcache up`, the e2e tests
 * and the benches.
 *
 * --max-semi-space-size=8 (MiB): V8 sizes the young generation from the
 * machine's RAM; under a cache's request load it grew to 2 x 32-64 MiB of
 * resident scavenger space, a third of a 256 MiB cache's budget again
 * (`npm run bench:node-memory`: RSS 1.52-1.64x the budget at V8's default,
 * 1.45x with 8 MiB). Request garbage dies young, so 8 MiB semi-spaces cost no
 * measured throughput (fill 690-710k sets/s either way); 4 MiB promoted
 * in-flight requests and grew the old space instead.
 */
export const NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** Arguments for spawn(process.execPath, ...): the V8 flags, the entry point, then the node's own flags. */
export function nodeArgs(
  args: readonly string[],
  v8Flags: readonly string[] = NODE_V8_FLAGS,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  return [...v8Flags, nodeBinaryPath(env), ...args];
}

/** Flags that make a node bind every port (gRPC, admin, Redis, gossip, replica) to one the kernel picks; it logs them in `node ready`. */
export const EPHEMERAL_PORT_ARGS: readonly string[] = [
  '--grpc-port',
  '0',
  '--admin-port',
  '0',
  '--redis-port',
  '0',
  '--gossip-port',
  '0',
  '--replica-port',
  '0',
];

/** Flags for a node on one host (loopback by default) with ephemeral ports, as `meshcache up`, tests and benches run it. */
export function localNodeArgs(id: string, host = '127.0.0.1', bindHost = host): string[] {
  return ['--id', id, '--host', host, '--bind-host', bindHost, ...EPHEMERAL_PORT_ARGS];
}
